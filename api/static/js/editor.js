// The transcript editor: the player beside the transcript, inline edits saved as
// revisions (debounced PATCH), speaker renames, split/merge, revisions and exports.

import { ApiError, listOf, requestJSON } from "./api.js";
import { renderExportLinks, renderRevisionList } from "./history.js";
import { RevisionSaver } from "./saver.js";
import { wireSpeakerForms } from "./speaker-form.js";
import {
  caretWordIndex, fillSegmentText, NEW_SPEAKER, renderCheckList, renderTranscript, WordFollower,
} from "./transcript-view.js";
import {
  announce, announceError, el, formatClock, formatDate, initShell, onLanguageChange, t,
} from "./ui.js";

const clipId = document.body.dataset.clipId;
const clipUrl = `/api/v1/clips/${encodeURIComponent(clipId)}`;
const transcriptUrl = `/api/v1/transcripts/${encodeURIComponent(clipId)}`;

const container = document.getElementById("transcript");
const saveState = document.getElementById("save-state");
const followToggle = document.getElementById("follow-playback");

const state = { clip: null, transcript: null, voices: [] };
let media = null;
let follower = null;
let lastCaret = null; // {segmentId, wordIndex}: buttons steal focus, so remember it

let saveStateParams = {};

function setSaveState(key, params = {}) {
  saveState.dataset.state = key;
  saveStateParams = params;
  saveState.textContent = t(key, params);
}

function segmentById(id) {
  return state.transcript.segments.find((segment) => segment.id === id);
}

function editing() {
  return document.activeElement?.classList.contains("seg-text") ?? false;
}

// ---- loading ----------------------------------------------------------------------------

function renderClipHead() {
  const { clip } = state;
  document.getElementById("clip-title").textContent =
    clip.title || clip.original_filename || t("editor.untitled");
  const meta = [
    clip.programme, formatDate(clip.air_date), clip.duration_s && formatClock(clip.duration_s),
  ];
  document.getElementById("clip-meta").textContent = meta.filter(Boolean).join(" · ");
}

function createPlayer() {
  const tag = state.clip.has_video === false ? "audio" : "video";
  media = el(tag, {
    id: "player", controls: true, preload: "metadata", src: `${clipUrl}/media`,
    "aria-label": t("editor.player"),
  });
  document.getElementById("player-slot").append(media);
  const clock = document.getElementById("current-time");
  const showClock = () => { clock.textContent = formatClock(media.currentTime); };
  for (const name of ["timeupdate", "seeked"]) media.addEventListener(name, showClock);
  follower = new WordFollower(media, container, {
    shouldScroll: () => followToggle.checked && !editing(),
  });
}

function comparable(word) {
  return word.toLowerCase().replace(/ё/g, "е").replace(/[^\p{L}\p{N}]/gu, "");
}

// ?t=SECONDS&w=WORD (search links): the first WORD in the segment playing at SECONDS.
function requestedMoment() {
  const params = new URLSearchParams(location.search);
  const seconds = Number(params.get("t"));
  if (!params.has("t") || !Number.isFinite(seconds)) return null;
  const wanted = comparable(params.get("w") || "");
  const segment = state.transcript.segments.find(
    (candidate) => candidate.start <= seconds + 0.01 && seconds <= candidate.end,
  );
  const word = wanted && segment?.words.find(
    (candidate) => candidate.start >= seconds - 0.01 && comparable(candidate.word) === wanted,
  );
  return word ? word.start : seconds;
}

// Open at the requested moment once the player can seek.
function seekToRequestedMoment() {
  const requested = requestedMoment();
  if (requested === null) return;
  const seek = () => {
    media.currentTime = requested;
    follower.update();
    follower.current?.scrollIntoView({ block: "center" });
  };
  if (media.readyState >= 1) seek();
  else media.addEventListener("loadedmetadata", seek, { once: true });
}

const checkList = document.getElementById("check-list");

function showTranscript() {
  renderTranscript(container, state.transcript, { voices: state.voices });
  renderCheckList(checkList, state.transcript);
  follower.reindex();
}

checkList.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-segment-id]");
  if (!button) return;
  seek(Number(button.dataset.start));
  const segment = container.querySelector(`.segment[data-segment-id="${button.dataset.segmentId}"]`);
  segment?.scrollIntoView({ block: "center" });
  segment?.querySelector("button[data-action=confirm]")?.focus();
});

async function adopt(transcript) {
  state.transcript = transcript;
  showTranscript();
  await loadRevisions();
}

async function loadVoices() {
  try {
    state.voices = listOf(await requestJSON("/api/v1/voices"));
  } catch {
    state.voices = []; // without the registry, names are typed by hand
  }
}

// ---- saving -----------------------------------------------------------------------------

const saver = new RevisionSaver({
  transcriptUrl,
  currentRevision: () => state.transcript.revision,
  showState: setSaveState,
  onSaved: async (updated, { structural }) => {
    if (structural) {
      await adopt(updated);
    } else {
      adoptTextSave(updated);
      await loadRevisions();
    }
  },
});

// Text saves keep the paragraph being typed in as it is; the others get fresh word timings.
function adoptTextSave(updated) {
  state.transcript = updated;
  for (const node of container.querySelectorAll(".seg-text")) {
    const segment = segmentById(Number(node.dataset.segmentId));
    if (segment && node !== document.activeElement) fillSegmentText(node, segment);
  }
  follower.reindex();
}

window.addEventListener("beforeunload", (event) => {
  if (saver.hasUnsaved()) event.preventDefault();
});

// ---- transcript interactions ------------------------------------------------------------

function seek(seconds) {
  media.currentTime = seconds;
  follower.update();
}

container.addEventListener("click", (event) => {
  const word = event.target.closest(".w");
  if (word) {
    seek(Number(word.dataset.start));
    return;
  }
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const segmentId = Number(button.dataset.segmentId);
  switch (button.dataset.action) {
    case "seek":
      seek(Number(button.dataset.start));
      media.play().catch(() => {});
      break;
    case "split":
      splitSegment(segmentId);
      break;
    case "confirm":
      saver.submit([{ op: "confirm_speaker", segment_id: segmentId }])
        .then((saved) => saved && announce(t("editor.confirmed")));
      break;
    case "merge":
      saver.submit([{ op: "merge", segment_ids: [segmentId, Number(button.dataset.nextId)] }])
        .then((saved) => saved && announce(t("editor.merged")));
      break;
    default: // rename buttons belong to speaker-form.js
  }
});

function splitSegment(segmentId) {
  const segment = segmentById(segmentId);
  const atWord = lastCaret?.segmentId === segmentId ? lastCaret.wordIndex : null;
  if (atWord === null || atWord <= 0 || atWord >= segment.words.length) {
    announce(t("editor.split_where"), { error: true });
    return;
  }
  saver.submit([{ op: "split", segment_id: segmentId, at_word: atWord }])
    .then((saved) => saved && announce(t("editor.split_done")));
}

document.addEventListener("selectionchange", () => {
  const node = document.getSelection().anchorNode;
  const paragraph = (node?.nodeType === Node.ELEMENT_NODE ? node : node?.parentElement)
    ?.closest(".seg-text");
  if (!paragraph || !container.contains(paragraph)) return;
  lastCaret = {
    segmentId: Number(paragraph.dataset.segmentId), wordIndex: caretWordIndex(paragraph),
  };
});

container.addEventListener("change", (event) => {
  if (!event.target.classList.contains("speaker-pick") || !event.target.value) return;
  const picked = event.target.value;
  const speakerId = picked === NEW_SPEAKER ? unusedSpeakerId() : picked;
  const segmentId = Number(event.target.dataset.segmentId);
  saver.submit([{ op: "set_speaker", segment_id: segmentId, speaker_id: speakerId }])
    .then((saved) => saved && announce(t("editor.speaker_set")));
});

container.addEventListener("input", (event) => {
  const paragraph = event.target.closest(".seg-text");
  if (!paragraph) return;
  const segmentId = Number(paragraph.dataset.segmentId);
  const text = paragraph.textContent.replace(/\s+/g, " ").trim();
  if (text) {
    saver.queueText(segmentId, text);
  } else {
    saver.dropText(segmentId);
    setSaveState("editor.empty_text");
  }
});

container.addEventListener("focusout", (event) => {
  const paragraph = event.target.closest?.(".seg-text");
  if (!paragraph) return;
  const segmentId = Number(paragraph.dataset.segmentId);
  const refill = () => {
    const segment = segmentById(segmentId);
    if (segment && paragraph !== document.activeElement && !saver.hasUnsaved(segmentId)) {
      fillSegmentText(paragraph, segment);
      follower.reindex();
    }
  };
  (saver.hasUnsaved(segmentId) ? saver.submit([]) : Promise.resolve()).then(refill);
});

// Escape plays and pauses from anywhere on the page (an open speaker form keeps it).
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || !media) return;
  event.preventDefault();
  if (media.paused) media.play().catch(() => {});
  else media.pause();
});

container.addEventListener("keydown", (event) => {
  const paragraph = event.target.closest(".seg-text");
  if (paragraph && event.key === "Enter" && event.altKey) {
    event.preventDefault();
    const segment = segmentById(Number(paragraph.dataset.segmentId));
    const word = segment?.words[Math.min(caretWordIndex(paragraph) ?? 0, segment.words.length - 1)];
    seek(word ? word.start : segment.start);
    media.play().catch(() => {});
  } else if (paragraph && event.key === "Enter") {
    event.preventDefault(); // a segment is one paragraph; splitting is its own button
  }
});

// ---- speakers ---------------------------------------------------------------------------

function unusedSpeakerId() {
  const taken = new Set(state.transcript.speakers.map((speaker) => speaker.id));
  let n = taken.size + 1;
  while (taken.has(`S${n}`)) n += 1;
  return `S${n}`;
}

wireSpeakerForms(container, {
  voices: () => state.voices,
  onRename: async ({ speakerId, segmentIds, name, title, voiceId }) => {
    let id = speakerId;
    const ops = [];
    if (!id) {
      // Nobody was assigned: the turn gets a speaker of its own first.
      id = unusedSpeakerId();
      ops.push(...segmentIds.map((segmentId) => ({
        op: "set_speaker", segment_id: segmentId, speaker_id: id,
      })));
    }
    if (!voiceId) {
      return saver.submit([...ops, { op: "rename_speaker", speaker_id: id, name, title }]);
    }
    // A registry voice: the API copies its name, title and role onto the speaker.
    if (ops.length && !(await saver.submit(ops))) return false;
    return saver.send(`${transcriptUrl}/speakers/${encodeURIComponent(id)}/voice`, {
      voice_id: voiceId,
    });
  },
});

// ---- revisions and exports (rendered by history.js) -------------------------------------

function loadRevisions() {
  return renderRevisionList(document.getElementById("revision-list"), {
    transcriptUrl, currentRevision: state.transcript.revision, onRestore: restoreRevision,
  });
}

async function restoreRevision(number) {
  if (await saver.send(`${transcriptUrl}/revisions/${number}/restore`)) {
    setSaveState("editor.restored", { n: number });
    announce(t("editor.restored", { n: number }));
  }
}

function renderExports() {
  // Unsaved typing belongs in the file: save it first, then download.
  renderExportLinks(document.getElementById("export-links"), {
    transcriptUrl, beforeDownload: () => (saver.hasUnsaved() ? saver.submit([]) : null),
  });
}

// ---- start ------------------------------------------------------------------------------

async function start() {
  initShell("editor.page_title");
  renderExports();
  try {
    state.clip = await requestJSON(clipUrl);
  } catch (error) {
    document.getElementById("clip-title").textContent = t("editor.clip_missing");
    announceError(error);
    return;
  }
  renderClipHead();
  createPlayer();
  try {
    [state.transcript] = await Promise.all([requestJSON(transcriptUrl), loadVoices()]);
  } catch (error) {
    container.replaceChildren(el("p", { class: "empty" }, t("editor.not_ready"), " ",
      el("a", { href: "/" }, t("editor.to_queue"))));
    if (!(error instanceof ApiError && error.status === 404)) announceError(error);
    return;
  }
  showTranscript();
  seekToRequestedMoment();
  setSaveState("editor.saved", { revision: state.transcript.revision });
  await loadRevisions();
  onLanguageChange(() => {
    renderClipHead();
    renderExports();
    showTranscript();
    loadRevisions();
    setSaveState(saveState.dataset.state, saveStateParams);
  });
}

start();

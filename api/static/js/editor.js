// The transcript editor: the player beside the transcript, inline edits saved as
// revisions (debounced PATCH), speaker renames, split/merge, revisions and exports.

import { ApiError, listOf, requestJSON } from "./api.js";
import { renderExportLinks, renderRevisionList } from "./history.js";
import { wireSpeakerForms } from "./speaker-form.js";
import {
  caretWordIndex, fillSegmentText, NEW_SPEAKER, renderTranscript, WordFollower,
} from "./transcript-view.js";
import {
  announce, announceError, el, formatClock, formatDate, initShell, onLanguageChange, t,
} from "./ui.js";

const AUTOSAVE_DELAY_MS = 800;

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

function showTranscript() {
  renderTranscript(container, state.transcript);
  follower.reindex();
}

async function adopt(transcript) {
  state.transcript = transcript;
  showTranscript();
  await loadRevisions();
}

async function loadVoices() {
  try {
    state.voices = listOf(await requestJSON("/api/v1/voices"));
  } catch {
    state.voices = []; // the registry is optional: renaming still works by hand
  }
  document.getElementById("voice-names").replaceChildren(
    ...state.voices.map((voice) => el("option", { value: voice.name }, voice.title || "")),
  );
}

// ---- saving -----------------------------------------------------------------------------

const pendingText = new Map(); // segment id -> text typed but not yet saved
let autosaveTimer = 0;
let saving = Promise.resolve();

function queueTextEdit(segmentId, text) {
  pendingText.set(segmentId, text);
  setSaveState("editor.unsaved");
  clearTimeout(autosaveTimer);
  autosaveTimer = setTimeout(() => submitOps([]), AUTOSAVE_DELAY_MS);
}

// One PATCH at a time, text edits first, in the order the editor made them.
// Resolves to whether the save went through (failures are announced here).
function submitOps(structuralOps) {
  clearTimeout(autosaveTimer);
  saving = saving.then(async () => {
    const textOps = [...pendingText].map(([segmentId, text]) => ({
      op: "set_text", segment_id: segmentId, text,
    }));
    const ops = [...textOps, ...structuralOps];
    if (!ops.length) return true;
    pendingText.clear();
    setSaveState("editor.saving");
    try {
      const updated = await requestJSON(transcriptUrl, {
        method: "PATCH", body: { base_revision: state.transcript.revision, ops },
      });
      if (structuralOps.length) {
        await adopt(updated);
      } else {
        adoptTextSave(updated);
        await loadRevisions();
      }
      setSaveState("editor.saved", { revision: state.transcript.revision });
      return true;
    } catch (error) {
      for (const op of textOps) {
        if (!pendingText.has(op.segment_id)) pendingText.set(op.segment_id, op.text);
      }
      setSaveState("editor.save_failed");
      if (error instanceof ApiError && error.status === 409) {
        announce(t("editor.conflict"), { error: true });
      } else {
        announceError(error);
      }
      return false;
    }
  });
  return saving;
}

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
  if (pendingText.size) event.preventDefault();
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
    case "merge":
      submitOps([{ op: "merge", segment_ids: [segmentId, Number(button.dataset.nextId)] }])
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
  submitOps([{ op: "split", segment_id: segmentId, at_word: atWord }])
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
  submitOps([{ op: "set_speaker", segment_id: segmentId, speaker_id: speakerId }])
    .then((saved) => saved && announce(t("editor.speaker_set")));
});

container.addEventListener("input", (event) => {
  const paragraph = event.target.closest(".seg-text");
  if (!paragraph) return;
  const segmentId = Number(paragraph.dataset.segmentId);
  const text = paragraph.textContent.replace(/\s+/g, " ").trim();
  if (text) {
    queueTextEdit(segmentId, text);
  } else {
    pendingText.delete(segmentId);
    setSaveState("editor.empty_text");
  }
});

container.addEventListener("focusout", (event) => {
  const paragraph = event.target.closest?.(".seg-text");
  if (!paragraph) return;
  const segmentId = Number(paragraph.dataset.segmentId);
  const refill = () => {
    const segment = segmentById(segmentId);
    if (segment && paragraph !== document.activeElement && !pendingText.has(segmentId)) {
      fillSegmentText(paragraph, segment);
      follower.reindex();
    }
  };
  (pendingText.has(segmentId) ? submitOps([]) : Promise.resolve()).then(refill);
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
  onRename: ({ speakerId, segmentIds, name, title }) => {
    if (speakerId) return submitOps([{ op: "rename_speaker", speaker_id: speakerId, name, title }]);
    // Nobody was assigned: the turn gets a speaker of its own, then its name.
    const newId = unusedSpeakerId();
    return submitOps([
      ...segmentIds.map((id) => ({ op: "set_speaker", segment_id: id, speaker_id: newId })),
      { op: "rename_speaker", speaker_id: newId, name, title },
    ]);
  },
});

// ---- revisions and exports (rendered by history.js) -------------------------------------

function loadRevisions() {
  return renderRevisionList(document.getElementById("revision-list"), {
    transcriptUrl, currentRevision: state.transcript.revision, onRestore: restoreRevision,
  });
}

async function restoreRevision(number) {
  await submitOps([]);
  try {
    const restoreUrl = `${transcriptUrl}/revisions/${number}/restore`;
    await adopt(await requestJSON(restoreUrl, { method: "POST" }));
    setSaveState("editor.restored", { n: number });
    announce(t("editor.restored", { n: number }));
  } catch (error) {
    announceError(error);
  }
}

function renderExports() {
  // Unsaved typing belongs in the file: save it first, then download.
  renderExportLinks(document.getElementById("export-links"), {
    transcriptUrl, beforeDownload: () => (pendingText.size ? submitOps([]) : null),
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
    state.transcript = await requestJSON(transcriptUrl);
  } catch (error) {
    container.replaceChildren(el("p", { class: "empty" }, t("editor.not_ready"), " ",
      el("a", { href: "/" }, t("editor.to_queue"))));
    if (!(error instanceof ApiError && error.status === 404)) announceError(error);
    return;
  }
  showTranscript();
  seekToRequestedMoment();
  setSaveState("editor.saved", { revision: state.transcript.revision });
  await Promise.all([loadRevisions(), loadVoices()]);
  onLanguageChange(() => {
    renderClipHead();
    renderExports();
    showTranscript();
    loadRevisions();
    setSaveState(saveState.dataset.state, saveStateParams);
  });
}

start();

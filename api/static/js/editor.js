// The transcript editor: the player beside the transcript, inline edits saved as
// revisions (debounced PATCH), speaker renames, split/merge, revisions and exports.

import { ApiError, listOf, requestJSON } from "./api.js";
import "./cuts.js"; // cuts and selections: a section of its own (#cuts-section)
import { renderExportLinks, renderRevisionList } from "./history.js";
import { QualityPanel } from "./qc.js";
import { RevisionSaver } from "./saver.js";
import { wireSpeakerForms } from "./speaker-form.js";
import {
  caretWordIndex, fillSegmentText, hydrateSegment, isUnsure, NEW_SPEAKER, renderCheckList,
  renderTranscript, speakerCaption, updateSegments, WordFollower, wordNode,
} from "./transcript-view.js";
import {
  announce, announceError, el, formatClock, formatDate, initShell, onLanguageChange, t,
} from "./ui.js";
import { boundLimits, FRAME_S, snapToFrame, Waveform } from "./waveform.js";

const clipId = document.body.dataset.clipId;
const clipUrl = `/api/v1/clips/${encodeURIComponent(clipId)}`;
const transcriptUrl = `/api/v1/transcripts/${encodeURIComponent(clipId)}`;

const container = document.getElementById("transcript");
const saveState = document.getElementById("save-state");
const followToggle = document.getElementById("follow-playback");

const state = { clip: null, transcript: null, voices: [] };
let media = null;
let follower = null;
let waveform = null;
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
  const title = document.getElementById("clip-title");
  // The title is content now: a language switch must not put «Загрузка…» back.
  title.removeAttribute("data-i18n");
  title.textContent = clip.title || clip.original_filename || t("editor.untitled");
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
    transcript: () => state.transcript,
  });
  waveform = new Waveform(document.getElementById("waveform-slot"), media, {
    peaksUrl: `${clipUrl}/peaks`, transcript: () => state.transcript, onRetime: retime, onSeek: seek,
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
const quality = new QualityPanel({
  transcriptUrl, container, after: checkList.closest("section"), seek: (at) => seek(at),
});

function showTranscript() {
  renderTranscript(container, state.transcript, { voices: state.voices });
  renderCheckList(checkList, state.transcript);
  follower.reindex();
  waveform.draw();
  quality.refresh(state.transcript);
}

checkList.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-segment-id]");
  if (!button) return;
  seek(Number(button.dataset.start));
  const segment = hydrateSegment(
    container.querySelector(`.segment[data-segment-id="${button.dataset.segmentId}"]`));
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
    refreshCueTrack();
  },
});

// Text saves keep the paragraph being typed in as it is; the others get fresh word timings.
function adoptTextSave(updated) {
  state.transcript = updated;
  updateSegments(updated);
  for (const node of container.querySelectorAll(".seg-text")) {
    const segment = segmentById(Number(node.dataset.segmentId));
    if (segment && node !== document.activeElement) fillSegmentText(node, segment);
  }
  follower.reindex();
  quality.refresh(state.transcript);
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
      mergeWithNext(segmentId, Number(button.dataset.nextId));
      break;
    default: // rename buttons belong to speaker-form.js
  }
});

// Text never moves to another speaker silently: across a speaker change the editor says
// whose the merged text is, or nothing happens.
async function mergeWithNext(segmentId, nextId) {
  const speakers = [...new Set([segmentById(segmentId).speaker, segmentById(nextId).speaker])];
  const op = { op: "merge", segment_ids: [segmentId, nextId] };
  if (speakers.length > 1) {
    const chosen = await askWhoseText(speakers);
    if (!chosen) {
      focusSegment(segmentId);
      return;
    }
    op.speaker_id = chosen;
  }
  if (await saver.submit([op])) {
    announce(t("editor.merged"));
    focusSegment(segmentId);
  }
}

function askWhoseText(speakerIds) {
  const byId = new Map(state.transcript.speakers.map((speaker) => [speaker.id, speaker]));
  return new Promise((resolve) => {
    const dialog = el("dialog", { class: "choice-dialog", "aria-labelledby": "merge-question" },
      el("p", { id: "merge-question" }, t("editor.merge_whose")),
      el("div", { class: "button-row" },
        ...speakerIds.map((id) => el("button", {
          type: "button", class: "secondary", dataset: { speakerId: id },
          onclick: () => dialog.close(id),
        }, speakerCaption(byId.get(id), id))),
        el("button", { type: "button", class: "link-button", onclick: () => dialog.close("") },
          t("editor.cancel"))));
    // Escape always means "no"; Chromium's close watcher may swallow a repeated one.
    dialog.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        dialog.close("");
      }
    });
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue || null);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

// After a change re-renders the transcript, the keyboard stays on the segment worked on.
function focusSegment(segmentId) {
  container.querySelector(`.seg-text[data-segment-id="${segmentId}"]`)?.focus();
}

// Fix a misheard name everywhere: every form of the word, one revision, times kept.
const replaceForm = document.getElementById("replace-form");
replaceForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const find = replaceForm.elements.find.value.trim();
  const replacement = replaceForm.elements.replace.value.trim();
  if (!find || !replacement) return;
  const addToGlossary = replaceForm.elements.glossary.checked;
  const before = state.transcript.segments.flatMap((segment) => segment.words.map((w) => w.word));
  const op = { op: "replace_word", find, replace: replacement, add_to_glossary: addToGlossary };
  if (!(await saver.submit([op]))) return;
  const after = state.transcript.segments.flatMap((segment) => segment.words.map((w) => w.word));
  const changed = after.filter((word, i) => word !== before[i]).length;
  // The server adds the term to the clip's programme's glossary too: its next clips need it.
  const programme = state.clip.programme;
  const key = !addToGlossary ? "editor.replaced"
    : programme ? "editor.replaced_glossary_programme" : "editor.replaced_glossary";
  announce(t(key, { count: changed, word: replacement, programme }));
  replaceForm.elements.find.focus();
});

// ---- timing ------------------------------------------------------------------------------

// A boundary dragged on the waveform, or nudged by keys: one revision, words stretched along.
async function retime(segmentId, start, end) {
  const saved = await saver.submit([{ op: "set_bounds", segment_id: segmentId, start, end }]);
  waveform.showPreview(null);
  if (!saved) return;
  announce(t("editor.retimed", { start: formatPrecise(start), end: formatPrecise(end) }));
  if (nudged?.segmentId === segmentId && nudged.keyboard === segmentId) focusSegment(segmentId);
}

// «м:сс,сс»: a retime moves by frames, so the clock shows hundredths.
function formatPrecise(seconds) {
  const hundredths = Math.round(seconds * 100);
  return `${formatClock(Math.floor(hundredths / 100))},${String(hundredths % 100).padStart(2, "0")}`;
}

// The segment the keys retime: the one being edited, else the one playing.
function currentSegment() {
  const focused = focusedSegmentId();
  if (focused !== null) return segmentById(focused);
  const now = media?.currentTime ?? 0;
  return state.transcript.segments.find((segment) => segment.start <= now && now < segment.end)
    ?? state.transcript.segments.find((segment) => segment.start >= now);
}

// Nudges gather for a moment and are saved as one revision.
const NUDGE_SAVE_DELAY_MS = 600;
let nudged = null; // {segmentId, start, end, timer, keyboard}

function nudgeBound(edge, frames) {
  const segment = nudged ? segmentById(nudged.segmentId) : currentSegment();
  if (!segment) return;
  const bounds = nudged ?? { segmentId: segment.id, start: segment.start, end: segment.end };
  let [min, max] = boundLimits(state.transcript.segments, segment.id, edge, media?.duration);
  // Against the other edge as nudged so far, not as last saved.
  if (edge === "start") max = Math.min(max, bounds.end - FRAME_S);
  else min = Math.max(min, bounds.start + FRAME_S);
  clearTimeout(nudged?.timer);
  const pending = {
    ...bounds,
    // Onto the nearest frame first, then whole frames: each press moves exactly one.
    [edge]: Math.min(max, Math.max(min, snapToFrame(bounds[edge]) + frames * FRAME_S)),
    keyboard: focusedSegmentId(),
  };
  nudged = pending;
  waveform.showPreview({ segmentId: pending.segmentId, start: pending.start, end: pending.end });
  pending.timer = setTimeout(() => {
    retime(pending.segmentId, pending.start, pending.end).finally(() => {
      if (nudged === pending) nudged = null;
    });
  }, NUDGE_SAVE_DELAY_MS);
}

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
    .then((saved) => {
      if (!saved) return;
      announce(t("editor.speaker_set"));
      // The transcript was re-rendered: the keyboard goes back to that segment's picker.
      container.querySelector(`.speaker-pick[data-segment-id="${segmentId}"]`)?.focus();
    });
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

// Tabbing into a segment (or a turn's caption) not yet filled: it gets its words, tools
// and rename form first.
container.addEventListener("focusin", (event) => {
  const segment = event.target.closest?.(".segment")
    ?? event.target.closest?.(".turn")?.querySelector(".segment");
  hydrateSegment(segment);
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

// ---- subtitles as they will air ----------------------------------------------------------

// The cues of the WebVTT export, cut by the current rules, drawn over the picture; reloaded
// after every save so they follow the edits.
const showCues = document.getElementById("show-cues");

function refreshCueTrack() {
  media?.querySelector("track")?.remove();
  if (!media || !showCues.checked) return;
  const track = el("track", {
    kind: "subtitles", srclang: "ru", label: t("editor.show_cues"), default: true,
    src: `${transcriptUrl}/export?format=vtt&revision=${state.transcript.revision}`,
  });
  track.addEventListener("load", () => { track.track.mode = "showing"; });
  media.append(track);
  track.track.mode = "showing";
}
showCues.addEventListener("change", refreshCueTrack);

// ---- unsure words ------------------------------------------------------------------------

const showUnsure = document.getElementById("show-unsure");
const LEAD_IN_S = 1.0; // start the player a little before the word, to hear it in context

function applyUnsureSwitch() {
  container.classList.toggle("show-unsure", showUnsure.checked);
}
showUnsure.addEventListener("change", applyUnsureSwitch);
applyUnsureSwitch();

let unsureTarget = null; // the start of the word «Следующее сомнительное» last landed on

// «Следующее сомнительное»: the first unsure word after the playhead (wrapping round),
// played from just before it, with the keyboard on its segment.
function nextUnsure() {
  const words = state.transcript.segments.flatMap((segment) => segment.words
    .map((word, index) => ({ segmentId: segment.id, index, start: word.start, word }))
    .filter((entry) => isUnsure(entry.word)));
  if (!words.length) {
    announce(t("editor.no_unsure"));
    return;
  }
  const playhead = media?.currentTime ?? 0;
  // Pressed again while the lead-in plays, it goes on past that word, not back to it.
  const inLeadIn = unsureTarget !== null && playhead < unsureTarget
    && playhead >= unsureTarget - LEAD_IN_S - 0.1;
  const now = (inLeadIn ? unsureTarget : playhead) + 0.05;
  const found = words.find((entry) => entry.start > now) ?? words[0];
  const next = wordNode(container, found.segmentId, found.index);
  const { start } = found;
  unsureTarget = start;
  seek(Math.max(0, start - LEAD_IN_S));
  media?.play().catch(() => {});
  for (const word of container.querySelectorAll(".w.is-target")) word.classList.remove("is-target");
  next.classList.add("is-target");
  next.closest(".seg-text")?.focus({ preventScroll: true });
  next.scrollIntoView({ block: "center" });
  announce(t("editor.unsure_at", { time: formatClock(start), word: next.textContent }));
}
document.getElementById("next-unsure").addEventListener("click", nextUnsure);
document.getElementById("show-keys").addEventListener("click", () => showShortcuts());

// ---- keyboard -----------------------------------------------------------------------------

// Keyboard first: every action has a key; «?» shows them all. Alt combinations work while
// typing in a segment; «?» only outside text fields.
const SHORTCUTS = [
  { keys: "Esc", action: "editor.key_play", run: () => togglePlay() },
  { keys: "Alt+←", code: "ArrowLeft", alt: true, action: "editor.key_back", run: () => nudge(-2) },
  { keys: "Alt+→", code: "ArrowRight", alt: true, action: "editor.key_forward", run: () => nudge(2) },
  { keys: "Alt+↓", code: "ArrowDown", alt: true, action: "editor.key_next_turn", run: () => jumpTurn(1) },
  { keys: "Alt+↑", code: "ArrowUp", alt: true, action: "editor.key_previous_turn", run: () => jumpTurn(-1) },
  { keys: "Alt+N", code: "KeyN", alt: true, action: "editor.next_unsure", run: () => nextUnsure() },
  { keys: "Alt+R", code: "KeyR", alt: true, action: "editor.replace_heading", run: () => focusReplace() },
  { keys: "Alt+S", code: "KeyS", alt: true, action: "editor.key_split", run: () => splitAtCaret() },
  { keys: "Alt+M", code: "KeyM", alt: true, action: "editor.key_merge", run: () => mergeFocused() },
  { keys: "Alt+Z", code: "KeyZ", alt: true, action: "editor.key_undo", run: () => undo() },
  { keys: "Alt+Shift+Z", code: "KeyZ", alt: true, shift: true, action: "editor.key_redo", run: () => redo() },
  { keys: "Alt+[", code: "BracketLeft", alt: true, action: "editor.key_start_earlier", run: () => nudgeBound("start", -1) },
  { keys: "Alt+]", code: "BracketRight", alt: true, action: "editor.key_start_later", run: () => nudgeBound("start", 1) },
  { keys: "Alt+Shift+[", code: "BracketLeft", alt: true, shift: true, action: "editor.key_end_earlier", run: () => nudgeBound("end", -1) },
  { keys: "Alt+Shift+]", code: "BracketRight", alt: true, shift: true, action: "editor.key_end_later", run: () => nudgeBound("end", 1) },
  { keys: "Alt+=", code: "Equal", alt: true, action: "editor.zoom_in", run: () => waveform.setZoom(waveform.zoom + 1) },
  { keys: "Alt+-", code: "Minus", alt: true, action: "editor.zoom_out", run: () => waveform.setZoom(waveform.zoom - 1) },
  { keys: "?", action: "editor.key_help", run: () => showShortcuts() },
];

function togglePlay() {
  if (!media) return;
  if (media.paused) media.play().catch(() => {});
  else media.pause();
}

// The replace form sits above the transcript, many Tab stops back from the words.
function focusReplace() {
  replaceForm.elements.find.focus();
  replaceForm.elements.find.select();
}

function nudge(seconds) {
  if (media) seek(Math.max(0, media.currentTime + seconds));
}

function focusedSegmentId() {
  const paragraph = document.activeElement?.closest?.(".seg-text");
  return paragraph ? Number(paragraph.dataset.segmentId) : null;
}

function jumpTurn(step) {
  const turns = [...container.querySelectorAll(".turn")];
  const current = document.activeElement?.closest?.(".turn");
  const index = current ? turns.indexOf(current) + step : step > 0 ? 0 : turns.length - 1;
  const turn = turns[Math.max(0, Math.min(turns.length - 1, index))];
  const first = hydrateSegment(turn?.querySelector(".segment"));
  if (!first) return;
  first.querySelector(".seg-text").focus();
  const segment = segmentById(Number(first.dataset.segmentId));
  seek(segment.words[0]?.start ?? segment.start);
}

function splitAtCaret() {
  const segmentId = focusedSegmentId();
  if (segmentId !== null) splitSegment(segmentId);
}

function mergeFocused() {
  const segmentId = focusedSegmentId();
  const button = segmentId === null ? null
    : container.querySelector(`[data-action=merge][data-segment-id="${segmentId}"]`);
  if (button) mergeWithNext(segmentId, Number(button.dataset.nextId));
}

// Undo and redo move between saved revisions, each step a new revision (history is kept).
const undone = [];

async function undo() {
  const current = state.transcript.revision;
  if (current <= 1) return;
  if (await saver.send(`${transcriptUrl}/revisions/${current - 1}/restore`)) {
    undone.push(current);
    setSaveState("editor.restored", { n: current - 1 });
    announce(t("editor.undone", { n: current - 1 }));
  }
}

async function redo() {
  const revision = undone.pop();
  if (revision && await saver.send(`${transcriptUrl}/revisions/${revision}/restore`)) {
    setSaveState("editor.restored", { n: revision });
    announce(t("editor.redone", { n: revision }));
  }
}

function showShortcuts() {
  const dialog = el("dialog", { class: "choice-dialog shortcuts", "aria-labelledby": "keys-title" },
    el("h2", { id: "keys-title" }, t("editor.key_help")),
    el("dl", {}, ...SHORTCUTS.flatMap((shortcut) => [
      el("dt", {}, el("kbd", {}, shortcut.keys)), el("dd", {}, t(shortcut.action))])),
    el("button", { type: "button", class: "secondary", onclick: () => dialog.close() },
      t("editor.close")));
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

function inTextField(target) {
  return target.closest?.("input, textarea, select, [contenteditable=true]");
}

document.addEventListener("keydown", (event) => {
  if (document.querySelector("dialog[open]")) return;
  if (event.key === "Escape") {
    event.preventDefault();
    togglePlay();
    return;
  }
  if (event.key === "?" && !inTextField(event.target)) {
    event.preventDefault();
    showShortcuts();
    return;
  }
  const shortcut = SHORTCUTS.find((candidate) => candidate.code === event.code
    && Boolean(candidate.alt) === event.altKey && Boolean(candidate.shift) === event.shiftKey);
  if (!shortcut) return;
  event.preventDefault();
  shortcut.run();
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
  waveform.load();
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

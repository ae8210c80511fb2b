// The transcript as the editor shows it: turns under speaker captions, one editable
// paragraph per segment, one <span data-start> per word, and the word that is playing.
// A long programme has ten thousand words: only the segments near the screen get their
// word spans and tools; the others hold plain text (find-in-page still sees it) until
// they scroll close or are asked for (hydrateSegment).

import { renderSpeakerForm } from "./speaker-form.js";
import { el, formatClock, t } from "./ui.js";

// Subtitles above this reading speed break the house rules whatever the cue split.
const MAX_CHARS_PER_SECOND = 17;
// A word stays lit this long after its end, and the next one lights this long before
// its start, so short pauses inside speech do not flicker.
const WORD_TAIL_S = 0.25;
const UPCOMING_WORD_S = 0.6;

// Unnamed speakers are numbered in the order they first speak («Спикер 3»): an internal
// id like "S6" means nothing to an editor.
const speakerNumbers = new Map();

export function speakerCaption(speaker, speakerId) {
  if (speaker?.name) return speaker.caption || speaker.name;
  if (speaker?.role) return t(`role.${speaker.role}`);
  if (!speakerId) return t("editor.unknown_speaker");
  if (!speakerNumbers.has(speakerId)) speakerNumbers.set(speakerId, speakerNumbers.size + 1);
  return `${t("editor.unknown_speaker")} ${speakerNumbers.get(speakerId)}`;
}

// Below this word probability the model was unsure: the word is marked for a look.
export const UNSURE_BELOW = 0.5;

// A word the repair step changed is unsure too: the model first heard something else.
export function isUnsure(word) {
  return (word.probability ?? 1) < UNSURE_BELOW || Boolean(word.repaired_from);
}

function wordSpans(segment) {
  const nodes = [];
  segment.words.forEach((word, index) => {
    if (index) nodes.push(" ");
    const repaired = Boolean(word.repaired_from);
    const classes = ["w", isUnsure(word) ? "unsure" : "", repaired ? "repaired" : ""];
    const title = repaired
      ? t("editor.repaired_word", { heard: word.repaired_from.trim() })
      : isUnsure(word) ? t("editor.unsure_word", { p: Math.round(word.probability * 100) }) : null;
    nodes.push(el("span", {
      class: classes.filter(Boolean).join(" "),
      dataset: { start: word.start, end: word.end, i: index },
      title,
    }, word.word.trim()));
  });
  return nodes;
}

// Refill one segment's paragraph from the model (after a save, or when editing ends).
export function fillSegmentText(textElement, segment) {
  if (textElement.closest(".segment")?.classList.contains("lazy")) {
    textElement.textContent = segment.text;
  } else {
    textElement.replaceChildren(...(segment.words.length ? wordSpans(segment) : [segment.text]));
  }
}

function readingSpeedFlag(segment) {
  const seconds = segment.end - segment.start;
  const cps = seconds > 0 ? segment.text.trim().length / seconds : Infinity;
  if (cps <= MAX_CHARS_PER_SECOND) return null;
  return el("span", { class: "flag", title: t("editor.too_fast_hint") },
    t("editor.too_fast", { cps: Number.isFinite(cps) ? cps.toFixed(0) : "∞" }));
}

export const NEW_SPEAKER = "__new__";

// A name the speaker stage was unsure of (no caption over it): flagged until an editor
// confirms it or picks another speaker.
function checkTools(segment) {
  if (!segment.check) return [];
  return [
    el("span", { class: "flag check-flag", title: t("editor.check_hint") }, t("editor.check")),
    el("button", {
      type: "button", class: "tool", dataset: { action: "confirm", segmentId: segment.id },
      title: t("editor.confirm_hint"),
    }, t("editor.confirm")),
  ];
}

// The clip's turns to check, as a list that jumps to each.
export function renderCheckList(list, transcript) {
  const speakers = new Map(transcript.speakers.map((speaker) => [speaker.id, speaker]));
  const flagged = transcript.segments.filter((segment) => segment.check);
  if (!flagged.length) {
    list.replaceChildren(el("li", { class: "empty" }, t("editor.no_checks")));
    return;
  }
  list.replaceChildren(...flagged.map((segment) => el("li", {},
    el("button", {
      type: "button", class: "link", dataset: { segmentId: segment.id, start: segment.start },
    }, `${formatClock(segment.start)} ${speakerCaption(speakers.get(segment.speaker), segment.speaker)}`))));
}

// Diarization slips are fixed per segment: pick who really speaks it.
function speakerPicker(segment, speakers) {
  const options = [...speakers.values()].map((speaker) => el("option", {
    value: speaker.id, selected: speaker.id === segment.speaker,
  }, speakerCaption(speaker, speaker.id)));
  if (segment.speaker === null) options.unshift(el("option", { value: "", selected: true }, "—"));
  return el("select", {
    class: "tool speaker-pick", dataset: { segmentId: segment.id },
    "aria-label": `${t("editor.segment_speaker")} ${formatClock(segment.start)}`,
  }, ...options, el("option", { value: NEW_SPEAKER }, t("editor.new_speaker")));
}

function segmentTools(segment, nextSegment, speakers) {
  return el("div", { class: "seg-tools" },
    el("button", {
      type: "button", class: "tool", dataset: { action: "split", segmentId: segment.id },
      title: t("editor.split_hint"),
    }, t("editor.split")),
    nextSegment && el("button", {
      type: "button", class: "tool",
      dataset: { action: "merge", segmentId: segment.id, nextId: nextSegment.id },
      title: t("editor.merge_hint"),
    }, t("editor.merge")),
    speakerPicker(segment, speakers),
    ...checkTools(segment),
    readingSpeedFlag(segment));
}

// What the lazy segments are filled from: the transcript last rendered or saved.
const view = {
  segments: new Map(), nextOf: new Map(), speakers: new Map(), voices: [], observer: null,
};

export function updateSegments(transcript) {
  const { segments } = transcript;
  view.segments = new Map(segments.map((segment) => [segment.id, segment]));
  view.nextOf = new Map(segments.map((segment, i) => [segment.id, segments[i + 1]]));
  view.speakers = new Map(transcript.speakers.map((speaker) => [speaker.id, speaker]));
}

// Give a plain-text segment its word spans and tools now (it is about to be used).
export function hydrateSegment(segmentElement) {
  if (!segmentElement?.classList.contains("lazy")) return segmentElement;
  const segment = view.segments.get(Number(segmentElement.dataset.segmentId));
  view.observer?.unobserve(segmentElement);
  segmentElement.classList.remove("lazy");
  if (!segment) return segmentElement;
  fillSegmentText(segmentElement.querySelector(".seg-text"), segment);
  segmentElement.append(segmentTools(segment, view.nextOf.get(segment.id), view.speakers));
  addSpeakerForm(segmentElement.closest(".turn"));
  return segmentElement;
}

// A turn's rename form is built with its first filled segment: hundreds of hidden forms
// would double the page.
function addSpeakerForm(turnElement) {
  const head = turnElement?.querySelector(".turn-head");
  if (!head || head.querySelector(".speaker-form")) return;
  const speakerId = turnElement.dataset.speaker || null;
  const segments = [...turnElement.querySelectorAll(".segment")]
    .map((node) => view.segments.get(Number(node.dataset.segmentId)));
  head.append(renderSpeakerForm({ speakerId, segments }, view.speakers.get(speakerId), view.voices,
    head.querySelector(".speaker-caption").textContent));
}

// The <span> of a segment's word, hydrating the segment if need be.
export function wordNode(container, segmentId, index) {
  const segment = container.querySelector(`.segment[data-segment-id="${segmentId}"]`);
  return hydrateSegment(segment)?.querySelector(`.w[data-i="${index}"]`) ?? null;
}

// Segments this close to the screen (or among the first) are filled before they show.
const EAGER_SEGMENTS = 30;
const HYDRATE_MARGIN = "150% 0px";

function renderSegment(segment, nextSegment, speakers, eager) {
  const label = `${t("editor.segment")} ${formatClock(segment.start)}`;
  const text = el("p", {
    class: "seg-text",
    contenteditable: "true",
    spellcheck: "true",
    lang: "ru",
    role: "textbox",
    "aria-multiline": "true",
    "aria-label": label,
    dataset: { segmentId: segment.id },
  });
  const classes = ["segment", segment.check ? "needs-check" : "", eager ? "" : "lazy"];
  const node = el("div", { class: classes.filter(Boolean).join(" "), dataset: { segmentId: segment.id } },
    el("button", {
      type: "button", class: "seg-time", dataset: { action: "seek", start: segment.start },
      "aria-label": `${t("editor.play_from")} ${formatClock(segment.start)}`,
    }, formatClock(segment.start)),
    text);
  fillSegmentText(text, segment);
  if (eager) node.append(segmentTools(segment, nextSegment, speakers));
  else view.observer.observe(node);
  return node;
}

function renderSpeakerHead(turn, speaker) {
  const caption = speakerCaption(speaker, turn.speakerId);
  return el("header", { class: "turn-head" },
    el("button", {
      type: "button", class: "speaker-caption", "aria-expanded": "false",
      dataset: { action: "rename", speakerId: turn.speakerId ?? "" },
      title: t("editor.rename_hint"), "aria-label": `${t("editor.rename_hint")}: ${caption}`,
    }, caption));
}

// Each speaker keeps one colour wherever the clip is opened: a hash of its id picks one of
// the palette's classes (inline styles are refused by the page's CSP).
const SPEAKER_COLOURS = 8;

export function speakerColour(speakerId) {
  let hash = 0;
  for (const char of speakerId ?? "") hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return `speaker-c${hash % SPEAKER_COLOURS}`;
}

// Consecutive segments of one speaker make one turn under one caption.
export function renderTranscript(container, transcript, { voices }) {
  updateSegments(transcript);
  view.voices = voices;
  const { speakers } = view;
  speakerNumbers.clear();
  view.observer?.disconnect();
  view.observer = new IntersectionObserver((entries) => {
    for (const entry of entries) if (entry.isIntersecting) hydrateSegment(entry.target);
  }, { rootMargin: HYDRATE_MARGIN });
  const turns = [];
  for (const segment of transcript.segments) {
    const last = turns.at(-1);
    if (last && last.speakerId === segment.speaker) last.segments.push(segment);
    else turns.push({ speakerId: segment.speaker, segments: [segment] });
  }
  if (!turns.length) {
    container.replaceChildren(el("p", { class: "empty" }, t("editor.no_speech")));
    return;
  }
  let rendered = 0;
  container.replaceChildren(...turns.map((turn) => {
    const eager = rendered < EAGER_SEGMENTS;
    const article = el("article", {
      class: `turn ${speakerColour(turn.speakerId)}`, dataset: { speaker: turn.speakerId ?? "" },
    },
    renderSpeakerHead(turn, speakers.get(turn.speakerId)),
    ...turn.segments.map((segment) => {
      rendered += 1;
      return renderSegment(segment, view.nextOf.get(segment.id), speakers, rendered <= EAGER_SEGMENTS);
    }));
    if (eager) addSpeakerForm(article);
    return article;
  }));
}

// Where a split at the caret would cut: the index of the first word of the second part.
export function caretWordIndex(textElement) {
  const selection = document.getSelection();
  if (!selection.rangeCount || !textElement.contains(selection.anchorNode)) return null;
  const { anchorNode, anchorOffset } = selection;
  const element = anchorNode.nodeType === Node.ELEMENT_NODE ? anchorNode : anchorNode.parentElement;
  const word = element.closest(".w");
  if (word) {
    const index = Number(word.dataset.i);
    return anchorOffset <= word.textContent.length / 2 ? index : index + 1;
  }
  // The caret sits in the space between two words, or at an edge of the paragraph.
  const words = [...textElement.querySelectorAll(".w")];
  const range = selection.getRangeAt(0);
  const after = words.find((candidate) => range.comparePoint(candidate, 0) > 0);
  return after ? Number(after.dataset.i) : words.length;
}

// Highlights the word under the playhead; follows it down the page if asked to. Words are
// indexed from the transcript, not the page: most of a long one has no word spans yet.
export class WordFollower {
  constructor(media, container, { shouldScroll, transcript }) {
    this.media = media;
    this.container = container;
    this.shouldScroll = shouldScroll;
    this.transcript = transcript;
    this.words = [];
    this.current = null;
    this.currentWord = null;
    this.frame = 0;
    const tick = () => this.update();
    for (const name of ["timeupdate", "seeked", "loadedmetadata"]) {
      media.addEventListener(name, tick);
    }
    media.addEventListener("play", () => this.loop());
  }

  reindex() {
    this.words = this.transcript().segments
      .flatMap((segment) => segment.words.map((word, index) => ({
        segmentId: segment.id, index, start: word.start, end: word.end,
      })))
      .sort((a, b) => a.start - b.start);
    this.current?.classList.remove("is-current");
    this.current = null;
    this.currentWord = null;
    this.update();
  }

  // requestAnimationFrame while playing: timeupdate alone fires only ~4 times a second.
  loop() {
    cancelAnimationFrame(this.frame);
    const step = () => {
      this.update();
      if (!this.media.paused && !this.media.ended) this.frame = requestAnimationFrame(step);
    };
    this.frame = requestAnimationFrame(step);
  }

  wordAt(time) {
    let low = 0;
    let high = this.words.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if (this.words[middle].start <= time + 0.01) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    const word = this.words[found];
    if (word && time <= word.end + WORD_TAIL_S) return word;
    // Between words (or at a segment's start, where search links land): the word
    // about to be spoken, if it is close; otherwise nobody speaks and nothing is lit.
    const next = this.words[found + 1];
    return next && next.start - time <= UPCOMING_WORD_S ? next : null;
  }

  update() {
    const word = this.wordAt(this.media.currentTime);
    // A re-render replaces the spans: the same word may need its new node.
    if (word === this.currentWord && (!this.current || this.current.isConnected)) return;
    this.currentWord = word;
    const node = word ? wordNode(this.container, word.segmentId, word.index) : null;
    this.current?.classList.remove("is-current");
    this.current?.closest(".segment")?.classList.remove("is-playing");
    this.current = node;
    if (!node) return;
    node.classList.add("is-current");
    node.closest(".segment")?.classList.add("is-playing");
    if (this.shouldScroll()) scrollIntoViewIfNeeded(node);
  }
}

function scrollIntoViewIfNeeded(node) {
  const box = node.getBoundingClientRect();
  const margin = window.innerHeight * 0.2;
  if (box.top < margin || box.bottom > window.innerHeight - margin) {
    node.scrollIntoView({ block: "center", behavior: "smooth" });
  }
}

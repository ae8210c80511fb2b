// The programme's waveform under the player: peaks the worker measured once, each
// segment's span in its speaker's colour, its boundaries draggable to retime it, zoom
// down to single frames, and the view following the playhead.

import { requestJSON } from "./api.js";
import { speakerColour } from "./transcript-view.js";
import { el, formatClock, t } from "./ui.js";

export const FRAME_S = 1 / 25; // boundaries snap to 25 fps frames, as the picture is cut
// Seconds across the canvas at each zoom step; at the last one a frame is many pixels wide.
const ZOOM_SPANS = [600, 180, 60, 20, 8, 3];
const DEFAULT_ZOOM = 3;
const GRAB_PX = 6; // how near a boundary a press must land to drag it
const FOLLOW_MARGIN = 0.1; // the playhead is kept this far (of the width) from either edge

// Speaker colours live in the stylesheet as classes; the canvas needs the colour itself.
const colours = new Map();
function colourOf(speakerId) {
  const name = speakerColour(speakerId);
  if (!colours.has(name)) {
    const probe = el("span", { class: `${name} colour-probe` });
    document.body.append(probe);
    colours.set(name, getComputedStyle(probe).borderLeftColor);
    probe.remove();
  }
  return colours.get(name);
}

export function snapToFrame(seconds) {
  return Math.round(seconds / FRAME_S) * FRAME_S;
}

// How far a segment's start or end may move: not past its neighbours, not below a frame.
export function boundLimits(segments, segmentId, edge, duration) {
  const ordered = [...segments].sort((a, b) => a.start - b.start);
  const index = ordered.findIndex((segment) => segment.id === segmentId);
  const segment = ordered[index];
  if (edge === "start") {
    return [ordered[index - 1]?.end ?? 0, segment.end - FRAME_S];
  }
  return [segment.start + FRAME_S, ordered[index + 1]?.start ?? (duration || Infinity)];
}

export class Waveform {
  // transcript() is the transcript shown; onRetime(segmentId, start, end) saves a drag.
  constructor(slot, media, { peaksUrl, transcript, onRetime, onSeek }) {
    this.media = media;
    this.peaksUrl = peaksUrl;
    this.transcript = transcript;
    this.onRetime = onRetime;
    this.onSeek = onSeek;
    this.peaks = null;
    this.zoom = DEFAULT_ZOOM;
    this.viewStart = 0;
    this.drag = null; // {segmentId, edge, min, max, moved}
    this.preview = null; // {segmentId, start, end}: a drag or nudges not saved yet
    // data-i18n-*: a language switch relabels them with the rest of the page.
    this.canvas = el("canvas", {
      class: "waveform-canvas", role: "img", "aria-label": t("editor.waveform"),
      dataset: { i18nAriaLabel: "editor.waveform" },
    });
    this.range = el("span", { class: "waveform-range timecode" });
    const zoomButton = (step, key) => el("button", {
      type: "button", class: "small secondary", "aria-label": t(key), title: t(key),
      dataset: { i18nAriaLabel: key, i18nTitle: key },
      onclick: () => this.setZoom(this.zoom + step),
    }, step > 0 ? "+" : "−");
    this.root = el("div", { class: "waveform", hidden: true },
      this.canvas,
      el("div", { class: "player-bar" }, zoomButton(-1, "editor.zoom_out"),
        zoomButton(1, "editor.zoom_in"), this.range));
    slot.append(this.root);
    this.wire();
  }

  // Called once the transcript is on the page: an hour of peaks is 1 MB of JSON, 0.3 gzipped.
  async load() {
    try {
      this.peaks = await requestJSON(this.peaksUrl);
    } catch {
      return; // a clip transcribed before peaks were measured: no waveform, timing by keys
    }
    this.root.hidden = false;
    this.draw();
  }

  get span() {
    return ZOOM_SPANS[this.zoom];
  }

  setZoom(zoom) {
    this.zoom = Math.max(0, Math.min(ZOOM_SPANS.length - 1, zoom));
    this.viewStart = Math.max(0, this.media.currentTime - this.span / 2);
    this.draw();
  }

  duration() {
    return this.media.duration || this.transcript()?.duration || 0;
  }

  wire() {
    const redraw = () => this.draw();
    for (const name of ["timeupdate", "seeked", "loadedmetadata"]) {
      this.media.addEventListener(name, redraw);
    }
    this.media.addEventListener("play", () => {
      const step = () => {
        this.draw();
        if (!this.media.paused && !this.media.ended) requestAnimationFrame(step);
      };
      requestAnimationFrame(step);
    });
    window.addEventListener("resize", redraw);
    this.canvas.addEventListener("pointerdown", (event) => this.press(event));
    this.canvas.addEventListener("pointermove", (event) => this.move(event));
    this.canvas.addEventListener("pointerup", (event) => this.release(event));
    this.canvas.addEventListener("pointercancel", () => {
      this.drag = null;
      this.preview = null;
      this.draw();
    });
  }

  timeAt(event) {
    const box = this.canvas.getBoundingClientRect();
    return this.viewStart + ((event.clientX - box.left) / box.width) * this.span;
  }

  // The boundary nearest the pointer, if one is within reach.
  boundaryAt(event) {
    const box = this.canvas.getBoundingClientRect();
    const perPx = this.span / box.width;
    const time = this.timeAt(event);
    let best = null;
    for (const segment of this.visibleSegments()) {
      for (const edge of ["start", "end"]) {
        const distance = Math.abs(segment[edge] - time) / perPx;
        if (distance <= GRAB_PX && (!best || distance < best.distance)) {
          best = { segmentId: segment.id, edge, distance };
        }
      }
    }
    return best;
  }

  press(event) {
    const boundary = this.boundaryAt(event);
    if (!boundary) {
      this.onSeek(Math.max(0, this.timeAt(event)));
      return;
    }
    const [min, max] = boundLimits(this.transcript().segments, boundary.segmentId,
      boundary.edge, this.duration());
    this.drag = { ...boundary, min, max, moved: false };
    this.canvas.setPointerCapture(event.pointerId);
  }

  move(event) {
    if (!this.drag) {
      this.canvas.classList.toggle("over-boundary", Boolean(this.boundaryAt(event)));
      return;
    }
    const { segmentId, edge, min, max } = this.drag;
    const segment = this.transcript().segments.find((candidate) => candidate.id === segmentId);
    const time = Math.min(max, Math.max(min, snapToFrame(this.timeAt(event))));
    this.drag.moved = true;
    this.preview = { segmentId, start: segment.start, end: segment.end, [edge]: time };
    this.draw();
  }

  release(event) {
    const { drag, preview } = this;
    this.drag = null;
    if (!drag) return;
    this.canvas.releasePointerCapture(event.pointerId);
    if (drag.moved && preview) this.onRetime(preview.segmentId, preview.start, preview.end);
    else this.preview = null;
    this.draw();
  }

  // Bounds shown before they are saved (nudges gather for a moment, a drag until let go).
  showPreview(preview) {
    this.preview = preview;
    this.draw();
  }

  visibleSegments() {
    const end = this.viewStart + this.span;
    return (this.transcript()?.segments ?? [])
      .map((segment) => (this.preview?.segmentId === segment.id ? { ...segment, ...this.preview } : segment))
      .filter((segment) => segment.end >= this.viewStart && segment.start <= end);
  }

  follow() {
    const now = this.media.currentTime;
    const { span } = this;
    if (this.drag) return;
    if (now < this.viewStart + span * FOLLOW_MARGIN || now > this.viewStart + span * (1 - FOLLOW_MARGIN)) {
      this.viewStart = Math.max(0, now - span * FOLLOW_MARGIN);
    }
  }

  draw() {
    if (!this.peaks || this.root.hidden) return;
    this.follow();
    const ratio = window.devicePixelRatio || 1;
    const width = Math.round(this.canvas.clientWidth * ratio);
    const height = Math.round(this.canvas.clientHeight * ratio);
    if (!width || !height) return;
    if (this.canvas.width !== width) this.canvas.width = width;
    if (this.canvas.height !== height) this.canvas.height = height;
    const context = this.canvas.getContext("2d");
    context.clearRect(0, 0, width, height);
    const { span, viewStart } = this;
    const x = (time) => ((time - viewStart) / span) * width;

    const segments = this.visibleSegments();
    context.globalAlpha = 0.18;
    for (const segment of segments) {
      context.fillStyle = colourOf(segment.speaker);
      context.fillRect(x(segment.start), 0, x(segment.end) - x(segment.start), height);
    }
    context.globalAlpha = 1;

    this.drawPeaks(context, width, height);

    if (width / span * FRAME_S >= 6 * ratio) { // frame ticks once a frame is wide enough
      context.fillStyle = "#8a929c";
      for (let frame = Math.ceil(viewStart / FRAME_S); frame * FRAME_S <= viewStart + span; frame += 1) {
        context.fillRect(Math.round(x(frame * FRAME_S)), 0, 1, 4 * ratio);
      }
    }

    context.lineWidth = 2 * ratio;
    for (const segment of segments) {
      context.strokeStyle = colourOf(segment.speaker);
      const dragged = this.preview?.segmentId === segment.id;
      for (const edge of ["start", "end"]) {
        context.setLineDash(edge === "end" ? [4 * ratio, 3 * ratio] : []);
        context.lineWidth = (dragged ? 3 : 2) * ratio;
        context.beginPath();
        context.moveTo(x(segment[edge]), 0);
        context.lineTo(x(segment[edge]), height);
        context.stroke();
      }
    }
    context.setLineDash([]);

    context.fillStyle = "#b3261e"; // the playhead
    context.fillRect(Math.round(x(this.media.currentTime)), 0, Math.max(1, ratio), height);
    this.range.textContent = `${formatClock(viewStart)}–${formatClock(viewStart + span)}`;
    // The view in seconds, for anyone (a test, a screen reader script) mapping pixels to time.
    Object.assign(this.canvas.dataset, { viewStart: viewStart.toFixed(3), span });
  }

  drawPeaks(context, width, height) {
    const { bucket_s: bucket, scale, peaks } = this.peaks;
    const middle = height / 2;
    context.fillStyle = "#3b4350";
    for (let column = 0; column < width; column += 1) {
      const from = Math.floor((this.viewStart + (column / width) * this.span) / bucket);
      const to = Math.max(from + 1, Math.floor((this.viewStart + ((column + 1) / width) * this.span) / bucket));
      let loudest = 0;
      for (let i = Math.max(0, from); i < Math.min(to, peaks.length); i += 1) {
        if (peaks[i] > loudest) loudest = peaks[i];
      }
      // Square root: quiet speech still shows beside loud music.
      const half = Math.sqrt(loudest / scale) * (middle - 1);
      if (half > 0) context.fillRect(column, middle - half, 1, half * 2);
    }
  }
}

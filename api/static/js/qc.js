// Subtitle QC in the editor: the cues of the SRT export that break a broadcast rule
// (GET …/export/qc), listed by timecode (click: play from there) and flagged on the
// turns they cover, with the reason. Refreshed by the editor after every save.

import { requestJSON } from "./api.js";
import { currentLanguage } from "./i18n.js";
import { el, t } from "./ui.js";

export class QualityPanel {
  constructor({ transcriptUrl, container, after, seek }) {
    this.url = `${transcriptUrl}/export/qc`;
    this.container = container;
    this.seek = seek;
    this.report = null;
    this.failed = false;
    this.asked = 0; // answers to older requests are dropped
    this.heading = el("h2", { id: "qc-heading" });
    this.summary = el("p", { id: "qc-summary", class: "hint" });
    this.list = el("ol", { id: "qc-list", class: "check-list qc-list" });
    after.after(el("section", { class: "side-section", "aria-labelledby": "qc-heading" },
      this.heading, this.summary, this.list));
    this.list.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-start]");
      if (!button) return;
      this.seek(Number(button.dataset.start));
      const flagged = this.container.querySelector(
        `.segment[data-segment-id="${button.dataset.segmentId}"]`);
      flagged?.scrollIntoView({ block: "center" });
    });
  }

  async refresh(transcript) {
    const asked = ++this.asked;
    this.transcript = transcript;
    let report = null;
    try {
      report = await requestJSON(`${this.url}?revision=${transcript.revision}`);
    } catch {
      report = null; // a viewer without the export permission, or the server is busy
    }
    if (asked !== this.asked) return;
    this.report = report;
    this.failed = report === null;
    this.render();
  }

  reason(violation) {
    return currentLanguage() === "en" ? violation.reason_en : violation.reason_ru;
  }

  // The turns a cue is shown over: the first one is where a click takes the editor.
  segmentsOf(violation) {
    return this.transcript.segments.filter(
      (segment) => segment.start < violation.end && segment.end > violation.start);
  }

  render() {
    this.heading.textContent = t("qc.heading");
    for (const note of this.container.querySelectorAll(".qc-note")) note.remove();
    for (const node of this.container.querySelectorAll(".segment.qc-flag")) {
      node.classList.remove("qc-flag");
    }
    const violations = this.report?.violations ?? [];
    this.summary.textContent = this.failed ? t("qc.unavailable")
      : violations.length ? t("qc.count", { count: violations.length }) : t("qc.clean");
    if (this.report && !this.report.shots_known) {
      this.summary.textContent += ` ${t("qc.no_shots")}`;
    }
    this.list.replaceChildren(...violations.map((violation) => {
      const [segment] = this.segmentsOf(violation);
      return el("li", {}, el("button", {
        type: "button", class: "link",
        dataset: { start: violation.start, segmentId: segment?.id ?? "" },
        title: violation.text,
      }, `${violation.timecode} · ${this.reason(violation)}`));
    }));
    this.flagTurns(violations);
  }

  flagTurns(violations) {
    const reasons = new Map();
    for (const violation of violations) {
      for (const segment of this.segmentsOf(violation)) {
        const list = reasons.get(segment.id) ?? [];
        list.push(`${violation.timecode} ${this.reason(violation)}`);
        reasons.set(segment.id, list);
      }
    }
    for (const [segmentId, texts] of reasons) {
      const node = this.container.querySelector(`.segment[data-segment-id="${segmentId}"]`);
      if (!node) continue;
      node.classList.add("qc-flag");
      node.append(el("p", { class: "qc-note" }, t("qc.flag", { reasons: texts.join("; ") })));
    }
  }
}

// Quotes out of the editor: «Вырезать фрагмент» cuts the selected words (or the turn at
// the caret, or the one playing) into a file on the worker queue, shows its progress and
// then the download; «В подборку» adds the same span to a named selection (rough cut),
// whose EDL, FCP XML and DOCX script are linked below it, and which renders as one MP4. Self-contained: the editor
// only imports this module, and it finds its section and the transcript in the page.

import { requestJSON } from "./api.js";
import { announce, announceError, el, onLanguageChange, t } from "./ui.js";

const section = document.getElementById("cuts-section");
const clipId = document.body.dataset.clipId;
const POLL_MS = 700;
let lastSpan = null; // the words last selected in the transcript: buttons take the focus

function wordSpan(nodes) {
  if (!nodes.length) return null;
  return {
    start: Math.min(...nodes.map((n) => Number(n.dataset.start))),
    end: Math.max(...nodes.map((n) => Number(n.dataset.end))),
  };
}

function selectedSpan() {
  const transcript = document.getElementById("transcript");
  const selection = document.getSelection();
  if (!transcript || !selection?.rangeCount) return null;
  const range = selection.getRangeAt(0);
  if (!transcript.contains(range.commonAncestorContainer)) return null;
  const words = [...transcript.querySelectorAll("span.w[data-start]")];
  if (!selection.isCollapsed) {
    const chosen = wordSpan(words.filter((word) => range.intersectsNode(word)));
    if (chosen) return chosen;
  }
  // A caret alone: the whole turn (segment) it is in.
  const node = range.startContainer;
  const segment = (node.nodeType === 1 ? node : node.parentElement)?.closest("[data-segment-id]");
  return segment ? wordSpan([...segment.querySelectorAll("span.w[data-start]")]) : null;
}

function playingSpan() {
  const player = document.getElementById("player");
  const transcript = document.getElementById("transcript");
  if (!player || !transcript) return null;
  const now = player.currentTime;
  for (const segment of transcript.querySelectorAll("[data-segment-id]")) {
    const span = wordSpan([...segment.querySelectorAll("span.w[data-start]")]);
    if (span && span.start <= now && now <= span.end) return span;
  }
  return null;
}

function currentSpan() {
  const span = lastSpan || playingSpan();
  if (!span) announce(t("cuts.nothing_selected"), { error: true });
  return span;
}

document.addEventListener("selectionchange", () => {
  const span = selectedSpan();
  if (span) {
    lastSpan = span;
    render();
  }
});

// ---- cutting ------------------------------------------------------------------------------

const form = { format: "mp4", subtitles: "burn", lower_third: false };
let job = null; // the latest cut: {id, state, progress, file_url, subtitles_url, error}

async function cut() {
  const span = currentSpan();
  if (!span) return;
  const subtitles = form.format === "mp4" ? form.subtitles : (form.subtitles === "burn" ? "none" : form.subtitles);
  try {
    job = await requestJSON(`/api/v1/clips/${encodeURIComponent(clipId)}/cuts`, {
      method: "POST",
      body: {
        start_s: span.start, end_s: span.end, format: form.format, subtitles,
        lower_third: form.format === "mp4" && form.lower_third,
      },
    });
    render();
    follow(job.id);
  } catch (error) {
    announceError(error);
  }
}

async function follow(cutId) {
  try {
    job = await requestJSON(`/api/v1/cuts/${encodeURIComponent(cutId)}`);
  } catch (error) {
    announceError(error);
    return;
  }
  render();
  if (job.state === "done") announce(t("cuts.ready"));
  else if (job.state === "failed") announce(`${t("cuts.failed")} ${job.error || ""}`, { error: true });
  else setTimeout(() => follow(cutId), POLL_MS);
}

function jobLine() {
  if (!job) return null;
  const line = el("p", { class: "hint", id: "cut-state", "aria-live": "polite" });
  if (job.state === "done") {
    line.append(el("a", { href: job.file_url, id: "cut-download", download: "" }, t("cuts.download")));
    if (job.subtitles_url) {
      line.append(" · ", el("a", { href: job.subtitles_url, download: "" }, t("cuts.download_srt")));
    }
  } else if (job.state === "failed") {
    line.append(`${t("cuts.failed")} ${job.error || ""}`);
  } else {
    const percent = Math.round((job.progress || 0) * 100);
    line.append(
      t("cuts.progress", { percent }),
      el("progress", { max: "100", value: String(percent), "aria-label": t("cuts.progress_label") }),
    );
  }
  return line;
}

function choice(name, options) {
  const select = el("select", {
    id: `cut-${name}`, "aria-label": t(`cuts.${name}`),
    onchange: (event) => { form[name] = event.target.value; },
  });
  for (const value of options) {
    select.append(el("option", { value, selected: form[name] === value }, t(`cuts.${name}_${value}`)));
  }
  return select;
}

// ---- selections (rough cuts) ------------------------------------------------------------

let selections = [];
let chosenSelection = ""; // id, or "" for a new one named in the field

async function loadSelections() {
  try {
    selections = await requestJSON("/api/v1/selections");
  } catch {
    selections = []; // a role without the export permission: the section stays empty
  }
  if (!selections.some((s) => s.id === chosenSelection)) chosenSelection = selections[0]?.id ?? "";
  render();
}

async function addToSelection() {
  const span = currentSpan();
  if (!span) return;
  try {
    let selectionId = chosenSelection;
    if (!selectionId) {
      const name = document.getElementById("selection-name").value.trim() || t("cuts.selection_default");
      selectionId = (await requestJSON("/api/v1/selections", { method: "POST", body: { name } })).id;
      chosenSelection = selectionId;
    }
    const updated = await requestJSON(`/api/v1/selections/${encodeURIComponent(selectionId)}/quotes`, {
      method: "POST", body: { clip_id: clipId, start_s: span.start, end_s: span.end },
    });
    announce(t("cuts.added", { name: updated.name, count: updated.quotes.length }));
    await loadSelections();
  } catch (error) {
    announceError(error);
  }
}

function selectionPart() {
  const picker = el("select", {
    id: "selection-pick", "aria-label": t("cuts.selection"),
    onchange: (event) => { chosenSelection = event.target.value; render(); },
  }, el("option", { value: "", selected: !chosenSelection }, t("cuts.selection_new")));
  for (const selection of selections) {
    picker.append(el("option", { value: selection.id, selected: selection.id === chosenSelection }, selection.name));
  }
  const part = [picker];
  if (!chosenSelection) {
    part.push(el("input", {
      id: "selection-name", type: "text", maxlength: "300", placeholder: t("cuts.selection_default"),
      "aria-label": t("cuts.selection_name"),
    }));
  }
  part.push(el("button", { type: "button", id: "add-to-selection", onclick: addToSelection }, t("cuts.add")));
  if (chosenSelection) {
    const base = `/api/v1/selections/${encodeURIComponent(chosenSelection)}/export?format=`;
    part.push(el("p", { class: "button-row" },
      el("a", { href: `${base}edl`, download: "" }, "EDL"),
      el("a", { href: `${base}fcpxml`, download: "" }, "FCP XML"),
      el("a", { href: `${base}docx`, download: "" }, t("cuts.script")),
    ));
    part.push(el("label", { class: "inline" },
      el("input", { type: "checkbox", id: "render-subtitles" }), ` ${t("cuts.render_subtitles")}`));
    part.push(el("button", { type: "button", id: "render-selection", class: "secondary", onclick: renderSelection },
      t("cuts.render")));
  }
  return part;
}

// The whole selection as one MP4: a cut job like any other, followed in the same line.
async function renderSelection() {
  try {
    const burned = section.querySelector("#render-subtitles")?.checked;
    job = await requestJSON(`/api/v1/selections/${encodeURIComponent(chosenSelection)}/render`, {
      method: "POST", body: { subtitles: burned ? "burn" : "none" },
    });
    render();
    follow(job.id);
  } catch (error) {
    announceError(error);
  }
}

// ---- rendering ----------------------------------------------------------------------------

function render() {
  if (!section) return;
  const span = lastSpan || null;
  section.replaceChildren(
    el("h2", { id: "cuts-heading" }, t("cuts.heading")),
    el("p", { class: "hint", id: "cut-span" },
      span ? t("cuts.span", { start: span.start.toFixed(2), end: span.end.toFixed(2) }) : t("cuts.hint")),
    el("div", { class: "button-row" },
      choice("format", ["mp4", "mp3", "wav"]),
      choice("subtitles", ["burn", "sidecar", "none"]),
      el("label", { class: "check" },
        el("input", {
          type: "checkbox", id: "cut-lower-third", checked: form.lower_third,
          onchange: (event) => { form.lower_third = event.target.checked; },
        }),
        ` ${t("cuts.lower_third")}`),
    ),
    el("div", { class: "button-row" },
      el("button", { type: "button", id: "cut-button", onclick: cut }, t("cuts.cut")),
    ),
    jobLine(),
    el("h3", {}, t("cuts.selection")),
    el("div", { class: "button-row" }, ...selectionPart()),
  );
}

if (section) {
  onLanguageChange(render);
  render();
  loadSelections();
}

// The editor's side panel: the revision list with restore buttons, and the export links.

import { requestJSON } from "./api.js";
import { el, formatDate, t } from "./ui.js";

// Newest first; every revision but the current one can be restored.
export async function renderRevisionList(list, { transcriptUrl, currentRevision, onRestore }) {
  let revisions;
  try {
    revisions = await requestJSON(`${transcriptUrl}/revisions`);
  } catch (error) {
    list.replaceChildren(el("li", { class: "empty" }, error.message));
    return;
  }
  revisions.sort((a, b) => b.revision - a.revision);
  list.replaceChildren(...revisions.map((revision) => {
    const name = t("editor.revision", { n: revision.revision });
    const current = revision.revision === currentRevision;
    const label = [
      name, formatDate(revision.created_at, { withTime: true }), ...describe(revision),
    ].filter(Boolean).join(" · ");
    const dataset = { revision: revision.revision };
    return el("li", { class: current ? "is-current" : "", dataset },
      el("span", {}, label),
      current
        ? el("span", { class: "badge" }, t("editor.current"))
        : el("button", {
          type: "button", class: "small secondary", "aria-label": `${t("editor.restore")} ${name}`,
          onclick: () => onRestore(revision.revision),
        }, t("editor.restore")));
  }));
}

// The stored author and note are machine words ("efir-worker", "edit of revision 3");
// people read them in the page's language.
const WORKER_AUTHOR = "efir-worker";
const NOTES = [
  [/^edit of revision (\d+)$/, "editor.note_edit"],
  [/^restore of revision (\d+)$/, "editor.note_restore"],
  [/^speaker \S+ is voice \S+$/, "editor.note_voice"],
];

function describe(revision) {
  if (revision.author === WORKER_AUTHOR) return [t("editor.note_worker")];
  for (const [pattern, key] of NOTES) {
    const match = pattern.exec(revision.note || "");
    if (match) return [revision.author, t(key, { n: match[1] })];
  }
  return [revision.author, revision.note];
}

// The formats come from the server's registry (efir.exports.FORMATS), so a new format
// shows up here without a change to this file. beforeDownload() returns a promise when
// something must happen first (saving typed text).
export async function renderExportLinks(container, { transcriptUrl, beforeDownload }) {
  let formats;
  try {
    formats = (await requestJSON("/api/v1/export-formats")).map((entry) => entry.name);
  } catch (error) {
    container.replaceChildren(el("span", { class: "empty" }, error.message));
    return;
  }
  const link = (query, format, label, ariaLabel) => {
    const href = `${transcriptUrl}/export?${query}`;
    return el("a", {
      class: "button small secondary", href, download: "", dataset: { format },
      "aria-label": ariaLabel,
      onclick: (event) => {
        const pending = beforeDownload();
        if (!pending) return;
        event.preventDefault();
        pending.then(() => { location.href = href; });
      },
    }, label);
  };
  container.replaceChildren(
    ...formats.map((format) => link(
      `format=${format}`, format, format.toUpperCase(),
      `${t("editor.export")} ${format.toUpperCase()}`,
    )),
    // The text export with the turns to check marked, for a desk that files it unread.
    link("format=txt&mark_checks=true", "txt-checks", t("editor.export_checks"),
      t("editor.export_checks")),
  );
}

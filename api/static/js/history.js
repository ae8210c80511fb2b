// The editor's side panel: the revision list with restore buttons, and the export links.

import { requestJSON } from "./api.js";
import { el, formatDate, t } from "./ui.js";

const EXPORT_FORMATS = ["srt", "vtt", "ttml", "txt", "docx", "json"];

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
      name, formatDate(revision.created_at, { withTime: true }), revision.author, revision.note,
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

// beforeDownload() returns a promise when something must happen first (saving typed text).
export function renderExportLinks(container, { transcriptUrl, beforeDownload }) {
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
    ...EXPORT_FORMATS.map((format) => link(
      `format=${format}`, format, format.toUpperCase(),
      `${t("editor.export")} ${format.toUpperCase()}`,
    )),
    // The text export with the turns to check marked, for a desk that files it unread.
    link("format=txt&mark_checks=true", "txt-checks", t("editor.export_checks"),
      t("editor.export_checks")),
  );
}

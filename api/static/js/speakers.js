// The speaker registry: every voice the workers have learned, as a table.
// The registry API may be absent on a deployment: then the page says so calmly.

import { ApiError, listOf, requestJSON } from "./api.js";
import { announceError, el, formatDate, initShell, onLanguageChange, t } from "./ui.js";

const table = document.getElementById("speakers-table");
const body = document.getElementById("speakers-body");
const empty = document.getElementById("speakers-empty");

let voices = null; // null: the registry is not available here

function render() {
  if (!voices?.length) {
    table.hidden = true;
    empty.hidden = false;
    empty.textContent = t(voices ? "speakers.empty" : "speakers.unavailable");
    return;
  }
  empty.hidden = true;
  table.hidden = false;
  body.replaceChildren(...voices.map((voice) => el("tr", { dataset: { voiceId: voice.id } },
    el("th", { scope: "row" }, voice.name || t("speakers.unnamed")),
    el("td", {}, voice.title || ""),
    el("td", {}, voice.role ? t(`role.${voice.role}`) : ""),
    el("td", { class: "num" }, String(voice.samples ?? "")),
    el("td", {}, formatDate(voice.updated_at || voice.created_at, { withTime: true })))));
}

async function load() {
  try {
    voices = listOf(await requestJSON("/api/v1/voices"));
  } catch (error) {
    voices = null;
    if (!(error instanceof ApiError && error.status === 404)) announceError(error);
  }
  render();
}

initShell("speakers.page_title");
onLanguageChange(render);
load();

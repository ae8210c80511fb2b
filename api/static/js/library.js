// The library («Архив»): every clip, filtered and sorted without a search word; metadata
// corrected in place; a clip deleted after confirmation (its uploader or an admin).

import { errorFromResponse, requestJSON } from "./api.js";
import {
  announce, announceError, el, formatClock, formatDay, initShell, onLanguageChange,
  parseDay, t,
} from "./ui.js";

const PAGE = 50;
const form = document.getElementById("library-filters");
const list = document.getElementById("library-list");
const summary = document.getElementById("library-summary");
const more = document.getElementById("library-more");

let clips = [];
let total = 0;
let editing = null; // the id of the clip whose edit form is open

function query(offset) {
  const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
  for (const name of ["programme", "channel", "speaker", "state", "sort", "order"]) {
    const value = form.elements[name].value.trim();
    if (value) params.set(name, value);
  }
  for (const name of ["from", "to"]) {
    const day = parseDay(form.elements[name].value);
    if (day) params.set(name, day);
  }
  return params;
}

async function load({ append = false } = {}) {
  const offset = append ? clips.length : 0;
  let response;
  try {
    response = await fetch(`/api/v1/clips?${query(offset)}`, { headers: { Accept: "application/json" } });
    if (!response.ok) throw await errorFromResponse(response);
  } catch (error) {
    announceError(error);
    return;
  }
  const page = await response.json();
  total = Number(response.headers.get("X-Total-Count") || page.length);
  clips = append ? clips.concat(page) : page;
  render();
}

function meta(clip) {
  return [clip.programme, clip.channel, formatDay(clip.air_date),
    clip.duration_s ? formatClock(clip.duration_s) : ""].filter(Boolean).join(" · ");
}

function card(clip) {
  const name = clip.title || clip.original_filename;
  const item = el("li", { class: "library-card", dataset: { clipId: clip.id } },
    el("a", { class: "library-title", href: `/clips/${encodeURIComponent(clip.id)}` }, name),
    el("p", { class: "library-meta" }, meta(clip)),
    clip.state ? el("span", { class: `badge state-${clip.state}` }, t(`state.${clip.state}`)) : null,
    el("div", { class: "button-row" },
      el("button", {
        type: "button", class: "small secondary", "aria-expanded": String(editing === clip.id),
        "aria-label": `${t("library.edit")}: ${name}`, dataset: { action: "edit" },
        onclick: () => toggleEdit(clip.id),
      }, t("library.edit")),
      el("button", {
        type: "button", class: "small danger", "aria-label": `${t("library.delete")}: ${name}`,
        dataset: { action: "delete" }, onclick: () => remove(clip),
      }, t("library.delete"))));
  if (editing === clip.id) item.append(editForm(clip));
  return item;
}

function field(label, control) {
  return el("label", { class: "field" }, el("span", {}, label), control);
}

function editForm(clip) {
  const edit = el("form", { class: "clip-form" },
    field(t("library.title"), el("input", { name: "title", type: "text", value: clip.title || "" })),
    field(t("library.programme"), el("input", {
      name: "programme", type: "text", value: clip.programme || "", list: "lib-programmes",
    })),
    field(t("library.channel"), el("input", {
      name: "channel", type: "text", value: clip.channel || "", list: "lib-channels",
    })),
    field(t("library.air_date"), el("input", {
      name: "air_date", type: "text", inputmode: "numeric", value: formatDay(clip.air_date),
      placeholder: t("date.placeholder"),
    })),
    el("div", { class: "button-row" },
      el("button", { type: "submit", class: "primary small" }, t("editor.save")),
      el("button", { type: "button", class: "small secondary", onclick: () => toggleEdit(null) },
        t("editor.cancel"))));
  edit.addEventListener("submit", (event) => {
    event.preventDefault();
    save(clip, edit);
  });
  return edit;
}

function render() {
  list.replaceChildren(...clips.map(card));
  summary.textContent = total ? t("library.count", { shown: clips.length, total }) : t("library.empty");
  more.hidden = clips.length >= total;
}

function focusCard(clipId, selector) {
  const item = [...list.children].find((child) => child.dataset.clipId === clipId);
  (item?.querySelector(selector) || list.querySelector(".library-title") || summary).focus();
}

function toggleEdit(clipId) {
  const previous = editing;
  editing = clipId;
  render();
  if (clipId) focusCard(clipId, ".clip-form input");
  else focusCard(previous, "[data-action=edit]");
}

async function save(clip, edit) {
  const typed = edit.elements.air_date.value.trim();
  const airDate = typed ? parseDay(typed) : null;
  if (typed && !airDate) {
    announce(t("date.invalid"), { error: true });
    edit.elements.air_date.focus();
    return;
  }
  const changes = {
    title: edit.elements.title.value.trim() || null,
    programme: edit.elements.programme.value.trim() || null,
    channel: edit.elements.channel.value.trim() || null,
    air_date: airDate,
  };
  try {
    const saved = await requestJSON(`/api/v1/clips/${encodeURIComponent(clip.id)}`, {
      method: "PATCH", body: changes,
    });
    Object.assign(clip, saved);
  } catch (error) {
    announceError(error);
    return;
  }
  editing = null;
  render();
  focusCard(clip.id, "[data-action=edit]");
  announce(t("library.saved", { name: clip.title || clip.original_filename }));
}

async function remove(clip) {
  const name = clip.title || clip.original_filename;
  if (!window.confirm(t("library.delete_confirm", { name }))) return;
  const index = clips.indexOf(clip);
  try {
    await requestJSON(`/api/v1/clips/${encodeURIComponent(clip.id)}`, { method: "DELETE" });
  } catch (error) {
    announceError(error);
    return;
  }
  clips.splice(index, 1);
  total -= 1;
  render();
  // Focus stays where the work is: the card that took the deleted one's place.
  const next = clips[Math.min(index, clips.length - 1)];
  if (next) focusCard(next.id, ".library-title");
  else summary.focus();
  announce(t("library.deleted", { name }));
}

async function suggest(input, datalist, field) {
  let values = [];
  try {
    values = await requestJSON(`/api/v1/clips/suggestions?${new URLSearchParams({ field, q: input.value })}`);
  } catch {
    return; // suggestions are a convenience; the filter works without them
  }
  datalist.replaceChildren(...values.map((value) => el("option", { value })));
}

for (const [name, field] of [["programme", "programme"], ["channel", "channel"]]) {
  const input = form.elements[name];
  const datalist = document.getElementById(`lib-${name}s`);
  input.addEventListener("input", () => suggest(input, datalist, field));
  input.addEventListener("focus", () => suggest(input, datalist, field), { once: true });
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  for (const name of ["from", "to"]) {
    const input = form.elements[name];
    if (input.value.trim() && !parseDay(input.value)) {
      announce(t("date.invalid"), { error: true });
      input.focus();
      return;
    }
  }
  load().then(() => summary.focus());
});
form.addEventListener("reset", () => setTimeout(() => load(), 0));
more.addEventListener("click", () => load({ append: true }));
summary.tabIndex = -1;

initShell("library.page_title");
onLanguageChange(render);
load();

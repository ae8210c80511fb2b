// The speaker registry: every voice the workers have learned, to correct, merge or forget.
// The registry API may be absent on a deployment: then the page says so calmly.

import { ApiError, listOf, requestJSON } from "./api.js";
import {
  announce, announceError, el, formatDate, initShell, onLanguageChange, t,
} from "./ui.js";

const ROLES = ["anchor", "correspondent", "interviewee", "other"];

const table = document.getElementById("speakers-table");
const body = document.getElementById("speakers-body");
const empty = document.getElementById("speakers-empty");

let voices = null; // null: the registry is not available here
let openVoiceId = null; // whose edit panel is open

function voiceUrl(voice) {
  return `/api/v1/voices/${encodeURIComponent(voice.id)}`;
}

function field(label, control) {
  return el("label", { class: "field" }, el("span", {}, label), control);
}

function editPanel(voice) {
  const others = voices.filter((other) => other.id !== voice.id);
  const form = el("form", { class: "voice-form", dataset: { voiceId: voice.id } },
    field(t("speakers.name"), el("input", {
      name: "name", type: "text", value: voice.name, required: true,
    })),
    field(t("speakers.title"), el("input", { name: "title", type: "text", value: voice.title || "" })),
    field(t("speakers.role"), el("select", { name: "role" },
      el("option", { value: "" }, "—"),
      ...ROLES.map((role) => el("option", { value: role, selected: role === voice.role },
        t(`role.${role}`))))),
    el("div", { class: "button-row" },
      el("button", { type: "submit", class: "primary small" }, t("editor.save")),
      el("button", {
        type: "button", class: "small secondary", onclick: () => toggle(null),
      }, t("editor.cancel")),
      el("button", {
        type: "button", class: "small danger", onclick: () => forget(voice),
      }, t("speakers.forget"))));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    save(voice, form);
  });
  const merge = others.length ? el("div", { class: "voice-merge" },
    field(t("speakers.same_as"), el("select", { name: "other" },
      ...others.map((other) => el("option", { value: other.id },
        other.title ? `${other.name}, ${other.title}` : other.name)))),
    el("button", {
      type: "button", class: "small secondary",
      onclick: (event) => mergeInto(voice, event.target.closest(".voice-merge")),
    }, t("speakers.merge"))) : null;
  const sources = el("div", { class: "voice-clips" },
    el("h3", {}, t("speakers.learned_from")), el("ul", { class: "clip-sources" }));
  fillClips(voice, sources.querySelector("ul"));
  return el("tr", { class: "edit-row" }, el("td", { colspan: "7" }, form, sources, merge));
}

// The clips a voice learned from, each a link to its editor and a way to take it back out.
async function fillClips(voice, list) {
  let clips;
  try {
    clips = listOf(await requestJSON(`${voiceUrl(voice)}/clips`));
  } catch (error) {
    announceError(error);
    return;
  }
  if (!clips.length) {
    list.replaceChildren(el("li", { class: "empty" }, t("speakers.no_clips")));
    return;
  }
  list.replaceChildren(...clips.map((clip) => {
    const title = clip.title || clip.clip_id;
    return el("li", { dataset: { clipId: clip.clip_id } },
      el("a", { href: `/clips/${encodeURIComponent(clip.clip_id)}` }, title), " · ",
      t("speakers.clip_seconds", { s: clip.seconds }), " ",
      el("button", {
        type: "button", class: "small danger", onclick: () => forgetClip(voice, clip.clip_id, title),
      }, t("speakers.forget_clip")));
  }));
}

function row(voice) {
  const open = voice.id === openVoiceId;
  return el("tr", { dataset: { voiceId: voice.id } },
    el("th", { scope: "row" }, voice.name),
    el("td", {}, voice.title || ""),
    el("td", {}, voice.role ? t(`role.${voice.role}`) : ""),
    el("td", { class: "num" }, String(voice.samples)),
    el("td", { class: "num" }, String(voice.clip_count ?? 0)),
    el("td", {}, formatDate(voice.updated_at, { withTime: true })),
    el("td", {}, el("button", {
      type: "button", class: "small secondary", "aria-expanded": String(open),
      "aria-label": `${t("speakers.edit")}: ${voice.name}`,
      onclick: () => toggle(open ? null : voice.id),
    }, t("speakers.edit"))));
}

function render() {
  if (!voices?.length) {
    table.hidden = true;
    empty.hidden = false;
    empty.textContent = t(voices ? "speakers.empty" : "speakers.unavailable");
    return;
  }
  empty.hidden = true;
  table.hidden = false;
  body.replaceChildren(...voices.flatMap((voice) => (
    voice.id === openVoiceId ? [row(voice), editPanel(voice)] : [row(voice)]
  )));
}

function toggle(voiceId) {
  openVoiceId = voiceId;
  render();
  body.querySelector(voiceId ? ".edit-row input" : "tr button")?.focus();
}

async function act(request, message) {
  try {
    await request();
  } catch (error) {
    announceError(error);
    return;
  }
  openVoiceId = null;
  await load();
  announce(typeof message === "function" ? message() : message);
}

function save(voice, form) {
  const changes = {
    name: form.elements.name.value.trim(),
    title: form.elements.title.value.trim() || null,
    role: form.elements.role.value || null,
  };
  const renamed = changes.name !== voice.name || changes.title !== (voice.title || null)
    || changes.role !== (voice.role || null);
  let message = t("speakers.saved", { name: changes.name });
  act(async () => {
    await requestJSON(voiceUrl(voice), { method: "PATCH", body: changes });
    // The clips where this voice was matched keep the old name unless the editor says so.
    if (renamed && voice.clip_count
        && window.confirm(t("speakers.apply_confirm", { name: changes.name, count: voice.clip_count }))) {
      const applied = await requestJSON(`${voiceUrl(voice)}/apply`, { method: "POST" });
      message = t("speakers.applied", { count: applied.clip_ids.length });
    }
  }, () => message);
}

function mergeInto(voice, panel) {
  const otherId = panel.querySelector("select").value;
  act(() => requestJSON(`${voiceUrl(voice)}/merge`, { method: "POST", body: { other_id: otherId } }),
    t("speakers.merged", { name: voice.name }));
}

function forget(voice) {
  if (!window.confirm(t("speakers.forget_confirm", { name: voice.name }))) return;
  act(() => requestJSON(voiceUrl(voice), { method: "DELETE" }),
    t("speakers.forgotten", { name: voice.name }));
}

function forgetClip(voice, clipId, title) {
  if (!window.confirm(t("speakers.forget_clip_confirm", { name: voice.name, clip: title }))) return;
  act(() => requestJSON(`${voiceUrl(voice)}/clips/${encodeURIComponent(clipId)}`, { method: "DELETE" }),
    t("speakers.clip_forgotten", { name: voice.name, clip: title }));
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

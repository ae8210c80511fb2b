// Speaker captions edited in place: the caption button opens a small form to type a
// name and title, or to pick the person from the speaker registry.

import { announce, el, t } from "./ui.js";

function voiceLabel(voice) {
  return voice.title ? `${voice.name}, ${voice.title}` : voice.name;
}

function registryPicker(speaker, voices) {
  return el("label", { class: "voice-pick" },
    el("span", {}, t("editor.from_registry")),
    el("select", { name: "voice" },
      el("option", { value: "" }, t("editor.no_voice")),
      ...voices.map((voice) => el("option", {
        value: voice.id, selected: voice.id === speaker?.voice_id,
      }, voiceLabel(voice)))));
}

// A turn without a speaker can be named too: the editor then gives it a speaker of its own.
// The name field opens with what the heading shows, selected, so typing replaces it.
export function renderSpeakerForm(turn, speaker, voices, caption) {
  const form = el("form", {
    class: "speaker-form", hidden: true,
    dataset: {
      speakerId: turn.speakerId ?? "",
      segmentIds: turn.segments.map((segment) => segment.id).join(","),
    },
  },
  voices.length ? registryPicker(speaker, voices) : null,
  el("label", {}, el("span", {}, t("editor.speaker_name")), el("input", {
    name: "name", type: "text", value: speaker?.name || caption || "", required: true,
  })),
  el("label", {}, el("span", {}, t("editor.speaker_title")), el("input", {
    name: "title", type: "text", value: speaker?.title || "",
  })),
  el("div", { class: "button-row" },
    el("button", { type: "submit", class: "primary small" }, t("editor.save")),
    el("button", { type: "button", class: "small secondary", dataset: { action: "cancel-rename" } },
      t("editor.cancel"))));
  return form;
}

// A registry voice brings its own name and title: the typed ones step aside.
function reflectPickedVoice(form, voices) {
  const voice = voices.find((candidate) => candidate.id === form.elements.voice.value);
  for (const field of ["name", "title"]) {
    const input = form.elements[field];
    input.disabled = Boolean(voice);
    if (voice) input.value = voice[field] || "";
  }
}

function openForm(button, voices) {
  const form = button.nextElementSibling;
  form.hidden = false;
  button.setAttribute("aria-expanded", "true");
  const picker = form.elements.voice;
  if (picker) reflectPickedVoice(form, voices);
  (picker ?? form.elements.name).focus();
  if (!picker) form.elements.name.select();
}

function closeForm(form) {
  form.hidden = true;
  const button = form.previousElementSibling;
  button.setAttribute("aria-expanded", "false");
  button.focus();
}

// onRename({speakerId, segmentIds, name, title, voiceId}) resolves to whether it was
// saved; speakerId is "" for a turn nobody was assigned to, voiceId "" when typed by hand.
export function wireSpeakerForms(container, { voices, onRename }) {
  container.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (button?.dataset.action === "rename") openForm(button, voices());
    else if (button?.dataset.action === "cancel-rename") closeForm(button.closest("form"));
  });

  container.addEventListener("submit", (event) => {
    const form = event.target.closest(".speaker-form");
    if (!form) return;
    event.preventDefault();
    const name = form.elements.name.value.trim();
    if (!name) {
      form.elements.name.focus();
      return;
    }
    const title = form.elements.title.value.trim() || null;
    const voiceId = form.elements.voice?.value ?? "";
    const segmentIds = form.dataset.segmentIds.split(",").map(Number);
    const turnIndex = [...container.querySelectorAll(".turn")].indexOf(form.closest(".turn"));
    const { speakerId } = form.dataset;
    onRename({ speakerId, segmentIds, name, title, voiceId }).then((saved) => {
      if (!saved) return;
      announce(t("editor.renamed", { name }));
      // The transcript was redrawn with the same turns: put the keyboard back.
      container.querySelectorAll(".turn .speaker-caption")[turnIndex]?.focus();
    });
  });

  container.addEventListener("change", (event) => {
    const form = event.target.closest(".speaker-form");
    if (form && event.target.name === "voice") reflectPickedVoice(form, voices());
  });

  // Capture phase: Escape closes the form before the editor reads it as play/pause.
  container.addEventListener("keydown", (event) => {
    const form = event.target.closest(".speaker-form");
    if (form && event.key === "Escape") {
      event.stopPropagation();
      closeForm(form);
    }
  }, true);
}

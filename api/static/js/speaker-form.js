// Speaker captions edited in place: the caption button opens a small name/title form,
// and a name picked from the registry's list fills in that voice's title.

import { announce, t } from "./ui.js";

function openForm(button) {
  const form = button.nextElementSibling;
  form.hidden = false;
  button.setAttribute("aria-expanded", "true");
  form.elements.name.focus();
}

function closeForm(form) {
  form.hidden = true;
  const button = form.previousElementSibling;
  button.setAttribute("aria-expanded", "false");
  button.focus();
}

// onRename({speakerId, segmentIds, name, title}) resolves to whether it was saved;
// speakerId is "" for a turn nobody was assigned to.
export function wireSpeakerForms(container, { voices, onRename }) {
  container.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (button?.dataset.action === "rename") openForm(button);
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
    const segmentIds = form.dataset.segmentIds.split(",").map(Number);
    const turnIndex = [...container.querySelectorAll(".turn")].indexOf(form.closest(".turn"));
    onRename({ speakerId: form.dataset.speakerId, segmentIds, name, title }).then((saved) => {
      if (!saved) return;
      announce(t("editor.renamed", { name }));
      // The transcript was redrawn with the same turns: put the keyboard back.
      container.querySelectorAll(".turn .speaker-caption")[turnIndex]?.focus();
    });
  });

  container.addEventListener("change", (event) => {
    if (event.target.name !== "name" || !event.target.closest(".speaker-form")) return;
    const voice = voices().find((candidate) => candidate.name === event.target.value);
    const titleInput = event.target.form.elements.title;
    if (voice?.title && !titleInput.value) titleInput.value = voice.title;
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

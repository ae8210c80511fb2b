// Upload + queue page: pick or drop several clips, send each with a progress bar,
// then follow every job live (SSE per job, polling as the fallback). Files over one
// chunk go through the resumable API (POST/PATCH/HEAD /api/v1/uploads) and survive
// a dropped connection; the queue has cancel, retry and the «Срочно» toggle.

import { ApiError, listOf, requestJSON } from "./api.js";
import {
  announce, announceError, el, formatBytes, formatClock, formatDate, initShell, onLanguageChange,
  parseDay, t,
} from "./ui.js";

const TERMINAL_STATES = new Set(["done", "failed", "cancelled"]);
const MAX_LIVE_STREAMS = 4; // browsers allow ~6 connections per host over HTTP/1.1
const POLL_INTERVAL_MS = 4000;
const QUEUE_LENGTH = 50;
// Files larger than one chunk are sent resumably; the form's data-chunk-bytes overrides.
const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;
const RESUME_ATTEMPTS = 6;
const RESUME_FIRST_DELAY_MS = 1000;

const form = document.getElementById("upload-form");
const fileInput = document.getElementById("file-input");
const dropzone = document.getElementById("dropzone");
const pendingList = document.getElementById("pending-files");
const submitButton = document.getElementById("upload-submit");
const jobList = document.getElementById("job-list");
const queueEmpty = document.getElementById("queue-empty");

// ---- selecting and sending files --------------------------------------------------------

const pending = []; // {file, row, bar, note, button, request, failed, forceNew}
let uploading = false;

function fileStem(name) {
  return name.replace(/\.[^.]+$/, "");
}

function addFiles(files) {
  for (const file of files) {
    const bar = el("progress", { max: "100", value: "0", "aria-label": file.name });
    const note = el("span", { class: "file-note" });
    const entry = { file, bar, note, row: null, button: null, request: null };
    // While the file is being sent the button stops the upload; otherwise it removes it.
    entry.button = el("button", {
      type: "button",
      class: "link-button",
      onclick: () => {
        if (entry.request) {
          entry.request.abort();
          return;
        }
        pending.splice(pending.indexOf(entry), 1);
        entry.row.remove();
        refreshSubmit();
      },
    });
    labelFileButton(entry);
    entry.row = el("li", { class: "file-item" },
      el("span", { class: "file-name" }, file.name),
      el("span", { class: "file-size" }, formatBytes(file.size)),
      entry.button, bar, note);
    pending.push(entry);
    pendingList.append(entry.row);
  }
  refreshSubmit();
  if (files.length) announce(t("upload.added", { count: files.length }));
}

function labelFileButton(entry) {
  const action = t(entry.request ? "upload.cancel" : "upload.remove");
  entry.button.textContent = action;
  entry.button.setAttribute("aria-label", `${action}: ${entry.file.name}`);
}

// A file that failed is never sent again by the next click: only by its own «Повторить».
function sendable() {
  return pending.filter((entry) => !entry.failed);
}

function refreshSubmit() {
  const count = sendable().length;
  submitButton.disabled = uploading || count === 0;
  submitButton.textContent = count > 1
    ? t("upload.submit_many", { count })
    : t("upload.submit");
}

function metadataFor(file, { inBatch }) {
  const fields = {};
  const title = document.getElementById("meta-title").value.trim();
  const stem = fileStem(file.name);
  fields.title = title ? (inBatch ? `${title} (${stem})` : title) : stem;
  for (const name of ["programme", "glossary"]) {
    const value = form.elements[name].value.trim();
    if (value) fields[name] = value;
  }
  const airDate = parseDay(form.elements.air_date.value);
  if (airDate) fields.air_date = airDate;
  if (form.elements.urgent.checked) fields.priority = "urgent";
  if (form.elements.readings.checked) fields.readings = "3";
  if (fields.programme && form.elements.remember_glossary.checked) {
    fields.remember_glossary = "true";
  }
  return fields;
}

function failEntry(entry, error) {
  entry.failed = true;
  entry.row.classList.add("is-error");
  entry.bar.hidden = true; // a full bar on a failed file looked finished
  entry.note.replaceChildren(el("span", { class: "file-error" }, error.message));
  if (error instanceof ApiError && error.code === "duplicate_clip") {
    entry.note.append(" ",
      el("a", { href: `/clips/${encodeURIComponent(error.body.clip_id)}` }, t("upload.open_existing")),
      " · ",
      el("button", {
        type: "button", class: "link-button",
        onclick: () => retryEntry(entry, { forceNew: true }),
      }, t("upload.transcribe_again")));
  } else {
    entry.note.append(" ", el("button", {
      type: "button", class: "link-button", "aria-label": `${t("upload.retry")}: ${entry.file.name}`,
      onclick: () => retryEntry(entry, { forceNew: entry.forceNew }),
    }, t("upload.retry")));
  }
}

function retryEntry(entry, { forceNew }) {
  entry.failed = false;
  entry.forceNew = forceNew;
  entry.row.classList.remove("is-error");
  entry.bar.hidden = false;
  entry.bar.value = 0;
  entry.note.textContent = "";
  uploadEntries([entry]);
}

// After a successful upload the next file starts clean, unless the user keeps the
// programme and air date for a series of clips.
function resetForm() {
  const keep = form.elements.keep_programme.checked;
  const kept = { programme: form.elements.programme.value, air_date: form.elements.air_date.value };
  for (const name of ["title", "glossary"]) form.elements[name].value = "";
  form.elements.urgent.checked = false;
  form.elements.readings.checked = false;
  form.elements.programme.value = keep ? kept.programme : "";
  form.elements.air_date.value = keep ? kept.air_date : "";
  form.elements.remember_glossary.checked = false;
  showProgrammeGlossary();
}

// ---- the programme's glossary --------------------------------------------------------
// Its terms go before the clip's own on the server; the form says which, so nobody
// types them again, and can keep the clip's glossary as the programme's.

const programmeGlossary = document.getElementById("programme-glossary");
const programmeEditor = document.getElementById("programme-glossary-editor");
const programmeTerms = document.getElementById("programme-glossary-terms");
const SHOWN_TERMS = 8;
let programmeAsked = "";

async function showProgrammeGlossary() {
  const programme = form.elements.programme.value.trim();
  form.elements.remember_glossary.disabled = !programme;
  programmeAsked = programme;
  let terms = [];
  if (programme) {
    try {
      const query = new URLSearchParams({ programme });
      terms = (await requestJSON(`/api/v1/programme-glossary?${query}`)).terms;
    } catch {
      terms = []; // the hint is a courtesy: the server adds the terms regardless
    }
  }
  if (programme !== programmeAsked) return; // typed on since: a newer answer follows
  programmeEditor.hidden = !programme;
  programmeTerms.value = terms.join("\n");
  programmeGlossary.hidden = terms.length === 0;
  const shown = terms.slice(0, SHOWN_TERMS).join(", ") + (terms.length > SHOWN_TERMS ? ", …" : "");
  programmeGlossary.textContent = terms.length
    ? t("upload.programme_glossary", { programme, count: terms.length, terms: shown })
    : "";
}

// Editors replace the whole list (PUT); the server refuses other roles anyway.
document.getElementById("programme-glossary-save").addEventListener("click", async () => {
  const programme = form.elements.programme.value.trim();
  if (!programme) return;
  const terms = programmeTerms.value.split("\n").map((term) => term.trim()).filter(Boolean);
  try {
    const saved = await requestJSON("/api/v1/programme-glossary", {
      method: "PUT", body: { programme, terms },
    });
    announce(t("upload.programme_glossary_saved", { programme, count: saved.terms.length }));
  } catch (error) {
    announceError(error);
  }
  await showProgrammeGlossary();
});

let programmeTimer = 0;
form.elements.programme.addEventListener("input", () => {
  clearTimeout(programmeTimer);
  programmeTimer = setTimeout(showProgrammeGlossary, 300);
});

function showProgress(entry, sentBytes) {
  const percent = Math.round((sentBytes / entry.file.size) * 100);
  entry.bar.value = percent;
  entry.note.textContent = `${percent}%`;
}

class NetworkError extends Error {}

// XMLHttpRequest rather than fetch: only it reports upload progress.
function send(entry, method, url, body, { headers = {}, sentBefore = 0 } = {}) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    entry.request = request;
    labelFileButton(entry);
    request.addEventListener("loadend", () => {
      entry.request = null;
      labelFileButton(entry);
    });
    request.open(method, url);
    request.responseType = "json";
    for (const [name, value] of Object.entries(headers)) request.setRequestHeader(name, value);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) showProgress(entry, sentBefore + event.loaded);
    });
    request.addEventListener("load", () => {
      if (request.status >= 200 && request.status < 300) resolve(request.response);
      else reject(ApiError.from(request.status, request.response, request.statusText));
    });
    request.addEventListener("error", () => reject(new NetworkError(t("upload.network_error"))));
    request.addEventListener("abort", () => {
      entry.aborted = true;
      reject(new Error(t("upload.aborted")));
    });
    request.send(body);
  });
}

function sendWhole(entry, fields) {
  const body = new FormData();
  body.append("file", entry.file, entry.file.name);
  for (const [name, value] of Object.entries(fields)) body.append(name, value);
  return send(entry, "POST", "/api/v1/clips", body);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function serverOffset(url) {
  const response = await fetch(url, { method: "HEAD", cache: "no-store" });
  if (!response.ok) throw new ApiError(response.status, t("upload.expired"));
  return Number(response.headers.get("Upload-Offset"));
}

// Chunk by chunk; after a network error ask the server how much arrived and go on
// from there, waiting longer each time (1, 2, 4… s).
async function sendResumable(entry, fields, chunkBytes) {
  const { file } = entry;
  const created = await requestJSON("/api/v1/uploads", {
    method: "POST", body: { filename: file.name, size: file.size, metadata: fields },
  });
  const url = `/api/v1/uploads/${encodeURIComponent(created.id)}`;
  let offset = 0;
  let failures = 0;
  for (;;) {
    if (offset >= file.size) {
      // Every byte arrived but the last response was lost: the upload names its job.
      const status = await requestJSON(url);
      if (status.job) return status.job;
    }
    const end = Math.min(offset + chunkBytes, file.size);
    try {
      const status = await send(entry, "PATCH", url, file.slice(offset, end), {
        headers: { "Content-Range": `bytes ${offset}-${end - 1}/${file.size}` },
        sentBefore: offset,
      });
      failures = 0;
      offset = status.offset;
      showProgress(entry, offset);
      if (status.job) return status.job;
    } catch (error) {
      // 409: the server stands elsewhere (a lost response): ask it, as after a drop.
      const resumable = error instanceof NetworkError
        || (error instanceof ApiError && error.status === 409);
      if (entry.aborted || !resumable || failures >= RESUME_ATTEMPTS) throw error;
      entry.note.textContent = t("upload.resuming");
      await sleep(RESUME_FIRST_DELAY_MS * 2 ** failures);
      failures += 1;
      try {
        offset = await serverOffset(url);
      } catch (probeError) {
        if (probeError instanceof ApiError) throw probeError;
      }
    }
  }
}

function sendFile(entry, fields) {
  entry.aborted = false;
  const chunkBytes = Number(form.dataset.chunkBytes) || DEFAULT_CHUNK_BYTES;
  return entry.file.size > chunkBytes
    ? sendResumable(entry, fields, chunkBytes)
    : sendWhole(entry, fields);
}

async function uploadEntries(batch) {
  if (uploading || !batch.length) return;
  uploading = true;
  refreshSubmit();
  let sent = 0;
  let failed = 0;
  for (const entry of batch) {
    const fields = metadataFor(entry.file, { inBatch: batch.length > 1 });
    if (!entry.forceNew) fields.on_duplicate = "refuse";
    entry.note.textContent = t("upload.sending");
    try {
      const job = await sendFile(entry, fields);
      clipTitles.set(job.clip_id, fields.title);
      upsertJob(job);
      followJob(job);
      pending.splice(pending.indexOf(entry), 1);
      entry.row.remove();
      sent += 1;
    } catch (error) {
      failEntry(entry, error);
      failed += 1;
    }
  }
  uploading = false;
  refreshSubmit();
  if (sent) resetForm();
  if (failed) announce(t("upload.some_failed", { count: failed }), { error: true });
  else if (sent) announce(t("upload.sent", { count: sent }));
  // Focus stays where the work is: the first file that needs attention, else the picker.
  (pendingList.querySelector(".is-error a, .is-error button.link-button")
    || document.getElementById("choose-files")).focus();
}

function uploadAll(event) {
  event.preventDefault();
  const typed = form.elements.air_date.value.trim();
  if (typed && !parseDay(typed)) {
    announce(t("date.invalid"), { error: true });
    form.elements.air_date.focus();
    return;
  }
  uploadEntries(sendable());
}

document.getElementById("choose-files").addEventListener("click", () => fileInput.click());
fileInput.addEventListener("change", () => {
  addFiles([...fileInput.files]);
  fileInput.value = "";
});
for (const name of ["dragenter", "dragover"]) {
  dropzone.addEventListener(name, (event) => {
    event.preventDefault();
    dropzone.classList.add("is-over");
  });
}
for (const name of ["dragleave", "drop"]) {
  dropzone.addEventListener(name, () => dropzone.classList.remove("is-over"));
}
dropzone.addEventListener("drop", (event) => {
  event.preventDefault();
  addFiles([...event.dataTransfer.files]);
});
// A file dropped beside the zone must not navigate away from the page.
for (const name of ["dragover", "drop"]) {
  window.addEventListener(name, (event) => event.preventDefault());
}
form.addEventListener("submit", uploadAll);

// ---- the queue --------------------------------------------------------------------------

const jobs = new Map(); // id -> {job, row, parts}
const clipTitles = new Map();
const liveStreams = new Map(); // job id -> EventSource

async function titleOf(clipId) {
  if (!clipTitles.has(clipId)) {
    clipTitles.set(clipId, null);
    try {
      const clip = await requestJSON(`/api/v1/clips/${encodeURIComponent(clipId)}`);
      clipTitles.set(clipId, clip.title || clip.original_filename || clipId);
    } catch {
      clipTitles.set(clipId, clipId);
    }
    for (const entry of jobs.values()) if (entry.job.clip_id === clipId) renderJob(entry);
  }
  return clipTitles.get(clipId);
}

function createJobRow(id) {
  const parts = {
    title: el("span", { class: "job-title" }),
    readings: el("span", { class: "job-readings", hidden: true }),
    state: el("span", { class: "job-state" }),
    bar: el("progress", { max: "100", value: "0" }),
    detail: el("span", { class: "job-detail" }),
    action: el("span", { class: "job-action" }),
  };
  const row = el("li", { class: "job", dataset: { jobId: id } },
    el("div", { class: "job-line" }, el("span", {}, parts.title, " ", parts.readings), parts.state),
    parts.bar,
    el("div", { class: "job-line" }, parts.detail, parts.action));
  return { row, parts };
}

function renderJob(entry) {
  const { job, row, parts } = entry;
  const percent = Math.round((job.progress || 0) * 100);
  row.dataset.state = job.state;
  parts.title.textContent = clipTitles.get(job.clip_id) || t("queue.clip");
  // A clip read more than once takes that many times longer: say why.
  parts.readings.hidden = !(job.readings > 1);
  parts.readings.textContent = job.readings > 1 ? t("queue.readings", { count: job.readings }) : "";
  parts.state.textContent = t(`state.${job.state}`);
  parts.state.className = `job-state badge state-${job.state}`;
  parts.bar.value = job.state === "done" ? 100 : percent;
  parts.bar.setAttribute("aria-label", `${parts.title.textContent}: ${t(`state.${job.state}`)}`);
  if (job.state === "failed") parts.detail.textContent = job.error || t("queue.failed_unknown");
  else if (TERMINAL_STATES.has(job.state)) {
    parts.detail.textContent = formatDate(job.updated_at, { withTime: true });
  }
  else if (job.state === "queued") parts.detail.textContent = `${percent}%`;
  else {
    // The server times the stage running and the stages to come; until it can, it says so.
    const left = job.eta_s === null || job.eta_s === undefined
      ? t("queue.eta_unknown")
      : t("queue.eta", { time: formatClock(job.eta_s) });
    parts.detail.textContent = `${percent}% · ${left}`;
  }
  row.classList.toggle("is-error", job.state === "failed");
  row.classList.toggle("is-urgent", job.priority === "urgent");
  // Rebuilt only when something they depend on changed, so focus stays on a button.
  const controlsKey = `${job.state}/${job.priority}`;
  if (entry.controlsKey !== controlsKey) {
    entry.controlsKey = controlsKey;
    parts.action.replaceChildren(...jobControls(entry));
  }
}

function jobControls({ job, parts }) {
  const title = parts.title.textContent;
  const controls = [];
  if (job.state === "done") {
    controls.push(el("a", {
      class: "button small", href: `/clips/${encodeURIComponent(job.clip_id)}`,
      "aria-label": `${t("queue.open")}: ${title}`,
    }, t("queue.open")));
  }
  if (!TERMINAL_STATES.has(job.state)) {
    const urgent = job.priority === "urgent";
    controls.push(el("button", {
      type: "button", class: `small secondary urgent-toggle${urgent ? " is-on" : ""}`,
      "aria-pressed": urgent ? "true" : "false", "aria-label": `${t("queue.urgent")}: ${title}`,
      disabled: job.state !== "queued",
      onclick: () => jobAction(job, "priority", { priority: urgent ? "normal" : "urgent" }),
    }, t("queue.urgent")));
    controls.push(el("button", {
      type: "button", class: "small secondary", "aria-label": `${t("queue.cancel")}: ${title}`,
      onclick: () => jobAction(job, "cancel"),
    }, t("queue.cancel")));
  } else if (job.state !== "done") {
    controls.push(el("button", {
      type: "button", class: "small secondary", "aria-label": `${t("queue.retry")}: ${title}`,
      onclick: () => jobAction(job, "retry"),
    }, t("queue.retry")));
  }
  return controls;
}

async function jobAction(job, action, body) {
  try {
    const updated = await requestJSON(
      `/api/v1/jobs/${encodeURIComponent(job.id)}/${action}`, { method: "POST", body },
    );
    upsertJob(updated);
    followJob(updated);
    announce(t(`queue.${action}_done`, { title: clipTitles.get(job.clip_id) || "" }));
  } catch (error) {
    announceError(error);
  }
}

function upsertJob(job) {
  let entry = jobs.get(job.id);
  // Only a change seen on this page is news worth announcing.
  const wasRunning = entry !== undefined && !TERMINAL_STATES.has(entry.job.state);
  if (!entry) {
    entry = { job, ...createJobRow(job.id) };
    jobs.set(job.id, entry);
    // Newest first, as GET /jobs orders them; a fresh upload goes on top.
    const older = [...jobList.children].find(
      (row) => jobs.get(row.dataset.jobId).job.created_at < job.created_at,
    );
    jobList.insertBefore(entry.row, older ?? null);
  }
  entry.job = job;
  renderJob(entry);
  titleOf(job.clip_id);
  queueEmpty.hidden = jobs.size > 0;
  if (wasRunning && job.state === "done") {
    announce(t("queue.done_announce", { title: clipTitles.get(job.clip_id) || "" }));
  } else if (wasRunning && job.state === "failed") {
    announce(t("queue.failed_announce", { title: clipTitles.get(job.clip_id) || "" }), {
      error: true,
    });
  }
}

function followJob(job) {
  if (TERMINAL_STATES.has(job.state) || liveStreams.has(job.id)) return;
  if (liveStreams.size >= MAX_LIVE_STREAMS || !("EventSource" in window)) return;
  const stream = new EventSource(`/api/v1/jobs/${encodeURIComponent(job.id)}/events`);
  liveStreams.set(job.id, stream);
  // Each "job" event carries the whole JobPublic; the stream ends with the job.
  const onUpdate = (event) => {
    const update = JSON.parse(event.data);
    upsertJob(update);
    if (TERMINAL_STATES.has(update.state)) closeStream(job.id);
  };
  stream.addEventListener("job", onUpdate);
  // The stream dropped: polling takes over for this job.
  stream.addEventListener("error", () => closeStream(job.id));
}

function closeStream(jobId) {
  liveStreams.get(jobId)?.close();
  liveStreams.delete(jobId);
}

async function refreshQueue() {
  try {
    const payload = await requestJSON(`/api/v1/jobs?limit=${QUEUE_LENGTH}`);
    for (const job of listOf(payload)) {
      upsertJob(job);
      followJob(job);
    }
  } catch (error) {
    announceError(error);
  }
}

function needsPolling() {
  return [...jobs.values()].some(
    ({ job }) => !TERMINAL_STATES.has(job.state) && !liveStreams.has(job.id),
  );
}

async function pollLoop() {
  if (needsPolling()) await refreshQueue();
  setTimeout(pollLoop, POLL_INTERVAL_MS);
}

document.getElementById("queue-refresh").addEventListener("click", refreshQueue);

initShell("upload.page_title");
onLanguageChange(() => {
  refreshSubmit();
  for (const entry of pending) labelFileButton(entry);
  for (const entry of jobs.values()) {
    entry.controlsKey = null;
    renderJob(entry);
  }
  showProgrammeGlossary();
});
refreshSubmit();
showProgrammeGlossary();
queueEmpty.hidden = false;
refreshQueue().then(pollLoop);

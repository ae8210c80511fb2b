// Archive search: query + filters → GET /api/v1/search, hits grouped by clip, each hit
// a link into the editor at its moment. The query lives in the URL so results can be shared.

import { requestJSON } from "./api.js";
import {
  announceError, el, formatClock, formatDate, formatDay, initShell, onLanguageChange, parseDay, t,
} from "./ui.js";

const FILTERS = ["speaker", "role", "programme", "from", "to"];
const DATE_FILTERS = new Set(["from", "to"]);
const PAGE_SIZE = 20;

const form = document.getElementById("search-form");
const summary = document.getElementById("search-summary");
const results = document.getElementById("search-results");

let lastPage = null;
const groups = new Map(); // clip id -> {clip: title/programme/air_date, hits: [...]}

// The API escapes the text and wraps matches in <mark>; rebuild the snippet from text
// nodes and <mark> only, so nothing else in it can ever become markup. DOMParser
// documents are inert: nothing in them loads or runs.
function snippetNodes(html) {
  const parsed = new DOMParser().parseFromString(`<body>${html}</body>`, "text/html");
  return [...parsed.body.childNodes].map((node) => (
    node.nodeName === "MARK"
      ? el("mark", {}, node.textContent)
      : document.createTextNode(node.textContent)
  ));
}

function hitLink(hit) {
  const start = Number(hit.start) || 0;
  const speaker = hit.speaker_caption || (hit.role ? t(`role.${hit.role}`) : null);
  const snippet = el("span", { class: "snippet" });
  snippet.append(...snippetNodes(hit.snippet));
  // Approximate hits say so: the archivist sees the transcript spelt the word otherwise.
  const soundsLike = hit.match === "sounds_like" ? el("span", {
    class: "hit-match", title: hit.heard ? t("search.heard", { word: hit.heard }) : null,
  }, t("search.sounds_like")) : null;
  // The hit starts with its segment; naming the matched word lets the editor go to it.
  const matched = snippet.querySelector("mark")?.textContent;
  const href = `/clips/${encodeURIComponent(hit.clip_id)}?${new URLSearchParams({
    t: start.toFixed(2), ...(matched ? { w: matched } : {}),
  })}`;
  return el("li", {},
    el("a", { class: "hit", href, dataset: { start, clipId: hit.clip_id, match: hit.match } },
    el("span", { class: "timecode" }, formatClock(start)),
    speaker && el("span", { class: "hit-speaker" }, speaker),
    snippet,
    soundsLike));
}

function clipHeading(clip) {
  const title = clip.title || clip.clip_id;
  const meta = [clip.programme, clip.channel, formatDate(clip.air_date)]
    .filter(Boolean).join(" · ");
  return [
    el("h2", {}, el("a", { href: `/clips/${encodeURIComponent(clip.clip_id)}` }, title)),
    meta && el("p", { class: "meta" }, meta),
  ];
}

// The API groups each page's hits by clip; "show more" pages extend the same groups.
function addPage(page) {
  for (const group of page.clips) {
    if (!groups.has(group.clip_id)) groups.set(group.clip_id, { clip: group, hits: [] });
    groups.get(group.clip_id).hits.push(...group.hits);
  }
}

function renderResults() {
  const sections = [...groups.values()].map(({ clip, hits }) => el("section", {
    class: "result-clip panel", dataset: { clipId: clip.clip_id },
  }, ...clipHeading(clip), el("ol", { class: "hits" }, ...hits.map(hitLink))));
  const nextCursor = lastPage?.next_cursor;
  if (nextCursor) {
    sections.push(el("button", {
      type: "button", class: "secondary", onclick: () => runSearch({ cursor: nextCursor }),
    }, t("search.more")));
  }
  results.replaceChildren(...sections);
  const shown = [...groups.values()].reduce((sum, group) => sum + group.hits.length, 0);
  summary.textContent = shown
    ? t("search.summary", { total: shown, clips: groups.size })
    : t("search.nothing");
}

function queryParams() {
  const params = new URLSearchParams();
  params.set("q", form.elements.q.value.trim());
  for (const name of FILTERS) {
    const value = form.elements[name].value.trim();
    // Dates are typed дд.мм.гггг whatever the browser's locale; the API takes ISO days.
    if (value) params.set(name, DATE_FILTERS.has(name) ? parseDay(value) || value : value);
  }
  if (!form.elements.fuzzy.checked) params.set("fuzzy", "false");
  return params;
}

async function runSearch({ cursor = null } = {}) {
  const params = queryParams();
  if (!params.get("q")) {
    form.elements.q.focus();
    return;
  }
  history.replaceState(null, "", `/search?${params}`);
  params.set("limit", PAGE_SIZE);
  if (cursor) params.set("cursor", cursor);
  summary.textContent = t("search.searching");
  try {
    lastPage = await requestJSON(`/api/v1/search?${params}`);
  } catch (error) {
    summary.textContent = error.message;
    announceError(error);
    return;
  }
  if (!cursor) groups.clear();
  addPage(lastPage);
  renderResults();
  // Focus stays where the work is: on the results a search just produced.
  if (!cursor) summary.focus();
  // A page that ends short with a cursor ends where the exact hits do: the
  // sound-alike ones come from the next page, fetched after the exact ones show.
  if (lastPage.next_cursor && lastPage.hit_count < PAGE_SIZE) {
    await runSearch({ cursor: lastPage.next_cursor });
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  runSearch();
});
form.elements.fuzzy.addEventListener("change", () => {
  if (form.elements.q.value.trim()) runSearch();
});

initShell("search.page_title");
onLanguageChange(() => { if (lastPage) renderResults(); });
const initial = new URLSearchParams(location.search);
for (const name of ["q", ...FILTERS]) {
  if (!initial.has(name)) continue;
  const value = initial.get(name);
  form.elements[name].value = DATE_FILTERS.has(name) ? formatDay(value) || value : value;
}

// Programme names already in the archive, offered as the user types (any case).
const programmes = document.getElementById("search-programmes");
form.elements.programme.addEventListener("input", async () => {
  try {
    const names = await requestJSON(`/api/v1/clips/suggestions?${new URLSearchParams({
      field: "programme", q: form.elements.programme.value,
    })}`);
    programmes.replaceChildren(...names.map((value) => el("option", { value })));
  } catch {
    // suggestions are a convenience; the filter works without them
  }
});
form.elements.fuzzy.checked = initial.get("fuzzy") !== "false";
if (initial.get("q")) runSearch();
else form.elements.q.focus();

// What every page shares: the language switch, the live status line, small DOM and
// formatting helpers.

import { applyTranslations, currentLanguage, onLanguageChange, setLanguage, t } from "./i18n.js";
import { showSession } from "./session.js";

export { t, onLanguageChange };

// Build an element: el("a", {href: "/", class: "x", dataset: {id: 1}}, "text", child).
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, value);
  }
  node.append(...children.filter((child) => child !== undefined && child !== null));
  return node;
}

let statusTimer = 0;

// Say something to everyone: visible at the bottom and read by screen readers. News goes
// by itself; an error stays until read, with a close button (and Escape) to dismiss it.
export function announce(message, { error = false } = {}) {
  const status = document.getElementById("status");
  document.getElementById("status-text").textContent = message;
  status.classList.toggle("is-error", error);
  status.classList.add("is-visible");
  clearTimeout(statusTimer);
  statusTimer = setTimeout(dismissStatus, error ? 15000 : 5000);
}

export function dismissStatus() {
  clearTimeout(statusTimer);
  document.getElementById("status")?.classList.remove("is-visible");
}

export function announceError(error) {
  announce(`${t("error.prefix")} ${error.message || error}`, { error: true });
}

export function formatClock(seconds) {
  const total = Math.max(0, Math.floor(seconds || 0));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

// A calendar day the Russian way, whatever the browser's locale: "2026-03-09" -> "09.03.2026".
export function formatDay(isoDay) {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(isoDay || "");
  return match ? `${match[3]}.${match[2]}.${match[1]}` : "";
}

// "9.3.2026" or "09.03.2026" -> "2026-03-09"; null when it is not a real day.
export function parseDay(text) {
  const match = /^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*$/.exec(text || "");
  if (!match) return null;
  const [day, month, year] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
  return `${year}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

export function formatDate(value, { withTime = false } = {}) {
  if (!value) return "";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const locale = currentLanguage() === "ru" ? "ru-RU" : "en-GB";
  const options = withTime
    ? { dateStyle: "medium", timeStyle: "short" }
    : { dateStyle: "medium", timeZone: "UTC" };
  return new Intl.DateTimeFormat(locale, options).format(date);
}

export function formatBytes(bytes) {
  const units = t("units.bytes").split(",");
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

function markCurrentNavLink() {
  const page = document.body.dataset.page;
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === page) link.setAttribute("aria-current", "page");
  }
}

function wireLanguageSwitch() {
  const buttons = document.querySelectorAll("[data-lang]");
  const reflect = () => {
    for (const button of buttons) {
      button.setAttribute("aria-pressed", String(button.dataset.lang === currentLanguage()));
    }
  };
  for (const button of buttons) {
    button.addEventListener("click", () => setLanguage(button.dataset.lang));
  }
  onLanguageChange(reflect);
  reflect();
}

// Call once per page with the page's title key.
function wireStatus() {
  document.getElementById("status-close")?.addEventListener("click", dismissStatus);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && document.getElementById("status")?.classList.contains("is-error")) {
      dismissStatus();
    }
  });
}

export function initShell(titleKey) {
  const setTitle = () => {
    document.title = `${t(titleKey)} · ${t("shell.brand")}`;
  };
  onLanguageChange(setTitle);
  applyTranslations(document);
  setTitle();
  markCurrentNavLink();
  wireLanguageSwitch();
  wireStatus();
  showSession().catch(() => {}); // the page's own requests report an unreachable API
}

// The login page: username + password → POST /api/v1/session (the server sets an
// HttpOnly cookie), then back to the page that sent us here (?next=, same site only).

import { requestJSON } from "./api.js";
import { initShell, t } from "./ui.js";

const form = document.getElementById("login-form");
const errorLine = document.getElementById("login-error");

// Only one of efir's own pages (api/routes/ui.py): "/\t/evil.example" (browsers drop
// the tab) leaves the site, and an API address such as a clip's media is not a page.
const UI_PAGE = /^\/(?:search|speakers|library|clips\/[^/]+)?$/;

function nextPath() {
  const raw = new URLSearchParams(window.location.search).get("next") || "/";
  let next;
  try {
    next = new URL(raw, window.location.origin);
  } catch {
    return "/";
  }
  if (next.origin !== window.location.origin || !UI_PAGE.test(next.pathname)) return "/";
  return next.pathname + next.search + next.hash;
}

function showError(message) {
  errorLine.textContent = message;
  errorLine.hidden = false;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  errorLine.hidden = true;
  const data = new FormData(form);
  try {
    await requestJSON("/api/v1/session", {
      method: "POST",
      body: { username: data.get("username"), password: data.get("password") },
    });
    window.location.assign(nextPath());
  } catch (error) {
    if (error.status === 401) showError(t("login.wrong"));
    else if (error.status === 429) showError(t("login.locked"));
    else showError(`${t("error.prefix")} ${error.message}`);
  }
});

initShell("login.page_title");
requestJSON("/api/v1/session").then((session) => {
  if (session.authenticated) window.location.replace(nextPath());
});

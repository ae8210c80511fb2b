// The login page: username + password → POST /api/v1/session (the server sets an
// HttpOnly cookie), then back to the page that sent us here (?next=, same site only).

import { requestJSON } from "./api.js";
import { initShell, t } from "./ui.js";

const form = document.getElementById("login-form");
const errorLine = document.getElementById("login-error");

// Only a path on this site: "//evil.example" or "/\evil" would leave it.
function nextPath() {
  const next = new URLSearchParams(window.location.search).get("next") || "/";
  return /^\/(?![/\\])/.test(next) ? next : "/";
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

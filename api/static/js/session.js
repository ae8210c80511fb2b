// Who is signed in, shown in every page's header: the name, role and a logout button
// (production), or the local-mode banner. Without a session the page goes to /login;
// nav links and [data-requires] controls the role may not use are hidden (the server
// refuses them anyway).

import { requestJSON } from "./api.js";
import { onLanguageChange, t } from "./i18n.js";

export function loginUrl() {
  const here = window.location.pathname + window.location.search;
  return `/login?next=${encodeURIComponent(here)}`;
}

function hideWhatTheRoleCannotDo(permissions) {
  for (const node of document.querySelectorAll("[data-requires]")) {
    node.hidden = !permissions.includes(node.dataset.requires);
  }
}

function showAccount(session) {
  const account = document.getElementById("account");
  const name = document.getElementById("account-name");
  const render = () => {
    name.textContent = t("shell.signed_in", {
      name: session.username,
      role: t(`account_role.${session.role}`),
    });
  };
  onLanguageChange(render);
  render();
  document.getElementById("logout").addEventListener("click", async () => {
    await requestJSON("/api/v1/session", { method: "DELETE" });
    window.location.assign("/login");
  });
  account.hidden = false;
}

export async function showSession() {
  const session = await requestJSON("/api/v1/session");
  const onLoginPage = document.body.dataset.page === "login";
  if (!session.authenticated) {
    document.querySelector(".nav").hidden = true;
    if (!onLoginPage) window.location.assign(loginUrl());
    return;
  }
  document.getElementById("local-banner").hidden = session.mode !== "local";
  if (session.mode === "production") showAccount(session);
  hideWhatTheRoleCannotDo(session.permissions);
}

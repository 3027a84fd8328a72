// The console's shell: login, navigation by URL fragment, the error and notice bars.
import { APIError, current, login, logout, onNotice, onSignedOut, resume } from "./api.js";
import { fill, h } from "./dom.js";
import * as fleet from "./fleet.js";
import * as device from "./device.js";
import * as enrollment from "./enrollment.js";
import * as users from "./users.js";
import * as audit from "./audit.js";
import * as account from "./account.js";

const pages = {
  fleet: { page: fleet, title: "Fleet", role: "viewer" },
  device: { page: device, title: "Device", role: "viewer", hidden: true },
  enrollment: { page: enrollment, title: "Enrollment", role: "operator" },
  users: { page: users, title: "Users and API keys", role: "admin" },
  audit: { page: audit, title: "Audit log", role: "admin" },
  account: { page: account, title: "Account", role: "viewer" },
};

const main = document.getElementById("main");
const errorBar = document.getElementById("error");
const noticeBar = document.getElementById("notice");
let cleanup = null;

/** Shows an error from the API with its message and request id (or any other error's message). */
export function showError(error) {
  if (!error) {
    errorBar.hidden = true;
    return;
  }
  if (error instanceof APIError && error.code === "password_change_required" && location.hash !== "#/account") {
    location.hash = "#/account";
    return;
  }
  const parts = [h("strong", {}, error instanceof APIError ? `${error.status} ${error.code}` : "Error"), " ", error.message];
  if (error.requestId) parts.push(" ", h("span", { class: "request-id" }, `request id ${error.requestId}`));
  fill(errorBar, ...parts, h("button", { type: "button", class: "link", onclick: () => showError(null) }, "Dismiss"));
  errorBar.hidden = false;
}

onNotice((message) => {
  noticeBar.hidden = !message;
  noticeBar.textContent = message || "";
});

onSignedOut(() => route());

function renderLogin() {
  document.getElementById("top").hidden = true;
  const message = h("p", { class: "form-error", id: "login-error", role: "alert", hidden: true });
  const form = h("form", { class: "login card", id: "login-form" },
    h("h1", {}, "Outpost console"),
    h("label", { class: "field" }, h("span", {}, "Username"), h("input", { name: "username", autocomplete: "username", required: true })),
    h("label", { class: "field" }, h("span", {}, "Password"),
      h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    message,
    h("button", { type: "submit" }, "Log in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.hidden = true;
    const data = new FormData(form);
    try {
      await login(String(data.get("username")), String(data.get("password")));
      const target = current.mustChangePassword ? "#/account" : "#/fleet";
      if (location.hash && location.hash !== "#/login") route();
      else location.hash = target;
    } catch (error) {
      message.textContent = error instanceof APIError ? `${error.message} (${error.code}, request id ${error.requestId})` : error.message;
      message.hidden = false;
    }
  });
  fill(main, form);
  form.elements.username.focus();
}

function renderShell(active) {
  document.getElementById("top").hidden = false;
  const nav = document.getElementById("nav");
  fill(nav, Object.entries(pages)
    .filter(([, entry]) => !entry.hidden && current.can(entry.role))
    .map(([name, entry]) => h("a", { href: `#/${name}`, class: name === active ? "active" : "", "data-page": name }, entry.title)));
  fill(document.getElementById("who"), current.name || "", " ", h("span", { class: "badge" }, current.role || ""));
}

function parseHash() {
  const [name, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  return { name: name || "fleet", args: rest.map(decodeURIComponent) };
}

async function route() {
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  showError(null);
  if (!current.signedIn) {
    renderLogin();
    return;
  }
  let { name, args } = parseHash();
  if (current.mustChangePassword) {
    // The URL shows the page shown, so that leaving it after the change is a hash change.
    name = "account";
    if (location.hash !== "#/account") history.replaceState(null, "", "#/account");
  }
  const entry = pages[name] && current.can(pages[name].role) ? pages[name] : pages.fleet;
  renderShell(name);
  document.title = `${entry.title} · Outpost`;
  const root = h("section", { class: "page", "data-page": name });
  fill(main, root);
  const abandon = new AbortController();
  cleanup = () => abandon.abort();
  try {
    const pageCleanup = await entry.page.render(root, { args, showError });
    if (abandon.signal.aborted) {
      if (pageCleanup) pageCleanup();
    } else if (pageCleanup) {
      cleanup = pageCleanup;
    }
  } catch (error) {
    if (!abandon.signal.aborted && error.name !== "AbortError") showError(error);
  }
}

document.getElementById("logout").addEventListener("click", async () => {
  history.replaceState(null, "", "#/login");
  await logout();
});

window.addEventListener("hashchange", () => route());

(async () => {
  await resume();
  route();
})();

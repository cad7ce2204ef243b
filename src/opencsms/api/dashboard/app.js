// The dashboard's shell: login, navigation between pages (routes in the URL fragment), and the
// live-update connection every page listens to. See docs/dashboard.md.

import { api, ApiError, clearToken, onUnauthorized, setToken, token } from "./api.js";
import { fill, h, tid } from "./dom.js";
import { Live, throttle } from "./live.js";
import { fleetPage } from "./fleet.js";
import { stationPage } from "./station.js";
import { sessionPage, sessionsPage } from "./sessions.js";
import { alertsPage, tariffsPage } from "./alerts.js";
import { cdrPage, cdrsPage } from "./cdrs.js";
import { loadPage } from "./load.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const logoutButton = document.getElementById("logout");
const liveStatus = document.getElementById("live-status");

const MODES = {
  stream: "● Live",
  polling: "● Live (polling every 3 s)",
  reconnecting: "○ Reconnecting…",
  off: "",
};
const live = new Live({
  onMode: (mode) => {
    liveStatus.textContent = MODES[mode] ?? mode;
    liveStatus.dataset.mode = mode;
  },
});

// Route → page. A page is `page(container, ctx, ...params)` returning {refresh, dispose?};
// `refresh` re-reads what the page shows and is called again on every live change (throttled).
const ROUTES = [
  [/^#\/fleet$/, fleetPage, "Fleet"],
  [/^#\/stations\/([^/]+)$/, stationPage, "Station"],
  [/^#\/sessions$/, sessionsPage, "Sessions"],
  [/^#\/sessions\/(\d+)$/, sessionPage, "Session"],
  [/^#\/alerts$/, alertsPage, "Alerts"],
  [/^#\/tariffs$/, tariffsPage, "Tariffs"],
  [/^#\/cdrs$/, cdrsPage, "CDRs"],
  [/^#\/cdrs\/(\d+)$/, cdrPage, "CDR"],
  [/^#\/load$/, loadPage, "Load management"],
];

let current = null; // {dispose()} of the page shown
let loginMessage = "";

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function disposeCurrent() {
  if (current) current.dispose();
  current = null;
}

function route() {
  const hash = location.hash || "#/fleet";
  if (!hash.startsWith("#/")) return; // an in-page anchor, not a route
  disposeCurrent();
  if (hash === "#/login" || !token()) {
    showLogin(hash === "#/login" ? "#/fleet" : hash);
    return;
  }
  const found = ROUTES.find(([pattern]) => pattern.test(hash));
  if (!found) {
    fill(main, h("section", { class: "card" }, h("h1", {}, "Page not found"),
      h("p", {}, h("a", { href: "#/fleet" }, "Back to the fleet"))));
    return;
  }
  const [pattern, page, title] = found;
  const params = pattern.exec(hash).slice(1).map(decodeURIComponent);
  showChrome(true);
  for (const link of nav.querySelectorAll("a")) {
    const active = hash.startsWith(link.getAttribute("href"));
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${title}${params[0] ? ` ${params[0]}` : ""} · OpenCSMS`;
  const container = h("div", { class: "page" });
  fill(main, container);
  const ctx = { live, navigate };
  const shown = page(container, ctx, ...params);
  const refresh = throttle(async () => {
    try {
      await shown.refresh();
      container.querySelector("[data-error=page]")?.remove();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      showPageError(container, error);
    }
  }, 1000);
  const unsubscribe = live.subscribe((event) => {
    if (!shown.wants || shown.wants(event)) refresh();
  });
  refresh();
  current = {
    dispose() {
      unsubscribe();
      refresh.cancel();
      shown.dispose?.();
    },
  };
  main.focus({ preventScroll: true });
}

function showPageError(container, error) {
  let box = container.querySelector("[data-error=page]");
  if (!box) {
    box = h("p", { class: "error", role: "alert", "data-error": "page", dataset: tid("page-error") });
    container.prepend(box);
  }
  box.textContent = `Could not load: ${error.message}`;
}

function showChrome(loggedIn) {
  nav.hidden = !loggedIn;
  logoutButton.hidden = !loggedIn;
  if (loggedIn && live.mode === "off") live.start();
  if (!loggedIn) live.stop();
}

function showLogin(next) {
  showChrome(false);
  document.title = "Log in · OpenCSMS";
  const error = h("p", { class: "error", role: "alert", dataset: tid("login-error") },
    loginMessage);
  loginMessage = "";
  const input = h("input", {
    id: "token", name: "token", type: "password", required: true, autocomplete: "current-password",
    "aria-describedby": "token-help", dataset: tid("login-token"),
  });
  const form = h("form", { class: "card login", dataset: tid("login-form") },
    h("h1", {}, "Log in"),
    h("label", { for: "token" }, "Operator token"),
    input,
    h("p", { id: "token-help", class: "muted" },
      "The admin token of this CSMS (OPENCSMS_ADMIN_TOKEN). It is kept in this browser tab only."),
    h("button", { type: "submit", dataset: tid("login-submit") }, "Log in"),
    error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const value = input.value.trim();
    try {
      await api("/stations?limit=1", { tokenOverride: value });
    } catch (failure) {
      error.textContent = failure instanceof ApiError && failure.status === 401
        ? "That token was refused." : `Could not reach the CSMS: ${failure.message}`;
      input.focus();
      return;
    }
    setToken(value);
    navigate(next);
  });
  fill(main, form);
  input.focus();
}

onUnauthorized(() => {
  clearToken();
  loginMessage = "Your token was refused: log in again.";
  disposeCurrent();
  navigate("#/login");
});

logoutButton.addEventListener("click", () => {
  clearToken();
  disposeCurrent();
  navigate("#/login");
});

window.addEventListener("hashchange", route);
route();

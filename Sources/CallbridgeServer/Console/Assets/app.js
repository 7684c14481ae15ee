// The console's shell: sign-in, sign-out and the hash router. Each view
// renders into <main id="view"> and returns a function that stops its
// polling when the operator leaves it.
import { api, ApiError, clearToken, onUnauthorized, setToken, token } from "./api.js";
import { banner, live, show } from "./dom.js";
import { renderEvents } from "./events.js";
import { renderEvent, renderOrder } from "./detail.js";
import { renderEndpoints } from "./endpoints.js";
import { renderGlance, renderStatusChecks } from "./overview.js";

const $ = (id) => document.getElementById(id);
let stopView = () => {};

function showSignIn(message) {
  stopView();
  stopView = () => {};
  $("app").hidden = true;
  $("signin").hidden = false;
  const error = $("signin-error");
  error.textContent = message || "";
  error.hidden = !message;
  $("token").value = "";
  $("token").focus();
}

async function signIn(event) {
  event.preventDefault();
  const candidate = $("token").value.trim();
  if (!candidate) return;
  $("signin-button").disabled = true;
  try {
    await api("/endpoints", { candidate });
    setToken(candidate);
    $("token").value = "";
    $("signin").hidden = true;
    $("app").hidden = false;
    if (!location.hash || location.hash === "#/") location.hash = "#/events"; else route();
  } catch (error) {
    const message = error instanceof ApiError && error.status === 401 ? "That token was refused: check admin.token on the server."
      : error instanceof ApiError && error.status === 503 ? "The admin API is off on this server (no admin.token)."
      : "Could not reach the admin API: " + error.message;
    showSignIn(message);
  } finally {
    $("signin-button").disabled = false;
  }
}

function signOut() {
  clearToken();
  history.replaceState(null, "", "#/");
  showSignIn("Signed out.");
}

function route() {
  if (!token()) { showSignIn(""); return; }
  stopView();
  banner("");
  live("");
  const view = $("view");
  show(view);
  const parts = location.hash.replace(/^#\/?/, "").split("/").map((part) => {
    try { return decodeURIComponent(part); } catch { return part; }
  });
  const name = parts[0] || "events";
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("active", link.dataset.view === (name === "orders" ? "events" : name));
  }
  const views = {
    events: () => parts[1] ? renderEvent(view, parts[1]) : renderEvents(view),
    orders: () => renderOrder(view, parts[1] || "", parts.slice(2).join("/")),
    endpoints: () => renderEndpoints(view),
    "status-checks": () => renderStatusChecks(view),
    glance: () => renderGlance(view),
  };
  stopView = (views[name] || views.events)() || (() => {});
}

onUnauthorized(() => { clearToken(); showSignIn("The server refused the token (it may have changed). Sign in again."); });
$("signin-form").addEventListener("submit", signIn);
$("signout").addEventListener("click", signOut);
window.addEventListener("hashchange", () => { if (token()) route(); });
if (token()) { $("app").hidden = false; route(); } else { showSignIn(""); }

// Events, newest first: filters, paging with next_cursor, and new events
// arriving live (a poll every 2 s with `after`).
import { api, query } from "./api.js";
import { badge, every, h, money, show, when } from "./dom.js";

export const EVENT_TYPES = ["payment.created", "payment.pending", "payment.authorized", "payment.succeeded", "payment.failed",
  "payment.cancelled", "payment.expired", "refund.succeeded", "refund.failed", "refund.pending", "dispute.opened", "dispute.closed", "unmapped"];
const PAGE = 50;
const POLL_LIMIT = 200;

function select(name, label, options) {
  return h("label", {}, label, h("select", { name }, h("option", { value: "" }, "any"), options.map((o) => h("option", { value: o }, o))));
}

function input(name, label, type = "text", placeholder = "") {
  return h("label", {}, label, h("input", { name, type, placeholder, spellcheck: "false" }));
}

/** The filter form's values as admin API query parameters. */
function filters(form) {
  const data = new FormData(form);
  const value = (name) => String(data.get(name) || "").trim();
  const instant = (name) => {
    const text = value(name);
    if (!text) return "";
    const date = new Date(text);
    return Number.isNaN(date.getTime()) ? "" : date.toISOString().replace(/\.\d{3}Z$/, "Z");
  };
  return { provider: value("provider"), type: value("type"), channel: value("channel"), verified: value("verified"),
    order_id: value("order_id"), since: instant("since"), until: instant("until") };
}

function row(event, fresh) {
  const d = event.data || {};
  const link = "#/events/" + encodeURIComponent(event.id);
  const order = d.order_id ? h("a", { href: "#/orders/" + encodeURIComponent(d.provider) + "/" + encodeURIComponent(d.order_id), class: "order-link" }, d.order_id) : "–";
  return h("tr", { class: fresh ? "fresh event-row" : "event-row", "data-id": event.id },
    h("td", {}, when(d.received_at || event.timestamp)),
    h("td", {}, h("a", { href: link, class: "event-link" }, event.type)),
    h("td", {}, d.provider, " / ", d.route),
    h("td", {}, d.channel),
    h("td", {}, badge(d.verified ? "verified" : "unverified")),
    h("td", { class: "wrap order-id" }, order),
    h("td", { class: "num" }, money(d.amount, d.currency)),
    h("td", {}, d.order ? badge(d.order.transition) : "–"),
    h("td", { class: "mono" }, h("a", { href: link }, event.id)));
}

export function renderEvents(view) {
  const form = h("form", { class: "filters", id: "event-filters" },
    input("provider", "Provider", "text", "juspay"),
    select("type", "Type", EVENT_TYPES),
    select("channel", "Channel", ["callback", "redirect", "status_check"]),
    select("verified", "Verified", ["true", "false"]),
    input("order_id", "Order id"),
    input("since", "Received from", "datetime-local"),
    input("until", "Received until", "datetime-local"),
    h("button", { type: "submit" }, "Apply"),
    h("button", { type: "reset", class: "secondary" }, "Clear"));
  const body = h("tbody", { id: "events-body" });
  const more = h("button", { type: "button", class: "secondary", id: "older" }, "Older events");
  const count = h("span", { class: "muted", id: "events-count" });
  show(view, h("h1", {}, "Events"), form,
    h("table", { id: "events" }, h("thead", {}, h("tr", {}, ["Received", "Type", "Provider / route", "Channel", "Verified", "Order", "Amount", "Order step", "Id"].map((t) => h("th", {}, t)))), body),
    h("div", { class: "row pager" }, more, count));

  let shown = [];            // newest first
  let seen = new Set();
  let nextCursor = null;
  let lagging = [];          // cursors of the last polls: `after` trails by two polls, so a late commit is not missed
  let current = {};

  const newest = () => (shown.length ? shown[0].id : null);
  const render = () => { count.textContent = shown.length + " shown"; more.disabled = !nextCursor; };

  async function load() {
    current = filters(form);
    const { data } = await api("/events" + query({ ...current, limit: PAGE }));
    shown = data.data;
    seen = new Set(shown.map((e) => e.id));
    nextCursor = data.next_cursor;
    lagging = [newest(), newest()];
    body.replaceChildren(...shown.map((e) => row(e, false)));
    render();
  }

  async function older() {
    if (!nextCursor) return;
    const { data } = await api("/events" + query({ ...current, limit: PAGE, cursor: nextCursor }));
    for (const event of data.data) if (!seen.has(event.id)) { seen.add(event.id); shown.push(event); body.append(row(event, false)); }
    nextCursor = data.next_cursor;
    render();
  }

  async function poll() {
    const after = lagging[0];
    const { data } = await api("/events" + query({ ...current, limit: POLL_LIMIT, after: after || undefined }));
    if (!after && data.data.length === 0) { lagging = [null, null]; return; }
    if (data.data.length === POLL_LIMIT) { await load(); return; }   // too much at once: start from the newest page
    for (const event of data.data.slice().reverse()) {
      if (seen.has(event.id)) continue;
      seen.add(event.id);
      let index = shown.findIndex((e) => e.id < event.id);
      if (index === -1) index = shown.length;
      shown.splice(index, 0, event);
      const element = row(event, true);
      if (index < body.children.length) body.insertBefore(element, body.children[index]); else body.append(element);
    }
    lagging = [lagging[1], newest()];
    render();
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); load().catch(report); });
  form.addEventListener("reset", () => setTimeout(() => load().catch(report), 0));
  more.addEventListener("click", () => older().catch(report));
  const report = (error) => { count.textContent = "Error: " + error.message; };
  let first = true;
  return every(2000, async () => { if (first) { first = false; await load(); } else { await poll(); } });
}

// One event (envelope, masked raw request, revisions, deliveries with every
// attempt, replay) and one order's story (state, amounts, timeline).
import { api, segment } from "./api.js";
import { badge, every, h, kv, money, show, table, when } from "./dom.js";

function orderHref(provider, orderID) { return "#/orders/" + encodeURIComponent(provider) + "/" + encodeURIComponent(orderID); }

/** An HTTP status as a badge: green for 2xx, red otherwise. */
export function statusBadge(code) {
  if (code === null || code === undefined) return "–";
  return h("span", { class: code >= 200 && code < 300 ? "badge ok" : "badge bad" }, String(code));
}

function pretty(value) { return h("pre", {}, JSON.stringify(value, null, 2)); }

function attemptsTable(attempts) {
  if (!attempts.length) return h("p", { class: "muted" }, "No attempt yet.");
  return table(["#", "Started", "Duration", "Status", "Error", "Response (first bytes)"], attempts.map((a) => h("tr", { class: "attempt" },
    h("td", { class: "num" }, a.number),
    h("td", {}, when(a.started_at)),
    h("td", { class: "num" }, a.duration_ms + " ms"),
    h("td", {}, statusBadge(a.status_code)),
    h("td", { class: "wrap" }, a.error || "–"),
    h("td", { class: "wrap mono" }, a.response_snippet || ""))));
}

function deliveriesSection(deliveries) {
  if (!deliveries.length) return [h("p", { class: "muted" }, "No delivery: no endpoint takes this event.")];
  return deliveries.map((d) => h("div", { class: "panel delivery", "data-endpoint": d.endpoint, "data-state": d.state },
    h("div", { class: "row" }, h("strong", {}, d.endpoint), badge(d.state), h("span", { class: "muted" }, "delivery " + d.id),
      h("span", { class: "muted" }, d.attempt_count + " attempt(s)"),
      d.next_attempt_at ? h("span", { class: "muted" }, "next " + when(d.next_attempt_at)) : null,
      d.superseded_by ? h("span", { class: "muted" }, "replayed as delivery " + d.superseded_by) : null,
      d.last_error ? h("span", { class: "error" }, d.last_error) : null),
    attemptsTable(d.attempts)));
}

/** A dry run, then a confirmation showing what it counted, then the replay. */
export function replayPanel(describe, body, path, after) {
  const panel = h("div", { class: "panel" });
  const start = h("button", { type: "button", class: "replay-start" }, "Replay…");
  panel.append(h("div", { class: "row" }, start, h("span", { class: "muted" }, describe)));
  start.addEventListener("click", async () => {
    start.disabled = true;
    try {
      const { data } = await api(path, { method: "POST", body: { ...body, dry_run: true } });
      const confirm = h("button", { type: "button", class: "danger replay-confirm" }, "Send " + data.deliveries + " deliveries");
      const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
      const note = h("span", { class: "replay-count" }, "Dry run: " + data.events + " event(s) as " + data.deliveries + " new delivery(ies)"
        + (data.skipped_endpoints.length ? "; not configured: " + data.skipped_endpoints.join(", ") : "") + ".");
      const box = h("div", { class: "panel confirm row" }, note, confirm, cancel);
      panel.append(box);
      confirm.disabled = data.deliveries === 0;
      cancel.addEventListener("click", () => { box.remove(); start.disabled = false; });
      confirm.addEventListener("click", async () => {
        confirm.disabled = true;
        try {
          const { data: done } = await api(path, { method: "POST", body });
          show(box, h("span", { class: "replay-done" }, "Replayed " + done.events + " event(s) as " + done.deliveries + " new delivery(ies)."));
          start.disabled = false;
          if (after) after();
        } catch (error) { show(box, h("span", { class: "error" }, "Replay failed: " + error.message)); start.disabled = false; }
      });
    } catch (error) {
      panel.append(h("p", { class: "error" }, "Dry run failed: " + error.message));
      start.disabled = false;
    }
  });
  return panel;
}

export function renderEvent(view, id) {
  const deliveries = h("div", { id: "deliveries" });
  const head = h("div", {});
  show(view, h("p", {}, h("a", { href: "#/events" }, "← Events")), head, h("h2", {}, "Deliveries"), deliveries);
  let loaded = false;
  return every(2000, async () => {
    if (!loaded) {
      const { data } = await api("/events/" + segment(id));
      loaded = true;
      const e = data.event, d = e.data || {}, raw = data.raw_request;
      const query = raw.query ? "?" + raw.query : "";
      show(head,
        h("h1", {}, e.type, " ", h("span", { class: "muted mono" }, e.id)),
        h("div", { class: "grid card", id: "event-summary" },
          kv("Provider / route", d.provider + " / " + d.route), kv("Channel", d.channel),
          kv("Verification", badge(d.verified ? "verified" : "unverified"), " ", d.verification),
          kv("Order", d.order_id ? h("a", { href: orderHref(d.provider, d.order_id), id: "order-link" }, d.order_id) : "–"),
          kv("Transaction", d.transaction_id ?? "–"), kv("Provider status", d.provider_status ?? "–"),
          kv("Amount", money(d.amount, d.currency)), kv("Received", when(d.received_at)), kv("Occurred", when(d.occurred_at)),
          kv("Order step", d.order ? badge(d.order.transition) : "–", d.order ? " " + d.order.previous_state + " → " + d.order.state : ""),
          kv("Dedup key", data.dedup_key ?? "–")),
        replayPanel("Send this event again, same webhook-id, to every endpoint that takes it.", {}, "/events/" + segment(id) + "/replay"),
        h("h2", {}, "Envelope"), pretty(e),
        h("h2", {}, "Raw request (secrets and card data masked)"),
        h("p", { class: "mono" }, raw.method + " " + raw.path + query, raw.remote_address ? "  from " + raw.remote_address : ""),
        table(["Header", "Value"], raw.headers.map(([name, value]) => h("tr", {}, h("td", { class: "mono" }, name), h("td", { class: "wrap mono" }, value)))),
        h("h3", {}, "Body"), h("pre", { id: "raw-body" }, raw.body ?? "(binary, base64) " + raw.body_base64),
        h("h2", {}, "Revisions"),
        data.revisions.length ? data.revisions.map((r) => h("div", {}, h("h3", {}, "Revision " + r.revision + ", replaced " + when(r.replaced_at)), pretty(r.event)))
          : h("p", { class: "muted" }, "None: this is the event as first stored."));
    }
    const { data } = await api("/events/" + segment(id) + "/deliveries");
    show(deliveries, deliveriesSection(data.data));
  });
}

export function renderOrder(view, provider, orderID) {
  const body = h("div", {});
  show(view, h("p", {}, h("a", { href: "#/events" }, "← Events")), body);
  return every(4000, async () => {
    const { data: o } = await api("/orders/" + segment(provider) + "/" + segment(orderID));
    const mismatches = (item) => (item.order && item.order.mismatch.length)
      ? item.order.mismatch.map((m) => h("div", { class: "error" }, m.field + ": expected " + m.expected + ", got " + m.got)) : null;
    const check = o.status_check;
    show(body,
      h("h1", {}, "Order ", h("span", { class: "mono", id: "order-title" }, o.order_id), " ", h("span", { class: "muted" }, o.provider)),
      h("div", { class: "grid card", id: "order-summary" },
        kv("State", badge(o.state), o.state !== o.payment_state ? " (payment " + o.payment_state + ")" : ""),
        kv("Mismatch", badge(o.mismatch ? "conflict" : "none")),
        kv("Reported", money(o.amount, o.currency)), kv("Expected", money(o.expected_amount, o.expected_currency)),
        kv("Paid", o.paid_amount ?? "–"), kv("Refunded", o.refunded_amount),
        kv("Events", o.counts.events + " (" + o.counts.verified + " verified, " + o.counts.hints + " hints)"),
        kv("Steps", o.counts.advanced + " advanced, " + o.counts.repeated + " repeated, " + o.counts.stale + " stale, " + o.counts.conflicts + " conflicts"),
        kv("First seen", when(o.first_seen_at)), kv("Last seen", when(o.last_seen_at))),
      h("h2", {}, "Timeline"),
      table(["#", "Received", "Channel", "Verified", "Type", "Step", "State", "Amount", "What each endpoint got", "Status check"],
        o.timeline.map((item) => h("tr", { class: "timeline-item" },
          h("td", { class: "num" }, item.sequence ?? "–"),
          h("td", {}, when(item.received_at)),
          h("td", {}, item.channel),
          h("td", {}, badge(item.verified ? "verified" : "unverified")),
          h("td", {}, h("a", { href: "#/events/" + encodeURIComponent(item.event_id) }, item.type), item.current ? "" : " (revision " + item.revision + ")"),
          h("td", {}, item.order ? badge(item.order.transition) : "–", mismatches(item)),
          h("td", {}, item.order ? item.order.previous_state + " → " + item.order.state : "–"),
          h("td", { class: "num" }, money(item.amount, item.currency)),
          h("td", {}, item.deliveries.length ? item.deliveries.map((d) => h("div", {}, d.endpoint + " ", badge(d.state))) : h("span", { class: "muted" }, "none")),
          h("td", {}, item.status_check ? [badge(item.status_check.verdict ?? "waiting"), item.status_check.detail ? " " + item.status_check.detail : ""] : "–")))),
      h("h2", {}, "Status check"),
      check ? [h("p", {}, "Job ", badge(check.state ?? "–"), check.due_at ? " due " + when(check.due_at) : ""),
        check.recent_tries.length ? table(["Started", "Duration", "HTTP", "Outcome", "Reason", "Error"], check.recent_tries.map((t) => h("tr", {},
          h("td", {}, when(t.started_at)), h("td", { class: "num" }, t.duration_ms + " ms"), h("td", {}, t.http_status ?? "–"),
          h("td", {}, badge(t.outcome)), h("td", {}, t.reason), h("td", { class: "wrap" }, t.error ?? "–")))) : h("p", { class: "muted" }, "No try yet.")]
        : h("p", { class: "muted" }, "No status check was asked for this order."));
  });
}

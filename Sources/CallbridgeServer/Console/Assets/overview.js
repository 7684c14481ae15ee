// Status checks (queue depth, latest tries) and "at a glance": ingest rate,
// delivery success rate and attempt latency as small inline SVG charts.
import { api, query } from "./api.js";
import { ago, badge, every, h, s, show, table, when } from "./dom.js";

export function renderStatusChecks(view) {
  const body = h("div", { id: "status-checks" });
  show(view, h("h1", {}, "Status checks"), body);
  return every(3000, async () => {
    const { data } = await api("/status-checks" + query({ limit: 50 }));
    show(body,
      h("h2", {}, "Queue"),
      data.queue.length ? table(["Provider", "Status API", "Waiting", "Leased", "Oldest due"], data.queue.map((q) => h("tr", { class: "queue-row" },
        h("td", {}, q.provider), h("td", {}, badge(q.configured ? "configured" : "not configured")),
        h("td", { class: "num" }, q.waiting), h("td", { class: "num" }, q.leased),
        h("td", {}, q.oldest_due_at ? when(q.oldest_due_at) + " (" + ago(q.oldest_due_at) + " ago)" : "–"))))
        : h("p", { class: "muted" }, "No provider has a status API configured, and no job is queued."),
      h("h2", {}, "Latest tries"),
      data.recent.length ? table(["Started", "Provider", "Order", "Reason", "Outcome", "HTTP", "Duration", "Error", "Answer"], data.recent.map((t) => h("tr", {},
        h("td", {}, when(t.started_at)), h("td", {}, t.provider),
        h("td", { class: "wrap" }, h("a", { href: "#/orders/" + encodeURIComponent(t.provider) + "/" + encodeURIComponent(t.order_id) }, t.order_id)),
        h("td", {}, t.reason), h("td", {}, badge(t.outcome)), h("td", {}, t.http_status ?? "–"),
        h("td", { class: "num" }, t.duration_ms + " ms"), h("td", { class: "wrap" }, t.error ?? "–"),
        h("td", { class: "mono" }, t.answer_event_id ? h("a", { href: "#/events/" + encodeURIComponent(t.answer_event_id) }, t.answer_event_id) : "–"))))
        : h("p", { class: "muted" }, "No status check has been tried yet."));
  });
}

const W = 360, H = 120, PAD = 22;

/** One chart: bars or a line over the buckets, `value(bucket)` null for a gap. */
function chart(title, summary, buckets, value, { bars = false, unit = "", max: fixedMax, second } = {}) {
  const values = buckets.map(value);
  const extra = second ? buckets.map(second) : [];
  const max = fixedMax ?? Math.max(1, ...values.filter((v) => v !== null), ...extra.filter((v) => v !== null));
  const step = (W - PAD) / Math.max(1, buckets.length);
  const y = (v) => H - PAD - (v / max) * (H - 2 * PAD);
  const svg = s("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": title, preserveAspectRatio: "none" },
    s("line", { class: "axis", x1: PAD, y1: H - PAD, x2: W, y2: H - PAD }),
    s("text", { class: "label", x: 0, y: PAD, }, String(Math.round(max * 100) / 100) + unit),
    s("text", { class: "label", x: 0, y: H - PAD }, "0"),
    s("text", { class: "label", x: PAD, y: H - 6 }, buckets.length ? when(buckets[0].start).slice(-8, -3) : ""),
    s("text", { class: "label", x: W - 30, y: H - 6 }, "now"));
  const line = (series, cls) => {
    let path = "";
    series.forEach((v, i) => { if (v !== null) path += (path && series[i - 1] !== null ? " L" : " M") + (PAD + i * step + step / 2).toFixed(1) + " " + y(v).toFixed(1); });
    if (path) svg.append(s("path", { class: cls, d: path.trim() }));
  };
  if (bars) {
    values.forEach((v, i) => {
      if (!v) return;
      svg.append(s("rect", { class: "bar", x: (PAD + i * step + 0.5).toFixed(1), y: y(v).toFixed(1), width: Math.max(1, step - 1).toFixed(1), height: (H - PAD - y(v)).toFixed(1) },
        s("title", {}, when(buckets[i].start) + ": " + v + unit)));
    });
  } else {
    if (second) line(extra, "line faint");
    line(values, "line");
    values.forEach((v, i) => { if (v !== null) svg.append(s("circle", { class: "dot", cx: (PAD + i * step + step / 2).toFixed(1), cy: y(v).toFixed(1), r: 1.8 }, s("title", {}, when(buckets[i].start) + ": " + v + unit))); });
  }
  return h("div", { class: "card chart" }, h("h3", {}, title), h("div", { class: "big" }, summary), svg);
}

export function renderGlance(view) {
  const picker = h("select", { id: "window" }, ["15m", "1h", "6h", "24h"].map((w) => h("option", { value: w, selected: w === "1h" }, w)));
  const body = h("div", { class: "charts", id: "charts" });
  show(view, h("div", { class: "row" }, h("h1", {}, "At a glance"), h("label", {}, "Window ", picker)), body);
  const tick = async () => {
    const { data } = await api("/stats" + query({ window: picker.value }));
    const b = data.buckets, t = data.totals, per = data.bucket_seconds === 60 ? "min" : data.bucket_seconds / 60 + " min";
    const rate = t.attempts ? Math.round((t.succeeded / t.attempts) * 1000) / 10 + " %" : "no attempts";
    show(body,
      chart("Events received per " + per, t.events + " in " + data.window, b, (x) => x.events, { bars: true }),
      chart("Delivery success rate", rate + " of " + t.attempts + " attempts", b, (x) => (x.attempts ? Math.round((x.succeeded / x.attempts) * 1000) / 10 : null), { unit: " %", max: 100 }),
      chart("Attempt latency (average; max faint)", t.average_duration_ms === null ? "no attempts" : t.average_duration_ms + " ms average, " + t.max_duration_ms + " ms max",
        b, (x) => x.average_duration_ms, { unit: " ms", second: (x) => x.max_duration_ms }));
  };
  picker.addEventListener("change", () => tick().catch(() => {}));
  return every(10000, tick);
}

// Building the page without HTML parsing: every value, above all every value
// a provider sent, becomes a text node (createTextNode / textContent). No
// markup-parsing API is used anywhere in the console.

const SVG = "http://www.w3.org/2000/svg";

function build(element, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "on") {
      for (const [type, handler] of Object.entries(value)) element.addEventListener(type, handler);
    } else if (name === "text") {
      element.textContent = String(value);
    } else if (/^on/i.test(name) || name === "style" || name === "srcdoc") {
      throw new Error("refusing to set attribute " + name);
    } else if (name === "href" && !String(value).startsWith("#/")) {
      throw new Error("only in-console links are built");
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** An HTML element: `h("td", {class: "num"}, "12")`. Strings are text, never markup. */
export function h(tag, attrs, ...children) { return build(document.createElement(tag), attrs, children); }

/** An SVG element, same rules. */
export function s(tag, attrs, ...children) { return build(document.createElementNS(SVG, tag), attrs, children); }

/** Replaces everything inside `element`. */
export function show(element, ...children) { element.replaceChildren(); return build(element, {}, children); }

/** A short local date-time for an RFC 3339 string (the raw text if it does not parse). */
export function when(text) {
  if (!text) return "–";
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) return String(text);
  return date.toLocaleString(undefined, { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
}

/** How long ago, from an RFC 3339 string. */
export function ago(text) {
  if (!text) return "–";
  const ms = Date.now() - new Date(text).getTime();
  if (Number.isNaN(ms)) return String(text);
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return s + " s";
  if (s < 3600) return Math.round(s / 60) + " min";
  if (s < 86400) return Math.round(s / 3600) + " h";
  return Math.round(s / 86400) + " d";
}

const GOOD = new Set(["succeeded", "enabled", "closed", "confirmed", "answered", "advanced", "verified", "true"]);
const BAD = new Set(["dead", "disabled", "open", "differs", "conflict", "failed", "gave_up", "unverified", "false", "abandoned"]);
const WARN = new Set(["pending", "in_flight", "half_open", "retry", "stale", "repeated", "unanswered", "waiting", "leased"]);

/** A small coloured label; the colour comes from a fixed list, the text is text. */
export function badge(text) {
  const value = text === null || text === undefined ? "–" : String(text);
  const kind = GOOD.has(value) ? "ok" : BAD.has(value) ? "bad" : WARN.has(value) ? "warn" : "";
  return h("span", { class: kind ? "badge " + kind : "badge" }, value);
}

/** A label above a value. */
export function kv(label, ...value) {
  return h("div", { class: "kv" }, h("span", { class: "k" }, label), h("span", { class: "v" }, ...value));
}

/** A table with a header row and body rows (arrays of cells: Node, text or {cell attrs, content}). */
export function table(headers, rows, attrs = {}) {
  return h("table", attrs,
    h("thead", {}, h("tr", {}, headers.map((name) => h("th", { class: /^(#|attempts|backlog|in flight|succeeded|dead|events|duration|waiting|leased)/i.test(name) ? "num" : null }, name)))),
    h("tbody", {}, rows));
}

/** "100.00 USD", or "–". */
export function money(amount, currency) {
  if (amount === null || amount === undefined) return "–";
  return currency ? amount + " " + currency : String(amount);
}

/** Shows a problem above the view (text only); "" hides it. */
export function banner(message) {
  const element = document.getElementById("banner");
  element.textContent = message || "";
  element.hidden = !message;
}

/** The header's freshness note ("live · 12:00:01"). */
export function live(text) { document.getElementById("live").textContent = text; }

/** Runs `tick` now and every `ms` until the returned stop function is called; errors go to the banner. */
export function every(ms, tick) {
  let stopped = false;
  let timer = null;
  const run = async () => {
    if (stopped) return;
    try {
      await tick();
      banner("");
      live("live · " + new Date().toLocaleTimeString(undefined, { hour12: false }));
    } catch (error) {
      if (error && error.status === 401) return;
      banner("Cannot refresh: " + (error && error.message ? error.message : String(error)));
    }
    if (!stopped) timer = setTimeout(run, ms);
  };
  run();
  return () => { stopped = true; if (timer) clearTimeout(timer); };
}

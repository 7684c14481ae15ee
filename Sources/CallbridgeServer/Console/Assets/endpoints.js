// Endpoints: state, queue counts, breaker, last error; enable or disable
// with a reason; replay an endpoint's dead deliveries after a dry run.
import { api, segment } from "./api.js";
import { ago, badge, every, h, show, table, when } from "./dom.js";
import { replayPanel } from "./detail.js";

export function renderEndpoints(view) {
  const body = h("div", { id: "endpoints" });
  const actions = h("div", { id: "endpoint-actions" });
  show(view, h("h1", {}, "Endpoints"), body, actions);
  let refresh = async () => {};

  function disablePanel(name) {
    const reason = h("input", { type: "text", name: "reason", placeholder: "why (shown to other operators)", id: "disable-reason", size: "40" });
    const confirm = h("button", { type: "submit", class: "danger" }, "Disable " + name);
    const form = h("form", { class: "panel confirm row" }, h("span", {}, "Disable ", h("strong", {}, name), ": its deliveries wait; nothing is dropped."),
      reason, confirm, h("button", { type: "button", class: "secondary", on: { click: () => show(actions) } }, "Cancel"));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const text = reason.value.trim();
      try {
        await api("/endpoints/" + segment(name) + "/disable", { method: "POST", body: text ? { reason: text } : {} });
        show(actions, h("p", { class: "muted" }, name + " disabled."));
        await refresh();
      } catch (error) { form.append(h("span", { class: "error" }, error.message)); }
    });
    show(actions, form);
    reason.focus();
  }

  async function enable(name) {
    try {
      await api("/endpoints/" + segment(name) + "/enable", { method: "POST", body: {} });
      show(actions, h("p", { class: "muted" }, name + " enabled."));
      await refresh();
    } catch (error) { show(actions, h("p", { class: "error" }, error.message)); }
  }

  function replayDead(name) {
    show(actions, h("h2", {}, "Replay dead deliveries of " + name),
      replayPanel("Every dead delivery of " + name + " is sent again (same webhook-id) and marked as replayed.",
        { endpoint: name, state: "dead" }, "/replay", () => refresh()));
    actions.querySelector(".replay-start").click();
  }

  refresh = async () => {
    const { data } = await api("/endpoints");
    show(body, table(["Name", "URL", "State", "Breaker", "Backlog", "In flight", "Succeeded", "Dead", "Oldest due", "Last attempt", "Last error", ""],
      data.data.map((e) => h("tr", { class: "endpoint-row", "data-name": e.name },
        h("td", {}, h("strong", {}, e.name)),
        h("td", { class: "wrap mono" }, e.url),
        h("td", {}, badge(e.state), e.disabled_reason ? h("div", { class: "muted" }, e.disabled_reason) : null),
        h("td", {}, e.breaker === null ? h("span", { class: "muted" }, "not known here") : badge(e.breaker)),
        h("td", { class: "num backlog" }, e.backlog),
        h("td", { class: "num" }, e.in_flight),
        h("td", { class: "num succeeded" }, e.succeeded),
        h("td", { class: "num dead" }, e.dead),
        h("td", {}, e.oldest_due_at ? ago(e.oldest_due_at) + " overdue" : "–"),
        h("td", {}, when(e.last_attempt_at)),
        h("td", { class: "wrap" }, e.last_error ?? (e.last_status_code ? "HTTP " + e.last_status_code : "–")),
        h("td", {}, h("div", { class: "row" },
          e.state === "enabled" ? h("button", { type: "button", class: "secondary", on: { click: () => disablePanel(e.name) } }, "Disable")
            : h("button", { type: "button", on: { click: () => enable(e.name) } }, "Enable"),
          h("button", { type: "button", class: "replay-dead", disabled: e.dead === 0, on: { click: () => replayDead(e.name) } }, "Replay dead"))))), { id: "endpoints-table" }));
  };
  return every(2000, () => refresh());
}

// Alerts (list, acknowledge, resolve; docs/alerts.md) and tariffs with their assignments
// (read-only; docs/tariffs.md). A CSMS without these endpoints answers 404: the page then says
// "not available".

import { api, optional, seg } from "./api.js";
import { badge, fill, h, json, patch, table, tid, when } from "./dom.js";

function unavailable(what) {
  return h("p", { class: "muted", dataset: tid("not-available") },
    `${what} are not available on this CSMS.`);
}

const SEVERITY_KIND = { critical: "bad", major: "bad", minor: "warn", warning: "warn", info: "neutral" };

export function alertsPage(container) {
  const status = h("select", { id: "alert-status", dataset: tid("alert-status") },
    [["open", "Open"], ["resolved", "Resolved"], ["", "All"]]
      .map(([v, t]) => h("option", { value: v }, t)));
  const list = h("div", { class: "scroll", "aria-live": "polite", dataset: tid("alerts-list") });
  const result = h("p", { role: "status", "aria-live": "polite", dataset: tid("alert-result") });
  status.addEventListener("change", () => refresh());
  fill(container, h("h1", {}, "Alerts"),
    h("section", { class: "card" },
      h("div", { class: "filters" }, h("label", { for: "alert-status" }, "Status"), status),
      result, list));

  async function act(alert, verb) {
    try {
      await api(`/alerts/${seg(alert.id)}/${verb}`, { method: "POST", body: { by: "dashboard" } });
      result.textContent = `Alert ${alert.id} ${verb === "acknowledge" ? "acknowledged" : "resolved"}.`;
    } catch (error) {
      result.textContent = `Could not ${verb} alert ${alert.id}: ${error.message}`;
    }
    await refresh();
  }

  async function refresh() {
    const query = status.value ? `?status=${seg(status.value)}&limit=200` : "?limit=200";
    const page = await optional(`/alerts${query}`);
    if (page === null) {
      patch(list, unavailable("Alerts"));
      return;
    }
    const alerts = page.items ?? [];
    // Buttons carry listeners: rebuild only when the alerts changed.
    const seen = JSON.stringify(alerts.map((a) => [a.id, a.status, a.count, a.acknowledged_at]));
    if (list.dataset.seen === seen) return;
    list.dataset.seen = seen;
    fill(list, alerts.length ? table(
      ["Last seen", "Severity", "Station", "Type", "What", "Count", "Status", ""],
      alerts.map((a) => {
        const buttons = [];
        if (a.status === "open" && !a.acknowledged_at) {
          const ack = h("button", { type: "button", class: "secondary",
            dataset: { testid: `alert-ack-${a.id}` } }, "Acknowledge");
          ack.addEventListener("click", () => act(a, "acknowledge"));
          buttons.push(ack);
        }
        if (a.status === "open") {
          const resolve = h("button", { type: "button", class: "secondary",
            dataset: { testid: `alert-resolve-${a.id}` } }, "Resolve");
          resolve.addEventListener("click", () => act(a, "resolve"));
          buttons.push(" ", resolve);
        }
        const state = a.status === "open"
          ? (a.acknowledged_at ? badge("acknowledged", "warn") : badge("open", "bad"))
          : badge("resolved", "ok");
        return [
          when(a.last_seen),
          badge(a.severity, SEVERITY_KIND[a.severity] ?? "neutral"),
          h("a", { href: `#/stations/${seg(a.station_id)}` }, a.station_id),
          a.type,
          h("span", { title: a.key }, a.summary),
          String(a.count),
          state,
          h("span", { class: "actions" }, buttons),
        ];
      }), "alerts-table") : h("p", { class: "muted" }, "No alert."));
  }

  return { refresh, wants: (event) => !event.type.startsWith("meter.") };
}

export function tariffsPage(container) {
  const list = h("div", { dataset: tid("tariffs-list") });
  const assigned = h("div", { dataset: tid("tariff-assignments") });
  fill(container, h("h1", {}, "Tariffs"),
    h("section", { class: "card", "aria-labelledby": "tariffs-h" },
      h("h2", { id: "tariffs-h" }, "Tariffs"),
      h("p", { class: "muted" }, "Read-only: tariffs are managed with the API (docs/tariffs.md)."),
      list),
    h("section", { class: "card", "aria-labelledby": "assign-h" },
      h("h2", { id: "assign-h" }, "Where they apply"), assigned));

  async function refresh() {
    const [tariffs, assignments] = await Promise.all([
      optional("/tariffs"), optional("/tariff-assignments").catch(() => null)]);
    if (tariffs === null) {
      patch(list, unavailable("Tariffs"));
      patch(assigned);
      return;
    }
    patch(list, tariffs.length ? tariffs.map(tariffCard)
      : h("p", { class: "muted" }, "No tariff defined."));
    patch(assigned, assignments?.length ? table(["Scope", "Target", "Tariff", "Since"],
      assignments.map((a) => [a.scope, a.target || "every station", a.tariff_id, when(a.updated_at)]),
      "assignments-table") : h("p", { class: "muted" }, "No assignment: sessions are not priced."));
  }

  // Tariffs change only by an operator's hand: polls and session events do not concern them.
  return { refresh, wants: (event) => event.type === "reconnected" };
}

const UNITS = { ENERGY: "per kWh", TIME: "per minute", PARKING_TIME: "per parking minute", FLAT: "per session" };

function tariffCard(t) {
  const body = t.tariff || {};
  const currency = body.currency;
  return h("article", { class: "tariff", dataset: { testid: `tariff-${t.id}` } },
    h("h3", {}, t.name || t.id, " ", h("span", { class: "muted" },
      `${t.id} v${t.version} · ${currency ?? ""}${body.tax_rate ? ` · VAT ${Number(body.tax_rate) * 100} %` : ""}`)),
    h("ul", { class: "plain" }, (body.elements || []).map((element) => h("li", {},
      // Prices as stored (decimal strings, maybe with more than two decimals per kWh).
      element.components.map((c) => `${c.price} ${currency ?? ""} ${UNITS[c.type] ?? c.type}`)
        .join(" + "),
      element.restrictions ? h("span", { class: "muted" },
        ` when ${restrictionText(element.restrictions)}`) : null))),
    h("details", {}, h("summary", {}, "As stored"), h("pre", {}, json(body))));
}

function restrictionText(r) {
  const parts = [];
  if (r.start_time || r.end_time) parts.push(`${r.start_time ?? "00:00"}–${r.end_time ?? "24:00"}`);
  if (r.day_of_week) parts.push(r.day_of_week.join(", ").toLowerCase());
  if (r.start_date || r.end_date) parts.push(`${r.start_date ?? "…"} to ${r.end_date ?? "…"}`);
  if (r.min_kwh || r.max_kwh) parts.push(`${r.min_kwh ?? 0}–${r.max_kwh ?? "∞"} kWh`);
  if (r.min_duration || r.max_duration) parts.push(`${r.min_duration ?? 0}–${r.max_duration ?? "∞"} s`);
  return parts.join("; ") || "always";
}

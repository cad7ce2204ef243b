// Charging sessions: the list (filtered by status and station) and one session with its live
// power/energy chart, its cost (when the CSMS prices sessions) and a stop button while it runs.

import { api, ApiError, optional, seg } from "./api.js";
import { latestPower, sessionChart } from "./chart.js";
import { badge, facts, fill, h, kw, kwh, money, patch, section, table, tid, when } from "./dom.js";

const PAGE = 50;
const EVENTS_SHOWN = 12; // newest first; the API has them all

export function sessionsPage(container) {
  let offset = 0;
  const status = h("select", { id: "filter-status", dataset: tid("filter-status") },
    [["", "All"], ["Active", "Active"], ["Completed", "Completed"], ["Orphaned", "Orphaned"]]
      .map(([v, t]) => h("option", { value: v }, t)));
  const station = h("input", { id: "filter-station", type: "search", placeholder: "any",
    dataset: tid("filter-station") });
  const rows = h("div", { class: "scroll", dataset: tid("sessions-list") });
  const pager = h("p", { class: "pager" });
  const filters = h("form", { class: "filters", role: "search", "aria-label": "Filter sessions" },
    h("label", { for: "filter-status" }, "Status"), status,
    h("label", { for: "filter-station" }, "Station"), station,
    h("button", { type: "submit", class: "secondary" }, "Apply"));
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    offset = 0;
    refresh();
  });
  status.addEventListener("change", () => { offset = 0; refresh(); });
  fill(container, h("h1", {}, "Sessions"), h("section", { class: "card" }, filters, rows, pager));

  async function refresh() {
    const query = new URLSearchParams({ offset: String(offset), limit: String(PAGE) });
    if (status.value) query.set("status", status.value);
    if (station.value.trim()) query.set("station_id", station.value.trim());
    const page = await api(`/transactions?${query}`);
    patch(rows, page.items.length ? table(
      ["Session", "Station", "EVSE", "Token", "Status", "Started", "Stopped", "Energy"],
      page.items.map((t) => [
        h("a", { href: `#/sessions/${t.id}`, dataset: { testid: `session-link-${t.id}` } },
          String(t.id)),
        h("a", { href: `#/stations/${seg(t.station_id)}` }, t.station_id),
        t.evse_id ?? "—", t.id_token ?? "—", badge(t.status), when(t.started_at),
        when(t.stopped_at), kwh(t.energy_wh),
      ]), "sessions-table") : h("p", { class: "muted" }, "No session matches."));
    const prev = h("button", { type: "button", class: "secondary", disabled: offset === 0 },
      "Newer");
    const next = h("button", { type: "button", class: "secondary",
      disabled: offset + PAGE >= page.total }, "Older");
    prev.addEventListener("click", () => { offset = Math.max(0, offset - PAGE); refresh(); });
    next.addEventListener("click", () => { offset += PAGE; refresh(); });
    fill(pager, prev, ` ${page.total ? offset + 1 : 0}–${Math.min(offset + PAGE, page.total)} of ${page.total} `, next);
  }

  return { refresh };
}

export function sessionPage(container, ctx, id) {
  const heading = h("h1", {}, `Session ${id}`);
  const summary = h("div", { dataset: tid("session-facts") });
  const power = h("p", { class: "big", "aria-live": "polite", dataset: tid("session-power") }, "—");
  const chart = h("div", { class: "chart-box", dataset: tid("session-chart-box") });
  const cost = h("div", { dataset: tid("session-cost") });
  const stop = h("div", {});
  const events = h("div", { class: "scroll" });
  fill(container,
    h("p", { class: "crumbs" }, h("a", { href: "#/sessions" }, "Sessions"), " / ", id),
    heading,
    h("div", { class: "columns" },
      section("Session", "session-summary", summary, stop),
      section("Now", "session-now", power, cost)),
    section("Power and energy", "session-chart-card", chart),
    section("Latest transaction events", "session-events", events));

  let stopping = false;
  let stationOfSession = null;

  async function refresh() {
    let tx;
    try {
      tx = await api(`/transactions/${seg(id)}`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        fill(summary, h("p", { class: "error" }, `No session ${id}.`));
        return;
      }
      throw error;
    }
    stationOfSession = tx.station_id;
    const priced = await optional(`/transactions/${seg(id)}/cost`).catch((e) => ({ error: e }));
    patch(summary,
      h("p", {}, badge(tx.status, undefined, "session-status"), " ",
        tx.charging_state ? badge(tx.charging_state) : null),
      facts([
        ["Station", h("a", { href: `#/stations/${seg(tx.station_id)}` }, tx.station_id)],
        ["EVSE / connector", `${tx.evse_id ?? "—"} / ${tx.connector_id ?? "—"}`],
        ["Station's transaction id", tx.transaction_id],
        ["Id token", tx.id_token ? `${tx.id_token}${tx.id_token_type ? ` (${tx.id_token_type})` : ""}` : null],
        ["Started", when(tx.started_at)],
        ["Stopped", tx.stopped_at ? `${when(tx.stopped_at)} (${tx.stop_reason ?? "no reason"})` : null],
        ["Energy", h("span", { dataset: tid("session-energy") }, kwh(tx.energy_wh))],
        ["Meter start / stop", `${tx.meter_start_wh ?? "—"} / ${tx.meter_stop_wh ?? "—"} Wh`],
      ]));
    const now = latestPower(tx.series);
    power.textContent = tx.status === "Active" ? kw(now) : "Session ended";
    showCost(cost, priced);
    fill(chart, sessionChart(tx.series));
    showStop(tx);
    const latest = tx.events.slice(-EVENTS_SHOWN).reverse();
    patch(events, tx.events.length ? table(["Seq", "Event", "Trigger", "At", "Offline"],
      latest.map((e) => [e.seq_no, e.event_type, e.trigger_reason, when(e.timestamp),
        e.offline ? "yes" : ""]), "events-table")
      : h("p", { class: "muted" }, tx.ocpp_version === "1.6"
        ? "OCPP 1.6 sessions have no transaction events." : "No event."));
  }

  function showStop(tx) {
    if (tx.status !== "Active") {
      fill(stop);
      return;
    }
    if (stop.querySelector("button")) return; // keep its state (and focus) across refreshes
    const result = h("p", { role: "status", "aria-live": "polite", dataset: tid("stop-result") });
    const button = h("button", { type: "button", class: "danger", dataset: tid("session-stop") },
      "Stop this session");
    button.addEventListener("click", async () => {
      if (stopping) return;
      stopping = true;
      button.disabled = true;
      result.textContent = "Stopping…";
      try {
        const command = await api(`/stations/${seg(tx.station_id)}/commands/remote-stop`,
          { method: "POST", body: { transaction_id: tx.transaction_id } });
        result.textContent = `The station answered ${command.response?.status ?? command.status}.`;
      } catch (error) {
        result.textContent = `Could not stop: ${error.message}`;
      } finally {
        stopping = false;
        button.disabled = false;
      }
    });
    fill(stop, button, result);
  }

  const wants = (event) => !event.stationId || !stationOfSession
    || event.stationId === stationOfSession;
  return { refresh, wants };
}

/** The session's price (GET /transactions/{id}/cost): so far while it runs, final once billed. */
function showCost(box, priced) {
  if (priced === null) {
    patch(box, h("p", { class: "muted" }, "Cost: not available on this CSMS."));
    return;
  }
  if (priced.error) {
    patch(box, h("p", { class: "muted" }, `Cost: ${priced.error.message}`));
    return;
  }
  const b = priced.breakdown;
  if (!b) {
    patch(box, h("p", { class: "muted", dataset: tid("session-cost-none") },
      "Cost: no tariff applies to this session."));
    return;
  }
  patch(box,
    h("p", {}, priced.final ? "Cost: " : "Cost so far: ",
      h("strong", { dataset: tid("session-cost-total") }, money(b.gross, b.currency)),
      h("span", { class: "muted" },
        ` (net ${money(b.net, b.currency)} + tax ${money(b.tax, b.currency)}; tariff ${priced.tariff_id} v${priced.tariff_version})`)),
    facts([
      ["Energy", money(b.energy, b.currency)],
      ["Time", money(b.time, b.currency)],
      ["Parking", money(b.parking, b.currency)],
      ["Flat fee", money(b.flat, b.currency)],
    ]));
}

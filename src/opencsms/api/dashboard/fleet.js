// The fleet overview: every station with its connection, registration and connector statuses,
// the fleet's totals, live (the shell re-runs `refresh` on every change).

import { api, optional, seg } from "./api.js";
import { ago, badge, fill, h, kw, kwh, patch, statusKind, tid } from "./dom.js";

const PAGE = 200;
// Without the fleet endpoint each station's connectors cost one request; beyond this many
// stations the overview shows the summary columns only.
const DETAIL_LIMIT = 60;

export function fleetPage(container, ctx) {
  const totals = h("div", { class: "totals", dataset: tid("fleet-totals"), "aria-live": "polite" });
  const body = h("tbody", { dataset: tid("station-rows") });
  const count = h("p", { class: "muted" });
  const table = h("table", { class: "grid", dataset: tid("stations-table") },
    h("caption", { class: "sr-only" }, "Stations"),
    h("thead", {}, h("tr", {},
      ["Station", "Connection", "Registration", "OCPP", "Model", "Connectors", "Power",
        "Last seen"].map((c) => h("th", { scope: "col" }, c)))),
    body);
  fill(container,
    h("h1", {}, "Fleet"),
    totals,
    h("section", { class: "card", "aria-labelledby": "stations-h" },
      h("h2", { id: "stations-h" }, "Stations"), count, h("div", { class: "scroll" }, table)));

  async function refresh() {
    const [page, summary, fleet] = await Promise.all([
      api(`/stations?limit=${PAGE}`),
      optional("/fleet/summary").catch(() => null),
      optional(`/fleet/live?limit=${PAGE * 5}`).catch(() => null),
    ]);
    const live = liveByStation(fleet);
    // Without the fleet endpoints (an older CSMS): sessions and connectors from the records.
    const active = live ? null : await api("/transactions?status=Active&limit=1000");
    const details = live ? null : await connectorDetails(page.items);
    patch(totals,
      total("Stations", page.total, "total-stations"),
      total("Connected", summary ? summary.connected
        : page.items.filter((s) => s.connected).length, "total-connected"),
      total("Charging now", summary ? summary.active_sessions : active.total, "total-charging"),
      summary ? total("Power", kw(summary.power_w), "total-power") : null,
      summary ? total("Energy today", kwh(summary.energy_today_wh), "total-energy") : null,
      summary ? total("Open alerts", summary.open_alerts, "total-alerts") : null);
    count.textContent = page.total > page.items.length
      ? `Showing ${page.items.length} of ${page.total} stations.` : "";
    const rows = page.items.map((station) => {
      const state = live?.get(station.id);
      const connectors = state ? state.connectors : flatConnectors(details?.get(station.id));
      const sessions = state ? state.sessions
        : (active?.items ?? []).filter((t) => t.station_id === station.id);
      return h("tr", { dataset: { testid: `station-row-${station.id}`, station: station.id } },
        h("th", { scope: "row" },
          h("a", { href: `#/stations/${seg(station.id)}`, dataset: tid("station-link") },
            station.id)),
        h("td", {}, badge(station.connected ? "connected" : "disconnected", undefined,
          "station-connection")),
        h("td", {}, badge(station.registration)),
        h("td", {}, station.ocpp_version ?? "—"),
        h("td", {}, station.boot ? `${station.boot.vendor} ${station.boot.model}` : "—"),
        h("td", { class: "connectors" }, connectorBadges(connectors)),
        h("td", { class: "num", dataset: tid("station-power") },
          state && sessions.length ? kw(state.power_w) : sessionCount(sessions)),
        h("td", { title: station.last_seen ?? "" }, ago(station.last_seen)));
    });
    patch(body, rows.length ? rows
      : h("tr", {}, h("td", { colspan: 8, class: "muted" },
        "No stations yet: provision one (POST /api/v1/stations) or run `opencsms serve --demo`.")));
  }

  return { refresh };
}

function total(label, value, testid) {
  return h("div", { class: "total", dataset: tid(testid) },
    h("span", { class: "total-value" }, String(value)), h("span", { class: "total-label" }, label));
}

function sum(values) {
  return values.reduce((a, v) => a + (Number(v) || 0), 0);
}

/** GET /fleet/live by station id, when the CSMS has it (else null). */
function liveByStation(fleet) {
  if (!Array.isArray(fleet)) return null;
  return new Map(fleet.map((s) => [s.id, s]));
}

async function connectorDetails(stations) {
  if (stations.length > DETAIL_LIMIT) return null;
  const details = await Promise.all(
    stations.map((s) => api(`/stations/${seg(s.id)}`).catch(() => null)));
  return new Map(details.filter(Boolean).map((d) => [d.id, d]));
}

/** A station's EVSEs (GET /stations/{id}) as the flat list /fleet/live gives. */
function flatConnectors(station) {
  if (!station) return null;
  return station.evses.flatMap((e) => e.connectors.map((c) => ({ ...c, evse_id: e.evse_id })));
}

function sessionCount(sessions) {
  if (!sessions.length) return "—";
  return `${sessions.length} session${sessions.length > 1 ? "s" : ""}`;
}

function connectorBadges(connectors) {
  const shown = (connectors || []).filter((c) => c.evse_id > 0);
  if (!shown.length) return "—";
  const perEvse = new Map();
  for (const c of shown) perEvse.set(c.evse_id, (perEvse.get(c.evse_id) || 0) + 1);
  return shown.map((c) => {
    const label = perEvse.get(c.evse_id) > 1 ? `${c.evse_id}.${c.connector_id}` : `${c.evse_id}`;
    const b = badge(`${label} ${c.status}`, statusKind(c.status),
      `connector-${c.evse_id}-${c.connector_id}`);
    b.title = `EVSE ${c.evse_id} connector ${c.connector_id}: ${c.status}`;
    return b;
  });
}

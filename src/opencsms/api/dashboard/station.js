// One station: identity and connection, EVSEs and connectors with their live power and open
// session, the command forms, its configuration (1.6 keys) or device model (2.x), and its
// recent commands and frames.

import { api, ApiError, optional, seg } from "./api.js";
import { latestPower } from "./chart.js";
import { commandsCard } from "./commands.js";
import { ago, badge, facts, fill, h, kw, kwh, patch, section, table, tid, when, whenShort } from "./dom.js";

const RECENT = 20;

export function stationPage(container, ctx, stationId) {
  let state = { station: null, sessions: [] };
  let logsSeen = "";
  const title = h("h1", {}, "Station ", h("span", { dataset: tid("station-id") }, stationId));
  const overview = h("div", { dataset: tid("station-facts") });
  const evses = h("div", { class: "evses", "aria-live": "polite", dataset: tid("evses") });
  const commandLog = h("div", { class: "scroll" });
  const messages = h("div", { class: "scroll" });
  const configuration = h("div", { dataset: tid("configuration-body") });
  const commands = commandsCard(stationId, () => state, () => refreshLogs());
  const configButton = h("button", { type: "button", class: "secondary",
    dataset: tid("configuration-load") }, "Show");
  configButton.addEventListener("click", () => loadConfiguration());

  fill(container,
    h("p", { class: "crumbs" }, h("a", { href: "#/fleet" }, "Fleet"), " / ", stationId),
    title,
    h("div", { class: "columns" },
      section("Overview", "station-overview", overview),
      section("EVSEs and connectors", "station-evses", evses)),
    commands.card,
    section("Configuration", "configuration", h("p", { class: "muted" },
      "1.6: the configuration keys the station reported; 2.0.1 and 2.1: its device model. ",
      configButton), configuration),
    h("div", { class: "columns logs" },
      section("Recent commands", "recent-commands", commandLog),
      section("Recent messages", "recent-messages", messages)));

  async function refresh() {
    let station;
    try {
      station = await api(`/stations/${seg(stationId)}`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        fill(overview, h("p", { class: "error" }, `No station ${stationId} is provisioned.`));
        return;
      }
      throw error;
    }
    const [active, fleet] = await Promise.all([
      api(`/transactions?station_id=${seg(stationId)}&status=Active&limit=50`),
      optional(`/fleet/live?station=${seg(stationId)}`).catch(() => null),
    ]);
    // Power and energy so far: the CSMS's live state when it has it (from memory), else each
    // open session's latest meter values.
    const live = Array.isArray(fleet) && fleet.length
      ? new Map(fleet[0].sessions.map((x) => [x.id, x])) : null;
    const now = await Promise.all(active.items.map(async (t) => {
      if (live?.has(t.id)) return live.get(t.id);
      const d = await optional(`/transactions/${t.id}?measurand=Power.Active.Import`)
        .catch(() => null);
      return d ? { power_w: latestPower(d.series), energy_wh: d.energy_wh } : {};
    }));
    state = { station, sessions: active.items };
    showOverview(station);
    showEvses(station, active.items, now);
    commands.update();
    await refreshLogs();
  }

  function showOverview(station) {
    const boot = station.boot || {};
    patch(overview,
      h("p", {}, badge(station.connected ? "connected" : "disconnected", undefined,
        "station-connection"), " ", badge(station.registration, undefined, "station-registration"),
      " OCPP ", station.ocpp_version ?? "—"),
      facts([
        ["Vendor / model", boot.vendor ? `${boot.vendor} ${boot.model}` : null],
        ["Serial number", boot.serial_number],
        ["Firmware", boot.firmware_version],
        ["Last seen", `${ago(station.last_seen)} (${when(station.last_seen)})`],
        ["Connected since", when(station.connected_since)],
        ["Remote address", station.remote_address],
        ["Booted", when(station.booted_at)],
        ["Heartbeat interval", `${station.heartbeat_interval} s`],
      ]));
  }

  function showEvses(station, sessions, now) {
    const list = station.evses.filter((e) => e.evse_id > 0);
    const whole = station.evses.find((e) => e.evse_id === 0);
    patch(evses,
      whole ? h("p", {}, "Station: ", whole.connectors.map((c) => badge(c.status))) : null,
      list.length ? list.map((evse) => {
        const index = sessions.findIndex((t) => t.evse_id === evse.evse_id);
        const tx = index >= 0 ? sessions[index] : null;
        return h("article", { class: "evse", dataset: { testid: `evse-${evse.evse_id}` } },
          h("h3", {}, `EVSE ${evse.evse_id}`),
          h("ul", { class: "plain" }, evse.connectors.map((c) => h("li", {},
            `Connector ${c.connector_id} `,
            badge(c.status, undefined, `connector-status-${evse.evse_id}-${c.connector_id}`),
            c.error_code && c.error_code !== "NoError" ? ` ${c.error_code}` : null,
            h("span", { class: "muted" }, ` since ${ago(c.reported_at ?? c.received_at)}`)))),
          tx ? h("p", { class: "session-line" },
            h("span", { class: "power", dataset: tid(`evse-power-${evse.evse_id}`) },
              kw(now[index].power_w)), " · ",
            kwh(now[index].energy_wh ?? tx.energy_wh), " · ",
            h("a", { href: `#/sessions/${tx.id}`, dataset: tid(`evse-session-${evse.evse_id}`) },
              `Session ${tx.id}`), ` (${tx.id_token ?? "no token"})`)
            : h("p", { class: "muted" }, "No session"));
      }) : h("p", { class: "muted" }, "The station has not reported any connector yet."));
  }

  async function refreshLogs() {
    const [log, frames] = await Promise.all([
      api(`/stations/${seg(stationId)}/commands?limit=${RECENT}`),
      api(`/stations/${seg(stationId)}/messages?limit=${RECENT}`),
    ]);
    // Re-render only what changed: an open <details> frame stays open while the page is live.
    const seen = `${log.items.map((c) => `${c.id}:${c.status}`)}|${frames.items.map((m) => m.id)}`;
    if (seen === logsSeen) return;
    logsSeen = seen;
    fill(commandLog, log.items.length ? table(["Sent", "Action", "Outcome", "Answer"],
      log.items.map((c) => [
        whenShort(c.requested_at), c.action, badge(c.status),
        c.response?.status ?? c.error_code ?? (c.response ? "—" : ""),
      ]), "command-log") : h("p", { class: "muted" }, "No command sent yet."));
    fill(messages, frames.items.length ? table(["At", "", "Type", "Action", "Frame"],
      frames.items.map((m) => [
        whenShort(m.at),
        h("span", { title: m.direction === "in" ? "from the station" : "to the station" },
          m.direction === "in" ? "⇠ in" : "⇢ out"),
        MESSAGE_TYPES[m.message_type] ?? m.message_type,
        m.action ?? "",
        h("details", {}, h("summary", {}, m.frame.length > 48 ? `${m.frame.slice(0, 48)}…` : m.frame),
          h("pre", {}, m.frame)),
      ]), "message-log") : h("p", { class: "muted" }, "No frame recorded yet."));
  }

  async function loadConfiguration() {
    const v16 = state.station?.ocpp_version === "1.6";
    configButton.disabled = true;
    try {
      if (v16) {
        const config = await api(`/stations/${seg(stationId)}/configuration`);
        fill(configuration, config.keys.length ? table(["Key", "Value", "Read-only", "Desired"],
          config.keys.map((k) => [k.key, k.value ?? "(hidden)", k.readonly ? "yes" : "",
            k.desired === null ? "" : `${k.desired}${k.in_sync === false ? " (drift)" : ""}`]),
          "configuration-table")
          : h("p", { class: "muted" }, "No key stored yet: read them with POST .../configuration/refresh."));
      } else {
        const model = await api(`/stations/${seg(stationId)}/device-model?limit=500`);
        fill(configuration, model.items.length ? [
          h("p", { class: "muted" }, `${model.items.length} of ${model.total} variables.`),
          table(["Component", "Variable", "Value", "Mutability"],
            model.items.map((v) => [
              `${v.component}${v.component_instance ? `/${v.component_instance}` : ""}${v.evse_id !== null ? ` (EVSE ${v.evse_id})` : ""}`,
              `${v.variable}${v.variable_instance ? `/${v.variable_instance}` : ""}${v.attribute_type !== "Actual" ? ` [${v.attribute_type}]` : ""}`,
              v.value ?? "", v.mutability ?? ""]), "device-model-table")]
          : h("p", { class: "muted" }, "No device model stored yet: ask for a report with POST .../device-model/report."));
      }
      configButton.textContent = "Reload";
    } catch (error) {
      fill(configuration, h("p", { class: "error" }, error.message));
    } finally {
      configButton.disabled = false;
    }
  }

  // Only this station's events (and polls, reconnections) refresh the page.
  const wants = (event) => !event.stationId || event.stationId === stationId;
  return { refresh, wants };
}

const MESSAGE_TYPES = { 2: "CALL", 3: "RESULT", 4: "ERROR", 5: "RESULTERROR", 6: "SEND" };

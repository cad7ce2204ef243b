// The command forms of a station page: remote start/stop, reset, unlock, trigger message and any
// action with a JSON payload. Each posts to the operator API, which sends the CALL and answers
// with the recorded command (the station's response inside) or an error with its detail.

import { api, ApiError, seg } from "./api.js";
import { badge, fill, h, json, tid } from "./dom.js";

const TRIGGERS = [
  "StatusNotification", "MeterValues", "Heartbeat", "BootNotification",
  "FirmwareStatusNotification", "DiagnosticsStatusNotification", "LogStatusNotification",
  "TransactionEvent", "SignChargingStationCertificate",
];
const ACTIONS_16 = [
  "ChangeAvailability", "ChangeConfiguration", "ClearCache", "DataTransfer", "GetConfiguration",
  "GetDiagnostics", "GetLocalListVersion", "RemoteStartTransaction", "RemoteStopTransaction",
  "Reset", "TriggerMessage", "UnlockConnector", "UpdateFirmware",
];
const ACTIONS_2 = [
  "ChangeAvailability", "ClearCache", "DataTransfer", "GetBaseReport", "GetLocalListVersion",
  "GetTransactionStatus", "GetVariables", "RequestStartTransaction", "RequestStopTransaction",
  "Reset", "SetVariables", "TriggerMessage", "UnlockConnector", "UpdateFirmware",
];

/**
 * The commands card. `state()` gives the station page's latest {station, sessions}; the forms
 * read it when submitted (EVSE choices and open sessions change while the page is open).
 */
export function commandsCard(stationId, state, onSent) {
  const output = h("div", { class: "command-result", role: "status", "aria-live": "polite",
    dataset: tid("command-result") });
  const path = (p) => `/stations/${seg(stationId)}${p}`;

  async function send(label, request, button) {
    button.disabled = true;
    fill(output, h("p", { class: "muted" }, `${label}: sending…`));
    try {
      const command = await request();
      showCommand(output, label, command);
    } catch (error) {
      const command = error instanceof ApiError ? error.body?.command : null;
      fill(output,
        h("p", { class: "error", dataset: tid("command-error") }, `${label}: ${error.message}`),
        command ? h("pre", {}, json(command.response ?? command.payload)) : null);
    } finally {
      button.disabled = false;
      onSent();
    }
  }

  function form(name, title, fields, submitLabel, build) {
    const button = h("button", { type: "submit", dataset: tid(`${name}-submit`) }, submitLabel);
    const el = h("form", { class: "command", "aria-label": title, dataset: tid(`${name}-form`) },
      h("h3", {}, title), ...fields, button);
    el.addEventListener("submit", (event) => {
      event.preventDefault();
      let request;
      try {
        request = build(new FormData(el));
      } catch (error) {
        fill(output, h("p", { class: "error", dataset: tid("command-error") },
          `${title}: ${error.message}`));
        return;
      }
      send(title, request, button);
    });
    return el;
  }

  const startEvse = h("select", { id: "start-evse", name: "evse", dataset: tid("start-evse") });
  const stopTx = h("select", { id: "stop-tx", name: "transaction", dataset: tid("stop-transaction") });
  const resetType = h("select", { id: "reset-type", name: "type", dataset: tid("reset-type") });

  const forms = h("div", { class: "commands" },
    form("start", "Start a session", [
      field("start-token", "Id token", h("input", { id: "start-token", name: "token", required: true,
        autocomplete: "off", dataset: tid("start-token") })),
      field("start-evse", "EVSE", startEvse),
    ], "Start", (data) => {
      const evse = data.get("evse");
      const body = { id_token: String(data.get("token")).trim() };
      if (evse) body.evse_id = Number(evse);
      return () => api(path("/commands/remote-start"), { method: "POST", body });
    }),
    form("stop", "Stop a session", [field("stop-tx", "Session", stopTx)], "Stop", (data) => {
      const id = data.get("transaction");
      if (!id) throw new Error("no session is running");
      return () => api(path("/commands/remote-stop"), {
        method: "POST", body: { transaction_id: String(id) } });
    }),
    form("reset", "Reset", [field("reset-type", "Kind", resetType)], "Reset station", (data) => () =>
      api(path("/commands/reset"), { method: "POST", body: { type: data.get("type") } })),
    form("unlock", "Unlock a connector", [
      field("unlock-evse", "EVSE", h("input", { id: "unlock-evse", name: "evse", type: "number",
        min: 1, value: 1, required: true, dataset: tid("unlock-evse") })),
    ], "Unlock", (data) => () => api(path("/commands/unlock"), {
      method: "POST", body: { evse_id: Number(data.get("evse")) } })),
    form("trigger", "Trigger a message", [
      field("trigger-message", "Message", h("select", { id: "trigger-message", name: "message",
        dataset: tid("trigger-message") }, TRIGGERS.map((m) => h("option", { value: m }, m)))),
      field("trigger-evse", "EVSE (optional)", h("input", { id: "trigger-evse", name: "evse",
        type: "number", min: 0, dataset: tid("trigger-evse") })),
    ], "Send", (data) => {
      const body = { message: data.get("message") };
      if (data.get("evse") !== "") body.evse_id = Number(data.get("evse"));
      return () => api(path("/commands/trigger"), { method: "POST", body });
    }),
    form("generic", "Any action", [
      field("generic-action", "Action", h("input", { id: "generic-action", name: "action",
        required: true, list: "generic-actions", autocomplete: "off",
        pattern: "[A-Za-z0-9]+", dataset: tid("generic-action") })),
      h("datalist", { id: "generic-actions" }),
      field("generic-payload", "Payload (JSON)", h("textarea", { id: "generic-payload",
        name: "payload", rows: 4, spellcheck: "false", dataset: tid("generic-payload") }, "{}")),
    ], "Send", (data) => {
      let payload;
      try {
        payload = JSON.parse(String(data.get("payload") || "{}"));
      } catch (error) {
        throw new Error(`the payload is not JSON (${error.message})`);
      }
      if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
        throw new Error("the payload must be a JSON object");
      }
      const action = String(data.get("action")).trim();
      return () => api(path(`/calls/${seg(action)}`), { method: "POST", body: payload });
    }));

  let shownVersion = null;
  /** Bring the choices up to date with the station (called on every page refresh). */
  function update() {
    const { station, sessions } = state();
    if (!station) return;
    const evses = station.evses.filter((e) => e.evse_id > 0).map((e) => e.evse_id);
    keepOptions(startEvse, [["", "Any free EVSE"], ...evses.map((e) => [String(e), `EVSE ${e}`])]);
    keepOptions(stopTx, sessions.length
      ? sessions.map((t) => [t.transaction_id, `EVSE ${t.evse_id ?? "?"} · ${t.id_token ?? "no token"} · ${t.transaction_id}`])
      : [["", "No session running"]]);
    const v16 = station.ocpp_version === "1.6";
    if (shownVersion !== station.ocpp_version) {
      shownVersion = station.ocpp_version;
      keepOptions(resetType, v16 ? [["soft", "Soft"], ["hard", "Hard"]]
        : [["on_idle", "When idle"], ["immediate", "Immediately"]]);
      fill(forms.querySelector("#generic-actions"),
        (v16 ? ACTIONS_16 : ACTIONS_2).map((a) => h("option", { value: a })));
    }
  }

  const card = h("section", { class: "card", "aria-labelledby": "commands-h", dataset: tid("commands") },
    h("h2", { id: "commands-h" }, "Commands"), forms, output);
  return { card, update };
}

function field(id, label, control) {
  return h("div", { class: "field" }, h("label", { for: id }, label), control);
}

/** Replace a select's options only when they changed, keeping the operator's choice. */
function keepOptions(select, options) {
  const now = [...select.options].map((o) => `${o.value}\u0000${o.textContent}`).join("\n");
  const next = options.map(([v, t]) => `${v}\u0000${t}`).join("\n");
  if (now === next) return;
  const chosen = select.value;
  fill(select, options.map(([value, text]) => h("option", { value }, text)));
  if (options.some(([v]) => v === chosen)) select.value = chosen;
}

function showCommand(output, label, command) {
  const answer = command.response;
  const status = answer?.status;
  fill(output,
    h("p", {},
      `${label} (${command.action}): `,
      badge(command.status, undefined, "command-status"),
      status ? [" station answered ", badge(status, undefined, "command-answer")] : null,
      command.duration_ms !== null && command.duration_ms !== undefined
        ? ` in ${Math.round(command.duration_ms)} ms` : null),
    h("pre", { dataset: tid("command-response") }, json(answer ?? {})));
}

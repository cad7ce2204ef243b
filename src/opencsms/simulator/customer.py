"""2.0.1/2.1 running cost, customer information and network profiles of a simulated station.

* CostUpdated (I03): the CSMS sends the running cost of a transaction; the station keeps the
  last one per transaction (:meth:`StationRecords.cost`) and answers ``{}``.
* CustomerInformation (N09/N10): report what the station knows about one customer (its
  idToken's local-list and cache entries, its transactions) in NotifyCustomerInformation parts
  of at most 512 characters, and/or clear it: the cache entry goes and the token is erased
  from ended transactions; the local authorization list stays, the CSMS manages that with
  SendLocalList (TC_N_30_CS: "removes all customer related data (except from LocalList)").
  This station stores no customer identifiers or customer certificates: asking for one reports
  that nothing is known.
* SetNetworkProfile (B09): validate and store a connection profile in a configuration slot
  (slots 0-2, B09.FR.06; slot 0 holds the profile in use). The station keeps running on its
  current connection: no migration to another CSMS (B10) is done.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from opencsms.clock import utc_iso
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator.config_keys import Variable
from opencsms.simulator.connection import HandlerFn, Payload, Reply

if TYPE_CHECKING:
    from opencsms.simulator.authorization import AuthEntry
    from opencsms.simulator.sessions import Transaction
    from opencsms.simulator.station import SimulatedStation

__all__ = ["CONFIGURATION_SLOTS", "ROUTES_2", "ROUTES_16", "StationRecords", "records"]

CONFIGURATION_SLOTS = (0, 1, 2)
"""Network configuration slots (the valuesList of NetworkConfigurationPriority, B09.FR.05)."""
DATA_PART = 512
"""Characters per NotifyCustomerInformation ``data`` (its schema's maxLength)."""
_OCPP_VERSIONS = {OcppVersion.V201: {"OCPP20"}, OcppVersion.V21: {"OCPP20", "OCPP201", "OCPP21"}}


@dataclass(slots=True)
class StationRecords:
    """Running costs and network profiles of one station."""

    costs: dict[str, float] = field(default_factory=dict)
    """transactionId → the last totalCost sent by CostUpdated."""
    profiles: dict[int, dict[str, Any]] = field(default_factory=dict)
    """configurationSlot → NetworkConnectionProfile."""

    def cost(self, transaction_id: str) -> float | None:
        """The running cost last sent for ``transaction_id`` (None: never)."""
        return self.costs.get(transaction_id)


_STATE: weakref.WeakKeyDictionary[SimulatedStation, StationRecords] = weakref.WeakKeyDictionary()


def records(station: SimulatedStation) -> StationRecords:
    """The records of a 2.x ``station``, created on first use: slot 0 holds the profile the
    station connects with, reported by OCPPCommCtrlr.ActiveNetworkProfile."""
    state = _STATE.get(station)
    if state is None:
        state = _STATE[station] = StationRecords()
        config = station.config
        state.profiles[0] = {
            "ocppVersion": "OCPP20",
            "ocppTransport": "JSON",
            "ocppCsmsUrl": config.csms_url,
            "messageTimeout": round(config.call_timeout),
            "securityProfile": _security_profile(station),
            "ocppInterface": "Wired0",
        }
        model = station.device_model
        assert model is not None
        try:
            model.get("OCPPCommCtrlr", "ActiveNetworkProfile")
        except KeyError:
            model.add("OCPPCommCtrlr", "ActiveNetworkProfile", Variable("0", "ReadOnly"))
    return state


# ------------------------------------------------------------------------- I03


def cost_updated(station: SimulatedStation, payload: Payload) -> Reply:
    """I03 CostUpdated: remember the running cost of a transaction this station ran (the
    answer is empty whatever the id: an unknown one is not stored)."""
    transaction_id = payload["transactionId"]
    if any(tx.id == transaction_id for tx in station.sessions.history):
        records(station).costs[transaction_id] = float(payload["totalCost"])
    return Reply({})


# ------------------------------------------------------------------------- N09 / N10


def customer_information(station: SimulatedStation, payload: Payload) -> Reply:
    """N09/N10 CustomerInformation: exactly one of idToken / customerCertificate /
    customerIdentifier, else Invalid (N09.FR.09); neither report nor clear: Rejected.
    Accepted: NotifyCustomerInformation with the report (N09.FR.05), "no data" when nothing
    is known (N09.FR.06, N10.FR.04), or a note that the data was cleared (N10.FR.06)."""
    keys = [k for k in ("idToken", "customerCertificate", "customerIdentifier") if k in payload]
    if len(keys) != 1:
        return Reply({"status": "Invalid"})
    report, clear = payload["report"], payload["clear"]
    if not report and not clear:
        return Reply({"status": "Rejected"})
    token = payload["idToken"]["idToken"] if keys == ["idToken"] else None
    subject = _subject(payload)
    lines = _report(station, token) if report else []
    if clear and token is not None:
        _clear(station, token)
    if not report:
        text = f"{subject}: customer data cleared"
    elif not lines:
        text = f"{subject}: no data found"
    else:
        text = "\n".join([subject, *lines, *(["customer data cleared"] if clear else [])])
    parts = [text[i : i + DATA_PART] for i in range(0, len(text), DATA_PART)] or [""]
    request_id = payload["requestId"]

    async def send_parts() -> None:
        for seq_no, part in enumerate(parts):
            await station.call(
                "NotifyCustomerInformation",
                {
                    "data": part,
                    "tbc": seq_no < len(parts) - 1,
                    "seqNo": seq_no,
                    "generatedAt": utc_iso(station.clock.now()),
                    "requestId": request_id,
                },
            )

    return Reply({"status": "Accepted"}, after=send_parts)


def _subject(payload: Payload) -> str:
    if "idToken" in payload:
        token = payload["idToken"]
        return f"idToken {token['idToken']} ({token['type']})"
    if "customerIdentifier" in payload:
        return f"customer {payload['customerIdentifier']}"
    return f"certificate {payload['customerCertificate']['serialNumber']}"


def _report(station: SimulatedStation, token: str | None) -> list[str]:
    """What the station knows about ``token``: one line per fact (nothing for other keys)."""
    if token is None:
        return []
    auth = station.sessions.auth
    lines = []
    if token in auth.entries:
        lines.append(f"local list (version {auth.version}): {_entry_text(auth.entries[token])}")
    if token in auth.cache:
        lines.append(f"authorization cache: {_entry_text(auth.cache[token])}")
    lines.extend(_transaction_text(tx) for tx in station.sessions.history if tx.id_token == token)
    return lines


def _entry_text(entry: AuthEntry) -> str:
    text = entry.status
    if entry.group:
        text += f", group {entry.group}"
    if entry.expiry:
        text += f", until {utc_iso(entry.expiry)}"
    return text


def _transaction_text(tx: Transaction) -> str:
    state = f"ended ({tx.stop_reason})" if tx.stopped else "ongoing"
    return f"transaction {tx.id} on EVSE {tx.evse} from {utc_iso(tx.started_at)}, {state}"


def _clear(station: SimulatedStation, token: str) -> None:
    """N10: forget ``token``: its cache entry, and its id on ended transactions whose messages
    are delivered (a running transaction still needs its token, a queued message its data)."""
    station.sessions.auth.cache.pop(token, None)
    for tx in station.sessions.history:
        if tx.id_token == token and tx.stopped and tx.id and not station.queued_for(tx.id):
            tx.id_token = ""


# ------------------------------------------------------------------------- B09


def set_network_profile(station: SimulatedStation, payload: Payload) -> Reply:
    """B09 SetNetworkProfile: store ``connectionData`` in ``configurationSlot`` (B09.FR.01).

    Rejected, with a reasonCode: a slot outside :data:`CONFIGURATION_SLOTS` (B09.FR.05,
    InvalidConfSlot); a lower securityProfile than SecurityCtrlr.SecurityProfile (B09.FR.04,
    NoSecurityDowngrade); data this station cannot use (B09.FR.02, InvalidNetworkConf): not
    JSON, an OCPP version it does not speak, a URL that is not ws:// (profiles 0-1) or
    wss:// (2-3), a timeout that is not positive.
    """
    slot, data = payload["configurationSlot"], payload["connectionData"]
    if slot not in CONFIGURATION_SLOTS:
        return _rejected("InvalidConfSlot")
    if data["securityProfile"] < _security_profile(station):
        return _rejected("NoSecurityDowngrade")
    if not _usable(station, data):
        return _rejected("InvalidNetworkConf")
    records(station).profiles[slot] = data
    return Reply({"status": "Accepted"})


def _usable(station: SimulatedStation, data: Payload) -> bool:
    profile = data["securityProfile"]
    url = urlsplit(data["ocppCsmsUrl"])
    version = data.get("ocppVersion")
    return (
        data["ocppTransport"] == "JSON"
        and (version is None or version in _OCPP_VERSIONS.get(station.version, set()))
        and 0 <= profile <= 3
        and url.scheme == ("wss" if profile >= 2 else "ws")
        and bool(url.hostname)
        and data["messageTimeout"] > 0
    )


def _rejected(reason: str) -> Reply:
    return Reply({"status": "Rejected", "statusInfo": {"reasonCode": reason}})


def _security_profile(station: SimulatedStation) -> int:
    assert station.device_model is not None
    return int(station.device_model.get("SecurityCtrlr", "SecurityProfile"))


ROUTES_16: dict[str, HandlerFn] = {}
ROUTES_2: dict[str, HandlerFn] = {
    "CostUpdated": cost_updated,
    "CustomerInformation": customer_information,
    "SetNetworkProfile": set_network_profile,
}

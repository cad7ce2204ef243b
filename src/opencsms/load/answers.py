"""How a load station answers the CSMS's CALLs: Accepted where that is trivially true.

A CSMS may ask things right after a boot (TriggerMessage, GetConfiguration, GetVariables, ...). A
load station models almost nothing, so it answers only what it can answer truthfully; every other
station-side action is refused with CALLERROR ``NotSupported`` by the session itself, because
:data:`SUPPORTED` is passed as the session's ``supported_actions`` (OCPP-J 1.6 §4.2.3 Table 7,
2.0.1 part 4 §4.3). Actions unknown to the version get ``NotImplemented``, also from the session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from opencsms.ocpp.version import OcppVersion

__all__ = ["SUPPORTED", "Answerable", "answer"]

Payload = dict[str, Any]

#: TriggerMessage requestedMessage → the kind the station then sends (1.6 §5.17, 2.0.1 F06).
TRIGGERABLE = {
    "BootNotification": "boot",
    "Heartbeat": "heartbeat",
    "StatusNotification": "status",
    "MeterValues": "meter_values",
}


class Answerable(Protocol):
    """The part of a load station its answers read and change."""

    version: OcppVersion
    heartbeat_interval: float

    @property
    def accepted(self) -> bool:
        """Whether the last BootNotification was Accepted."""
        ...

    def trigger(self, kind: str) -> None:
        """Send a message of ``kind`` as soon as the current answer is on the wire."""
        ...


Answer = Callable[[Answerable, Payload], Payload]


def _trigger_message(station: Answerable, payload: Payload) -> Payload:
    """1.6 §5.17 / 2.0.1 F06: send the requested message after answering Accepted.

    A BootNotification while already Accepted is Rejected in 2.x (F06.FR.17); other messages
    are only sent once Accepted (1.6 §4.2: nothing but BootNotification before that).
    """
    kind = TRIGGERABLE.get(payload["requestedMessage"])
    if kind is None:
        return {"status": "NotImplemented"}
    if kind == "boot":
        if station.accepted and station.version is not OcppVersion.V16:
            return {"status": "Rejected"}
    elif not station.accepted:
        return {"status": "Rejected"}
    station.trigger(kind)
    return {"status": "Accepted"}


def _accepted(station: Answerable, payload: Payload) -> Payload:
    """ChangeAvailability / ClearCache: nothing to change on a load station."""
    return {"status": "Accepted"}


def _data_transfer(station: Answerable, payload: Payload) -> Payload:
    """1.6 §5.6 / 2.0.1 P01: no vendor extensions (UnknownVendorId)."""
    return {"status": "UnknownVendorId"}


def _get_configuration(station: Answerable, payload: Payload) -> Payload:
    """1.6 §5.8: only HeartbeatInterval exists; every other requested key is unknown."""
    keys = payload.get("key")
    known = {"key": "HeartbeatInterval", "readonly": False, "value": _interval(station)}
    if keys is None:
        return {"configurationKey": [known]}
    answer: Payload = {}
    if "HeartbeatInterval" in keys:
        answer["configurationKey"] = [known]
    unknown = [key for key in keys if key != "HeartbeatInterval"]
    if unknown:
        answer["unknownKey"] = unknown
    return answer


def _change_configuration(station: Answerable, payload: Payload) -> Payload:
    """1.6 §5.3: HeartbeatInterval applies at once (§9.1.14); other keys are NotSupported."""
    if payload["key"] != "HeartbeatInterval":
        return {"status": "NotSupported"}
    seconds = _non_negative_int(payload["value"])
    if seconds is None:
        return {"status": "Rejected"}
    station.heartbeat_interval = seconds
    return {"status": "Accepted"}


def _is_heartbeat_interval(item: Payload) -> bool:
    return bool(
        item["component"].get("name") == "OCPPCommCtrlr"
        and item["variable"].get("name") == "HeartbeatInterval"
        and item["component"].get("evse") is None
        and item.get("attributeType", "Actual") == "Actual"
    )


def _get_variables(station: Answerable, payload: Payload) -> Payload:
    """2.x B06: OCPPCommCtrlr.HeartbeatInterval is known, every other variable is not."""
    results = []
    for item in payload["getVariableData"]:
        result: Payload = {"component": item["component"], "variable": item["variable"]}
        if _is_heartbeat_interval(item):
            result["attributeStatus"] = "Accepted"
            result["attributeValue"] = _interval(station)
        else:
            result["attributeStatus"] = "UnknownComponent"
        if "attributeType" in item:
            result["attributeType"] = item["attributeType"]
        results.append(result)
    return {"getVariableResult": results}


def _set_variables(station: Answerable, payload: Payload) -> Payload:
    """2.x B05: HeartbeatInterval applies at once; every other variable is unknown."""
    results = []
    for item in payload["setVariableData"]:
        result: Payload = {"component": item["component"], "variable": item["variable"]}
        seconds = _non_negative_int(item["attributeValue"])
        if not _is_heartbeat_interval(item):
            result["attributeStatus"] = "UnknownComponent"
        elif seconds is None:
            result["attributeStatus"] = "Rejected"
        else:
            station.heartbeat_interval = seconds
            result["attributeStatus"] = "Accepted"
        if "attributeType" in item:
            result["attributeType"] = item["attributeType"]
        results.append(result)
    return {"setVariableResult": results}


def _interval(station: Answerable) -> str:
    return str(int(station.heartbeat_interval))


def _non_negative_int(text: str) -> int | None:
    try:
        value = int(text)
    except ValueError:
        return None
    return value if value >= 0 else None


_COMMON: dict[str, Answer] = {
    "TriggerMessage": _trigger_message,
    "ChangeAvailability": _accepted,
    "ClearCache": _accepted,
    "DataTransfer": _data_transfer,
}
_ROUTES: dict[OcppVersion, dict[str, Answer]] = {
    OcppVersion.V16: {
        **_COMMON,
        "GetConfiguration": _get_configuration,
        "ChangeConfiguration": _change_configuration,
    },
    OcppVersion.V201: {
        **_COMMON,
        "GetVariables": _get_variables,
        "SetVariables": _set_variables,
    },
}
_ROUTES[OcppVersion.V21] = _ROUTES[OcppVersion.V201]

SUPPORTED: dict[OcppVersion, frozenset[str]] = {v: frozenset(r) for v, r in _ROUTES.items()}
"""The CSMS-initiated actions a load station answers, per version (the session refuses others)."""


def answer(station: Answerable, action: str, payload: Payload) -> Payload:
    """The CALLRESULT payload for ``action``, which must be in :data:`SUPPORTED`."""
    return _ROUTES[station.version][action](station, payload)

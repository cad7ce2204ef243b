"""How a simulated station answers CALLs from the CSMS.

One function per action, in a route table per version; each reads or changes the station's real
state and returns a :class:`~opencsms.simulator.connection.Reply`. A handler never awaits a CALL
itself: the message a TriggerMessage asks for goes into ``Reply.after`` and is sent once the
answer is on the wire (1.6 §5.17, 2.0.1 F06.FR.04: answer first, then send).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opencsms.errors import NotSupportedError
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import (
    certificates,
    charging,
    customer,
    display,
    maintenance,
    monitoring,
    reporting,
    session_control,
)
from opencsms.simulator.connection import HandlerFn, Payload, Reply

if TYPE_CHECKING:
    from opencsms.simulator.station import SimulatedStation

__all__ = ["ROUTES", "handle"]


def handle(station: SimulatedStation, action: str, payload: Payload) -> Reply:
    """Answer ``action``; a station-side action without a handler is ``NotSupported``.

    Actions unknown to the version never get here: the session answers them ``NotImplemented``
    (OCPP-J 1.6 §4.2.3, 2.0.1 part 4 §4.3).
    """
    routes = ROUTES[OcppVersion.V16 if station.version is OcppVersion.V16 else OcppVersion.V201]
    fn = routes.get(action)
    if fn is None:
        return Reply(error=NotSupportedError(f"{action} is not supported by this station"))
    return fn(station, payload)


# ------------------------------------------------------------------------- shared


def data_transfer(station: SimulatedStation, payload: Payload) -> Reply:
    """1.6 §5.6 / 2.0.1 P01: no vendor extensions are implemented (UnknownVendorId)."""
    return Reply({"status": "UnknownVendorId"})


def reset(station: SimulatedStation, payload: Payload) -> Reply:
    """1.6 §5.14 / 2.0.1 B11-B12: accept, end open transactions, drop the connection, boot again.

    1.6 stops transactions with reason HardReset/SoftReset. 2.x ``Immediate`` ends them with
    ImmediateReset; ``OnIdle`` while a transaction runs answers Scheduled and resets once the
    last one ended (B12.FR.01).
    """
    kind = payload["type"]
    busy = any(station.transaction(e) for e in range(1, station.evse_count + 1))
    if station.version is OcppVersion.V16:
        reason = f"{kind}Reset"  # HardReset / SoftReset

        async def reboot_16() -> None:
            await station.sessions.stop_all(reason)
            await station.reboot("RemoteReset")

        return Reply({"status": "Accepted"}, after=reboot_16)
    if kind == "OnIdle" and busy:

        async def when_idle() -> None:
            await station.wait_for(
                lambda s: not any(s.transaction(e) for e in range(1, s.evse_count + 1)),
                timeout=None,
            )
            await station.reboot("ScheduledReset")

        station.spawn_background(when_idle)
        return Reply({"status": "Scheduled"})

    async def reboot_2() -> None:
        await station.sessions.stop_all("HardReset")  # → ImmediateReset / ResetCommand
        await station.reboot("RemoteReset")

    return Reply({"status": "Accepted"}, after=reboot_2)


# ------------------------------------------------------------------------- 1.6


def trigger_message_16(station: SimulatedStation, payload: Payload) -> Reply:
    """1.6 §5.17: Accepted, then the requested message; unknown connector → Rejected."""
    requested = payload["requestedMessage"]
    connector = payload.get("connectorId")
    if connector is not None and not 0 <= connector <= station.evse_count:
        return Reply({"status": "Rejected"})
    return _trigger(station, requested, connector, include_station=True)


def extended_trigger_message(station: SimulatedStation, payload: Payload) -> Reply:
    """1.6 security whitepaper §7.x ExtendedTriggerMessage: TriggerMessage plus the security
    messages (SignChargePointCertificate, LogStatusNotification, FirmwareStatusNotification)."""
    requested = payload["requestedMessage"]
    connector = payload.get("connectorId")
    if connector is not None and not 0 <= connector <= station.evse_count:
        return Reply({"status": "Rejected"})
    return _trigger(station, requested, connector, include_station=True)


def change_availability_16(station: SimulatedStation, payload: Payload) -> Reply:
    """1.6 §5.2: connector 0 means the whole charge point; status follows at once."""
    connector = payload["connectorId"]
    if not 0 <= connector <= station.evse_count:
        return Reply({"status": "Rejected"})
    operative = payload["type"] == "Operative"
    changed = station.set_operative(None if connector == 0 else connector, operative)
    return Reply({"status": "Accepted"}, after=lambda: station.send_statuses(changed))


def get_configuration(station: SimulatedStation, payload: Payload) -> Reply:
    """1.6 §5.8: the requested keys (all if none named) and the unknown ones."""
    assert station.keys is not None
    known, unknown = station.keys.get_configuration(list(payload.get("key", [])))
    answer: Payload = {"configurationKey": known}
    if unknown:
        answer["unknownKey"] = unknown
    return Reply(answer)


def change_configuration(station: SimulatedStation, payload: Payload) -> Reply:
    """1.6 §5.3: Accepted / Rejected (read-only, bad value) / NotSupported (unknown key)."""
    assert station.keys is not None
    key, value = payload["key"], payload["value"]
    status = station.keys.change_configuration(key, value)
    if status == "Accepted":
        station.configuration_changed(key)
    return Reply({"status": status})


# ------------------------------------------------------------------------- 2.0.1 / 2.1


def trigger_message_2(station: SimulatedStation, payload: Payload) -> Reply:
    """2.0.1 F06: Accepted then the message; unknown EVSE → Rejected; a
    BootNotification while already Accepted → Rejected (F06.FR.17)."""
    requested = payload["requestedMessage"]
    evse = payload.get("evse")
    evse_id = evse["id"] if evse else None
    if evse_id is not None and not 0 <= evse_id <= station.evse_count:
        return Reply({"status": "Rejected"})
    if requested == "BootNotification" and station.registration == "Accepted":
        return Reply({"status": "Rejected"})
    return _trigger(station, requested, evse_id, include_station=False)


def change_availability_2(station: SimulatedStation, payload: Payload) -> Reply:
    """2.0.1 G03/G04: no ``evse`` → the whole station; connector statuses follow."""
    evse = payload.get("evse")
    evse_id = evse["id"] if evse else None
    if evse_id is not None and not 0 <= evse_id <= station.evse_count:
        return Reply({"status": "Rejected"})
    operative = payload["operationalStatus"] == "Operative"
    changed = station.set_operative(evse_id or None, operative)
    return Reply({"status": "Accepted"}, after=lambda: station.send_statuses(changed))


def get_variables(station: SimulatedStation, payload: Payload) -> Reply:
    """2.0.1 B06: one result per requested variable, in request order."""
    assert station.device_model is not None
    results = []
    for item in payload["getVariableData"]:
        attribute = item.get("attributeType", "Actual")
        status, value = station.device_model.get_variable(
            item["component"], item["variable"], attribute
        )
        result: Payload = {
            "attributeStatus": status,
            "attributeType": attribute,
            "component": item["component"],
            "variable": item["variable"],
        }
        if value is not None:
            result["attributeValue"] = value
        results.append(result)
    return Reply({"getVariableResult": results})


def set_variables(station: SimulatedStation, payload: Payload) -> Reply:
    """2.0.1 B05: one result per variable; accepted values take effect at once."""
    assert station.device_model is not None
    results = []
    for item in payload["setVariableData"]:
        attribute = item.get("attributeType", "Actual")
        component, variable = item["component"], item["variable"]
        status = station.device_model.set_variable(
            component, variable, attribute, item["attributeValue"]
        )
        if status == "Accepted":
            station.configuration_changed(f"{component['name']}.{variable['name']}")
        results.append(
            {
                "attributeStatus": status,
                "attributeType": attribute,
                "component": component,
                "variable": variable,
            }
        )
    return Reply({"setVariableResult": results})


# ------------------------------------------------------------------------- helpers


def _trigger(
    station: SimulatedStation, requested: str, evse: int | None, *, include_station: bool
) -> Reply:
    """Answer Accepted and send the requested message, or NotImplemented for the others.

    ``evse`` None means every EVSE (1.6 §5.17 "if no connectorId is given, for all connectors";
    2.0.1 F06.FR.12); ``include_station`` adds 1.6 connector 0 to StatusNotification.
    """
    if requested == "BootNotification":
        return Reply({"status": "Accepted"}, after=station.boot_now)
    if requested == "Heartbeat":
        return Reply({"status": "Accepted"}, after=station.send_heartbeat)
    if requested == "StatusNotification":
        if evse is None:
            targets = list(range(0 if include_station else 1, station.evse_count + 1))
        else:
            targets = [evse]
        return Reply({"status": "Accepted"}, after=lambda: station.send_statuses(targets))
    if requested == "MeterValues":
        meters = list(range(1, station.evse_count + 1)) if not evse else [evse]
        return Reply({"status": "Accepted"}, after=lambda: station.send_triggered_meters(meters))
    for feature in (station.sessions, station.maintenance, station.certificates):
        follow_up = feature.trigger(requested)
        if follow_up is not None:
            return Reply({"status": "Accepted"}, after=follow_up)
    return Reply({"status": "NotImplemented"})


_FEATURES = (
    session_control,
    charging,
    maintenance,
    certificates,
    reporting,
    monitoring,
    display,
    customer,
)

ROUTES: dict[OcppVersion, dict[str, HandlerFn]] = {
    OcppVersion.V16: {
        "ChangeAvailability": change_availability_16,
        "ChangeConfiguration": change_configuration,
        "DataTransfer": data_transfer,
        "ExtendedTriggerMessage": extended_trigger_message,
        "GetConfiguration": get_configuration,
        "Reset": reset,
        "TriggerMessage": trigger_message_16,
    }
    | {k: v for f in _FEATURES for k, v in f.ROUTES_16.items()},
    OcppVersion.V201: {
        "ChangeAvailability": change_availability_2,
        "DataTransfer": data_transfer,
        "GetVariables": get_variables,
        "Reset": reset,
        "SetVariables": set_variables,
        "TriggerMessage": trigger_message_2,
    }
    | {k: v for f in _FEATURES for k, v in f.ROUTES_2.items()},
}
"""Route tables; 2.1 uses the 2.0.1 table (the messages handled here did not change shape).

Feature modules (session_control, charging, maintenance, certificates) export ``ROUTES_16`` and
``ROUTES_2`` of their own, merged here."""

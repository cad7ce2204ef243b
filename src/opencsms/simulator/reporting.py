"""2.0.1 device-model reports of a simulated station: GetBaseReport and GetReport (B07, B08).

The station answers at once (Accepted, or EmptyResultSet when nothing matches) and then sends
the report in NotifyReport parts of at most DeviceDataCtrlr.ItemsPerMessage entries, numbered by
``seqNo`` from 0, with ``tbc`` true on every part but the last (B07.FR.xx / B08).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opencsms.clock import utc_iso
from opencsms.simulator.config_keys import Variable
from opencsms.simulator.connection import HandlerFn, Payload, Reply

if TYPE_CHECKING:
    from opencsms.simulator.station import SimulatedStation

__all__ = ["ROUTES_2", "ROUTES_16"]


def _data_type(value: str) -> str:
    """DataEnumType of a value as the simulated station stores it."""
    if value in ("true", "false"):
        return "boolean"
    if value.isdigit():
        return "integer"
    return "string"


def _entry(component: str, name: str, variable: Variable) -> dict[str, Any]:
    attribute: dict[str, Any] = {"type": "Actual", "mutability": variable.mutability}
    if variable.mutability != "WriteOnly":  # B07: a write-only value is never reported
        attribute["value"] = variable.value
    return {
        "component": {"name": component},
        "variable": {"name": name},
        "variableAttribute": [attribute],
        "variableCharacteristics": {
            "dataType": _data_type(variable.value),
            # Every variable but a write-only one can carry a monitor (see monitoring.py).
            "supportsMonitoring": variable.mutability != "WriteOnly",
        },
    }


def _report(station: SimulatedStation, request_id: int, entries: list[dict[str, Any]]) -> Reply:
    if not entries:
        return Reply({"status": "EmptyResultSet"})
    assert station.device_model is not None
    per_message = max(1, int(station.device_model.get("DeviceDataCtrlr", "ItemsPerMessage")))

    async def send_parts() -> None:
        parts = [entries[i : i + per_message] for i in range(0, len(entries), per_message)]
        for seq_no, part in enumerate(parts):
            await station.call(
                "NotifyReport",
                {
                    "requestId": request_id,
                    "generatedAt": utc_iso(station.clock.now()),
                    "seqNo": seq_no,
                    "tbc": seq_no < len(parts) - 1,
                    "reportData": part,
                },
            )

    return Reply({"status": "Accepted"}, after=send_parts)


def get_base_report(station: SimulatedStation, payload: Payload) -> Reply:
    """B07: ConfigurationInventory (read-write variables), FullInventory (all) or
    SummaryInventory (not kept by this station → NotSupported)."""
    assert station.device_model is not None
    base = payload["reportBase"]
    if base == "SummaryInventory":
        return Reply({"status": "NotSupported"})
    entries = [
        _entry(component, name, variable)
        for component, name, variable in station.device_model.items()
        if base == "FullInventory" or variable.mutability != "ReadOnly"
    ]
    return _report(station, payload["requestId"], entries)


def get_report(station: SimulatedStation, payload: Payload) -> Reply:
    """B08: the variables of the requested components/variables. Component criteria are about
    Active/Available/Enabled/Problem variables, which this model does not keep: a request with
    criteria matches only components reporting such a variable (none here) → EmptyResultSet."""
    assert station.device_model is not None
    wanted = payload.get("componentVariable")
    criteria = payload.get("componentCriteria")
    entries = []
    for component, name, variable in station.device_model.items():
        if criteria and name not in ("Active", "Available", "Enabled", "Problem"):
            continue
        if wanted is not None and not any(
            item["component"]["name"] == component
            and ("variable" not in item or item["variable"]["name"] == name)
            for item in wanted
        ):
            continue
        entries.append(_entry(component, name, variable))
    return _report(station, payload["requestId"], entries)


ROUTES_16: dict[str, HandlerFn] = {}
ROUTES_2: dict[str, HandlerFn] = {
    "GetBaseReport": get_base_report,
    "GetReport": get_report,
}

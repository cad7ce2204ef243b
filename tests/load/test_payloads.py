"""Every payload the load generator sends, and every answer it gives, is schema-valid."""

from __future__ import annotations

from typing import Any

import pytest

from opencsms.load import payloads
from opencsms.load.answers import SUPPORTED, answer
from opencsms.ocpp.schemas import default_registry
from opencsms.ocpp.version import OcppVersion

VERSIONS = list(OcppVersion)


def _valid_request(version: OcppVersion, action: str, payload: dict[str, Any]) -> None:
    violations = default_registry().validate_request(version, action, payload)
    assert violations == (), (version.value, action, violations)


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.value)
def test_single_message_kinds_are_schema_valid(version: OcppVersion) -> None:
    meter = payloads.Meter("run-1")
    _valid_request(version, "BootNotification", payloads.boot_notification(version, "LOAD-1"))
    _valid_request(version, "Heartbeat", payloads.heartbeat(version, meter))
    _valid_request(version, "StatusNotification", payloads.status_notification(version, meter))
    _valid_request(version, "MeterValues", payloads.meter_values(version, meter))
    _valid_request(version, "Authorize", payloads.authorize(version, "OPENCSMS-LOAD"))
    _valid_request(version, "DataTransfer", payloads.data_transfer(version, meter))


def test_transaction_16_is_schema_valid() -> None:
    meter = payloads.Meter("run-1")
    v16 = OcppVersion.V16
    _valid_request(v16, "StartTransaction", payloads.start_transaction_16(meter, "TAG"))
    _valid_request(v16, "MeterValues", payloads.meter_values(v16, meter, transaction_id=7))
    _valid_request(v16, "StopTransaction", payloads.stop_transaction_16(meter, 7, "TAG"))


@pytest.mark.parametrize("version", [OcppVersion.V201, OcppVersion.V21], ids=lambda v: v.value)
def test_transaction_events_are_valid_and_numbered(version: OcppVersion) -> None:
    meter = payloads.Meter("run-1")
    first = meter.new_transaction_id()
    events = [
        payloads.transaction_event(version, meter, kind, first, "TAG")
        for kind in ("Started", "Updated", "Ended")
    ]
    for event in events:
        _valid_request(version, "TransactionEvent", event)
    assert [e["seqNo"] for e in events] == [0, 1, 2]  # E01: seqNo counts from 0 per transaction
    assert events[2]["transactionInfo"]["stoppedReason"] == "Local"
    second = meter.new_transaction_id()
    assert second != first
    assert payloads.transaction_event(version, meter, "Started", second, "TAG")["seqNo"] == 0


def test_meter_timestamps_strictly_increase() -> None:
    meter = payloads.Meter("run-1")
    stamps = [meter.timestamp() for _ in range(1000)]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)  # never two writes with one timestamp


class _Station:
    """Just what the answers read and change."""

    def __init__(self, version: OcppVersion, accepted: bool = True) -> None:
        self.version = version
        self.heartbeat_interval = 300.0
        self._accepted = accepted
        self.triggered: list[str] = []

    @property
    def accepted(self) -> bool:
        return self._accepted

    def trigger(self, kind: str) -> None:
        self.triggered.append(kind)


def _answer(station: _Station, action: str, payload: dict[str, Any]) -> dict[str, Any]:
    registry = default_registry()
    assert registry.validate_request(station.version, action, payload) == ()
    result = answer(station, action, payload)
    assert registry.validate_response(station.version, action, result) == (), (action, result)
    return result


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.value)
def test_trigger_message_sends_the_requested_message(version: OcppVersion) -> None:
    station = _Station(version)
    assert _answer(station, "TriggerMessage", {"requestedMessage": "Heartbeat"}) == {
        "status": "Accepted"
    }
    assert station.triggered == ["heartbeat"]
    assert _answer(station, "TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"})[
        "status"
    ] in ("NotImplemented",)
    boot = _answer(station, "TriggerMessage", {"requestedMessage": "BootNotification"})
    # 2.x F06.FR.17: no BootNotification on request while already Accepted; 1.6 boots again.
    assert boot["status"] == ("Accepted" if version is OcppVersion.V16 else "Rejected")
    pending = _Station(version, accepted=False)
    assert _answer(pending, "TriggerMessage", {"requestedMessage": "Heartbeat"}) == {
        "status": "Rejected"
    }
    assert _answer(pending, "TriggerMessage", {"requestedMessage": "BootNotification"}) == {
        "status": "Accepted"
    }


def test_16_configuration_knows_the_heartbeat_interval() -> None:
    station = _Station(OcppVersion.V16)
    got = _answer(station, "GetConfiguration", {"key": ["HeartbeatInterval", "Foo"]})
    assert got == {
        "configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}],
        "unknownKey": ["Foo"],
    }
    assert _answer(station, "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "60"}) == {
        "status": "Accepted"
    }
    assert station.heartbeat_interval == 60
    assert _answer(station, "ChangeConfiguration", {"key": "Foo", "value": "1"}) == {
        "status": "NotSupported"
    }
    assert _answer(station, "GetConfiguration", {})["configurationKey"][0]["value"] == "60"


@pytest.mark.parametrize("version", [OcppVersion.V201, OcppVersion.V21], ids=lambda v: v.value)
def test_2x_variables_know_the_heartbeat_interval(version: OcppVersion) -> None:
    station = _Station(version)
    interval = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
    other = {"component": {"name": "Foo"}, "variable": {"name": "Bar"}}
    got = _answer(station, "GetVariables", {"getVariableData": [interval, other]})
    statuses = [r["attributeStatus"] for r in got["getVariableResult"]]
    assert statuses == ["Accepted", "UnknownComponent"]
    assert got["getVariableResult"][0]["attributeValue"] == "300"
    data = [{**interval, "attributeValue": "30"}, {**other, "attributeValue": "1"}]
    got = _answer(station, "SetVariables", {"setVariableData": data})
    assert [r["attributeStatus"] for r in got["setVariableResult"]] == [
        "Accepted",
        "UnknownComponent",
    ]
    assert station.heartbeat_interval == 30


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.value)
def test_simple_answers_are_valid(version: OcppVersion) -> None:
    station = _Station(version)
    availability = (
        {"connectorId": 0, "type": "Inoperative"}
        if version is OcppVersion.V16
        else {"operationalStatus": "Inoperative"}
    )
    assert _answer(station, "ChangeAvailability", availability) == {"status": "Accepted"}
    assert _answer(station, "ClearCache", {}) == {"status": "Accepted"}
    assert _answer(station, "DataTransfer", {"vendorId": "x"}) == {"status": "UnknownVendorId"}
    assert "Reset" not in SUPPORTED[version]  # refused by the session with NotSupported

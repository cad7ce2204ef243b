"""Schema registry, safe violations, and the action direction tables."""

from __future__ import annotations

import copy

import pytest

from opencsms.errors import RpcErrorKind
from opencsms.ocpp.actions import CSMS_TO_STATION, SEND_STATION_TO_CSMS, STATION_TO_CSMS
from opencsms.ocpp.schemas import (
    MAX_VIOLATIONS,
    Direction,
    SchemaRegistry,
    default_registry,
    json_pointer,
)
from opencsms.ocpp.version import OcppVersion
from tests.ocpp.builders import boot_notification_v201, meter_values_v16, transaction_event_v201

K = RpcErrorKind
V16, V201, V21 = OcppVersion.V16, OcppVersion.V201, OcppVersion.V21


@pytest.mark.parametrize("version", list(OcppVersion))
def test_every_schema_is_in_exactly_one_direction(version: OcppVersion) -> None:
    registry = default_registry()
    from_station, from_csms = STATION_TO_CSMS[version], CSMS_TO_STATION[version]
    assert from_station | from_csms == registry.actions(version)
    assert from_station & from_csms == {"DataTransfer"}
    assert SEND_STATION_TO_CSMS[version] == registry.send_actions(version)


def test_action_counts() -> None:
    registry = default_registry()
    assert [len(registry.actions(v)) for v in OcppVersion] == [39, 64, 90]
    assert registry.has_action(V16, "MeterValues")
    assert not registry.has_action(V16, "TransactionEvent")
    assert registry.has_send(V21, "NotifyPeriodicEventStream")
    assert not registry.has_action(V21, "NotifyPeriodicEventStream")


def test_validators_are_compiled_once() -> None:
    registry = SchemaRegistry()
    first = registry.validator(V16, "Heartbeat", Direction.REQUEST)
    assert first is registry.validator(V16, "Heartbeat", Direction.REQUEST)
    assert first is not registry.validator(V16, "Heartbeat", Direction.RESPONSE)
    assert registry.validator(V16, "NoSuchAction", Direction.REQUEST) is None
    assert default_registry() is default_registry()


def test_unknown_action_raises_key_error() -> None:
    with pytest.raises(KeyError):
        default_registry().validate_request(V16, "NoSuchAction", {})


def test_valid_payload_has_no_violations() -> None:
    assert default_registry().validate_request(V16, "MeterValues", meter_values_v16()) == ()


def test_kinds_paths_and_order() -> None:
    payload = meter_values_v16(samples=1)
    payload["connectorId"] = "one"  # type
    payload["vendorField"] = 1  # additionalProperties
    del payload["meterValue"][0]["timestamp"]  # required
    payload["meterValue"][0]["sampledValue"][0]["unit"] = "wh"  # enum
    violations = default_registry().validate_request(V16, "MeterValues", payload)
    assert [(v.kind, v.path) for v in violations] == [
        (K.OCCURRENCE_CONSTRAINT, "/meterValue/0/timestamp"),
        (K.TYPE_CONSTRAINT, "/connectorId"),
        (K.FORMAT_VIOLATION, "/vendorField"),
        (K.PROPERTY_CONSTRAINT, "/meterValue/0/sampledValue/0/unit"),
    ]


@pytest.mark.parametrize(
    ("mutate", "kind", "path"),
    [
        (
            lambda p: p["chargingStation"].update(model="M" * 21),
            K.PROPERTY_CONSTRAINT,
            "/chargingStation/model",
        ),
        (lambda p: p.update(reason="Bogus"), K.PROPERTY_CONSTRAINT, "/reason"),
        (lambda p: p.pop("reason"), K.OCCURRENCE_CONSTRAINT, "/reason"),
        (lambda p: p.update(chargingStation=[]), K.TYPE_CONSTRAINT, "/chargingStation"),
    ],
)
def test_v201_violation_kinds(mutate, kind, path) -> None:  # type: ignore[no-untyped-def]
    payload = boot_notification_v201()
    mutate(payload)
    first = default_registry().validate_request(V201, "BootNotification", payload)[0]
    assert (first.kind, first.path) == (kind, path)


def test_zone_less_timestamp_is_a_property_violation() -> None:
    payload = transaction_event_v201()
    payload["timestamp"] = "2024-05-01T10:00:00"
    violations = default_registry().validate_request(V201, "TransactionEvent", payload)
    assert [(v.kind, v.path) for v in violations] == [(K.PROPERTY_CONSTRAINT, "/timestamp")]
    assert "date-time" in violations[0].message


def test_min_items_is_occurrence() -> None:
    payload = meter_values_v16()
    payload["meterValue"] = []
    first = default_registry().validate_request(V16, "MeterValues", payload)[0]
    assert (first.kind, first.path) == (K.OCCURRENCE_CONSTRAINT, "/meterValue")


def test_messages_never_contain_the_offending_values() -> None:
    secret = "SECRET-VALUE-123"
    payload = meter_values_v16(samples=2)
    payload["connectorId"] = secret
    payload["meterValue"][0]["timestamp"] = secret
    payload["meterValue"][1]["sampledValue"][0]["unit"] = secret
    payload["vendorKey"] = secret
    payload["weird/name~" + "x" * 100] = 1
    violations = default_registry().validate_request(V16, "MeterValues", payload)
    assert len(violations) == 4
    # Unknown property names are field paths: shown when identifier-like, else "*".
    assert violations[1].path == "/vendorKey"
    assert violations[1].message.endswith("(and 1 more)")
    for v in violations:
        assert secret not in v.message
        assert "x" * 100 not in v.message + v.path


def test_violations_are_capped() -> None:
    payload = meter_values_v16(samples=100)
    for sample in payload["meterValue"]:
        sample["sampledValue"][0]["unit"] = "bogus"
    violations = default_registry().validate_request(V16, "MeterValues", payload)
    assert len(violations) == MAX_VIOLATIONS


def test_non_json_python_value_is_a_type_violation() -> None:
    payload = copy.deepcopy(boot_notification_v201())
    payload["reason"] = object()
    (violation,) = default_registry().validate_request(V201, "BootNotification", payload)
    assert violation.kind is K.TYPE_CONSTRAINT


def test_json_pointer_escapes() -> None:
    assert json_pointer([]) == ""
    assert json_pointer(["a/b", "c~d", 0]) == "/a~1b/c~0d/0"

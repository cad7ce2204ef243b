"""Every row of the error table (docs/protocol-errors.md), over a real WebSocket, per version."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from tests.wire import RawStation, raw_station

V16, V201, V21 = "ocpp1.6", "ocpp2.0.1", "ocpp2.1"
ALL = [V16, V201, V21]
FRAMEWORK = {V16: "FormationViolation", V201: "RpcFrameworkError", V21: "RpcFrameworkError"}
FORMAT = {V16: "FormationViolation", V201: "FormatViolation", V21: "FormatViolation"}
OCCURRENCE = {
    V16: "OccurenceConstraintViolation",  # sic: the 1.6 spelling (OCPP-J 1.6 errata)
    V201: "OccurrenceConstraintViolation",
    V21: "OccurrenceConstraintViolation",
}
HEARTBEAT_STATUS = {
    V16: ("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"}),
    V201: (
        "StatusNotification",
        {
            "timestamp": "2026-11-25T10:00:00Z",
            "connectorStatus": "Available",
            "evseId": 1,
            "connectorId": 1,
        },
    ),
}
HEARTBEAT_STATUS[V21] = HEARTBEAT_STATUS[V201]


@pytest.fixture
async def station_csms(csms: Csms) -> Csms:
    await csms.stations.create(StationSpec(id="CS1"))
    return csms


async def _error_for(station: RawStation, text: str) -> list[Any]:
    await station.send_raw(text)
    frame = await station.recv()
    assert frame[0] == 4, frame
    assert len(frame) == 5
    assert isinstance(frame[3], str)
    assert isinstance(frame[4], dict)
    return frame


async def _still_alive(station: RawStation) -> None:
    """The connection survives bad input: a valid CALL still gets its CALLRESULT."""
    assert (await station.call("Heartbeat", {}))[0] == 3


@pytest.mark.parametrize("subprotocol", ALL)
@pytest.mark.parametrize(
    "text",
    ['[2, "abc", "Heartbeat", {', "{}", "[]", '"hello"', "\x00[2,"],
    ids=["invalid-json", "object", "empty-array", "string", "nul-prefixed"],
)
async def test_unreadable_frames_get_minus_one_id(
    station_csms: Csms, subprotocol: str, text: str
) -> None:
    async with raw_station(station_csms, "CS1", subprotocol) as station:
        frame = await _error_for(station, text)
        assert frame[1] == "-1"
        assert frame[2] == FRAMEWORK[subprotocol]
        await _still_alive(station)


@pytest.mark.parametrize("subprotocol", ALL)
@pytest.mark.parametrize("message_id", [12, "x" * 37, None], ids=["int-id", "37-chars", "null-id"])
async def test_unusable_message_id_gets_minus_one(
    station_csms: Csms, subprotocol: str, message_id: object
) -> None:
    async with raw_station(station_csms, "CS1", subprotocol) as station:
        frame = await _error_for(station, orjson.dumps([2, message_id, "Heartbeat", {}]).decode())
        assert frame[1] == "-1"
        assert frame[2] == FRAMEWORK[subprotocol]


@pytest.mark.parametrize("subprotocol", ALL)
async def test_36_char_message_id_is_accepted(station_csms: Csms, subprotocol: str) -> None:
    async with raw_station(station_csms, "CS1", subprotocol) as station:
        frame = await station.call("Heartbeat", {}, message_id="y" * 36)
        assert frame[0] == 3


async def test_unknown_message_type_is_ignored_on_16_and_21_but_answered_on_201(
    station_csms: Csms,
) -> None:
    for subprotocol in (V16, V21):
        async with raw_station(station_csms, "CS1", subprotocol) as station:
            await station.send_raw('[7, "m1", "Heartbeat", {}]')
            # ignored: the next thing the station receives answers its next CALL
            assert (await station.call("Heartbeat", {}, message_id="m2"))[1] == "m2"
    async with raw_station(station_csms, "CS1", V201) as station:
        frame = await _error_for(station, '[7, "m1", "Heartbeat", {}]')
        assert frame[1] == "m1"
        assert frame[2] == "MessageTypeNotSupported"


@pytest.mark.parametrize("subprotocol", ALL)
@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ('[2, "m1", "Heartbeat"]', "framework"),
        ('[2, "m1", 42, {}]', "framework"),
        ('["2", "m1", "Heartbeat", {}]', "framework"),
        ('[2, "m1", "Heartbeat", []]', "format"),
    ],
    ids=["short-call", "action-not-string", "type-not-int", "payload-array"],
)
async def test_malformed_calls(
    station_csms: Csms, subprotocol: str, frame: str, expected: str
) -> None:
    async with raw_station(station_csms, "CS1", subprotocol) as station:
        error = await _error_for(station, frame)
        assert error[1] == "m1"
        table = FRAMEWORK if expected == "framework" else FORMAT
        assert error[2] == table[subprotocol]


@pytest.mark.parametrize("subprotocol", ALL)
async def test_unknown_action_is_not_implemented(station_csms: Csms, subprotocol: str) -> None:
    async with raw_station(station_csms, "CS1", subprotocol) as station:
        frame = await station.call("MakeCoffee", {})
        assert frame[2] == "NotImplemented"
        assert "MakeCoffee" not in frame[3]  # input is never echoed


@pytest.mark.parametrize("subprotocol", ALL)
async def test_known_but_unhandled_action_is_not_supported(
    station_csms: Csms, subprotocol: str
) -> None:
    # Reset is a CSMS-to-station action: known to OCPP, never handled by a CSMS
    payload = {"type": "Hard"} if subprotocol == V16 else {"type": "Immediate"}
    async with raw_station(station_csms, "CS1", subprotocol) as station:
        assert (await station.call("Reset", payload))[2] == "NotSupported"


@pytest.mark.parametrize("subprotocol", ALL)
@pytest.mark.parametrize(
    ("mutate", "codes"),
    [
        ("drop-required", OCCURRENCE),
        ("wrong-type", dict.fromkeys(ALL, "TypeConstraintViolation")),
        ("bad-enum", dict.fromkeys(ALL, "PropertyConstraintViolation")),
        ("extra-property", FORMAT),
        ("too-long", dict.fromkeys(ALL, "PropertyConstraintViolation")),
        ("bad-timestamp", dict.fromkeys(ALL, "PropertyConstraintViolation")),
    ],
)
async def test_schema_violations(
    station_csms: Csms, subprotocol: str, mutate: str, codes: dict[str, str]
) -> None:
    action, payload = HEARTBEAT_STATUS[subprotocol]
    payload = dict(payload)
    status_key = "status" if subprotocol == V16 else "connectorStatus"
    if mutate == "drop-required":
        del payload[status_key]
    elif mutate == "wrong-type":
        payload["connectorId"] = "one"
    elif mutate == "bad-enum":
        payload[status_key] = "Sleeping"
    elif mutate == "extra-property":
        payload["colour"] = "green"
    elif mutate == "too-long":
        if subprotocol == V16:
            payload["info"] = "i" * 51  # CiString50
        else:
            payload["customData"] = {"vendorId": "v" * 256}  # string[255]
    elif mutate == "bad-timestamp":
        payload["timestamp"] = "2026-11-25T10:00:00"  # no zone: not RFC 3339
    async with raw_station(station_csms, "CS1", subprotocol) as station:
        frame = await station.call(action, payload)
        assert frame[0] == 4, frame
        assert frame[2] == codes[subprotocol], frame
        assert "Sleeping" not in frame[3]
        assert "green" not in orjson.dumps(frame[4]).decode()
        await _still_alive(station)
    assert await station_csms.storage.status.for_station("CS1") == []


@pytest.mark.parametrize("subprotocol", ALL)
async def test_handler_crash_is_internal_error_and_connection_survives(
    station_csms: Csms, subprotocol: str
) -> None:
    async def broken(ctx: object, payload: object) -> dict[str, Any]:
        raise RuntimeError("secret internal detail")

    version = next(v for v in station_csms.router._tables if v.subprotocol == subprotocol)
    station_csms.router._tables[version]["Heartbeat"] = broken
    async with raw_station(station_csms, "CS1", subprotocol) as station:
        frame = await station.call("Heartbeat", {})
        assert frame[2] == "InternalError"
        assert "secret" not in frame[3]
        status_action, status_payload = HEARTBEAT_STATUS[subprotocol]
        assert (await station.call(status_action, status_payload))[0] == 3


@pytest.mark.parametrize("subprotocol", ALL)
async def test_later_calls_wait_while_one_is_handled(station_csms: Csms, subprotocol: str) -> None:
    """CALLs are handled one at a time: what a station sends meanwhile waits, then is answered in
    order (the session's own duplicate-id and queueing rules are unit-tested in tests/ocpp)."""
    gate = asyncio.Event()
    entered = asyncio.Event()

    async def slow(ctx: object, payload: object) -> dict[str, Any]:
        entered.set()
        await gate.wait()
        return {"currentTime": "2026-11-25T10:00:00.000Z"}

    version = next(v for v in station_csms.router._tables if v.subprotocol == subprotocol)
    station_csms.router._tables[version]["Heartbeat"] = slow
    async with raw_station(station_csms, "CS1", subprotocol) as station:
        await station.send_raw('[2, "held", "Heartbeat", {}]')
        await entered.wait()
        del station_csms.router._tables[version]["Heartbeat"]  # later ones get NotSupported
        await station.send_raw('[2, "next-1", "Heartbeat", {}]')
        await station.send_raw('[2, "next-2", "Heartbeat", {}]')
        with pytest.raises(TimeoutError):
            await station.recv(wait=0.3)  # nothing is answered while the first CALL is in hand
        gate.set()
        frames = [await station.recv() for _ in range(3)]
    assert [(f[0], f[1]) for f in frames] == [(3, "held"), (4, "next-1"), (4, "next-2")]


@pytest.mark.parametrize("subprotocol", ALL)
async def test_concurrent_calls_are_answered_in_order(station_csms: Csms, subprotocol: str) -> None:
    """A station that does not wait for answers (breaking OCPP-J §4.1.1) is served in order."""
    async with raw_station(station_csms, "CS1", subprotocol) as station:
        for i in range(5):
            await station.send_raw(f'[2, "c{i}", "Heartbeat", {{}}]')
        ids = [(await station.recv())[1] for _ in range(5)]
        assert ids == [f"c{i}" for i in range(5)]


async def test_null_payload_is_accepted_as_empty_object(station_csms: Csms) -> None:
    async with raw_station(station_csms, "CS1", V201) as station:
        await station.send_raw('[2, "n1", "Heartbeat", null]')
        frame = await station.recv()
        assert frame[0] == 3
        assert frame[1] == "n1"


async def test_21_send_is_never_answered(station_csms: Csms) -> None:
    async with raw_station(station_csms, "CS1", V21) as station:
        send = {"id": 1, "seqNo": 0, "tbc": False, "data": [{"t": 1.5, "v": "1"}]}
        await station.send_raw(orjson.dumps([6, "s1", "NotifyPeriodicEventStream", send]).decode())
        assert (await station.call("Heartbeat", {}, message_id="after-send"))[1] == "after-send"


async def test_tolerant_station_deviations_are_accepted_and_recorded(csms: Csms) -> None:
    await csms.stations.create(
        StationSpec(
            id="LAX",
            strictness=__import__(
                "opencsms.domain.model", fromlist=["Strictness"]
            ).Strictness.TOLERANT,
        )
    )
    payload = {
        "connectorId": 1,
        "errorCode": "noerror",
        "status": "AVAILABLE",
        "timestamp": "2026-11-25T10:00:00",
        "firmwareColour": "blue",
    }
    async with raw_station(csms, "LAX", V16) as station:
        frame = await station.call("StatusNotification", payload)
        assert frame[0] == 3, frame
    [status] = await csms.storage.status.for_station("LAX")
    assert status.status == "Available"
    assert status.error_code == "NoError"
    assert status.reported_at is not None
    assert status.reported_at.tzinfo is not None
    deviations = await csms.storage.deviations.for_station("LAX")
    kinds = {(d.kind, d.path) for d in deviations}
    assert len(kinds) == 4, kinds
    assert all(d.action == "StatusNotification" and d.count == 1 for d in deviations)


async def test_strict_station_refuses_the_same_deviations(station_csms: Csms) -> None:
    payload = {"connectorId": 1, "errorCode": "NoError", "status": "AVAILABLE"}
    async with raw_station(station_csms, "CS1", V16) as station:
        frame = await station.call("StatusNotification", payload)
        assert frame[2] == "PropertyConstraintViolation"

"""The station gateway over real sockets: ids, 404/401, subprotocols, duplicate connections."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from opencsms.app import Csms
from opencsms.config import UnknownStationPolicy
from opencsms.domain.model import RegistrationStatus
from opencsms.domain.stations import StationSpec
from tests.wire import api_client, basic_auth, raw_station, running_csms, settings_for

PASSWORD = "a-very-secret-password-1"
BOOT_16 = {"chargePointVendor": "ACME", "chargePointModel": "Wallbox 1"}


async def _status_of_refusal(csms: Csms, path: str, **kwargs: object) -> int:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            f"ws://127.0.0.1:{csms.ports.ocpp}{path}",
            subprotocols=[Subprotocol("ocpp1.6")],
            open_timeout=5,
            **kwargs,  # type: ignore[arg-type]
        ):
            pass
    return refused.value.response.status_code


async def test_unknown_station_is_refused_with_404(csms: Csms) -> None:
    assert await _status_of_refusal(csms, "/ocpp/NOBODY") == 404


async def test_invalid_station_ids_are_refused_with_400(csms: Csms) -> None:
    assert await _status_of_refusal(csms, "/ocpp/" + "X" * 49) == 400
    assert await _status_of_refusal(csms, "/ocpp/A%3AB") == 400  # ':' is the Basic-auth separator
    assert await _status_of_refusal(csms, "/elsewhere/CS1") == 400


async def test_percent_encoded_station_id_is_decoded(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="RDAM 123"))
    async with raw_station(csms, "RDAM%20123") as station:
        reply = await station.result("BootNotification", BOOT_16)
        assert reply["status"] == "Accepted"
    stored = await csms.storage.stations.get("RDAM 123")
    assert stored is not None
    assert stored.boot is not None
    assert stored.boot.vendor == "ACME"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (None, 401),
        (basic_auth("CS-PW", "wrong-password-000000"), 401),
        (basic_auth("OTHER", PASSWORD), 401),  # the user name must be the station id
        ({"Authorization": "Bearer abc"}, 401),
    ],
)
async def test_basic_auth_is_required_when_the_station_has_a_password(
    csms: Csms, headers: dict[str, str] | None, expected: int
) -> None:
    await csms.stations.create(StationSpec(id="CS-PW", password=PASSWORD))
    status = await _status_of_refusal(csms, "/ocpp/CS-PW", additional_headers=headers)
    assert status == expected


async def test_correct_basic_auth_connects(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CS-PW", password=PASSWORD))
    async with raw_station(csms, "CS-PW", headers=basic_auth("CS-PW", PASSWORD)) as station:
        assert (await station.result("Heartbeat", {}))["currentTime"].endswith("Z")


async def test_admission_follows_operator_changes_at_once(csms: Csms) -> None:
    """Admission data is kept in memory (no database read per handshake): a changed password,
    a changed registration and a deleted station apply to the very next connection."""
    await csms.stations.create(StationSpec(id="CS-CH", password=PASSWORD))
    new_password = "another-secret-password-2"
    await csms.stations.update("CS-CH", {"password": new_password})
    old = await _status_of_refusal(
        csms, "/ocpp/CS-CH", additional_headers=basic_auth("CS-CH", PASSWORD)
    )
    assert old == 401
    async with raw_station(csms, "CS-CH", headers=basic_auth("CS-CH", new_password)) as station:
        assert (await station.result("Heartbeat", {}))["currentTime"].endswith("Z")
    await csms.stations.delete("CS-CH")
    assert await _status_of_refusal(csms, "/ocpp/CS-CH") == 404


async def test_stations_in_the_database_are_admitted_after_a_restart(tmp_path: Path) -> None:
    """Access data is loaded at start: a station created by an earlier run is admitted."""
    settings = settings_for(tmp_path)
    async with running_csms(settings) as first:
        await first.stations.create(StationSpec(id="CS-OLD", password=PASSWORD))
    async with (
        running_csms(settings) as second,
        raw_station(second, "CS-OLD", headers=basic_auth("CS-OLD", PASSWORD)) as station,
    ):
        assert (await station.result("Heartbeat", {}))["currentTime"].endswith("Z")
    async with running_csms(settings) as third:
        refused = await _status_of_refusal(
            third, "/ocpp/CS-OLD", additional_headers=basic_auth("CS-OLD", "wrong-password-000000")
        )
    assert refused == 401


async def test_password_is_stored_hashed(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CS-PW", password=PASSWORD))
    stored = await csms.storage.stations.get("CS-PW")
    assert stored is not None
    assert stored.password_hash is not None
    assert PASSWORD not in stored.password_hash


@pytest.mark.parametrize(
    ("offered", "expected"),
    [
        (["ocpp1.6"], "ocpp1.6"),
        (["ocpp2.0.1"], "ocpp2.0.1"),
        (["ocpp2.1"], "ocpp2.1"),
        (["ocpp1.6", "ocpp2.0.1"], "ocpp2.0.1"),  # server preference: 2.1, 2.0.1, 1.6
        (["ocpp1.5", "ocpp1.6"], "ocpp1.6"),
    ],
)
async def test_subprotocol_follows_server_preference(
    csms: Csms, offered: list[str], expected: str
) -> None:
    await csms.stations.create(StationSpec(id="CS1"))
    async with raw_station(csms, "CS1", subprotocols=offered) as station:
        assert station.ws.subprotocol == expected


async def test_configured_preference_order_is_honoured(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, subprotocols=("ocpp1.6", "ocpp2.0.1"))
    async with running_csms(settings) as csms:
        await csms.stations.create(StationSpec(id="CS1"))
        async with raw_station(csms, "CS1", subprotocols=["ocpp2.0.1", "ocpp1.6"]) as station:
            assert station.ws.subprotocol == "ocpp1.6"


@pytest.mark.parametrize("offered", [["ocpp1.5"], []])
async def test_no_common_subprotocol_completes_handshake_then_closes(
    csms: Csms, offered: list[str]
) -> None:
    """OCPP-J 2.0.1 part 4 §3.1: answer without Sec-WebSocket-Protocol, then close at once."""
    await csms.stations.create(StationSpec(id="CS1"))
    async with raw_station(csms, "CS1", subprotocols=offered) as station:
        assert station.ws.subprotocol is None
        with pytest.raises(ConnectionClosed) as closed:
            await station.ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1002


async def test_new_connection_replaces_the_old_one(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CS1"))
    async with raw_station(csms, "CS1") as first:
        await first.result("BootNotification", BOOT_16)
        async with raw_station(csms, "CS1") as second:
            with pytest.raises(ConnectionClosed):
                await first.ws.recv()
            # the old connection's teardown must not disturb the new one
            assert (await second.result("Heartbeat", {}))["currentTime"]
            live = csms.registry.get("CS1")
            assert live is not None
            assert not live.closed
            async with api_client(csms) as api:
                body = (await api.get("/api/v1/stations/CS1")).json()
            assert body["connected"] is True
            assert body["last_disconnected_at"] is None


async def test_disconnect_is_recorded(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CS1"))
    async with raw_station(csms, "CS1") as station:
        await station.result("BootNotification", BOOT_16)
        connection = csms.registry.get("CS1")
        assert connection is not None
    async with asyncio.timeout(5):
        await connection.finished.wait()
    assert csms.registry.get("CS1") is None
    async with api_client(csms) as api:
        body = (await api.get("/api/v1/stations/CS1")).json()
    assert body["connected"] is False
    assert body["last_disconnected_at"] is not None
    assert body["ocpp_version"] == "1.6"
    # the last frame's time is kept even though the periodic flush never saw this connection
    assert body["last_seen"] == connection.state.last_message_at.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("policy", "registration"),
    [(UnknownStationPolicy.ACCEPT, "Accepted"), (UnknownStationPolicy.PENDING, "Pending")],
)
async def test_unknown_station_policy_auto_registers(
    tmp_path: Path, policy: UnknownStationPolicy, registration: str
) -> None:
    async with running_csms(settings_for(tmp_path, unknown_stations=policy)) as csms:
        async with raw_station(csms, "NEW-1") as station:
            assert (await station.result("BootNotification", BOOT_16))["status"] == registration
        stored = await csms.storage.stations.get("NEW-1")
        assert stored is not None
        assert stored.registration == RegistrationStatus(registration)


async def test_permessage_deflate_is_negotiated(csms: Csms) -> None:
    """OCPP-J 2.0.1 part 4 §3.3: a CSMS must support RFC 7692 compression."""
    await csms.stations.create(StationSpec(id="CS1"))
    async with connect(
        f"ws://127.0.0.1:{csms.ports.ocpp}/ocpp/CS1",
        subprotocols=[Subprotocol("ocpp2.0.1")],
        compression="deflate",
    ) as ws:
        names = [type(ext).__name__ for ext in ws.protocol.extensions]
        assert names == ["PerMessageDeflate"]
        await ws.send('[2, "z1", "Heartbeat", {}]')
        assert '"z1"' in str(await ws.recv())


async def test_frames_over_the_size_limit_close_the_connection(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path, max_frame_size=4096)) as csms:
        await csms.stations.create(StationSpec(id="CS1"))
        async with raw_station(csms, "CS1") as station:
            await station.send_raw(
                '[2, "big", "DataTransfer", {"vendorId": "x", "data": "%s"}]' % ("y" * 5000)
            )
            with pytest.raises(ConnectionClosed) as closed:
                await station.ws.recv()
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1009  # message too big


async def test_silent_peer_is_dropped_after_ping_timeout(tmp_path: Path) -> None:
    """A station whose link died without a TCP close is detected by WebSocket ping/pong."""
    settings = settings_for(tmp_path, ping_interval=0.2, ping_timeout=0.2, close_timeout=0.2)
    async with running_csms(settings) as csms:
        await csms.stations.create(StationSpec(id="MUTE"))
        reader, writer = await asyncio.open_connection("127.0.0.1", csms.ports.ocpp)
        writer.write(
            b"GET /ocpp/MUTE HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
        )
        assert b"101" in await reader.readline()
        await reader.readuntil(b"\r\n\r\n")
        # one masked text frame (RFC 6455 §5.2) carrying a Heartbeat, then read its answer: from
        # here on the connection is certainly registered
        payload = b'[2,"hb","Heartbeat",{}]'
        mask = b"\x01\x02\x03\x04"
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        writer.write(bytes([0x81, 0x80 | len(payload)]) + mask + masked)
        header = await reader.readexactly(2)
        assert header[0] == 0x81
        assert b'"hb"' in await reader.readexactly(header[1] & 0x7F)
        connection = csms.registry.get("MUTE")
        assert connection is not None
        async with asyncio.timeout(5):
            # the peer never answers pings: the server must give up and record the disconnect
            await connection.finished.wait()
        writer.close()
        stored = await csms.storage.stations.get("MUTE")
        assert stored is not None
        assert stored.last_disconnected_at is not None
        assert csms.registry.get("MUTE") is None

"""1.6 AuthorizationKey encodings over the wire (security whitepaper A00.FR.205, §7.2).

The key is "randomly generated binary ... hexadecimal represented": a 1.6 station may put the hex
text in the Basic header or the bytes it stands for; both are let in. 2.0.1 says the password is
sent as UTF-8 text, so a 2.0.1 station's binary password is refused.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus

from opencsms.app import Csms
from opencsms.config import StationSeed
from opencsms.passwords import parse_basic_credentials, password_candidates
from tests.wire import raw_station, running_csms, settings_for

KEY = secrets.token_bytes(20)
KEY_UPPER = secrets.token_bytes(16)


def _header(user: str, password: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(user.encode() + b":" + password).decode()}


@pytest.fixture
async def csms(tmp_path: Path) -> AsyncIterator[Csms]:
    settings = settings_for(
        tmp_path,
        stations=(
            StationSeed(id="HEX", password=KEY.hex()),
            StationSeed(id="UPPER", password=KEY_UPPER.hex().upper()),
        ),
    )
    async with running_csms(settings) as node:
        yield node


async def _status(csms: Csms, station_id: str, password: bytes, version: str) -> int:
    try:
        async with raw_station(csms, station_id, version, headers=_header(station_id, password)):
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


async def test_a_16_station_may_send_the_key_as_hex_text_or_as_bytes(csms: Csms) -> None:
    assert await _status(csms, "HEX", KEY.hex().encode(), "ocpp1.6") == 101
    assert await _status(csms, "HEX", KEY, "ocpp1.6") == 101
    assert await _status(csms, "UPPER", KEY_UPPER, "ocpp1.6") == 101
    assert await _status(csms, "UPPER", KEY_UPPER.hex().upper().encode(), "ocpp1.6") == 101
    wrong = bytes(b ^ 1 for b in KEY)
    assert await _status(csms, "HEX", wrong, "ocpp1.6") == 401
    assert await _status(csms, "HEX", wrong.hex().encode(), "ocpp1.6") == 401


async def test_a_201_station_must_send_the_text(csms: Csms) -> None:
    """2.0.1 appendix: BasicAuthPassword "SHALL be sent as a UTF-8 encoded string"."""
    assert await _status(csms, "HEX", KEY.hex().encode(), "ocpp2.0.1") == 101
    assert await _status(csms, "HEX", KEY, "ocpp2.0.1") == 401


def test_password_candidates() -> None:
    assert password_candidates(b"0123456789abcdef0123", ocpp16=False) == ["0123456789abcdef0123"]
    raw = bytes(range(0x80, 0x94))  # 20 bytes, not UTF-8
    assert password_candidates(raw, ocpp16=False) == []
    assert password_candidates(raw, ocpp16=True) == [raw.hex(), raw.hex().upper()]
    shortest = bytes(15) + b"\xff"  # 16 bytes: the whitepaper's minimum
    assert password_candidates(shortest, ocpp16=True) == [shortest.hex(), shortest.hex().upper()]
    assert password_candidates(b"\xff" * 21, ocpp16=True) == []  # longer than an AuthorizationKey


def test_parse_basic_credentials_keeps_binary_passwords() -> None:
    header = _header("CS-1", b"\x00:\xff")
    assert parse_basic_credentials(header["Authorization"]) == ("CS-1", b"\x00:\xff")
    assert parse_basic_credentials("Basic " + base64.b64encode(b"\xff:pw").decode()) is None

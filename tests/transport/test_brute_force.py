"""Brute-force protection over the wire: station Basic auth and the operator API token."""

from __future__ import annotations

from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus

from opencsms.app import Csms
from opencsms.config import StationSeed
from tests.wire import api_client, basic_auth, raw_station, running_csms, settings_for

PASSWORD = "brute-force-password-01"


async def _status(csms: Csms, station_id: str, password: str) -> int:
    try:
        async with raw_station(csms, station_id, headers=basic_auth(station_id, password)):
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


async def test_failed_logins_back_off_per_station_id_and_a_known_station_still_gets_in(
    tmp_path: Path,
) -> None:
    settings = settings_for(
        tmp_path,
        auth_backoff_free_failures=2,
        auth_backoff_base=30.0,
        stations=(
            StationSeed(id="VICTIM", password=PASSWORD),
            StationSeed(id="OTHER", password=PASSWORD),
        ),
    )
    async with running_csms(settings) as csms:
        assert await _status(csms, "VICTIM", PASSWORD) == 101  # known (id, address) pair
        assert [await _status(csms, "OTHER", "wrong-password-00000") for _ in range(3)] == [
            401,
            401,
            401,
        ]
        # blocked: refused without checking, even the right password
        with pytest.raises(InvalidStatus) as blocked:
            async with raw_station(csms, "OTHER", headers=basic_auth("OTHER", PASSWORD)):
                pass
        assert blocked.value.response.status_code == 429
        assert 0 < int(blocked.value.response.headers["Retry-After"]) <= 30
        # the same address is not blocked for a station that authenticated from it before
        assert await _status(csms, "VICTIM", PASSWORD) == 101


async def test_wrong_operator_tokens_back_off_per_address(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, auth_backoff_free_failures=1, auth_backoff_base=30.0)
    async with (
        running_csms(settings) as csms,
        api_client(csms, token="wrong") as wrong,
        api_client(csms) as right,
    ):
        assert (await right.get("/api/v1/stations")).status_code == 200
        codes = [(await wrong.get("/api/v1/stations")).status_code for _ in range(5)]
        # 1 x 4 free failures for an address, the 5th blocks it (the operator's own client at
        # that address too: the block is per address)
        assert codes == [401, 401, 401, 401, 401]
        refused = await right.get("/api/v1/stations")
        assert refused.status_code == 429
        assert "Retry-After" in refused.headers

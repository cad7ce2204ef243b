"""Fuzzing HTTP Basic-auth parsing, alone and through the live gateway (bounded: < 20 s each).

``parse_basic_authorization`` takes any header value and returns (user, password) or None, never
raising; the gateway answers any Authorization header with 401 (or 429 once the back-off blocks
the caller), never a 500 and never a crash, and keeps serving afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import random
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from opencsms.config import StationSeed
from opencsms.passwords import parse_basic_authorization
from tests.wire import basic_auth, raw_station, running_csms, settings_for

PASSWORD = "fuzzing-password-00001"

_credentials = st.builds(
    lambda user, sep, password: user + sep + password,
    st.text(max_size=30),
    st.sampled_from([":", "", "::", " : "]),
    st.text(max_size=60),
)
headers = st.one_of(
    st.none(),
    st.text(max_size=120),
    st.builds(
        lambda scheme, space, token: scheme + space + token,
        st.sampled_from(["Basic", "basic", "BASIC", "Bearer", "Digest", "", "Basic\t"]),
        st.sampled_from([" ", "  ", "", "\t"]),
        st.one_of(
            st.text(max_size=80),
            st.binary(max_size=60).map(lambda b: base64.b64encode(b).decode()),
            _credentials.map(
                lambda c: base64.b64encode(c.encode("utf-8", "surrogatepass")).decode()
            ),
        ),
    ),
)


@settings(max_examples=1000, deadline=None)
@given(header=headers)
def test_parse_basic_authorization_never_raises(header: str | None) -> None:
    parsed = parse_basic_authorization(header)
    if parsed is not None:
        user, password = parsed
        assert isinstance(user, str)
        assert isinstance(password, str)
        assert ":" not in user  # the first ':' separates them (RFC 7617 §2)


def _random_header(rng: random.Random) -> str:
    """A printable-ASCII Authorization value (what an HTTP client can put on the wire)."""
    roll = rng.random()
    printable = string.ascii_letters + string.digits + string.punctuation + " "
    if roll < 0.3:
        return "".join(rng.choice(printable) for _ in range(rng.randrange(0, 100)))
    if roll < 0.6:
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 60)))
        return (
            rng.choice(["Basic ", "basic ", "Basic  ", "Bearer "]) + base64.b64encode(raw).decode()
        )
    user = rng.choice(["FZ", "fz", "FZ ", "", "other", "FZ:FZ"])
    password = rng.choice([PASSWORD[:-1], PASSWORD + "x", "", PASSWORD.upper(), "é" * 20])
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return "Basic " + rng.choice([token, token[:-2], token + "=", token.replace("=", "")])


async def test_the_gateway_answers_any_authorization_header_with_401_or_429(
    tmp_path: Path,
) -> None:
    settings = settings_for(
        tmp_path,
        auth_backoff_free_failures=50,
        auth_backoff_base=60.0,
        stations=(StationSeed(id="FZ", password=PASSWORD), StationSeed(id="OK", password=PASSWORD)),
    )
    rng = random.Random("opencsms-basic-auth")
    seen: dict[int, int] = {}
    async with running_csms(settings) as csms, asyncio.timeout(18):
        for _ in range(200):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(
                    f"ws://127.0.0.1:{csms.ports.ocpp}/ocpp/FZ",
                    subprotocols=[Subprotocol("ocpp1.6")],
                    additional_headers={"Authorization": _random_header(rng)},
                    open_timeout=5,
                ):
                    pass
            code = refused.value.response.status_code
            seen[code] = seen.get(code, 0) + 1
        assert set(seen) <= {401, 429}, seen
        # 50 free failures; the 51st blocks the station id: 429s without checking
        assert seen[401] == 51
        assert seen[429] == 149
        # Still serving: another station (its id not blocked, the address below its own limit
        # of 4 x 50 failures) gets in.
        async with raw_station(csms, "OK", headers=basic_auth("OK", PASSWORD)) as station:
            boot = {"chargePointVendor": "ACME", "chargePointModel": "X"}
            assert (await station.result("BootNotification", boot))["status"] == "Accepted"

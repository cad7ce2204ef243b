"""Fuzzing the frame parser and RPC session (bounded: each test well under 20 s).

Whatever a station sends, the CSMS side answers only with well-formed frames: a CALLERROR with
one of the version's error codes (OCPP-J 1.6 §4.2.3, 2.0.1 part 4 §4.2.3), a CALLRESULT to a call
it handled, or nothing for what the version says to ignore; it never raises. Over the wire, every
frame that comes back is valid or the connection is closed cleanly.
"""

from __future__ import annotations

import asyncio
import json
import random
import string
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from opencsms.ocpp.actions import Role, incoming_actions
from opencsms.ocpp.error_codes import ERROR_CODES
from opencsms.ocpp.events import IncomingCall
from opencsms.ocpp.session import Strictness
from opencsms.ocpp.version import OcppVersion
from tests.ocpp.builders import make_session
from tests.wire import raw_station

ALL = list(OcppVersion)
ACTIONS = sorted(set().union(*(incoming_actions(v, Role.CSMS) for v in ALL)))

_json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    _json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
frames_ish = st.builds(
    lambda head, tail: [*head, *tail],
    st.tuples(
        st.sampled_from([2, 3, 4, 5, 6, 0, -1, 99, "2", None, 2.0, True]),
        st.one_of(st.text(max_size=40), st.integers(), st.none()),
    ),
    st.lists(st.one_of(st.sampled_from(ACTIONS), json_values), max_size=4),
)
"""JSON arrays that look like OCPP-J frames: a type id, a message id, then actions/payloads."""

messages = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200),
    # json, not orjson: it writes integers beyond 64 bits and NaN, which a station may send too
    json_values.map(json.dumps),
    frames_ish.map(json.dumps),
)


def assert_valid_reply(version: OcppVersion, frame: Any) -> None:
    """A frame the CSMS may send: a CALLERROR with a known code, a CALLRESULT, or its own CALL."""
    assert isinstance(frame, list), frame
    # the station's own message id echoed (even ""), or "-1" when it had no readable one
    assert isinstance(frame[1], str), frame
    assert len(frame[1]) <= 36, frame
    shape = [type(part).__name__ for part in frame]
    if frame[0] == 4:
        assert shape == ["int", "str", "str", "str", "dict"], frame
        assert frame[2] in ERROR_CODES[version].values(), frame
    elif frame[0] == 3:
        assert shape == ["int", "str", "dict"], frame
    else:
        assert frame[0] == 2, frame
        assert shape == ["int", "str", "str", "dict"], frame


@pytest.mark.parametrize("strictness", list(Strictness))
@pytest.mark.parametrize("version", ALL)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.lists(messages, min_size=1, max_size=5))
def test_session_answers_any_input_with_valid_frames_only(
    version: OcppVersion, strictness: Strictness, data: list[str | bytes]
) -> None:
    session = make_session(version, strictness=strictness)
    for now, message in enumerate(data):
        for event in session.receive(message, float(now)):
            if isinstance(event, IncomingCall):  # a handler failure: InternalError
                session.answer_error(event.call, RuntimeError("fuzz"))
        for text in session.data_to_send():
            assert_valid_reply(version, orjson.loads(text))


def _random_frame(rng: random.Random) -> str:
    """A random, mostly frame-shaped message (seeded: the run is reproducible)."""
    roll = rng.random()
    if roll < 0.1:
        return "".join(rng.choice(string.printable) for _ in range(rng.randrange(0, 60)))
    if roll < 0.2:
        return rng.choice(['{"a": 1}', "[]", "[2]", '[2, "x"]', "null", "[" * 50, '"' * 3])
    type_id = rng.choice([2, 2, 2, 3, 4, 5, 6, 7, "2", None])
    message_id: Any = rng.choice([f"f{rng.randrange(10**6)}", "", "x" * 37, 17, None, "probe-1"])
    action = rng.choice([*ACTIONS, "NoSuchAction", "", 3])
    payload: Any = rng.choice(
        [{}, {"idTag": "T"}, {"a": [1, {"b": None}]}, [], None, "s", {"reason": "PowerUp"}]
    )
    frame: list[Any] = [type_id, message_id, action, payload][: rng.randrange(2, 6)]
    return orjson.dumps(frame).decode()


@pytest.mark.parametrize(("version", "subprotocol"), [(v, v.subprotocol) for v in ALL])
async def test_a_live_csms_answers_random_frames_validly_or_closes_cleanly(
    csms: Csms, version: OcppVersion, subprotocol: str
) -> None:
    await csms.stations.create(StationSpec(id="FUZZ"))
    rng = random.Random(f"opencsms-{version.value}")
    sent = 0
    probes = 0
    async with asyncio.timeout(18):
        while sent < 250:
            try:
                async with raw_station(csms, "FUZZ", subprotocol) as station:
                    while sent < 250:
                        await station.send_raw(_random_frame(rng))
                        sent += 1
                        # A Heartbeat probe after each: every frame until its answer must be
                        # valid, and the answer shows the connection is still serving.
                        probes += 1
                        probe = f"probe-{probes}-{sent}"
                        await station.send_raw(orjson.dumps([2, probe, "Heartbeat", {}]).decode())
                        while True:
                            frame = await station.recv()
                            assert_valid_reply(version, frame)
                            if frame[1] == probe:
                                break
            except ConnectionClosed as closed:
                # Only a clean close: the CSMS sent a close frame with a code.
                clean = closed.rcvd is not None
                assert clean, closed  # noqa: PT017 - the loop goes on after a clean close
    assert sent == 250

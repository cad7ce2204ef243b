"""The upgrade flow's decisions (opencsms.security.profile_upgrade) with a station port played by
the test: which steps are sent, when the flow stops, and what happens to the pending profile."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from opencsms.app import Csms
from opencsms.config import StationSeed
from opencsms.errors import CallTimeoutError
from opencsms.security.profile_upgrade import (
    NetworkProfile,
    ProfileUpgrade,
    UpgradeRefused,
    next_slot,
    prerequisite_warnings,
)
from tests.wire import running_csms, settings_for

NETWORK = NetworkProfile("wss://csms.example.com:9443/ocpp", 2)


class Station201:
    """A 2.0.1 station's answers, scripted; records what it was sent."""

    def __init__(self, priority: list[int] | None, answers: dict[str, str | Exception]) -> None:
        self.priority = priority
        self.answers = answers
        self.sent: list[tuple[str, object]] = []

    @property
    def ocpp_version(self) -> str:
        return "2.0.1"

    def _answer(self, action: str, what: object) -> str:
        self.sent.append((action, what))
        answer = self.answers.get(action, "Accepted")
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def set_security_profile_key(self, profile: int) -> str:
        raise AssertionError("not a 1.6 station")

    async def network_priority(self) -> list[int] | None:
        return self.priority

    async def set_network_profile(self, slot: int, profile: NetworkProfile) -> str:
        return self._answer("SetNetworkProfile", (slot, profile.security_profile))

    async def set_network_priority(self, slots: list[int]) -> str:
        return self._answer("SetVariables", slots)

    async def reset(self) -> str:
        return self._answer("Reset", "OnIdle")


@pytest.fixture
async def csms(tmp_path: Path) -> AsyncIterator[Csms]:
    settings = settings_for(tmp_path, stations=(StationSeed(id="S", password="x" * 16),))
    async with running_csms(settings) as node:
        yield node


async def test_every_step_accepted_leaves_the_profile_pending(csms: Csms) -> None:
    station = Station201([0, 1], {"SetVariables": "RebootRequired"})
    outcome = await ProfileUpgrade(csms.security).run("S", 2, station, NETWORK)
    assert outcome.sent
    assert station.sent == [
        ("SetNetworkProfile", (2, 2)),
        ("SetVariables", [2, 0, 1]),
        ("Reset", "OnIdle"),
    ]
    assert csms.security.get("S").pending_security_profile == 2
    assert csms.security.profile_of("S") == 1


async def test_a_refused_step_stops_the_flow_and_drops_the_pending_profile(csms: Csms) -> None:
    station = Station201(None, {"SetNetworkProfile": "Rejected"})
    outcome = await ProfileUpgrade(csms.security).run("S", 2, station, NETWORK, slot=1)
    assert not outcome.sent
    assert [action for action, _ in station.sent] == ["SetNetworkProfile"]
    assert outcome.steps[-1].status == "Rejected"
    assert csms.security.get("S").pending_security_profile is None


async def test_no_answer_keeps_the_pending_profile(csms: Csms) -> None:
    """The station may have switched without its answer reaching the CSMS (A05.FR.08)."""
    station = Station201([0], {"Reset": CallTimeoutError("no answer in 30 s")})
    outcome = await ProfileUpgrade(csms.security).run("S", 3, station, NETWORK)
    assert not outcome.sent
    assert outcome.steps[-1].error == "no answer in 30 s"
    assert csms.security.accepted_profiles("S") == frozenset({1, 3})


async def test_refusals(csms: Csms) -> None:
    upgrade = ProfileUpgrade(csms.security)
    with pytest.raises(UpgradeRefused) as same:
        upgrade.check("S", 1)
    assert same.value.status_code == 409
    await csms.security.set_profile("S", 2, allow_downgrade=True)
    await csms.security.connected("S", 2)
    with pytest.raises(UpgradeRefused) as lower:
        upgrade.check("S", 1)
    assert lower.value.status_code == 400
    with pytest.raises(UpgradeRefused) as no_url:
        await upgrade.run("S", 3, Station201([0], {}))
    assert no_url.value.status_code == 400
    assert csms.security.get("S").pending_security_profile is None  # nothing was recorded


def test_next_slot_and_prerequisites() -> None:
    assert next_slot(None) == 1
    assert next_slot([]) == 1
    assert next_slot([0, 2]) == 3
    assert len(prerequisite_warnings(3, set())) == 2
    assert prerequisite_warnings(2, {"CSMSRootCertificate"}) == []
    assert len(prerequisite_warnings(3, {"CSMSRootCertificate"})) == 1

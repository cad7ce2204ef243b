"""Builders for simulator tests: a station config pointed at the test CSMS, a manual clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from opencsms.app import Csms
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import BackOffConfig, StationConfig

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


class ManualClock:
    """A clock that moves only when told to (ARCHITECTURE rule 3: inject the clock)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def now(self) -> datetime:
        return T0 + timedelta(seconds=self.seconds)

    def monotonic(self) -> float:
        return self.seconds

    def advance(self, seconds: float) -> None:
        self.seconds += seconds


def sim_config(
    csms: Csms, station_id: str, version: OcppVersion = OcppVersion.V201, **changes: Any
) -> StationConfig:
    """A station of ``version`` for the running ``csms``, reconnecting fast, short timeouts."""
    values: dict[str, Any] = {
        "id": station_id,
        "version": version,
        "csms_url": f"ws://127.0.0.1:{csms.ports.ocpp}/ocpp",
        "call_timeout": 5.0,
        "open_timeout": 5.0,
        "backoff": BackOffConfig(wait_minimum=0.5, random_range=0.0, repeat_times=2),
    }
    values.update(changes)
    return StationConfig(**values)

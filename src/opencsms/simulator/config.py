"""What a simulated charging station is: identity, protocol, EVSEs and timing.

Plain frozen dataclasses; the behaviour lives in :mod:`opencsms.simulator.station`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from opencsms.ocpp.version import OcppVersion

__all__ = [
    "DEFAULT_MEASURANDS",
    "BackOffConfig",
    "EvseConfig",
    "Iso15118Config",
    "StationConfig",
]

DEFAULT_MEASURANDS: tuple[str, ...] = (
    "Energy.Active.Import.Register",
    "Power.Active.Import",
    "Current.Import",
    "Voltage",
    "SoC",
)
"""Measurands sampled by default (1.6 MeterValuesSampledData, 2.0.1 TxUpdatedMeasurands)."""


@dataclass(frozen=True, slots=True)
class EvseConfig:
    """One EVSE with one connector (2.0.1 part 1 §2.1 three-tier model; a 1.6 connector).

    ``max_power_w`` is the most the EVSE delivers; ``phases`` is 1 or 3 (AC);
    ``voltage_v`` the phase-to-neutral voltage reported as ``Voltage``.
    """

    max_power_w: float = 11_000.0
    phases: int = 3
    voltage_v: float = 230.0

    def __post_init__(self) -> None:
        if self.phases not in (1, 3):
            raise ValueError("phases must be 1 or 3")
        if self.max_power_w <= 0 or self.voltage_v <= 0:
            raise ValueError("max_power_w and voltage_v must be positive")


@dataclass(frozen=True, slots=True)
class BackOffConfig:
    """Reconnection back-off, OCPP-J 2.0.1 part 4 §5.3 (OCPPCommCtrlr.RetryBackOff*).

    The first attempt waits ``wait_minimum`` plus a random value up to ``random_range``; every
    failed attempt doubles the base wait, at most ``repeat_times`` times; after that the station
    keeps reconnecting with the last wait. Seconds are floats so tests can use short waits (the
    device model reports them as integers, rounded up).
    """

    wait_minimum: float = 5.0
    random_range: float = 5.0
    repeat_times: int = 5


@dataclass(frozen=True, slots=True)
class Iso15118Config:
    """The EVs of a 2.0.1 / 2.1 station speak ISO 15118 (simulator/iso15118.py): they send
    their charging needs after a transaction starts and choose a schedule within a TxProfile."""

    dc: bool = False
    """DC parameters (``dc_voltage_v``) instead of AC ones from the EVSE's phases."""
    dc_voltage_v: float = 400.0
    departure_s: int = 4 * 3600
    """Departure time announced, from the start of the transaction."""
    max_schedule_tuples: int = 24
    schedule_span_s: int = 24 * 3600
    """How long an EV schedule runs when the TxProfile's schedule has no duration."""


@dataclass(frozen=True, slots=True)
class StationConfig:
    """Everything needed to run one :class:`~opencsms.simulator.station.SimulatedStation`.

    ``csms_url`` is the CSMS's OCPP endpoint *without* the station id (``ws://host:port/ocpp``);
    OCPP-J (1.6 §3.1.1, 2.0.1 part 4 §3.1.1) appends the identity as the last path segment.
    ``password`` turns on security profile 1 (HTTP Basic, user = station id; 1.6 security
    whitepaper §3.1, 2.0.1 A00). ``heartbeat_interval`` is used until a BootNotification
    answer sets another; ``boot_retry_interval`` when a Pending/Rejected answer says 0.
    """

    id: str
    version: OcppVersion = OcppVersion.V201
    csms_url: str = "ws://127.0.0.1:9000/ocpp"
    vendor: str = "OpenCSMS"
    model: str = "SimCharger AC"
    serial_number: str = "SIM-0001"
    firmware_version: str = "1.0.0"
    evses: tuple[EvseConfig, ...] = (EvseConfig(),)
    password: str | None = None
    heartbeat_interval: int = 300
    boot_retry_interval: int = 30
    call_timeout: float = 30.0
    open_timeout: float = 10.0
    measurands: tuple[str, ...] = DEFAULT_MEASURANDS
    meter_sample_interval: int = 60
    backoff: BackOffConfig = field(default_factory=BackOffConfig)
    iso15118: Iso15118Config | None = None
    """ISO 15118 EVs (2.0.1 / 2.1 only); ``None``: basic IEC 61851 charging."""

    def __post_init__(self) -> None:
        if not self.evses:
            raise ValueError("a station needs at least one EVSE")

    @property
    def url(self) -> str:
        """The WebSocket URL this station connects to."""
        return f"{self.csms_url.rstrip('/')}/{self.id}"

    def auth_headers(self) -> dict[str, str]:
        """The ``Authorization`` header of security profile 1, or none."""
        if self.password is None:
            return {}
        token = base64.b64encode(f"{self.id}:{self.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

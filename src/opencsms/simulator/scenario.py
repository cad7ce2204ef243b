"""Scenario files: a fleet, how its drivers and network behave, and a timeline (TOML).

```toml
[scenario]
name = "Depot of 20 AC chargers"
duration = "30m"                 # optional; without it the scenario runs until stopped

[[groups]]                       # identical stations: PREFIX0001 … PREFIXnnnn
prefix = "DEPOT-"
count = 20
version = "2.0.1"                # 1.6, 2.0.1 or 2.1
evses = [{ max_power_w = 22000 }, { max_power_w = 22000, phases = 3 }]
meter_sample_interval = 60

[groups.sessions]                # drivers arriving at every EVSE of the group
tokens = ["DRIVER-001", "DRIVER-002"]
arrival = "1m..5m"               # idle time between two sessions on an EVSE
plugged = "20m..60m"             # how long a car stays plugged in
soc = "10..60"                   # the EV's state of charge on arrival, percent
battery_wh = 60000
ev_max_power_w = 11000

[groups.network]                 # a flaky link: drops now and then, offline for a while
drop_every = "2m..5m"
outage = "10s..40s"

[groups.backoff]                 # reconnect back-off, OCPP-J 2.0.1 part 4 §5.3 (RetryBackOff*)
wait_minimum = "5s"
random_range = "5s"
repeat_times = 5

[[timeline]]                     # one-off events at a time after the start
at = "90s"
station = "DEPOT-0003"
action = "fault"                 # fault, clear_fault, power_loss, go_offline, go_online,
evse = 1                         # plug_in, start, stop, unplug, reboot
error_code = "GroundFailure"
```

Durations are ``90``, ``"90s"``, ``"5m"``, ``"1h"``; a range ``"A..B"`` draws uniformly at random
each time. Unknown keys are errors, so a typo never silently does nothing.
"""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opencsms.durations import parse_seconds
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator.config import BackOffConfig, EvseConfig, StationConfig

__all__ = [
    "SCENARIO_DIR",
    "GroupSpec",
    "NetworkSpec",
    "Range",
    "ScenarioError",
    "ScenarioSpec",
    "SessionSpec",
    "TimelineEvent",
    "load_scenario",
    "parse_scenario",
]

SCENARIO_DIR = Path(__file__).with_name("scenarios")
"""The scenarios shipped with the simulator (``--scenario depot-ac`` finds ``depot-ac.toml``)."""

TIMELINE_ACTIONS = frozenset(
    {
        "fault",
        "clear_fault",
        "power_loss",
        "go_offline",
        "go_online",
        "plug_in",
        "start",
        "stop",
        "unplug",
        "reboot",
    }
)


class ScenarioError(ValueError):
    """A scenario file that cannot be run; the message says where and why."""


def parse_duration(value: object, where: str) -> float:
    """``90``, ``"90s"``, ``"5m"``, ``"1h"``, ``"250ms"`` → seconds."""
    if isinstance(value, bool):
        raise ScenarioError(f"{where}: expected a duration, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return parse_seconds(value)
        except ValueError:
            pass
    raise ScenarioError(f"{where}: {value!r} is not a duration like 90, '90s', '5m' or '1h'")


@dataclass(frozen=True, slots=True)
class Range:
    """A value drawn uniformly from [low, high] every time it is used."""

    low: float
    high: float

    def draw(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)


def parse_range(value: object, where: str, *, duration: bool = True) -> Range:
    """``"A..B"`` or a single value (then low = high)."""
    parse = parse_duration if duration else _parse_number
    if isinstance(value, str) and ".." in value:
        low_text, high_text = value.split("..", 1)
        low, high = parse(low_text, where), parse(high_text, where)
        if high < low:
            raise ScenarioError(f"{where}: range {value!r} ends before it starts")
        return Range(low, high)
    single = parse(value, where)
    return Range(single, single)


def _parse_number(value: object, where: str) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ScenarioError(f"{where}: {value!r} is not a number") from None


@dataclass(frozen=True, slots=True)
class SessionSpec:
    """Drivers at every EVSE of a group: arrive, plug in, present a token, charge, leave."""

    tokens: tuple[str, ...] = ("SIM-DRIVER",)
    arrival: Range = Range(60.0, 300.0)
    plugged: Range = Range(600.0, 1800.0)
    soc: Range = Range(20.0, 60.0)
    battery_wh: float = 60_000.0
    ev_max_power_w: float = 11_000.0
    token_type: str = "ISO14443"


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    """A flaky network: the link drops every ``drop_every`` and stays down for ``outage``."""

    drop_every: Range
    outage: Range


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """Identical stations named ``{prefix}{n:04d}``."""

    prefix: str
    count: int
    version: OcppVersion
    evses: tuple[EvseConfig, ...]
    vendor: str = "OpenCSMS"
    model: str = "SimCharger"
    firmware_version: str = "1.0.0"
    password: str | None = None
    heartbeat_interval: int = 300
    meter_sample_interval: int = 60
    sessions: SessionSpec | None = None
    network: NetworkSpec | None = None
    backoff: BackOffConfig = field(default_factory=BackOffConfig)

    def station_ids(self) -> list[str]:
        return [f"{self.prefix}{n:04d}" for n in range(1, self.count + 1)]

    def configs(self, url: str) -> list[StationConfig]:
        """One station configuration per station of the group, pointed at ``url``."""
        return [
            StationConfig(
                id=station_id,
                version=self.version,
                csms_url=url,
                vendor=self.vendor,
                model=self.model,
                serial_number=station_id,
                firmware_version=self.firmware_version,
                evses=self.evses,
                password=self.password,
                heartbeat_interval=self.heartbeat_interval,
                meter_sample_interval=self.meter_sample_interval,
                backoff=self.backoff,
            )
            for station_id in self.station_ids()
        ]


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """Something that happens once, ``at`` seconds after the scenario started."""

    at: float
    station: str
    action: str
    evse: int = 1
    error_code: str = "OtherError"
    token: str = "SIM-DRIVER"


@dataclass(frozen=True, slots=True)
class ScenarioSpec:
    """A whole scenario file."""

    name: str
    groups: tuple[GroupSpec, ...]
    timeline: tuple[TimelineEvent, ...] = ()
    description: str = ""
    duration: float | None = None
    tokens: tuple[str, ...] = field(default=())
    """Every token the scenario's drivers use (a CSMS must know them to accept sessions)."""

    @property
    def station_count(self) -> int:
        return sum(group.count for group in self.groups)


def load_scenario(name_or_path: str) -> ScenarioSpec:
    """Read a scenario by path, or by the name of a shipped one (``depot-ac``)."""
    path = Path(name_or_path)
    if not path.exists():
        shipped = SCENARIO_DIR / f"{name_or_path}.toml"
        if not shipped.exists():
            known = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.toml")))
            raise ScenarioError(f"no scenario file {name_or_path!r} (shipped ones: {known})")
        path = shipped
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    return parse_scenario(data, str(path))


def _take(table: dict[str, Any], allowed: set[str], where: str) -> dict[str, Any]:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {', '.join(unknown)}")
    return table


def parse_scenario(data: dict[str, Any], where: str = "scenario") -> ScenarioSpec:
    """Check and convert a parsed TOML document (see the module docstring)."""
    _take(data, {"scenario", "groups", "timeline"}, where)
    head = _take(dict(data.get("scenario", {})), {"name", "description", "duration"}, where)
    groups = tuple(_group(g, f"{where}: groups[{i}]") for i, g in enumerate(data.get("groups", [])))
    if not groups:
        raise ScenarioError(f"{where}: at least one [[groups]] entry is needed")
    ids = [sid for g in groups for sid in g.station_ids()]
    if len(ids) != len(set(ids)):
        raise ScenarioError(f"{where}: two groups produce the same station ids; change a prefix")
    known = set(ids)
    timeline = tuple(
        _event(e, f"{where}: timeline[{i}]", known) for i, e in enumerate(data.get("timeline", []))
    )
    duration = head.get("duration")
    tokens = sorted(
        {t for g in groups if g.sessions for t in g.sessions.tokens}
        | {e.token for e in timeline if e.action == "start"}
    )
    return ScenarioSpec(
        name=str(head.get("name", Path(where).stem)),
        description=str(head.get("description", "")),
        duration=None if duration is None else parse_duration(duration, f"{where}: duration"),
        groups=groups,
        timeline=tuple(sorted(timeline, key=lambda e: e.at)),
        tokens=tuple(tokens),
    )


_GROUP_KEYS = {
    "prefix",
    "count",
    "version",
    "evses",
    "vendor",
    "model",
    "firmware_version",
    "password",
    "heartbeat_interval",
    "meter_sample_interval",
    "sessions",
    "network",
    "backoff",
}


def _group(raw: dict[str, Any], where: str) -> GroupSpec:
    _take(raw, _GROUP_KEYS, where)
    try:
        version = OcppVersion(str(raw.get("version", "2.0.1")))
    except ValueError:
        raise ScenarioError(f"{where}: version must be 1.6, 2.0.1 or 2.1") from None
    count = raw.get("count", 1)
    if not isinstance(count, int) or count < 1:
        raise ScenarioError(f"{where}: count must be a positive integer")
    evses_raw = raw.get("evses", [{}])
    if not isinstance(evses_raw, list) or not evses_raw:
        raise ScenarioError(f"{where}: evses must be a non-empty list of tables")
    evses = []
    for i, evse in enumerate(evses_raw):
        _take(evse, {"max_power_w", "phases", "voltage_v"}, f"{where}: evses[{i}]")
        try:
            evses.append(EvseConfig(**evse))
        except (TypeError, ValueError) as exc:
            raise ScenarioError(f"{where}: evses[{i}]: {exc}") from None
    sessions = raw.get("sessions")
    network = raw.get("network")
    backoff = _take(
        dict(raw.get("backoff", {})),
        {"wait_minimum", "random_range", "repeat_times"},
        f"{where}: backoff",
    )
    defaults = BackOffConfig()
    return GroupSpec(
        prefix=str(raw.get("prefix", "SIM-")),
        count=count,
        version=version,
        evses=tuple(evses),
        vendor=str(raw.get("vendor", "OpenCSMS")),
        model=str(raw.get("model", "SimCharger")),
        firmware_version=str(raw.get("firmware_version", "1.0.0")),
        password=raw.get("password"),
        heartbeat_interval=int(raw.get("heartbeat_interval", 300)),
        meter_sample_interval=int(raw.get("meter_sample_interval", 60)),
        sessions=None if sessions is None else _sessions(sessions, f"{where}: sessions"),
        network=None if network is None else _network(network, f"{where}: network"),
        backoff=BackOffConfig(
            wait_minimum=parse_duration(
                backoff.get("wait_minimum", defaults.wait_minimum), f"{where}: backoff"
            ),
            random_range=parse_duration(
                backoff.get("random_range", defaults.random_range), f"{where}: backoff"
            ),
            repeat_times=int(backoff.get("repeat_times", defaults.repeat_times)),
        ),
    )


def _sessions(raw: dict[str, Any], where: str) -> SessionSpec:
    _take(
        raw,
        {"tokens", "arrival", "plugged", "soc", "battery_wh", "ev_max_power_w", "token_type"},
        where,
    )
    defaults = SessionSpec()
    tokens = tuple(str(t) for t in raw.get("tokens", defaults.tokens))
    if not tokens:
        raise ScenarioError(f"{where}: tokens must not be empty")
    soc = parse_range(raw.get("soc", "20..60"), f"{where}: soc", duration=False)
    if not 0 <= soc.low <= soc.high <= 100:
        raise ScenarioError(f"{where}: soc must be within 0..100")
    return SessionSpec(
        tokens=tokens,
        arrival=parse_range(raw.get("arrival", "1m..5m"), f"{where}: arrival"),
        plugged=parse_range(raw.get("plugged", "10m..30m"), f"{where}: plugged"),
        soc=soc,
        battery_wh=_parse_number(raw.get("battery_wh", defaults.battery_wh), where),
        ev_max_power_w=_parse_number(raw.get("ev_max_power_w", defaults.ev_max_power_w), where),
        token_type=str(raw.get("token_type", defaults.token_type)),
    )


def _network(raw: dict[str, Any], where: str) -> NetworkSpec:
    _take(raw, {"drop_every", "outage"}, where)
    if "drop_every" not in raw:
        raise ScenarioError(f"{where}: drop_every is required")
    return NetworkSpec(
        drop_every=parse_range(raw["drop_every"], f"{where}: drop_every"),
        outage=parse_range(raw.get("outage", "5s..30s"), f"{where}: outage"),
    )


def _event(raw: dict[str, Any], where: str, known: set[str]) -> TimelineEvent:
    _take(raw, {"at", "station", "action", "evse", "error_code", "token"}, where)
    for key in ("at", "station", "action"):
        if key not in raw:
            raise ScenarioError(f"{where}: {key} is required")
    if raw["action"] not in TIMELINE_ACTIONS:
        actions = ", ".join(sorted(TIMELINE_ACTIONS))
        raise ScenarioError(f"{where}: action {raw['action']!r} is not one of {actions}")
    if raw["station"] not in known:
        raise ScenarioError(f"{where}: no station {raw['station']!r} in the groups")
    return TimelineEvent(
        at=parse_duration(raw["at"], f"{where}: at"),
        station=str(raw["station"]),
        action=str(raw["action"]),
        evse=int(raw.get("evse", 1)),
        error_code=str(raw.get("error_code", "OtherError")),
        token=str(raw.get("token", "SIM-DRIVER")),
    )

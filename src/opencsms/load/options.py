"""What ``opencsms load`` was asked for, and the parsers that turn its CLI strings into it.

Every parser raises :class:`OptionError` with a message that names the accepted forms, so the CLI
can show it next to the offending option (``--ramp 500/x`` → "unit must be /s, /min or /h").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from opencsms.durations import parse_seconds
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator.config import BackOffConfig

__all__ = [
    "DEFAULT_MIX",
    "KINDS",
    "LoadOptions",
    "Mix",
    "OptionError",
    "parse_duration",
    "parse_mix",
    "parse_ramp",
    "parse_rate",
]

KINDS: tuple[str, ...] = (
    "heartbeat",
    "status",
    "meter_values",
    "authorize",
    "data_transfer",
    "transaction",
)
"""Message kinds a mix may weigh. ``transaction`` is a sequence of three CALLs (1.6 Start-,
MeterValues, StopTransaction; 2.x TransactionEvent Started/Updated/Ended)."""

DEFAULT_MIX = "meter_values=8,status=1,heartbeat=1"

_ALIASES = {"status_notification": "status", "metervalues": "meter_values", "tx": "transaction"}
_UNLIMITED = frozenset({"unlimited", "max", "inf", "infinite", "none"})
_PER = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


class OptionError(ValueError):
    """A load-generator option is malformed; the message says what is accepted.

    ``param`` names the CLI option at fault (``--ramp``) when known.
    """

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True, slots=True)
class Mix:
    """Relative weights of the message kinds; an empty mix is idle (heartbeats only)."""

    weights: tuple[tuple[str, float], ...] = ()

    @property
    def idle(self) -> bool:
        """True when stations only boot and heartbeat."""
        return not self.weights

    def describe(self) -> str:
        """The mix as the CLI spells it (``idle`` or ``kind=weight,...``)."""
        if self.idle:
            return "idle"
        return ",".join(f"{kind}={weight:g}" for kind, weight in self.weights)


def parse_mix(text: str) -> Mix:
    """``"heartbeat=1,status=1,meter_values=8"`` → :class:`Mix`; ``"idle"`` → the idle mix.

    A kind without ``=weight`` weighs 1; weights are non-negative numbers and at least one must be
    positive. Kinds are those of :data:`KINDS`.
    """
    text = text.strip()
    if text.lower() == "idle":
        return Mix()
    if not text:
        raise OptionError(f"the mix is empty; give kind=weight pairs ({', '.join(KINDS)}) or idle")
    weights: dict[str, float] = {}
    for item in text.split(","):
        name, sep, raw_weight = item.partition("=")
        kind = name.strip().lower().replace("-", "_")
        kind = _ALIASES.get(kind, kind)
        if kind not in KINDS:
            raise OptionError(
                f"unknown message kind {name.strip()!r}; known kinds: {', '.join(KINDS)} "
                "(or 'idle' alone)"
            )
        if kind in weights:
            raise OptionError(f"message kind {kind!r} is given twice")
        weight = 1.0
        if sep:
            try:
                weight = float(raw_weight)
            except ValueError:
                raise OptionError(
                    f"weight of {kind!r} must be a number, got {raw_weight.strip()!r}"
                ) from None
            if not math.isfinite(weight) or weight < 0:
                raise OptionError(f"weight of {kind!r} must be a non-negative number")
        weights[kind] = weight
    if not any(weight > 0 for weight in weights.values()):
        raise OptionError("at least one weight must be positive (or use --mix idle)")
    return Mix(tuple((kind, w) for kind, w in weights.items() if w > 0))


def _per_second(text: str, what: str) -> float:
    """``"500/s"``, ``"500"``, ``"30000/min"``, ``"2/h"`` → events per second."""
    number, sep, unit = text.partition("/")
    try:
        value = float(number)
    except ValueError:
        raise OptionError(
            f"{what} must look like 500/s, 30000/min or unlimited, got {text!r}"
        ) from None
    per = 1.0
    if sep:
        per_unit = _PER.get(unit.strip().lower())
        if per_unit is None:
            raise OptionError(f"{what} unit must be /s, /min or /h, got /{unit.strip()}")
        per = per_unit
    if not math.isfinite(value) or value < 0:
        raise OptionError(f"{what} must be a non-negative number per second, got {text!r}")
    return value / per


def parse_ramp(text: str) -> float | None:
    """New connections per second (``"500/s"``), or ``None`` for all at once (``"unlimited"``)."""
    text = text.strip()
    if text.lower() in _UNLIMITED:
        return None
    rate = _per_second(text, "--ramp")
    if rate == 0:
        raise OptionError("--ramp must be positive (use 'unlimited' to open all at once)")
    return rate


def parse_rate(text: str) -> float | None:
    """Total CALLs per second over the fleet (``"2000/s"``); ``None`` is flat out (``"max"``);
    0 makes the run idle."""
    text = text.strip()
    if text.lower() in _UNLIMITED:
        return None
    return _per_second(text, "--rate")


def parse_duration(text: str) -> float | None:
    """``"60"``, ``"60s"``, ``"500ms"``, ``"5m"``, ``"1h"``, ``"1m30s"`` → seconds;
    ``"inf"``/``"forever"`` → ``None`` (until Ctrl-C)."""
    text = text.strip().lower()
    if text in _UNLIMITED or text == "forever":
        return None
    try:
        return parse_seconds(text)
    except ValueError as exc:
        raise OptionError(f"{exc} (or forever)") from None


@dataclass(frozen=True, slots=True)
class LoadOptions:
    """One load run.

    ``ramp`` is new connections per second (``None``: all at once); ``connect_concurrency`` caps
    handshakes in flight (0: no cap). ``duration`` is the hold phase after the ramp, in seconds
    (``None``: until stopped; 0: stop as soon as every station is Accepted). ``rate`` is the target
    of CALLs per second over the whole fleet (``None``: every station sends its next CALL as soon
    as the previous one is answered). ``ramp_timeout`` is how long after the last station started
    the run waits for every station to be Accepted before the hold phase starts anyway.
    """

    url: str
    stations: int
    version: OcppVersion = OcppVersion.V201
    prefix: str = "LOAD-"
    ramp: float | None = 500.0
    duration: float | None = 60.0
    mix: Mix = field(default_factory=lambda: parse_mix(DEFAULT_MIX))
    rate: float | None = None
    password: str | None = None
    connect_concurrency: int = 500
    ramp_timeout: float = 60.0
    call_timeout: float = 30.0
    open_timeout: float = 30.0
    close_timeout: float = 5.0
    ping_interval: float | None = 60.0
    compression: bool = False
    backoff: BackOffConfig = field(
        default_factory=lambda: BackOffConfig(wait_minimum=1.0, random_range=2.0, repeat_times=3)
    )
    boot_retry_interval: float = 10.0
    id_tag: str = "OPENCSMS-LOAD"
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.stations < 1:
            raise OptionError("--stations must be at least 1", "--stations")
        if not self.url.startswith(("ws://", "wss://")):
            raise OptionError(f"must start with ws:// or wss://, got {self.url!r}", "--url")
        longest = self.station_id(self.stations - 1)
        if len(longest) > 48 or ":" in self.prefix or "/" in self.prefix:
            # OCPP-J 2.0.1 part 4 §3.1.1: identity ≤ 48 characters; ':' is the Basic-auth separator.
            raise OptionError("makes station ids over 48 characters, or has ':' or '/'", "--prefix")
        if self.connect_concurrency < 0:
            raise OptionError("must be 0 (no cap) or positive", "--connect-concurrency")
        if self.duration is not None and self.duration < 0:
            raise OptionError("must not be negative", "--duration")

    @property
    def idle(self) -> bool:
        """Stations only boot, keep the connection and heartbeat at the CSMS's interval."""
        return self.mix.idle or self.rate == 0

    @property
    def station_interval(self) -> float | None:
        """Seconds between two CALLs of one station (``None``: flat out, ``inf``: idle)."""
        if self.idle:
            return math.inf
        if self.rate is None:
            return None
        return self.stations / self.rate

    def station_id(self, index: int) -> str:
        """The id of station ``index`` (0-based): ``PREFIX000001`` and on, width ≥ 6 digits."""
        width = max(6, len(str(self.stations)))
        return f"{self.prefix}{index + 1:0{width}d}"

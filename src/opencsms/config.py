"""Server settings and the declarative provisioning file.

Precedence, highest first: command-line flag, ``OPENCSMS_*`` environment variable, the ``[server]``
table of the provisioning file (``--config``), built-in default. The provisioning file also seeds
stations (``[[stations]]``), which are upserted on every start so that the file stays the source of
truth for what it names while stations added through the API are left alone.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, TypeVar

from opencsms.domain.model import RegistrationStatus, Strictness

_E = TypeVar("_E", bound=StrEnum)


class ConfigError(ValueError):
    """The provisioning file or a setting is invalid; the message says which and why."""


class UnknownStationPolicy(StrEnum):
    """What to do with an unprovisioned station id (OCPP-J 2.0.1 part 4 §3.2: 404 by default)."""

    REJECT = "reject"
    PENDING = "pending"
    ACCEPT = "accept"


DEFAULT_SUBPROTOCOLS: tuple[str, ...] = ("ocpp2.1", "ocpp2.0.1", "ocpp1.6")


@dataclass(frozen=True, slots=True)
class StationSeed:
    """One ``[[stations]]`` entry of the provisioning file."""

    id: str
    password: str | None = None
    registration: RegistrationStatus = RegistrationStatus.ACCEPTED
    strictness: Strictness = Strictness.STRICT
    heartbeat_interval: int | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything ``opencsms serve`` can be told. See docs/configuration.md for each key."""

    host: str = "0.0.0.0"
    ocpp_port: int = 9000
    http_port: int = 8080
    db: str = "sqlite:///opencsms.db"
    unknown_stations: UnknownStationPolicy = UnknownStationPolicy.REJECT
    subprotocols: tuple[str, ...] = DEFAULT_SUBPROTOCOLS
    max_frame_size: int = 1_048_576
    ping_interval: float = 60.0
    ping_timeout: float = 30.0
    close_timeout: float = 5.0
    """Seconds to wait for the peer's close frame; a dead link is dropped after ping_interval +
    ping_timeout + close_timeout."""
    call_timeout: float = 30.0
    heartbeat_interval: int = 300
    boot_retry_interval: int = 60
    audit_retention_days: int = 30
    compression: bool = True
    backlog: int = 8192
    admin_token: str | None = None
    sqlite_writer: Literal["process", "thread"] = "process"
    """Where SQLite commits run: ``process`` (a child process: uses a second core) or ``thread``."""
    validate_outgoing: bool = False
    """Check the CSMS's own CALLRESULTs against the schemas too (on in tests; costs a check)."""
    stations: tuple[StationSeed, ...] = field(default_factory=tuple)

    def with_overrides(self, **changes: Any) -> Settings:
        """Return a copy with every non-None value in ``changes`` applied."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


_SERVER_KEYS = {f.name for f in fields(Settings)} - {"stations"}


def load_settings_file(path: Path) -> Settings:
    """Read a TOML provisioning file into :class:`Settings` (raises :class:`ConfigError`)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    server = data.get("server", {})
    if not isinstance(server, dict):
        raise ConfigError("[server] must be a table")
    unknown = set(server) - _SERVER_KEYS
    if unknown:
        raise ConfigError(f"[server] has unknown keys: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = dict(server)
    if "unknown_stations" in values:
        values["unknown_stations"] = _enum(
            UnknownStationPolicy, values["unknown_stations"], "unknown_stations"
        )
    if values.get("sqlite_writer", "process") not in ("process", "thread"):
        raise ConfigError("sqlite_writer must be one of process, thread")
    if "subprotocols" in values:
        values["subprotocols"] = tuple(values["subprotocols"])
    seeds = tuple(_station_seed(i, entry) for i, entry in enumerate(data.get("stations", [])))
    return Settings(**values, stations=seeds)


def _station_seed(index: int, entry: Any) -> StationSeed:
    where = f"stations[{index}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        raise ConfigError(f"{where} needs a string 'id'")
    allowed = {"id", "password", "registration", "strictness", "heartbeat_interval"}
    unknown = set(entry) - allowed
    if unknown:
        raise ConfigError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
    return StationSeed(
        id=entry["id"],
        password=entry.get("password"),
        registration=_enum(
            RegistrationStatus, entry.get("registration", "Accepted"), f"{where}.registration"
        ),
        strictness=_enum(Strictness, entry.get("strictness", "strict"), f"{where}.strictness"),
        heartbeat_interval=entry.get("heartbeat_interval"),
    )


def _enum(kind: type[_E], value: Any, where: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(m.value for m in kind)
        raise ConfigError(f"{where} must be one of {choices}") from None

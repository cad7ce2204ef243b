"""Desired configuration: what an operator wants stations to run with, where it comes from, and
how far a station is from it (drift). Pure: the service that stores and applies it is
:mod:`opencsms.domain.desired_config_service` (docs/configuration-management.md).

Desired values are kept per *owner*: a station, or a **configuration profile** that matches
stations by the vendor (and, unless left out, the model) they report in BootNotification. Each
owner has two sets, one per protocol family:

* ``configuration`` — 1.6 configuration keys (``HeartbeatInterval = "300"``);
* ``variables`` — 2.0.1 variables by path (``"OCPPCommCtrlr.HeartbeatInterval" = "300"``, path
  syntax in :mod:`opencsms.domain.device_model`).

A station's **effective** desired configuration is the union, later ones winning per key:
vendor-only profiles, then vendor + model profiles (each group by name), then the station's own
entries. 1.6 keys and 2.0.1 paths compare without case (1.6 keys are CiString; 2.0.1 names are
case-insensitive).

**Drift** is a desired value the station is not known to run with: its last known value differs
(:func:`~opencsms.domain.device_model.same_value`), or the CSMS never learned it. Each drifting
entry says why, from the last attempt to apply that very value: the station's status (Rejected,
NotSupported, RebootRequired, UnknownComponent, UnknownVariable, NotSupportedAttributeType), a
CALLERROR code, Timeout / Offline — or ``NotApplied`` (not tried yet) / ``Unknown`` (value never
read). A value the station cannot reveal (a write-only variable) counts as in sync once the station
accepted it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from opencsms.domain.device_model import InvalidPath, VariableRef, same_value

__all__ = [
    "PERMANENT_FAILURES",
    "ApplyResult",
    "ConfigProfile",
    "DesiredKind",
    "DesiredSet",
    "DriftEntry",
    "EffectiveEntry",
    "InvalidDesiredConfig",
    "ProfileSeed",
    "Scope",
    "desired_tables",
    "drift",
    "effective",
    "norm_key",
    "normalize",
    "profile_seed",
    "settled_failure",
]

MAX_KEY_LENGTH = 50
"""1.6 ChangeConfiguration.req key: CiString50Type."""
MAX_VALUE_16 = 500
"""1.6 ChangeConfiguration.req value: CiString500Type."""
MAX_VALUE_201 = 1000
"""2.0.1 SetVariableDataType.attributeValue: string(1000)."""
MAX_PROFILE_NAME = 64

PERMANENT_FAILURES = frozenset(
    {
        "Rejected",
        "NotSupported",
        "UnknownComponent",
        "UnknownVariable",
        "NotSupportedAttributeType",
        "NotImplemented",
        "PropertyConstraintViolation",
        "OccurrenceConstraintViolation",
        "TypeConstraintViolation",
        "FormatViolation",
        "FormationViolation",
    }
)
"""Answers that will not change if the same value is sent again: an automatic apply does not
resend a value that got one (no retry loop on a key the station refuses); an operator's apply
with ``retry`` does."""


class InvalidDesiredConfig(ValueError):
    """A desired configuration breaks a rule; the message says which (the API answers 422)."""


class DesiredKind(enum.StrEnum):
    KEY = "key"
    """A 1.6 configuration key."""
    VARIABLE = "variable"
    """A 2.0.1 variable path."""


class Scope(enum.StrEnum):
    STATION = "station"
    PROFILE = "profile"


def norm_key(kind: DesiredKind, key: str) -> str:
    """The form keys compare in (case-insensitive; paths canonical)."""
    if kind is DesiredKind.VARIABLE:
        key = VariableRef.parse(key).path
    return key.lower()


def _text(value: object, where: str) -> str:
    # TOML and JSON give numbers and booleans as such; stations take text.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise InvalidDesiredConfig(f"{where} must be a string, number or boolean")


def normalize(kind: DesiredKind, entries: Mapping[str, object], where: str) -> dict[str, str]:
    """Validated entries of one kind: values as text, variable paths canonical, no key named
    twice (ignoring case). Raises :class:`InvalidDesiredConfig`."""
    out: dict[str, str] = {}
    seen: set[str] = set()
    for raw_key, raw_value in entries.items():
        at = f"{where}[{raw_key!r}]"
        value = _text(raw_value, at)
        if kind is DesiredKind.KEY:
            key = raw_key.strip()
            if not key or len(key) > MAX_KEY_LENGTH:
                raise InvalidDesiredConfig(f"{at}: a 1.6 key has 1-{MAX_KEY_LENGTH} characters")
            if len(value) > MAX_VALUE_16:
                raise InvalidDesiredConfig(
                    f"{at}: a 1.6 value has at most {MAX_VALUE_16} characters"
                )
        else:
            try:
                key = VariableRef.parse(raw_key).path
            except InvalidPath as exc:
                raise InvalidDesiredConfig(f"{at}: {exc}") from None
            if len(value) > MAX_VALUE_201:
                raise InvalidDesiredConfig(
                    f"{at}: a 2.0.1 value has at most {MAX_VALUE_201} characters"
                )
        if key.lower() in seen:
            raise InvalidDesiredConfig(f"{at}: named twice")
        seen.add(key.lower())
        out[key] = value
    return out


@dataclass(frozen=True, slots=True)
class DesiredSet:
    """What one owner wants: 1.6 keys and 2.0.1 variable paths → values."""

    configuration: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)

    def of(self, kind: DesiredKind) -> dict[str, str]:
        return self.configuration if kind is DesiredKind.KEY else self.variables

    def __bool__(self) -> bool:
        return bool(self.configuration or self.variables)


@dataclass(frozen=True, slots=True)
class ConfigProfile:
    """Desired configuration for every station of a vendor, or of one model of it."""

    name: str
    vendor: str
    model: str | None
    desired: DesiredSet
    created_at: datetime
    updated_at: datetime

    def matches(self, vendor: str | None, model: str | None) -> bool:
        """Whether a station that booted with ``vendor`` / ``model`` gets this profile."""
        if vendor is None or vendor.casefold() != self.vendor.casefold():
            return False
        return self.model is None or (
            model is not None and model.casefold() == self.model.casefold()
        )


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """The last attempt to give a station a desired value, and the station's answer."""

    station_id: str
    kind: DesiredKind
    key: str
    value: str
    status: str
    detail: str | None
    attempted_at: datetime


@dataclass(frozen=True, slots=True)
class EffectiveEntry:
    """One desired value of a station; ``source`` is ``station`` or ``profile:<name>``."""

    kind: DesiredKind
    key: str
    value: str
    source: str


@dataclass(frozen=True, slots=True)
class DriftEntry:
    """One effective desired value compared with what the station is known to run with."""

    kind: DesiredKind
    key: str
    desired: str
    actual: str | None
    source: str
    in_sync: bool
    reason: str | None = None
    """Why it drifts (module docstring); ``None`` when in sync."""
    detail: str | None = None
    attempted_at: datetime | None = None


def effective(
    own: DesiredSet, profiles: Iterable[ConfigProfile], vendor: str | None, model: str | None
) -> tuple[list[EffectiveEntry], list[str]]:
    """The station's effective entries (module docstring) and the names of the profiles that
    matched it, in the order they were applied."""
    matched = sorted(
        (p for p in profiles if p.matches(vendor, model)),
        key=lambda p: (p.model is not None, p.name),
    )
    merged: dict[tuple[DesiredKind, str], EffectiveEntry] = {}
    layers = [(p.desired, f"profile:{p.name}") for p in matched] + [(own, "station")]
    for desired, source in layers:
        for kind in DesiredKind:
            for key, value in desired.of(kind).items():
                merged[kind, norm_key(kind, key)] = EffectiveEntry(kind, key, value, source)
    entries = sorted(merged.values(), key=lambda e: (e.kind, e.key.lower()))
    return entries, [p.name for p in matched]


def settled_failure(result: ApplyResult | None, value: str) -> bool:
    """Whether ``value`` was already refused for good (:data:`PERMANENT_FAILURES`)."""
    return result is not None and result.status in PERMANENT_FAILURES and result.value == value


def drift(
    entries: Sequence[EffectiveEntry],
    actual: Mapping[str, str | None],
    results: Mapping[str, ApplyResult],
) -> list[DriftEntry]:
    """Compare ``entries`` (of one kind) with the station's known values ``actual`` and the last
    attempts ``results``, both keyed by :func:`norm_key` (a key missing from ``actual``: never
    read; present with ``None``: the station keeps it to itself)."""
    out = []
    for entry in entries:
        key = norm_key(entry.kind, entry.key)
        have = actual.get(key)
        last = results.get(key)
        tried = last if last is not None and last.value == entry.value else None
        in_sync = same_value(entry.value, have) or (
            have is None and tried is not None and tried.status == "Accepted"
        )
        reason: str | None = None
        if not in_sync:
            if tried is not None and tried.status != "Accepted":
                reason = tried.status
            elif key not in actual:
                reason = "Unknown"
            else:
                reason = "NotApplied"
        out.append(
            DriftEntry(
                kind=entry.kind,
                key=entry.key,
                desired=entry.value,
                actual=have,
                source=entry.source,
                in_sync=in_sync,
                reason=reason,
                detail=tried.detail if tried is not None and not in_sync else None,
                attempted_at=last.attempted_at if last is not None else None,
            )
        )
    return out


# ------------------------------------------------------------------ the provisioning file


@dataclass(frozen=True, slots=True)
class ProfileSeed:
    """One ``[[configuration_profiles]]`` entry of the provisioning file (validated)."""

    name: str
    vendor: str
    model: str | None
    configuration: dict[str, str]
    variables: dict[str, str]


def desired_tables(
    entry: Mapping[str, object], where: str
) -> tuple[dict[str, str] | None, dict[str, str] | None]:
    """The ``configuration`` (1.6 keys) and ``variables`` (2.0.1 paths) tables of a file entry,
    validated; ``None`` for a table the entry leaves out."""
    out: list[dict[str, str] | None] = []
    for name, kind in (("configuration", DesiredKind.KEY), ("variables", DesiredKind.VARIABLE)):
        table = entry.get(name)
        if table is None:
            out.append(None)
        elif isinstance(table, Mapping):
            out.append(normalize(kind, table, f"{where}.{name}"))
        else:
            raise InvalidDesiredConfig(f"{where}.{name} must be a table of key = value")
    return out[0], out[1]


def profile_seed(entry: object, where: str) -> ProfileSeed:
    """A ``[[configuration_profiles]]`` entry (raises :class:`InvalidDesiredConfig`)."""
    if not isinstance(entry, Mapping):
        raise InvalidDesiredConfig(f"{where} must be a table")
    unknown = set(entry) - {"name", "vendor", "model", "configuration", "variables"}
    if unknown:
        raise InvalidDesiredConfig(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
    name, vendor, model = entry.get("name"), entry.get("vendor"), entry.get("model")
    if not isinstance(name, str) or not 0 < len(name) <= MAX_PROFILE_NAME or "/" in name:
        raise InvalidDesiredConfig(f"{where} needs a 'name' of 1-{MAX_PROFILE_NAME} characters")
    if not isinstance(vendor, str) or not vendor.strip():
        raise InvalidDesiredConfig(f"{where} needs the 'vendor' it applies to")
    if model is not None and not isinstance(model, str):
        raise InvalidDesiredConfig(f"{where}.model must be a string")
    configuration, variables = desired_tables(entry, where)
    return ProfileSeed(name, vendor, model, configuration or {}, variables or {})

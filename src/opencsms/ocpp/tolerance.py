"""Tolerant validation: repair the known vendor deviations, report them, reject the rest.

A station configured as ``Strictness.TOLERANT`` gets three quirks seen in the field accepted:

* **additional properties** — firmwares add vendor fields (often inside ``meterValue`` or
  ``chargingStation``) although 1.6 errata §3.1 and the 2.x schemas forbid them. The fields are
  removed before the payload is handed over, so handlers only ever see schema-valid data.
* **enum value in the wrong case** — e.g. 1.6 ``"unit": "wh"`` or ``"status": "accepted"``. The
  value is replaced by the schema's spelling when exactly one enum option matches case-blind.
* **date-time without zone offset** — e.g. ``"2024-05-01T10:00:00"``. OCPP timestamps are UTC
  (1.6 §3.1 "Time zone", 2.0.1 part 2 "DateTime"), so a zone-less stamp is taken as UTC and ``Z`` is
  appended.

The repair runs only on the failure path: valid traffic pays one ``is_valid`` and nothing else.
A payload is accepted only if *every* error is one of the above and it validates after repair;
otherwise it is rejected as in strict mode, with the violations that could not be repaired (the
real reasons; a tolerated extra field does not mask a wrong enum value).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Any

from opencsms.ocpp.schemas import (
    MAX_VIOLATIONS,
    Violation,
    json_pointer,
    most_severe_first,
    violation_from_error,
    violations_of,
)

__all__ = ["Deviation", "DeviationKind", "RepairResult", "repair"]


class DeviationKind:
    """The ``kind`` strings of :class:`Deviation` (plain strings: cheap to log and count)."""

    ADDITIONAL_PROPERTY = "additional_property"
    ENUM_CASE = "enum_case"
    DATETIME_WITHOUT_OFFSET = "datetime_without_offset"
    NULL_PAYLOAD = "null_payload"
    CONCURRENT_CALL = "concurrent_call"


@dataclass(frozen=True, slots=True)
class Deviation:
    """A tolerated departure from the spec, reported with the message it was found in.

    ``path`` is a JSON pointer into the payload (``""`` for the message as a whole); ``detail``
    never contains a value from the peer's payload.
    """

    kind: str
    path: str
    detail: str


# RFC 3339 date-time minus the offset; the seconds fraction is optional.
_NAIVE_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?")
_SAFE_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")

_Fix = Callable[[], None]


def _container(payload: Any, parts: list[Any]) -> tuple[Any, Any]:
    """The object/array holding the value at ``parts``, and its key/index there."""
    target = payload
    for part in parts[:-1]:
        target = target[part]
    return target, parts[-1]


def _plan(payload: Any, error: Any) -> tuple[_Fix, Deviation] | None:
    """How to repair one jsonschema_rs error, or ``None`` when it is not a tolerated quirk."""
    keyword = error.kind.name
    parts = list(error.instance_path)
    path = json_pointer(parts)
    if keyword == "additionalProperties":
        target = payload
        for part in parts:
            target = target[part]
        names = list(error.kind.unexpected)
        shown = names[0] if len(names) == 1 and _SAFE_NAME.fullmatch(names[0]) else "*"

        def drop() -> None:
            for name in names:
                target.pop(name, None)

        return drop, Deviation(
            DeviationKind.ADDITIONAL_PROPERTY,
            f"{path}/{shown}",
            f"{len(names)} propert{'y' if len(names) == 1 else 'ies'} not in the schema removed",
        )
    if not parts:
        return None
    value = error.instance
    if keyword == "enum" and isinstance(value, str):
        folded = value.casefold()
        matches = [o for o in error.kind.options if isinstance(o, str) and o.casefold() == folded]
        if len(matches) != 1:
            return None
        holder, key = _container(payload, parts)
        spelling = matches[0]

        def recase() -> None:
            holder[key] = spelling

        return recase, Deviation(
            DeviationKind.ENUM_CASE, path, f"enum value corrected to the schema's {spelling!r}"
        )
    if (
        keyword == "format"
        and error.kind.format == "date-time"
        and isinstance(value, str)
        and _NAIVE_DATETIME.fullmatch(value)
    ):
        holder, key = _container(payload, parts)

        def to_utc() -> None:
            holder[key] = value + "Z"

        return to_utc, Deviation(
            DeviationKind.DATETIME_WITHOUT_OFFSET, path, "date-time without offset taken as UTC"
        )
    return None


#: Errors are collected in batches of MAX_VIOLATIONS; this many batches bound the work a hostile
#: payload can cause (a MeterValues with 100 lower-case units needs 5).
MAX_REPAIR_ROUNDS = 8


@dataclass(frozen=True, slots=True)
class RepairResult:
    """Outcome of :func:`repair`: ``remaining`` is empty when the payload is now valid.

    When it is not, ``remaining`` holds the violations tolerant mode could not repair (the
    reasons to reject), most severe first.
    """

    deviations: tuple[Deviation, ...]
    remaining: tuple[Violation, ...]


def repair(validator: Any, payload: dict[str, Any]) -> RepairResult:
    """Repair ``payload`` in place as far as its errors are tolerated quirks.

    Only call it for a payload that already failed ``validator``; the caller owns ``payload``
    (freshly parsed). If ``remaining`` is not empty the payload must be rejected with it (the
    payload may then be partly repaired).
    """
    deviations: list[Deviation] = []
    for _ in range(MAX_REPAIR_ROUNDS):
        plans = []
        unrepairable = []
        for error in islice(validator.iter_errors(payload), MAX_VIOLATIONS):
            plan = _plan(payload, error)
            if plan is None:
                unrepairable.append(violation_from_error(error))
            else:
                plans.append(plan)
        if unrepairable:
            return RepairResult(tuple(deviations), most_severe_first(unrepairable))
        # Plan a whole batch before changing anything so that the paths of the batch stay valid.
        for fix, deviation in plans:
            fix()
            deviations.append(deviation)
        if validator.is_valid(payload):
            return RepairResult(tuple(deviations), ())
    return RepairResult(tuple(deviations), violations_of(validator, payload))

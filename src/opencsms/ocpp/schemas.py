"""Validation of OCPP payloads against the official JSON schemas.

The schemas are read from the installed ``ocpp`` package (``ocpp/v16/schemas``, ``ocpp/v201/...``,
``ocpp/v21/...``), never copied into this repository. 1.6 names them ``Action.json`` /
``ActionResponse.json`` (OCPP-J 1.6 errata §3.6: draft-04 schemas; the package ships the corrected
set of errata §2, e.g. StopTransaction ``reason`` optional, BootNotificationResponse ``interval``
integer); 2.0.1 and 2.1 name them ``ActionRequest.json`` / ``ActionResponse.json``, and the 2.1
SEND message ``Action.json``.

Each (version, action, direction) is compiled once, on first use, with ``jsonschema_rs``
(``validate_formats=True``: ``date-time`` is enforced, a timestamp without zone is rejected). The
valid path is a single ``is_valid`` call (~2 µs for a 10-sample MeterValues); errors are only
iterated when a payload fails.

Error kinds follow the RPC error tables (1.6 §4.2.3 Table 7, 2.0.1 part 4 §4.3 Table 8):

* ``required``/``minItems``/``maxItems`` → OCCURRENCE_CONSTRAINT (a field occurs too few/many times)
* ``type`` → TYPE_CONSTRAINT ("violates data type constraints")
* ``additionalProperties`` and structural keywords (``anyOf``, ``oneOf``, ``not``...) →
  FORMAT_VIOLATION (1.6: "not conform the PDU structure for Action"; an unknown field makes the
  payload another PDU than the one named by the action)
* value keywords (``enum``, ``maxLength``, ``pattern``, ``minimum``, ``format``...) →
  PROPERTY_CONSTRAINT ("at least one field contains an invalid value")

When a payload has several violations they are ordered OCCURRENCE, TYPE, FORMAT, PROPERTY (then
document order), and the first one decides the CALLERROR code: a missing required field makes the
message unusable whatever else is wrong, a wrong type is more fundamental than a wrong value.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from itertools import islice
from typing import Any

import jsonschema_rs
import orjson

from opencsms.errors import RpcErrorKind
from opencsms.ocpp.version import OcppVersion

__all__ = [
    "MAX_VIOLATIONS",
    "Direction",
    "SchemaRegistry",
    "Violation",
    "default_registry",
    "json_pointer",
    "most_severe_first",
    "violation_from_error",
    "violations_of",
]

#: At most this many violations are collected for one payload: a hostile payload with 10,000
#: bad array items must not cost 10,000 error objects.
MAX_VIOLATIONS = 20

_K = RpcErrorKind


class Direction(enum.Enum):
    """Which schema of an action: the CALL payload, the CALLRESULT payload, or a 2.1 SEND."""

    REQUEST = "request"
    RESPONSE = "response"
    SEND = "send"


@dataclass(frozen=True, slots=True)
class Violation:
    """One way a payload breaks its schema.

    ``path`` is a JSON pointer into the payload (``/meterValue/0/timestamp``; ``""`` is the
    payload itself). ``message`` is built from the kind, the path and facts of the schema only;
    it never contains a value taken from the payload, so it may go into a CALLERROR.
    """

    kind: RpcErrorKind
    path: str
    message: str


_KIND_BY_KEYWORD: dict[str, RpcErrorKind] = {
    "required": _K.OCCURRENCE_CONSTRAINT,
    "minItems": _K.OCCURRENCE_CONSTRAINT,
    "maxItems": _K.OCCURRENCE_CONSTRAINT,
    "minProperties": _K.OCCURRENCE_CONSTRAINT,
    "maxProperties": _K.OCCURRENCE_CONSTRAINT,
    "contains": _K.OCCURRENCE_CONSTRAINT,
    "type": _K.TYPE_CONSTRAINT,
    "enum": _K.PROPERTY_CONSTRAINT,
    "const": _K.PROPERTY_CONSTRAINT,
    "maxLength": _K.PROPERTY_CONSTRAINT,
    "minLength": _K.PROPERTY_CONSTRAINT,
    "pattern": _K.PROPERTY_CONSTRAINT,
    "minimum": _K.PROPERTY_CONSTRAINT,
    "maximum": _K.PROPERTY_CONSTRAINT,
    "exclusiveMinimum": _K.PROPERTY_CONSTRAINT,
    "exclusiveMaximum": _K.PROPERTY_CONSTRAINT,
    "multipleOf": _K.PROPERTY_CONSTRAINT,
    "format": _K.PROPERTY_CONSTRAINT,
    "uniqueItems": _K.PROPERTY_CONSTRAINT,
}

_RANK = {
    _K.OCCURRENCE_CONSTRAINT: 0,
    _K.TYPE_CONSTRAINT: 1,
    _K.FORMAT_VIOLATION: 2,
    _K.PROPERTY_CONSTRAINT: 3,
}

# Property names the peer invented are only shown when they look like identifiers.
_SAFE_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


def json_pointer(parts: Any) -> str:
    """RFC 6901 pointer for a sequence of keys and indexes (``["a", 0]`` → ``"/a/0"``)."""
    out = []
    for part in parts:
        text = str(part)
        if "~" in text or "/" in text:
            text = text.replace("~", "~0").replace("/", "~1")
        out.append(text)
    return "/" + "/".join(out) if out else ""


def _where(path: str) -> str:
    return path or "the payload root"


def violation_from_error(error: Any) -> Violation:
    """A safe :class:`Violation` from a ``jsonschema_rs.ValidationError``.

    ``error.message`` and ``error.instance`` echo the peer's input; only the keyword, the path and
    the schema's own facts (``error.kind.as_dict()``) are used.
    """
    keyword: str = error.kind.name
    facts: dict[str, Any] = error.kind.as_dict()
    kind = _KIND_BY_KEYWORD.get(keyword, _K.FORMAT_VIOLATION)
    path = json_pointer(error.instance_path)
    if keyword == "required":
        path = f"{path}/{facts['property']}"
        message = f"Required property {path} is missing"
    elif keyword == "additionalProperties":
        names = facts.get("unexpected") or []
        name = names[0] if names and _SAFE_NAME.fullmatch(str(names[0])) else "*"
        path = f"{path}/{name}"
        more = f" (and {len(names) - 1} more)" if len(names) > 1 else ""
        message = f"Property {path} is not defined by the schema{more}"
    elif keyword == "type":
        types = ", ".join(str(t) for t in facts.get("types", ()))
        message = f"Value at {_where(path)} must be of type {types}"
    elif keyword == "enum":
        message = (
            f"Value at {_where(path)} is not one of the {len(facts['options'])} allowed values"
        )
    elif keyword in ("maxLength", "minLength", "maxItems", "minItems"):
        bound = "at most" if keyword.startswith("max") else "at least"
        unit = "characters" if keyword.endswith("Length") else "items"
        message = f"Value at {_where(path)} must have {bound} {facts['limit']} {unit}"
    elif keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        message = f"Value at {_where(path)} violates {keyword} {facts.get('limit')}"
    elif keyword == "format":
        message = f"Value at {_where(path)} is not a valid {facts.get('format')}"
    elif keyword == "pattern":
        message = f"Value at {_where(path)} does not match the required pattern"
    else:
        message = f"Value at {_where(path)} violates the schema keyword {keyword}"
    return Violation(kind, path, message)


def violations_of(validator: Any, payload: Any) -> tuple[Violation, ...]:
    """All (at most :data:`MAX_VIOLATIONS`) violations of ``payload``, most severe first."""
    try:
        if validator.is_valid(payload):
            return ()
        found = [
            violation_from_error(e) for e in islice(validator.iter_errors(payload), MAX_VIOLATIONS)
        ]
    except ValueError:
        # jsonschema_rs refuses Python values JSON has no type for (datetime, set, ...): only
        # possible for payloads built locally, never for parsed input.
        return (Violation(_K.TYPE_CONSTRAINT, "", "Payload holds a value that is not JSON"),)
    return most_severe_first(found)


def most_severe_first(violations: list[Violation]) -> tuple[Violation, ...]:
    """``violations`` ordered OCCURRENCE, TYPE, FORMAT, PROPERTY, others (stable)."""
    violations.sort(key=lambda v: _RANK.get(v.kind, 4))
    return tuple(violations)


def _version_dir(version: OcppVersion) -> str:
    return {"1.6": "v16", "2.0.1": "v201", "2.1": "v21"}[version.value]


class SchemaRegistry:
    """Compiled validators for every (version, action, direction), built lazily, once.

    ``root`` is the directory holding ``v16/schemas``, ``v201/schemas`` and ``v21/schemas``; by
    default the installed ``ocpp`` package. One registry is shared by all sessions (it holds no
    per-connection state).
    """

    def __init__(self, root: Traversable | None = None) -> None:
        self._root = root if root is not None else resources.files("ocpp")
        self._validators: dict[tuple[OcppVersion, str, Direction], Any] = {}
        self._names: dict[OcppVersion, tuple[frozenset[str], frozenset[str]]] = {}

    # ------------------------------------------------------------------ discovery

    def _scan(self, version: OcppVersion) -> tuple[frozenset[str], frozenset[str]]:
        names = self._names.get(version)
        if names is None:
            files = {
                f.name
                for f in (self._root / _version_dir(version) / "schemas").iterdir()
                if f.name.endswith(".json")
            }
            calls = frozenset(
                n[: -len("Response.json")] for n in files if n.endswith("Response.json")
            )
            if version is OcppVersion.V16:
                sends: frozenset[str] = frozenset()
            else:
                sends = frozenset(
                    n[: -len(".json")]
                    for n in files
                    if not n.endswith(("Request.json", "Response.json"))
                )
            names = self._names[version] = (calls, sends)
        return names

    def actions(self, version: OcppVersion) -> frozenset[str]:
        """Every CALL action that has request and response schemas in ``version``."""
        return self._scan(version)[0]

    def send_actions(self, version: OcppVersion) -> frozenset[str]:
        """Every SEND action (2.1 part 4 §4.2.4) with a schema in ``version``."""
        return self._scan(version)[1]

    def has_action(self, version: OcppVersion, action: str) -> bool:
        """Whether ``action`` is a CALL action of ``version`` (it has schemas)."""
        return action in self._scan(version)[0]

    def has_send(self, version: OcppVersion, action: str) -> bool:
        """Whether ``action`` is a SEND action of ``version``."""
        return action in self._scan(version)[1]

    # ----------------------------------------------------------------- validators

    def _file(self, version: OcppVersion, action: str, direction: Direction) -> str:
        if direction is Direction.RESPONSE:
            return f"{action}Response.json"
        if direction is Direction.REQUEST and version is not OcppVersion.V16:
            return f"{action}Request.json"
        return f"{action}.json"

    def validator(self, version: OcppVersion, action: str, direction: Direction) -> Any | None:
        """The compiled validator, or ``None`` when the action has no such schema."""
        key = (version, action, direction)
        found = self._validators.get(key)
        if found is not None:
            return found
        known = self.send_actions(version) if direction is Direction.SEND else self.actions(version)
        if action not in known:
            return None
        path = (
            self._root / _version_dir(version) / "schemas" / self._file(version, action, direction)
        )
        schema = orjson.loads(path.read_bytes().removeprefix(b"\xef\xbb\xbf"))
        found = self._validators[key] = jsonschema_rs.validator_for(schema, validate_formats=True)
        return found

    def _validate(
        self, version: OcppVersion, action: str, direction: Direction, payload: Any
    ) -> tuple[Violation, ...]:
        validator = self._validators.get((version, action, direction))
        if validator is None:
            validator = self.validator(version, action, direction)
            if validator is None:
                raise KeyError(f"no {direction.value} schema for {action} in OCPP {version.value}")
        return violations_of(validator, payload)

    def validate_request(
        self, version: OcppVersion, action: str, payload: Any
    ) -> tuple[Violation, ...]:
        """Violations of a CALL payload, most severe first; ``()`` when valid.

        Raises ``KeyError`` when ``action`` has no schema (check :meth:`has_action` first).
        """
        return self._validate(version, action, Direction.REQUEST, payload)

    def validate_response(
        self, version: OcppVersion, action: str, payload: Any
    ) -> tuple[Violation, ...]:
        """Violations of a CALLRESULT payload for ``action``; ``()`` when valid."""
        return self._validate(version, action, Direction.RESPONSE, payload)

    def validate_send(
        self, version: OcppVersion, action: str, payload: Any
    ) -> tuple[Violation, ...]:
        """Violations of a 2.1 SEND payload; ``()`` when valid."""
        return self._validate(version, action, Direction.SEND, payload)


@functools.cache
def default_registry() -> SchemaRegistry:
    """The process-wide registry over the installed ``ocpp`` package's schemas."""
    return SchemaRegistry()

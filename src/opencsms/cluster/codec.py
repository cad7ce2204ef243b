"""Domain events as JSON and back, so the NATS bus can carry them between nodes.

The events (:mod:`opencsms.domain.fleet_events`) are frozen dataclasses of domain types:
dataclasses, enums, datetimes, Decimals, tuples, optionals. Encoding is orjson's (it walks
dataclasses natively); decoding walks the declared type hints, so a new event type needs no
codec code, only to be listed in ``fleet_events.__all__`` (the registry of names an event may
carry on the wire).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from opencsms.domain import fleet_events

__all__ = ["CodecError", "decode_event", "encode_event"]


class CodecError(ValueError):
    """The bytes are not an event this node knows."""


@functools.cache
def _event_types() -> dict[str, type]:
    found: dict[str, type] = {}
    for name in fleet_events.__all__:
        candidate = getattr(fleet_events, name)
        if isinstance(candidate, type) and dataclasses.is_dataclass(candidate):
            found[name] = candidate
    return found


def _default(value: Any) -> Any:
    """What orjson does not serialise natively (it does dataclasses, enums, datetimes)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, frozenset | set):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def encode_event(event: Any, *, origin: str) -> bytes:
    """``event`` as JSON, tagged with its type name and the node it happened on.

    orjson walks the dataclasses natively (C speed): every local event crosses the bus, so this
    is on the stations' hot path in a cluster."""
    name = type(event).__name__
    if name not in _event_types():
        raise CodecError(f"{name} is not a fleet event")
    return orjson.dumps({"type": name, "origin": origin, "event": event}, default=_default)


def decode_event(data: bytes) -> tuple[str, Any]:
    """``(origin node, event)`` from :func:`encode_event`'s bytes."""
    try:
        envelope = orjson.loads(data)
        cls = _event_types()[envelope["type"]]
        return envelope["origin"], _builder(cls)(envelope["event"])
    except (KeyError, TypeError, ValueError, orjson.JSONDecodeError) as exc:
        raise CodecError(f"not a fleet event: {exc}") from exc


Builder = Callable[[Any], Any]


def _optional(build: Builder) -> Builder:
    return lambda value: None if value is None else build(value)


@functools.cache
def _builder(hint: Any) -> Builder:
    """A function turning the JSON of a value of type ``hint`` back into it, made once per type
    (every node decodes every other node's events: this runs for each of them)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(options) == 1:
            return _optional(_builder(options[0]))
        choices = [_builder(option) for option in options]

        def first_fit(value: Any) -> Any:
            if value is None:
                return None
            for choice in choices:  # the first option the value fits
                try:
                    return choice(value)
                except (TypeError, ValueError, KeyError):
                    continue
            raise ValueError(f"{value!r} fits none of {hint}")

        return first_fit
    if origin is typing.Literal or hint is Any or hint is object:
        return lambda value: value
    if origin in (tuple, list, frozenset, set, Sequence):
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        item = _builder(args[0]) if args else _builder(Any)
        # A Sequence arrives as a tuple: the events' consumers only iterate it.
        container: Callable[[Any], Any] = tuple if origin is Sequence else origin
        return _optional(lambda value: container([item(v) for v in value]))
    if origin in (dict, Mapping) or hint in (dict, Mapping):
        pair = typing.get_args(hint)
        entry = _builder(pair[1]) if len(pair) == 2 else _builder(Any)
        return _optional(lambda value: {k: entry(v) for k, v in value.items()})
    if isinstance(hint, type):
        if dataclasses.is_dataclass(hint):
            hints = typing.get_type_hints(hint)
            fields = [(f.name, _builder(hints[f.name])) for f in dataclasses.fields(hint) if f.init]
            cls = hint

            def build_dataclass(value: Any) -> Any:
                return cls(**{name: build(value[name]) for name, build in fields if name in value})

            return _optional(build_dataclass)
        if issubclass(hint, enum.Enum):
            return _optional(hint)
        simple: dict[type, Builder] = {
            datetime: datetime.fromisoformat,
            date: date.fromisoformat,
            timedelta: lambda value: timedelta(seconds=value),
            Decimal: Decimal,
            int: int,
            float: float,
            str: str,
            bool: bool,
        }
        if hint in simple:
            return _optional(simple[hint])
    return lambda value: value

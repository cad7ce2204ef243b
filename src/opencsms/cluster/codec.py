"""Domain events as JSON and back, so the NATS bus can carry them between nodes.

The events (:mod:`opencsms.domain.fleet_events`) are frozen dataclasses of domain types:
dataclasses, enums, datetimes, Decimals, tuples, optionals. Encoding walks the value; decoding
walks the declared type hints, so a new event type needs no codec code, only to be listed in
``fleet_events.__all__`` (the registry of names an event may carry on the wire).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from collections.abc import Mapping, Sequence
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


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | list | frozenset | set):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def encode_event(event: Any, *, origin: str) -> bytes:
    """``event`` as JSON, tagged with its type name and the node it happened on."""
    name = type(event).__name__
    if name not in _event_types():
        raise CodecError(f"{name} is not a fleet event")
    return orjson.dumps({"type": name, "origin": origin, "event": _plain(event)})


def decode_event(data: bytes) -> tuple[str, Any]:
    """``(origin node, event)`` from :func:`encode_event`'s bytes."""
    try:
        envelope = orjson.loads(data)
        cls = _event_types()[envelope["type"]]
        return envelope["origin"], _build(cls, envelope["event"])
    except (KeyError, TypeError, ValueError, orjson.JSONDecodeError) as exc:
        raise CodecError(f"not a fleet event: {exc}") from exc


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _build(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(options) == 1:
            return _build(options[0], value)
        for option in options:  # the first option the value fits
            try:
                return _build(option, value)
            except (TypeError, ValueError, KeyError):
                continue
        raise ValueError(f"{value!r} fits none of {hint}")
    if origin is typing.Literal:
        return value
    if origin in (tuple, list, frozenset, set, Sequence):
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        item = args[0] if args else Any
        built: list[Any] = [_build(item, v) for v in value]
        # A Sequence arrives as a tuple: the events' consumers only iterate it.
        return tuple(built) if origin is Sequence else origin(built)
    if origin in (dict, Mapping) or hint in (dict, Mapping):
        pair = typing.get_args(hint)
        item = pair[1] if len(pair) == 2 else Any
        return {k: _build(item, v) for k, v in value.items()}
    if hint is Any or hint is object:
        return value
    if isinstance(hint, type):
        if dataclasses.is_dataclass(hint):
            hints = _hints(hint)
            fields = {
                f.name: _build(hints[f.name], value[f.name])
                for f in dataclasses.fields(hint)
                if f.init and f.name in value
            }
            return hint(**fields)
        if issubclass(hint, enum.Enum):
            return hint(value)
        if hint is datetime:
            return datetime.fromisoformat(value)
        if hint is date:
            return date.fromisoformat(value)
        if hint is timedelta:
            return timedelta(seconds=value)
        if hint is Decimal:
            return Decimal(value)
        if hint in (int, float, str, bool):
            return hint(value)
    return value

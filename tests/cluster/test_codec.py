"""Every fleet event survives the trip over the bus (JSON and back) unchanged."""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from opencsms.cluster.codec import CodecError, decode_event, encode_event
from opencsms.domain import fleet_events

AT = datetime(2026, 11, 26, 1, 2, 3, 456789, tzinfo=UTC)


def example(hint: Any) -> Any:
    """A value of type ``hint`` with every optional part filled (so all of it travels)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return example(next(a for a in typing.get_args(hint) if a is not type(None)))
    if origin is typing.Literal:
        return typing.get_args(hint)[0]
    if origin in (tuple, list, frozenset, set, Sequence):
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        items = [example(args[0])] if args else []
        return tuple(items) if origin is Sequence else origin(items)
    if origin is dict or hint is dict:
        args = typing.get_args(hint)
        return {"k": example(args[1])} if args else {"k": "v"}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        return hint(**{f.name: example(hints[f.name]) for f in dataclasses.fields(hint) if f.init})
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return list(hint)[-1]
    simple: dict[Any, Any] = {
        str: "text",
        int: 7,
        float: 2.5,
        bool: True,
        datetime: AT,
        date: AT.date(),
        timedelta: timedelta(seconds=90),
        Decimal: Decimal("12.3400"),
    }
    if hint in simple:
        return simple[hint]
    if hint is Any or hint is object:
        return {"any": [1, "two"]}
    raise TypeError(f"no example for {hint!r}")


EVENT_TYPES = [
    getattr(fleet_events, name)
    for name in fleet_events.__all__
    if dataclasses.is_dataclass(getattr(fleet_events, name))
]


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda c: c.__name__)
def test_every_event_type_round_trips(cls: type) -> None:
    event = example(cls)
    origin, back = decode_event(encode_event(event, origin="node-a"))
    assert origin == "node-a"
    assert back == event


def test_bytes_that_are_not_an_event_are_refused() -> None:
    with pytest.raises(CodecError):
        decode_event(b'{"type": "DropTables", "origin": "x", "event": {}}')
    with pytest.raises(CodecError):
        decode_event(b"not json")
    with pytest.raises(CodecError):
        encode_event(object(), origin="x")

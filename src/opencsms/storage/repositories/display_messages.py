"""Display messages per station (table ``display_messages``; domain/display_messages.py)."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, select
from sqlalchemy.engine import Row

from opencsms.domain.display_messages import (
    DisplayMessage,
    MessageContent,
    MessageSource,
    StoredMessage,
)
from opencsms.domain.monitoring_model import ComponentRef
from opencsms.domain.report_requests import ReportKind

from ..statements import Statement, WriteOp
from ..tables import display_messages
from .base import Repository, dialect_insert, storage_errors
from .report_requests import ReportRepository

__all__ = ["DisplayMessageRepository"]

_COLUMNS = tuple(c.name for c in display_messages.columns)
_KEY = ("station_id", "id")


def _build_save(dialect: str) -> Any:
    insert = dialect_insert(dialect, display_messages).values(
        {name: bindparam(name) for name in _COLUMNS}
    )
    return insert.on_conflict_do_update(
        index_elements=list(_KEY),
        set_={
            name: insert.excluded[name] for name in _COLUMNS if name not in (*_KEY, "created_at")
        },
    )


_SAVE = Statement("display_messages.save", _COLUMNS, _build_save)

_DELETE = Statement(
    "display_messages.delete",
    ("k_station", "k_id"),
    lambda _d: delete(display_messages).where(
        display_messages.c.station_id == bindparam("k_station"),
        display_messages.c.id == bindparam("k_id"),
    ),
)


def _content_json(content: MessageContent) -> dict[str, Any]:
    return {"format": content.format, "content": content.content, "language": content.language}


def _content_of(value: dict[str, Any]) -> MessageContent:
    return MessageContent(value["format"], value["content"], value.get("language"))


def _display_json(display: ComponentRef | None) -> str | None:
    if display is None:
        return None
    return orjson.dumps(
        {
            "name": display.name,
            "instance": display.instance,
            "evse_id": display.evse_id,
            "connector_id": display.connector_id,
        }
    ).decode()


def _from_row(row: Row[Any]) -> StoredMessage:
    m = row._mapping
    display = None
    if m["display"] is not None:
        d = orjson.loads(m["display"])
        display = ComponentRef(d["name"], d["instance"], d["evse_id"], d["connector_id"])
    extra = () if m["extra"] is None else tuple(_content_of(e) for e in orjson.loads(m["extra"]))
    message = DisplayMessage(
        id=m["id"],
        priority=m["priority"],
        message=MessageContent(m["format"], m["content"], m["language"]),
        state=m["state"],
        start_at=m["start_at"],
        end_at=m["end_at"],
        transaction_id=m["transaction_id"],
        display=display,
        extra=extra,
    )
    return StoredMessage(
        station_id=m["station_id"],
        message=message,
        on_station=m["on_station"],
        last_set_status=m["last_set_status"],
        source=MessageSource(m["source"]),
        report_id=m["report_id"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


class DisplayMessageRepository(Repository):
    """Table ``display_messages``."""

    def _params(self, stored: StoredMessage) -> tuple[Any, ...]:
        message = stored.message
        extra = (
            orjson.dumps([_content_json(e) for e in message.extra]).decode()
            if message.extra
            else None
        )
        values = {
            "station_id": stored.station_id,
            "id": message.id,
            "priority": message.priority,
            "state": message.state,
            "start_at": self._ts_or_none(message.start_at),
            "end_at": self._ts_or_none(message.end_at),
            "transaction_id": message.transaction_id,
            "display": _display_json(message.display),
            "format": message.message.format,
            "language": message.message.language,
            "content": message.message.content,
            "extra": extra,
            "on_station": stored.on_station,
            "last_set_status": stored.last_set_status,
            "source": str(stored.source),
            "report_id": stored.report_id,
            "created_at": self._ts(stored.created_at),
            "updated_at": self._ts(stored.updated_at),
        }
        return tuple(values[name] for name in _COLUMNS)

    async def save(self, items: Iterable[StoredMessage]) -> None:
        """Create or replace messages (by station and id), in one commit."""
        ops = [WriteOp(_SAVE, self._params(m)) for m in items]
        if ops:
            await self._writer.execute(*ops)

    async def store_report_part(
        self,
        reports: ReportRepository,
        station_id: str,
        request_id: int,
        items: Sequence[StoredMessage],
        received_at: datetime,
    ) -> None:
        """Store the messages of one NotifyDisplayMessages and make sure its request is
        recorded, in one commit."""
        ops = [
            reports.ensure_op(station_id, ReportKind.DISPLAY_MESSAGES, request_id, received_at),
            *(WriteOp(_SAVE, self._params(m)) for m in items),
        ]
        await self._writer.execute(*ops)

    async def remove(self, station_id: str, ids: Iterable[int]) -> None:
        ops = [WriteOp(_DELETE, (station_id, i)) for i in ids]
        if ops:
            await self._writer.execute(*ops)

    async def for_station(self, station_id: str) -> builtins.list[StoredMessage]:
        c = display_messages.c
        query = select(display_messages).where(c.station_id == station_id).order_by(c.id)
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_from_row(row) for row in rows]

    async def get(self, station_id: str, message_id: int) -> StoredMessage | None:
        c = display_messages.c
        query = select(display_messages).where(c.station_id == station_id, c.id == message_id)
        with storage_errors():
            async with self._engine.connect() as conn:
                row = (await conn.execute(query)).first()
        return None if row is None else _from_row(row)

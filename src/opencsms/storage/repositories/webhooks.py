"""Webhook subscriptions (``webhooks``), deliveries (``webhook_deliveries``) and the attempt log
(``webhook_attempts``): see domain/webhook_model.py. Ids are allocated like job ids."""

from __future__ import annotations

import builtins
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Update, bindparam, delete, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from opencsms.domain.webhook_model import Attempt, Delivery, DeliveryState, Webhook
from opencsms.errors import StorageError

from ..statements import Statement, WriteOp
from ..tables import webhook_attempts, webhook_deliveries, webhooks
from ..writer import GroupCommitWriter
from .base import IdAllocator, Repository, dialect_insert, insert_or_ignore, storage_errors

__all__ = ["WebhookRepository"]

_HOOK_COLUMNS = tuple(c.name for c in webhooks.columns)
_DELIVERY_COLUMNS = tuple(c.name for c in webhook_deliveries.columns)
_ATTEMPT_COLUMNS = tuple(c.name for c in webhook_attempts.columns)
_MAX_ID_ATTEMPTS = 5


def _upsert(name: str, table: Any, columns: tuple[str, ...], keys: list[str]) -> Statement:
    def build(dialect: str) -> Any:
        insert = dialect_insert(dialect, table).values({c: bindparam(c) for c in columns})
        return insert.on_conflict_do_update(
            index_elements=keys,
            set_={c: insert.excluded[c] for c in columns if c not in keys},
        )

    return Statement(name, columns, build)


_HOOK_INSERT = insert_or_ignore("webhooks.insert", webhooks, _HOOK_COLUMNS)
_HOOK_UPSERT = _upsert("webhooks.upsert", webhooks, _HOOK_COLUMNS, ["id"])
_DELIVERY_INSERT = insert_or_ignore(
    "webhook_deliveries.insert", webhook_deliveries, _DELIVERY_COLUMNS
)
_DELIVERY_UPSERT = _upsert(
    "webhook_deliveries.upsert", webhook_deliveries, _DELIVERY_COLUMNS, ["id"]
)
_ATTEMPT_UPSERT = _upsert(
    "webhook_attempts.upsert", webhook_attempts, _ATTEMPT_COLUMNS, ["delivery_id", "attempt"]
)


def _move_next_attempt(held: ColumnElement[bool], to: str) -> Update:
    """Set a pending delivery's ``next_attempt_at`` to the parameter ``to`` where its attempt
    count is still the one the node read and ``held`` is true."""
    c = webhook_deliveries.c
    return (
        update(webhook_deliveries)
        .where(
            c.id == bindparam("id"),
            c.state == bindparam("pending"),
            c.attempts == bindparam("attempts"),
            held,
        )
        .values(next_attempt_at=bindparam(to))
    )


_DELIVERY_CLAIM = Statement(
    "webhook_deliveries.claim",
    ("until", "id", "attempts", "pending", "now"),
    lambda _d: _move_next_attempt(
        or_(
            webhook_deliveries.c.next_attempt_at.is_(None),
            webhook_deliveries.c.next_attempt_at <= bindparam("now"),
        ),
        to="until",
    ),
    counted=True,
)

_DELIVERY_RELEASE = Statement(
    "webhook_deliveries.release",
    ("due", "id", "attempts", "pending", "until"),
    lambda _d: _move_next_attempt(
        webhook_deliveries.c.next_attempt_at == bindparam("until"), to="due"
    ),
    counted=True,
)

_HOOK_DELETE = Statement(
    "webhooks.delete",
    ("id",),
    lambda _d: delete(webhooks).where(webhooks.c.id == bindparam("id")),
    counted=True,
)


def _hook(row: Row[Any]) -> Webhook:
    m = row._mapping
    return Webhook(
        id=m["id"],
        url=m["url"],
        secret=m["secret"],
        event_types=tuple(orjson.loads(m["event_types"])),
        enabled=m["enabled"],
        description=m["description"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def _delivery(row: Row[Any]) -> Delivery:
    m = row._mapping
    return Delivery(
        id=m["id"],
        webhook_id=m["webhook_id"],
        event_type=m["event_type"],
        event=orjson.loads(m["event"]),
        state=DeliveryState(m["state"]),
        attempts=m["attempts"],
        next_attempt_at=m["next_attempt_at"],
        last_status_code=m["last_status_code"],
        last_error=m["last_error"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        delivered_at=m["delivered_at"],
    )


def _attempt(row: Row[Any]) -> Attempt:
    m = row._mapping
    return Attempt(
        delivery_id=m["delivery_id"],
        attempt=m["attempt"],
        at=m["at"],
        status_code=m["status_code"],
        error=m["error"],
        duration_ms=m["duration_ms"],
    )


class WebhookRepository(Repository):
    """Tables ``webhooks``, ``webhook_deliveries`` and ``webhook_attempts``."""

    def __init__(self, engine: AsyncEngine, writer: GroupCommitWriter) -> None:
        super().__init__(engine, writer)
        self._hook_ids = IdAllocator(engine, webhooks.c.id)
        self._delivery_ids = IdAllocator(engine, webhook_deliveries.c.id)

    # ------------------------------------------------------------------ encoding

    def _hook_params(self, hook: Webhook) -> tuple[Any, ...]:
        values = {
            "id": hook.id,
            "url": hook.url,
            "secret": hook.secret,
            "event_types": orjson.dumps(list(hook.event_types)).decode(),
            "enabled": hook.enabled,
            "description": hook.description,
            "created_at": self._ts(hook.created_at),
            "updated_at": self._ts(hook.updated_at),
        }
        return tuple(values[c] for c in _HOOK_COLUMNS)

    def _delivery_params(self, d: Delivery) -> tuple[Any, ...]:
        values = {
            "id": d.id,
            "webhook_id": d.webhook_id,
            "event_type": d.event_type,
            "event": orjson.dumps(d.event).decode(),
            "state": str(d.state),
            "attempts": d.attempts,
            "next_attempt_at": self._ts_or_none(d.next_attempt_at),
            "last_status_code": d.last_status_code,
            "last_error": d.last_error,
            "created_at": self._ts(d.created_at),
            "updated_at": self._ts(d.updated_at),
            "delivered_at": self._ts_or_none(d.delivered_at),
        }
        return tuple(values[c] for c in _DELIVERY_COLUMNS)

    def _attempt_params(self, a: Attempt) -> tuple[Any, ...]:
        values = {
            "delivery_id": a.delivery_id,
            "attempt": a.attempt,
            "at": self._ts(a.at),
            "status_code": a.status_code,
            "error": a.error,
            "duration_ms": a.duration_ms,
        }
        return tuple(values[c] for c in _ATTEMPT_COLUMNS)

    async def _rows(self, query: Any) -> builtins.list[Row[Any]]:
        with storage_errors():
            async with self._engine.connect() as conn:
                return list((await conn.execute(query)).all())

    # ------------------------------------------------------------------ subscriptions

    async def create_webhook(self, hook: Webhook) -> Webhook:
        """Insert ``hook`` under a fresh id (its own id is ignored)."""
        for _ in range(_MAX_ID_ATTEMPTS):
            hook = replace(hook, id=await self._hook_ids.next())
            (inserted,) = await self._writer.execute_counted(
                WriteOp(_HOOK_INSERT, self._hook_params(hook))
            )
            if inserted:
                return hook
            self._hook_ids.reseed()
        raise StorageError("could not allocate a webhook id")

    async def save_webhook(self, hook: Webhook) -> None:
        await self._writer.execute(WriteOp(_HOOK_UPSERT, self._hook_params(hook)))

    async def delete_webhook(self, webhook_id: int) -> bool:
        (deleted,) = await self._writer.execute_counted(WriteOp(_HOOK_DELETE, (webhook_id,)))
        return deleted > 0

    async def webhooks(self) -> builtins.list[Webhook]:
        rows = await self._rows(select(webhooks).order_by(webhooks.c.id))
        return [_hook(r) for r in rows]

    async def webhook(self, webhook_id: int) -> Webhook | None:
        rows = await self._rows(select(webhooks).where(webhooks.c.id == webhook_id))
        return _hook(rows[0]) if rows else None

    # ------------------------------------------------------------------ deliveries

    async def create_deliveries(self, drafts: builtins.list[Delivery]) -> builtins.list[Delivery]:
        """Insert new deliveries under fresh ids (one commit when no id clashes)."""
        out = []
        for draft in drafts:
            for _ in range(_MAX_ID_ATTEMPTS):
                delivery = replace(draft, id=await self._delivery_ids.next())
                (inserted,) = await self._writer.execute_counted(
                    WriteOp(_DELIVERY_INSERT, self._delivery_params(delivery))
                )
                if inserted:
                    out.append(delivery)
                    break
                self._delivery_ids.reseed()
            else:
                raise StorageError("could not allocate a webhook delivery id")
        return out

    async def save_delivery(self, delivery: Delivery, attempt: Attempt | None = None) -> None:
        """Store a delivery's new state and, in the same commit, the attempt that led to it."""
        ops = [WriteOp(_DELIVERY_UPSERT, self._delivery_params(delivery))]
        if attempt is not None:
            ops.append(WriteOp(_ATTEMPT_UPSERT, self._attempt_params(attempt)))
        await self._writer.execute(*ops)

    async def claim(self, delivery: Delivery, now: datetime, until: datetime) -> bool:
        """Take the delivery's next attempt for this node until ``until``: false when another
        node took it first (it is claimed or not due, its attempt count moved on, or it is no
        longer pending). In a cluster every node that knows a pending delivery may schedule
        it; only one sends each attempt."""
        (claimed,) = await self._writer.execute_counted(
            WriteOp(
                _DELIVERY_CLAIM,
                (
                    self._ts(until),
                    delivery.id,
                    delivery.attempts,
                    DeliveryState.PENDING.value,
                    self._ts(now),
                ),
            )
        )
        return claimed == 1

    async def release(self, delivery: Delivery, until: datetime, due: datetime) -> bool:
        """Give back a claim taken with :meth:`claim` (``until``) whose attempt was never made:
        the attempt is due again at ``due``, for this node or any other. False when the claim
        is no longer this node's."""
        (released,) = await self._writer.execute_counted(
            WriteOp(
                _DELIVERY_RELEASE,
                (
                    self._ts(due),
                    delivery.id,
                    delivery.attempts,
                    DeliveryState.PENDING.value,
                    self._ts(until),
                ),
            )
        )
        return released == 1

    async def delivery(self, delivery_id: int) -> Delivery | None:
        c = webhook_deliveries.c
        rows = await self._rows(select(webhook_deliveries).where(c.id == delivery_id))
        return _delivery(rows[0]) if rows else None

    async def pending(self) -> builtins.list[Delivery]:
        """Every pending delivery (reloaded at start so retries survive a restart)."""
        c = webhook_deliveries.c
        query = select(webhook_deliveries).where(c.state == DeliveryState.PENDING.value)
        return [_delivery(r) for r in await self._rows(query.order_by(c.id))]

    async def deliveries(
        self,
        webhook_id: int,
        *,
        state: str | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> builtins.list[Delivery]:
        """The webhook's deliveries, newest first, below id ``before``."""
        c = webhook_deliveries.c
        query = select(webhook_deliveries).where(c.webhook_id == webhook_id)
        if state is not None:
            query = query.where(c.state == state)
        if before is not None:
            query = query.where(c.id < before)
        rows = await self._rows(query.order_by(c.id.desc()).limit(limit))
        return [_delivery(r) for r in rows]

    async def attempts(self, delivery_id: int) -> builtins.list[Attempt]:
        c = webhook_attempts.c
        query = select(webhook_attempts).where(c.delivery_id == delivery_id).order_by(c.attempt)
        return [_attempt(r) for r in await self._rows(query)]

"""Webhook subscriptions, deliveries and attempts as records, and the pure rules of delivery:
which events a subscription takes, how a body is signed, when a failed delivery is retried.

Signing (docs/alerts.md "Webhooks"): the body is JSON with the event and a ``timestamp`` (Unix
seconds of this attempt), and ``X-OpenCSMS-Signature: sha256=<hex>`` is the HMAC-SHA256 of the
raw body bytes keyed with the subscription's secret. A receiver recomputes the HMAC over the bytes
it received and rejects a timestamp too far from its clock, which stops replays of an old body.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import orjson

__all__ = [
    "WEBHOOK_EVENT_TYPES",
    "Attempt",
    "Delivery",
    "DeliveryState",
    "Webhook",
    "backoff",
    "signature",
    "signed_body",
]

WEBHOOK_EVENT_TYPES = frozenset(
    {
        "alert.raised",
        "alert.resolved",
        "station.connected",
        "station.disconnected",
        "session.started",
        "session.ended",
        "webhook.ping",
    }
)
"""The event types webhooks deliver (the stream has more: docs/alerts.md)."""


class DeliveryState(StrEnum):
    PENDING = "pending"
    """Waiting for its first attempt or a retry (``next_attempt_at``)."""
    DELIVERED = "delivered"
    """The receiver answered 2xx."""
    FAILED = "failed"
    """Every attempt failed (``webhook_max_attempts``), or the subscription was deleted."""


@dataclass(frozen=True, slots=True)
class Webhook:
    id: int
    url: str
    secret: str
    event_types: tuple[str, ...]
    """The event types delivered; empty: all of :data:`WEBHOOK_EVENT_TYPES`."""
    enabled: bool
    description: str | None
    created_at: datetime
    updated_at: datetime

    def wants(self, event_type: str) -> bool:
        if not self.enabled:
            return False
        return not self.event_types or event_type in self.event_types


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for one webhook, with the state of its attempts."""

    id: int
    webhook_id: int
    event_type: str
    event: dict[str, Any]
    """The event as the stream shows it (``id``, ``type``, ``at``, ``station_id``, ``data``)."""
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """One HTTP attempt of a delivery."""

    delivery_id: int
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``max_attempts`` in all; the n-th retry waits ``base * 2**(n-1)`` seconds (at most
    ``cap``), of which a random half is jitter so that many failed deliveries do not retry in
    lockstep against a receiver that just came back."""

    max_attempts: int
    base: float
    cap: float
    rand: Callable[[], float] = field(default=random.random)


def backoff(policy: RetryPolicy, attempts_made: int) -> timedelta | None:
    """How long to wait before the next attempt, or ``None`` when none is left."""
    if attempts_made >= policy.max_attempts:
        return None
    full = min(policy.cap, policy.base * 2 ** max(0, attempts_made - 1))
    return timedelta(seconds=full / 2 + policy.rand() * full / 2)


def signed_body(delivery: Delivery, timestamp: int) -> bytes:
    """The body of one attempt: the event, the delivery id and the attempt's timestamp."""
    return orjson.dumps(
        {
            "delivery_id": delivery.id,
            "timestamp": timestamp,
            "type": delivery.event_type,
            "event": delivery.event,
        }
    )


def signature(secret: str, body: bytes) -> str:
    """The ``X-OpenCSMS-Signature`` header value for ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"

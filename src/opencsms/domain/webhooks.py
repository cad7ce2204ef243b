"""Webhooks: subscriptions, and the delivery of feed events to them with signing and retries.

Each feed event (domain/event_feed.py) of a type a subscription wants becomes a *delivery*,
stored before anything is sent. The dispatcher then POSTs it (domain/webhook_model.py has the body
and signature) and records every attempt. A non-2xx answer, a timeout or a network error schedules
a retry with exponential back-off and jitter until ``webhook_max_attempts``; pending deliveries
are reloaded at start, so retries survive a restart.

Isolation: at most one attempt per subscription is in flight (a slow endpoint delays only its own
deliveries, in order), at most ``webhook_concurrency`` in all, and each attempt is bounded by
``webhook_timeout`` seconds.

The intake (feed event → stored deliveries) has explicit failure modes, each logged once per
episode, none spinning:

* it listens only to the event types some enabled subscription wants (none: nothing is queued,
  so a node without webhooks can never fall behind);
* storing the deliveries fails (store outage, any exception): the same event is retried with
  back-off (``retry_base`` capped at 1 s, doubling up to 30 s) while later events wait in the
  listener's queue; one log when it starts failing, one when it recovers;
* the queue overflows (``_FEED_QUEUE`` events behind: a long outage): the listener is dropped by
  the feed, the intake logs how far behind it was and listens again from the current event.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

import httpx

from opencsms.clock import Clock
from opencsms.domain.event_feed import EventFeed, FeedListener, PublicEvent
from opencsms.domain.webhook_model import (
    WEBHOOK_EVENT_TYPES,
    Attempt,
    Delivery,
    DeliveryState,
    RetryPolicy,
    Webhook,
    backoff,
    signature,
    signed_body,
)
from opencsms.errors import NotFoundError, OpenCsmsError

if TYPE_CHECKING:
    from opencsms.storage.store import Storage

__all__ = ["HttpPoster", "InvalidWebhook", "Poster", "WebhookService", "WebhookSettings"]

log = logging.getLogger(__name__)

_FEED_QUEUE = 100_000
#: Upper bound of the intake's back-off while the store refuses deliveries (seconds).
_INTAKE_RETRY_MAX = 30.0


class InvalidWebhook(OpenCsmsError):
    """A subscription's fields are not acceptable; the message says which and why."""


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    max_attempts: int = 8
    timeout: float = 10.0
    retry_base: float = 10.0
    retry_max: float = 3600.0
    concurrency: int = 8


class Poster(Protocol):
    """Sends one POST; returns the status code, raises ``OSError``/``TimeoutError`` on failure."""

    async def __call__(self, url: str, body: bytes, headers: dict[str, str], limit: float) -> int:
        """POST ``body``; ``limit``: seconds the whole exchange may take."""
        ...


class HttpPoster:
    """:class:`Poster` over one shared httpx client (connection reuse per receiver)."""

    def __init__(self) -> None:
        # Made on the first delivery: building its TLS context reads the CA bundle (~50 ms),
        # a cost every node start would pay even with no webhook configured.
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, url: str, body: bytes, headers: dict[str, str], limit: float) -> int:
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False)
        try:
            response = await self._client.post(url, content=body, headers=headers, timeout=limit)
        except httpx.TimeoutException as exc:
            raise TimeoutError(f"no answer within {limit} s") from exc
        except httpx.HTTPError as exc:
            raise OSError(f"{type(exc).__name__}: {exc}") from exc
        return response.status_code

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def _check(url: str, event_types: Sequence[str]) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidWebhook("url must be an absolute http:// or https:// URL")
    unknown = sorted(set(event_types) - WEBHOOK_EVENT_TYPES)
    if unknown:
        allowed = ", ".join(sorted(WEBHOOK_EVENT_TYPES))
        raise InvalidWebhook(f"unknown event types {unknown}; allowed: {allowed}")


class WebhookService:
    """Subscriptions and their deliveries (one instance per node)."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        feed: EventFeed,
        settings: WebhookSettings,
        *,
        poster: Poster | None = None,
        rand: Callable[[], float] | None = None,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._feed = feed
        self.settings = settings
        self._poster: Poster = poster or HttpPoster()
        policy = RetryPolicy(settings.max_attempts, settings.retry_base, settings.retry_max)
        self._policy = replace(policy, rand=rand) if rand is not None else policy
        self._hooks: dict[int, Webhook] = {}
        self.on_change: Callable[[], None] = lambda: None
        """Called after each subscription change (a cluster tells the other nodes)."""
        self._due: dict[int, list[tuple[datetime, int]]] = {}
        """Per webhook: a heap of (next attempt, delivery id)."""
        self._busy: set[int] = set()
        self._wake = asyncio.Event()
        self._one_shot: set[int] = set()
        """Deliveries an operator asked to redeliver: one attempt, no retries."""
        self.counts: dict[tuple[str, str], int] = {}
        """Attempts by (event type, outcome ``delivered``/``retry``/``failed``), for metrics."""
        self._listener: FeedListener | None = None
        self.intake_failures = 0
        """Times storing an event's deliveries failed (each retried), for tests and metrics."""
        self.intake_overflows = 0
        """Times the intake fell ``_FEED_QUEUE`` events behind and listened again."""

    # ------------------------------------------------------------------ subscriptions

    async def load(self) -> None:
        """Load the subscriptions and the pending deliveries (at start)."""
        await self.reload_hooks()
        for delivery in await self._storage.webhooks.pending():
            self._schedule(delivery)

    async def reload_hooks(self) -> None:
        """Read the subscriptions again (another node of the cluster changed them)."""
        self._hooks = {hook.id: hook for hook in await self._storage.webhooks.webhooks()}
        self._listen_for_wanted()

    async def create(
        self,
        url: str,
        *,
        secret: str | None,
        event_types: Sequence[str],
        enabled: bool,
        description: str | None,
    ) -> Webhook:
        _check(url, event_types)
        now = self._clock.now()
        hook = await self._storage.webhooks.create_webhook(
            Webhook(
                id=0,
                url=url,
                secret=secret or secrets.token_urlsafe(32),
                event_types=tuple(dict.fromkeys(event_types)),
                enabled=enabled,
                description=description,
                created_at=now,
                updated_at=now,
            )
        )
        self._hooks[hook.id] = hook
        self._listen_for_wanted()
        self.on_change()
        return hook

    async def update(self, webhook_id: int, **changes: object) -> Webhook:
        """Change some fields (``url``, ``secret``, ``event_types``, ``enabled``,
        ``description``); ``None`` values are left alone."""
        hook = self.get(webhook_id)
        values = {k: v for k, v in changes.items() if v is not None}
        if "event_types" in values:
            values["event_types"] = tuple(dict.fromkeys(values["event_types"]))  # type: ignore[call-overload]
        hook = replace(hook, **values, updated_at=self._clock.now())  # type: ignore[arg-type]
        _check(hook.url, hook.event_types)
        await self._storage.webhooks.save_webhook(hook)
        self._hooks[hook.id] = hook
        self._listen_for_wanted()
        self._wake.set()
        self.on_change()
        return hook

    async def delete(self, webhook_id: int) -> None:
        """Remove the subscription; its pending deliveries are dropped from the schedule (they
        stay in the log as they are)."""
        self.get(webhook_id)
        await self._storage.webhooks.delete_webhook(webhook_id)
        self._hooks.pop(webhook_id, None)
        self._due.pop(webhook_id, None)
        self.on_change()
        self._listen_for_wanted()

    def get(self, webhook_id: int) -> Webhook:
        hook = self._hooks.get(webhook_id)
        if hook is None:
            raise NotFoundError(f"webhook {webhook_id} not found")
        return hook

    @property
    def intake_backlog(self) -> int:
        """Feed events waiting to be turned into deliveries (0 while the intake keeps up)."""
        return self._listener.backlog if self._listener is not None else 0

    @property
    def intake_types(self) -> frozenset[str] | None:
        """The event types the intake listens to now (``None`` before it started)."""
        return self._listener.types if self._listener is not None else None

    def _wanted(self) -> frozenset[str]:
        wanted: set[str] = set()
        for hook in self._hooks.values():
            if hook.enabled:
                wanted.update(hook.event_types or WEBHOOK_EVENT_TYPES)  # none listed: all
        return frozenset(wanted)

    def _listen_for_wanted(self) -> None:
        """Narrow the intake's listener to what enabled subscriptions want (the feed offers it
        nothing else, so an idle node keeps no queue)."""
        if self._listener is not None:
            self._listener.types = self._wanted()

    def subscriptions(self) -> list[Webhook]:
        return sorted(self._hooks.values(), key=lambda h: h.id)

    # ------------------------------------------------------------------ deliveries

    async def enqueue(self, event: PublicEvent, hooks: Sequence[Webhook]) -> list[Delivery]:
        """Store one delivery of ``event`` per hook, then schedule them now."""
        if not hooks:
            return []
        now = self._clock.now()
        drafts = [
            Delivery(
                id=0,
                webhook_id=hook.id,
                event_type=event.type,
                event=event.as_json(),
                state=DeliveryState.PENDING,
                attempts=0,
                next_attempt_at=now,
                last_status_code=None,
                last_error=None,
                created_at=now,
                updated_at=now,
            )
            for hook in hooks
        ]
        created = await self._storage.webhooks.create_deliveries(drafts)
        for delivery in created:
            self._schedule(delivery)
        return created

    async def ping(self, webhook_id: int) -> Delivery:
        """Deliver a ``webhook.ping`` event to this subscription only (even when disabled)."""
        hook = self.get(webhook_id)
        now = self._clock.now()
        event = PublicEvent(0, "webhook.ping", now, None, {"webhook_id": hook.id})
        (delivery,) = await self.enqueue(event, [hook])
        return delivery

    async def redeliver(self, webhook_id: int, delivery_id: int) -> Delivery:
        """Send a delivery again now, whatever its state: one more attempt (numbered on from
        the earlier ones) and, if it fails, no automatic retry."""
        self.get(webhook_id)
        delivery = await self._storage.webhooks.delivery(delivery_id)
        if delivery is None or delivery.webhook_id != webhook_id:
            raise NotFoundError(f"delivery {delivery_id} of webhook {webhook_id} not found")
        now = self._clock.now()
        delivery = replace(
            delivery, state=DeliveryState.PENDING, next_attempt_at=now, updated_at=now
        )
        await self._storage.webhooks.save_delivery(delivery)
        self._one_shot.add(delivery.id)
        self._schedule(delivery)
        return delivery

    def _schedule(self, delivery: Delivery) -> None:
        due = delivery.next_attempt_at or self._clock.now()
        heap = self._due.setdefault(delivery.webhook_id, [])
        if all(entry[1] != delivery.id for entry in heap):
            heapq.heappush(heap, (due, delivery.id))
        self._wake.set()

    # ------------------------------------------------------------------ the dispatcher

    async def run(self) -> None:
        """Turn feed events into deliveries and send them, until cancelled (owned by the node)."""
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._intake())
                await self._dispatch(tasks)
        finally:
            if isinstance(self._poster, HttpPoster):
                await self._poster.aclose()

    async def _intake(self) -> None:
        """Feed events → stored deliveries, until the feed closes (see the module docstring)."""
        while not self._feed.closed:
            # Local events only: in a cluster each event is taken by the node where it
            # happened, so it is delivered once, not once per node.
            listener = self._feed.listen(types=self._wanted(), size=_FEED_QUEUE, local_only=True)
            self._listener = listener
            try:
                while (event := await listener.get()) is not None:
                    await self._store_with_retry(event)
            finally:
                self._listener = None
                listener.close()
            if not listener.overflowed:
                return  # the feed closed: the node is stopping
            self.intake_overflows += 1
            log.error(
                "webhooks: fell %d events behind the feed (the store was failing or too slow); "
                "events after those were not delivered; listening again from now",
                _FEED_QUEUE,
            )

    async def _store_with_retry(self, event: PublicEvent) -> None:
        """Store ``event``'s deliveries, retrying with back-off until the store takes them.

        Any exception is retried, not just ``StorageError``: a PostgreSQL outage surfaces as the
        driver's own errors, and an intake that died would silently stop every webhook."""
        delay = min(1.0, self.settings.retry_base)
        failures = 0
        while True:
            hooks = [h for h in self._hooks.values() if h.wants(event.type)]
            try:
                await self.enqueue(event, hooks)
            except Exception:
                failures += 1
                self.intake_failures += 1
                if failures == 1:
                    log.exception(
                        "webhooks: could not store the deliveries of %s event %d; retrying "
                        "with back-off (later events wait)",
                        event.type,
                        event.id,
                    )
                await asyncio.sleep(delay)  # back-off, never a spin
                delay = min(delay * 2, _INTAKE_RETRY_MAX)
                continue
            if failures:
                log.warning(
                    "webhooks: stored the deliveries of %s event %d after %d failed tries",
                    event.type,
                    event.id,
                    failures,
                )
            return

    async def _dispatch(self, tasks: asyncio.TaskGroup) -> None:
        while True:
            self._wake.clear()
            now = self._clock.now()
            earliest: datetime | None = None
            for webhook_id, heap in list(self._due.items()):
                if webhook_id not in self._hooks:
                    del self._due[webhook_id]
                    continue
                if not heap or webhook_id in self._busy:
                    continue
                due, delivery_id = heap[0]
                if due > now:
                    earliest = due if earliest is None else min(earliest, due)
                    continue
                if len(self._busy) >= self.settings.concurrency:
                    break
                heapq.heappop(heap)
                self._busy.add(webhook_id)
                tasks.create_task(self._attempt(webhook_id, delivery_id))
            wait = None if earliest is None else max(0.0, (earliest - now).total_seconds())
            try:
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _attempt(self, webhook_id: int, delivery_id: int) -> None:
        try:
            await self.attempt(delivery_id)
        except OpenCsmsError:
            log.exception("webhooks: delivery %d could not be recorded", delivery_id)
        finally:
            self._busy.discard(webhook_id)
            self._wake.set()

    async def attempt(self, delivery_id: int) -> Delivery | None:
        """Make one attempt of a pending delivery and store its outcome."""
        delivery = await self._storage.webhooks.delivery(delivery_id)
        hook = self._hooks.get(delivery.webhook_id) if delivery is not None else None
        if delivery is None or hook is None or delivery.state is not DeliveryState.PENDING:
            return None
        started = self._clock.now()
        # The attempt is this node's only if it claims it (a restarted node reloads pending
        # deliveries another live node may be retrying too): one send per attempt.
        lease = started + timedelta(seconds=self.settings.timeout * 2)
        # A second of slack: the schedule runs on the monotonic clock, the row holds wall time.
        if not await self._storage.webhooks.claim(delivery, started + timedelta(seconds=1), lease):
            return None
        body = signed_body(delivery, int(started.timestamp()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "OpenCSMS-Webhooks",
            "X-OpenCSMS-Event": delivery.event_type,
            "X-OpenCSMS-Delivery": str(delivery.id),
            "X-OpenCSMS-Signature": signature(hook.secret, body),
        }
        status_code: int | None = None
        error: str | None = None
        t0 = time.perf_counter()
        try:
            # httpx bounds each phase; this bounds the whole exchange (a receiver dripping bytes)
            async with asyncio.timeout(self.settings.timeout):
                status_code = await self._poster(hook.url, body, headers, self.settings.timeout)
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except (OSError, TimeoutError) as exc:
            error = str(exc) or type(exc).__name__
        except asyncio.CancelledError:
            # The node is stopping with the receiver's answer outstanding: the attempt has no
            # outcome. Give the claim back so that the next start (or another node) makes it
            # at once instead of after the lease; the receiver may see this body twice and
            # tells the two apart by X-OpenCSMS-Delivery.
            try:
                await self._storage.webhooks.release(delivery, lease, started)
            except Exception:  # the store is failing too: the lease runs out instead
                log.exception("webhooks: could not give back the claim on delivery %d", delivery.id)
            raise
        duration_ms = (time.perf_counter() - t0) * 1000
        number = delivery.attempts + 1
        now = self._clock.now()
        one_shot = delivery.id in self._one_shot
        self._one_shot.discard(delivery.id)
        if error is None:
            outcome = "delivered"
            delivery = replace(
                delivery,
                state=DeliveryState.DELIVERED,
                attempts=number,
                next_attempt_at=None,
                last_status_code=status_code,
                last_error=None,
                updated_at=now,
                delivered_at=now,
            )
        else:
            wait = None if one_shot else backoff(self._policy, number)
            outcome = "failed" if wait is None else "retry"
            delivery = replace(
                delivery,
                state=DeliveryState.FAILED if wait is None else DeliveryState.PENDING,
                attempts=number,
                next_attempt_at=None if wait is None else now + wait,
                last_status_code=status_code,
                last_error=error,
                updated_at=now,
            )
        attempt = Attempt(delivery.id, number, started, status_code, error, duration_ms)
        await self._storage.webhooks.save_delivery(delivery, attempt)
        key = (delivery.event_type, outcome)
        self.counts[key] = self.counts.get(key, 0) + 1
        if delivery.state is DeliveryState.PENDING:
            self._schedule(delivery)
        return delivery

    async def deliveries(
        self, webhook_id: int, *, state: str | None, before: int | None, limit: int
    ) -> list[Delivery]:
        self.get(webhook_id)
        return await self._storage.webhooks.deliveries(
            webhook_id, state=state, before=before, limit=limit
        )

    async def delivery(self, webhook_id: int, delivery_id: int) -> tuple[Delivery, list[Attempt]]:
        delivery = await self._storage.webhooks.delivery(delivery_id)
        if delivery is None or delivery.webhook_id != webhook_id:
            raise NotFoundError(f"delivery {delivery_id} of webhook {webhook_id} not found")
        return delivery, await self._storage.webhooks.attempts(delivery_id)

"""``/api/v1/webhooks``: subscriptions, their delivery log, a test ping and redelivery
(docs/alerts.md "Webhooks"). The secret is shown once, in the answer that created it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, Field

from opencsms.api.responses import INVALID_BODY, errors
from opencsms.domain.webhook_model import WEBHOOK_EVENT_TYPES, Attempt, Delivery, Webhook
from opencsms.domain.webhooks import InvalidWebhook
from opencsms.errors import NotFoundError

if TYPE_CHECKING:
    from opencsms.app import Csms

__all__ = ["webhooks_router"]

_UNKNOWN = errors({404: "Unknown webhook or delivery"})
_TYPES = ", ".join(sorted(WEBHOOK_EVENT_TYPES))


class WebhookIn(BaseModel):
    url: str = Field(max_length=2000, description="http:// or https:// URL the events go to")
    secret: str | None = Field(
        None,
        min_length=16,
        max_length=200,
        description="HMAC key; omitted: the CSMS makes one and returns it once",
    )
    event_types: list[str] = Field(
        default_factory=list, description=f"Event types to deliver ([] = all): {_TYPES}"
    )
    enabled: bool = True
    description: str | None = Field(None, max_length=500)


class WebhookPatch(BaseModel):
    url: str | None = Field(None, max_length=2000)
    secret: str | None = Field(None, min_length=16, max_length=200)
    event_types: list[str] | None = None
    enabled: bool | None = None
    description: str | None = Field(None, max_length=500)


class WebhookOut(BaseModel):
    id: int
    url: str
    event_types: list[str]
    enabled: bool
    description: str | None
    created_at: datetime
    updated_at: datetime
    secret: str | None = Field(
        None, description="Only in the answer to the POST that created the webhook"
    )


class AttemptOut(BaseModel):
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float


class DeliveryOut(BaseModel):
    id: int
    webhook_id: int
    event_type: str
    state: str = Field(description="pending, delivered or failed")
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
    event: dict[str, Any]
    attempt_log: list[AttemptOut] | None = Field(
        None, description="Every attempt (in the detail answer only)"
    )


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_before: int | None


def _out(hook: Webhook, *, with_secret: bool = False) -> WebhookOut:
    return WebhookOut(
        id=hook.id,
        url=hook.url,
        event_types=list(hook.event_types),
        enabled=hook.enabled,
        description=hook.description,
        created_at=hook.created_at,
        updated_at=hook.updated_at,
        secret=hook.secret if with_secret else None,
    )


def _delivery(d: Delivery, attempts: list[Attempt] | None = None) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        webhook_id=d.webhook_id,
        event_type=d.event_type,
        state=d.state.value,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        created_at=d.created_at,
        updated_at=d.updated_at,
        delivered_at=d.delivered_at,
        event=d.event,
        attempt_log=None
        if attempts is None
        else [
            AttemptOut(
                attempt=a.attempt,
                at=a.at,
                status_code=a.status_code,
                error=a.error,
                duration_ms=a.duration_ms,
            )
            for a in attempts
        ],
    )


def _unprocessable(exc: InvalidWebhook) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))


def _not_found(exc: NotFoundError) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))


def webhooks_router(csms: Csms) -> APIRouter:
    router = APIRouter(prefix="/webhooks", tags=["webhooks"])

    @router.post(
        "", response_model=WebhookOut, status_code=status.HTTP_201_CREATED, responses=INVALID_BODY
    )
    async def create_webhook(body: WebhookIn) -> WebhookOut:
        """Subscribe a URL to events. Keep the returned ``secret``: it is not shown again."""
        try:
            hook = await csms.webhooks.create(
                body.url,
                secret=body.secret,
                event_types=body.event_types,
                enabled=body.enabled,
                description=body.description,
            )
        except InvalidWebhook as exc:
            raise _unprocessable(exc) from None
        return _out(hook, with_secret=True)

    @router.get("", response_model=list[WebhookOut])
    async def list_webhooks() -> list[WebhookOut]:
        """Every subscription (secrets are not shown)."""
        return [_out(h) for h in csms.webhooks.subscriptions()]

    @router.get("/{webhook_id}", response_model=WebhookOut, responses=_UNKNOWN)
    async def get_webhook(webhook_id: int) -> WebhookOut:
        """One subscription (its secret is not shown)."""
        try:
            return _out(csms.webhooks.get(webhook_id))
        except NotFoundError as exc:
            raise _not_found(exc) from None

    @router.patch("/{webhook_id}", response_model=WebhookOut, responses=_UNKNOWN | INVALID_BODY)
    async def update_webhook(webhook_id: int, body: WebhookPatch) -> WebhookOut:
        """Change some fields; omitted ones stay."""
        try:
            hook = await csms.webhooks.update(
                webhook_id,
                url=body.url,
                secret=body.secret,
                event_types=body.event_types,
                enabled=body.enabled,
                description=body.description,
            )
        except NotFoundError as exc:
            raise _not_found(exc) from None
        except InvalidWebhook as exc:
            raise _unprocessable(exc) from None
        return _out(hook)

    @router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_UNKNOWN)
    async def delete_webhook(webhook_id: int) -> Response:
        """Unsubscribe; pending deliveries are no longer attempted (the log stays)."""
        try:
            await csms.webhooks.delete(webhook_id)
        except NotFoundError as exc:
            raise _not_found(exc) from None
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.get(
        "/{webhook_id}/deliveries",
        response_model=DeliveryPage,
        responses=_UNKNOWN | INVALID_BODY,
    )
    async def list_deliveries(
        webhook_id: int,
        state: Annotated[str | None, Query(pattern="^(pending|delivered|failed)$")] = None,
        before: Annotated[int | None, Query(ge=1)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> DeliveryPage:
        """The delivery log, newest first."""
        try:
            found = await csms.webhooks.deliveries(
                webhook_id, state=state, before=before, limit=limit
            )
        except NotFoundError as exc:
            raise _not_found(exc) from None
        items = [_delivery(d) for d in found]
        return DeliveryPage(items=items, next_before=items[-1].id if len(items) == limit else None)

    @router.get(
        "/{webhook_id}/deliveries/{delivery_id}", response_model=DeliveryOut, responses=_UNKNOWN
    )
    async def get_delivery(webhook_id: int, delivery_id: int) -> DeliveryOut:
        """One delivery with every attempt (status code, error, duration)."""
        try:
            delivery, attempts = await csms.webhooks.delivery(webhook_id, delivery_id)
        except NotFoundError as exc:
            raise _not_found(exc) from None
        return _delivery(delivery, attempts)

    @router.post(
        "/{webhook_id}/deliveries/{delivery_id}/redeliver",
        response_model=DeliveryOut,
        status_code=status.HTTP_202_ACCEPTED,
        responses=_UNKNOWN,
    )
    async def redeliver(webhook_id: int, delivery_id: int) -> DeliveryOut:
        """Attempt the delivery once more, now (no automatic retry if that fails)."""
        try:
            return _delivery(await csms.webhooks.redeliver(webhook_id, delivery_id))
        except NotFoundError as exc:
            raise _not_found(exc) from None

    @router.post(
        "/{webhook_id}/ping",
        response_model=DeliveryOut,
        status_code=status.HTTP_202_ACCEPTED,
        responses=_UNKNOWN,
    )
    async def ping(webhook_id: int) -> DeliveryOut:
        """Send a ``webhook.ping`` event to this webhook (even a disabled one); follow it in
        the delivery log."""
        try:
            return _delivery(await csms.webhooks.ping(webhook_id))
        except NotFoundError as exc:
            raise _not_found(exc) from None

    return router

"""A delivery's attempt is claimed by one node only (several nodes may know a pending one)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from opencsms.domain.webhook_model import Delivery, DeliveryState, Webhook
from opencsms.storage import Storage
from tests.storage.conftest import T0


async def pending_delivery(storage: Storage) -> Delivery:
    """A webhook and one delivery, due at T0, not yet attempted."""
    hook = await storage.webhooks.create_webhook(
        Webhook(0, "http://127.0.0.1:9/x", "s", ("station.connected",), True, None, T0, T0)
    )
    draft = Delivery(
        0, hook.id, "station.connected", {"id": 1}, DeliveryState.PENDING, 0, T0, None, None, T0, T0
    )
    (delivery,) = await storage.webhooks.create_deliveries([draft])
    return delivery


async def test_an_attempt_is_claimed_once(storage: Storage) -> None:
    delivery = await pending_delivery(storage)
    until = T0 + timedelta(seconds=20)
    assert await storage.webhooks.claim(delivery, T0, until)  # this node sends attempt 1
    assert not await storage.webhooks.claim(delivery, T0, until)  # another node: taken
    # The attempt failed; the retry is due in a minute: not before, and then once.
    due = T0 + timedelta(seconds=60)
    retried = replace(delivery, attempts=1, next_attempt_at=due)
    await storage.webhooks.save_delivery(retried)
    assert not await storage.webhooks.claim(retried, T0 + timedelta(seconds=30), due)
    later = due + timedelta(seconds=20)
    assert await storage.webhooks.claim(retried, due, later)
    assert not await storage.webhooks.claim(retried, due, later)
    done = replace(retried, attempts=2, state=DeliveryState.DELIVERED, next_attempt_at=None)
    await storage.webhooks.save_delivery(done)
    assert not await storage.webhooks.claim(done, later, later)


async def test_a_claim_given_back_makes_the_attempt_due_again(storage: Storage) -> None:
    delivery = await pending_delivery(storage)
    until = T0 + timedelta(seconds=20)
    assert await storage.webhooks.claim(delivery, T0, until)
    assert not await storage.webhooks.claim(delivery, T0, until)  # held until `until`
    # The node stopped before the receiver answered: the claim goes back, due at once.
    assert await storage.webhooks.release(delivery, until, T0)
    assert not await storage.webhooks.release(delivery, until, T0)  # no longer held
    later = T0 + timedelta(seconds=1)
    assert await storage.webhooks.claim(delivery, later, later + timedelta(seconds=20))
    # A claim this node no longer holds (another node took the attempt) is not given back.
    assert not await storage.webhooks.release(delivery, until, T0)
    assert not await storage.webhooks.claim(delivery, later, later)

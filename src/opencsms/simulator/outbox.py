"""The station's ordered store of transaction-related messages (1.6 §4.7 note, 2.0.1 E04/J):
kept until the CSMS acknowledged them, delivered strictly in order, also after a reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from opencsms.errors import CallFailedError, CallTimeoutError, ConnectionClosedError
from opencsms.simulator.connection import Link
from opencsms.simulator.faults import FaultSettings

__all__ = ["Outbox", "QueuedMessage"]


@dataclass(slots=True)
class QueuedMessage:
    """A transaction-related message kept until the CSMS acknowledged it.

    ``delivered`` resolves with the CALLRESULT payload, or with ``None`` when the CSMS refused
    the message with a CALLERROR (then ``error`` says why; it is not resent).
    """

    action: str
    payload: dict[str, Any]
    delivered: asyncio.Future[dict[str, Any] | None]
    queued_offline: bool
    error: CallFailedError | None = None
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    """Completes the payload just before it is sent (a 1.6 transactionId learnt meanwhile)."""
    on_answer: Callable[[dict[str, Any] | None], None] | None = None
    """Called with the answer (None: refused) before ``delivered`` resolves."""
    answered: bool = False
    """``on_answer`` ran (from the reader, as the CALLRESULT arrived: see ``Link.call``)."""

    def answer_now(self, answer: dict[str, Any]) -> None:
        """Run ``on_answer`` once, as soon as the reader takes the CALLRESULT: the station
        then knows a 1.6 transactionId before it handles the CSMS's next CALL."""
        if not self.answered and self.on_answer is not None:
            self.answered = True
            self.on_answer(answer)


class Outbox:
    """Queued messages of one station; :meth:`deliver` runs once per connection."""

    def __init__(self, faults: FaultSettings, changed: Callable[[], Awaitable[None]]) -> None:
        self._faults = faults
        self._changed = changed
        self._queue: deque[QueuedMessage] = deque()
        self._wake = asyncio.Event()

    def __len__(self) -> int:
        return len(self._queue)

    def put(
        self,
        action: str,
        payload: dict[str, Any],
        *,
        offline: bool,
        prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        on_answer: Callable[[dict[str, Any] | None], None] | None = None,
    ) -> QueuedMessage:
        """Append a message; ``offline`` says it was made while the CSMS was unreachable."""
        message = QueuedMessage(
            action,
            payload,
            asyncio.get_running_loop().create_future(),
            queued_offline=offline,
            prepare=prepare,
            on_answer=on_answer,
        )
        self._queue.append(message)
        self._wake.set()
        return message

    def holds_transaction(self, transaction_id: str | None) -> bool:
        """E14: whether messages of ``transaction_id`` (any, when None) are waiting."""
        for message in self._queue:
            if transaction_id is None:
                return True
            info = message.payload.get("transactionInfo")
            if info is not None and info.get("transactionId") == transaction_id:
                return True
            if str(message.payload.get("transactionId")) == transaction_id:
                return True
        return False

    async def deliver(self, link: Link) -> None:
        """Send queued messages in order, each until acknowledged; runs until the link ends."""
        if self._faults.reverse_queued_events:
            self._reverse_events()
        while True:
            self._wake.clear()
            while self._queue:
                message = self._queue[0]
                if message.prepare is not None:
                    message.payload = message.prepare(message.payload)
                    message.prepare = None
                try:
                    answer: dict[str, Any] | None = await link.call(
                        message.action, message.payload, on_result=message.answer_now
                    )
                except CallTimeoutError:
                    continue  # unacknowledged: send the same message again
                except ConnectionClosedError:
                    raise  # stays queued for the next connection
                except CallFailedError as exc:  # refused by the CSMS: resending will not help
                    message.error = exc
                    answer = None
                if self._faults.duplicate_transaction_messages and answer is not None:
                    # The same message again, as after a lost answer; its answer is not used.
                    with contextlib.suppress(CallFailedError):
                        await link.call(message.action, message.payload)
                self._queue.popleft()
                if message.on_answer is not None and not message.answered:
                    message.on_answer(answer)
                if not message.delivered.done():
                    message.delivered.set_result(answer)
                await self._changed()
            await self._wake.wait()

    def _reverse_events(self) -> None:
        """The reverse_queued_events fault: queued TransactionEvents go out newest first."""
        events = [m for m in self._queue if m.action == "TransactionEvent"]
        if len(events) < 2:
            return
        reordered = iter(reversed(events))
        self._queue = deque(
            next(reordered) if m.action == "TransactionEvent" else m for m in self._queue
        )

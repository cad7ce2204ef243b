"""The load manager's sends: SetChargingProfile batches in their own tasks, never two in flight
for one target, decreases before increases (docs/load-management.md, "What is sent, and when").

A round (:mod:`opencsms.domain.load_management_worker`) hands each root group's batch to
:meth:`Dispatcher.dispatch` and does not wait for it: a station that does not answer holds up
only its own sends. The dispatcher counts what is in flight per target (a session's TxProfile, a
station's TxDefault) and per root group, so the next round can skip a target still waiting for
its answer (``InFlight``) and defer a tree's increases while anything in it is unanswered
(``Deferred``); when such a send lands it asks for a round (``retrigger``) so nothing waits for the
safety round. Batches store their decision when their last send lands.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from opencsms.domain.load_management_model import Decision, DecisionEntry
from opencsms.domain.load_management_plan import session_key
from opencsms.smartcharging import ChargingProfile

__all__ = ["Dispatcher", "Send", "target_of", "with_status"]

log = logging.getLogger("opencsms.load_management")


@dataclass(slots=True)
class Send:
    """One SetChargingProfile of a round: the decision entry it answers and the profile."""

    entry: DecisionEntry
    profile: ChargingProfile
    decrease: bool
    forced: int | None = None
    landed: bool = False
    """Answered, failed or deferred: no longer counted in flight."""

    @property
    def target(self) -> str:
        return target_of(self.entry)


def target_of(entry: DecisionEntry) -> str:
    """What one send changes: a session's TxProfile or a station's TxDefault."""
    if entry.kind == "TxDefault":
        return f"{entry.station_id}/default"
    return session_key(entry.station_id, entry.evse_id)


def with_status(entry: DecisionEntry, status: str, detail: str | None) -> DecisionEntry:
    """``entry`` with its outcome."""
    return DecisionEntry(
        entry.station_id,
        entry.evse_id,
        entry.kind,
        entry.limit_a,
        entry.transaction_id,
        entry.previous_a,
        entry.measured_a,
        status,
        detail,
    )


class Dispatcher:
    """Runs batches of sends with bounded concurrency and tracks what is in flight."""

    def __init__(
        self,
        send: Callable[[Send], Awaitable[DecisionEntry]],
        record: Callable[[Decision], Awaitable[None]],
        retrigger: Callable[[str], None],
        on_idle: Callable[[], None],
        concurrency: int,
    ) -> None:
        self._send = send
        self._record = record
        self._retrigger = retrigger
        self._on_idle = on_idle
        self._semaphore = asyncio.Semaphore(max(1, concurrency))
        self.tasks: asyncio.TaskGroup | None = None
        """Owner of the batches (the worker's, while it runs; else the caller's loop)."""
        self._dispatches: set[asyncio.Task[Decision | None]] = set()
        self._in_flight: set[str] = set()
        """Targets (:func:`target_of`) whose SetChargingProfile is not answered yet."""
        self._busy: dict[str, int] = {}
        """Root group → sends in flight in its tree."""
        self._waiting: set[str] = set()
        """Root groups whose increases were deferred because of a send in flight: a round runs
        again when the tree has nothing in flight."""
        self._skipped: set[str] = set()
        """Targets skipped because their previous send was in flight: re-evaluated on landing."""

    @property
    def busy(self) -> bool:
        """Whether any batch is still running."""
        return bool(self._dispatches)

    def skip_in_flight(self, root: str, items: list[Send | DecisionEntry]) -> None:
        """Replace, in ``items``, every send whose target is still in flight by an ``InFlight``
        entry: never two SetChargingProfile for one target at once (the older answer could land
        last and leave the record wrong). The target is re-evaluated when its send lands."""
        for index, item in enumerate(items):
            if isinstance(item, Send) and item.target in self._in_flight:
                items[index] = with_status(item.entry, "InFlight", "previous send not answered yet")
                self._skipped.add(item.target)

    def dispatch(
        self,
        root: str,
        items: list[Send | DecisionEntry],
        decide: Callable[[tuple[DecisionEntry, ...]], Decision],
    ) -> asyncio.Task[Decision | None]:
        """Start sending one root's batch in its own task; once every send landed, the
        decision ``decide(entries)`` is recorded and is the task's result."""
        sends = [i for i in items if isinstance(i, Send)]
        for send in sends:
            self._in_flight.add(send.target)
        self._busy[root] = self._busy.get(root, 0) + len(sends)
        kept = [i for i in items if isinstance(i, DecisionEntry)]

        async def batch() -> Decision | None:
            try:
                entries = await self._send_all(root, sends)
                decision = decide(tuple(entries + kept))
                await self._record(decision)
                return decision
            except Exception:  # a failed batch is retried by the next round
                log.exception("load management: sending to %s failed", root)
                return None
            finally:
                for send in sends:
                    self._landed(send, root)  # those a failure left unaccounted
                self._dispatches.discard(task)
                self._on_idle()

        if self.tasks is not None:
            task = self.tasks.create_task(batch(), name=f"load-management-send-{root}")
        else:  # the worker is not running: the caller's loop owns it until awaited
            task = asyncio.get_running_loop().create_task(batch())
        self._dispatches.add(task)
        return task

    async def _send_all(self, root: str, sends: list[Send]) -> list[DecisionEntry]:
        """Decreases first; increases only once every decrease was Accepted and nothing else
        in the tree is in flight (an unanswered send may still be a decrease the plan counts
        on)."""
        first = [s for s in sends if s.decrease]
        then = [s for s in sends if not s.decrease]
        done = list(await asyncio.gather(*(self._bounded(s, root) for s in first)))
        if not all(e.status == "Accepted" for e in done):
            reason = "a decrease elsewhere was not confirmed"
        elif self._busy.get(root, 0) > len(then):
            reason = "a send elsewhere in the tree is in flight"
            self._waiting.add(root)
        else:
            return done + list(await asyncio.gather(*(self._bounded(s, root) for s in then)))
        for send in then:
            self._landed(send, root)
        return done + [with_status(s.entry, "Deferred", reason) for s in then]

    async def _bounded(self, item: Send, root: str) -> DecisionEntry:
        try:
            async with self._semaphore:
                return await self._send(item)
        finally:
            self._landed(item, root)

    def _landed(self, item: Send, root: str) -> None:
        """A send is no longer in flight: re-evaluate what waited for it."""
        if item.landed:
            return
        item.landed = True
        self._in_flight.discard(item.target)
        if item.target in self._skipped:
            self._skipped.discard(item.target)
            self._retrigger(f"send to {item.target} landed")
        self._busy[root] -= 1
        if not self._busy[root]:
            del self._busy[root]
            if root in self._waiting:
                self._waiting.discard(root)
                self._retrigger(f"sends in {root} landed")

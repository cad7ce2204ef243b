"""What a foreign CSMS peer saw: every CALL a station sent it, with the answer it gave.

Both peers (``ocpp_lib_csms`` in-process, ``ocpp_rpc_csms`` as a Node subprocess) record into a
:class:`Recorder`, and tests await what they need with :meth:`Recorder.wait_for`, which is woken
on every new record (no polling, no sleeps).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["CsmsPeer", "PeerCallError", "PeerRequest", "Recorder"]

Payload = dict[str, Any]


@dataclass(frozen=True, slots=True)
class PeerRequest:
    """One CALL a station sent to the peer and the peer's answer to it.

    ``result`` is the CALLRESULT payload; ``error`` the CALLERROR code instead (then
    ``error_description`` says why, e.g. which schema rule the payload broke).
    """

    station: str
    action: str
    payload: Payload
    result: Payload | None = None
    error: str | None = None
    error_description: str = ""


class PeerCallError(Exception):
    """A CALL from the peer to a station failed: CALLERROR, invalid answer, timeout, offline."""

    def __init__(self, code: str, description: str = "") -> None:
        super().__init__(f"{code}: {description}" if description else code)
        self.code = code
        self.description = description


class Recorder:
    """Requests per station in arrival order, plus protocol problems the peer noticed."""

    def __init__(self) -> None:
        self.requests: list[PeerRequest] = []
        self.problems: list[str] = []
        """Strict-validation failures, unparsable frames and the like (should stay empty)."""
        self.connections: dict[str, int] = {}
        """How many WebSocket connections each station opened."""
        self._changed = asyncio.Event()

    def add(self, request: PeerRequest) -> None:
        """Record ``request`` (called by the peer once its answer is on the wire)."""
        self.requests.append(request)
        self._wake()

    def problem(self, text: str) -> None:
        """Record something the peer's validator or framing layer refused."""
        self.problems.append(text)
        self._wake()

    def connected(self, station: str) -> None:
        """Count a new connection of ``station``."""
        self.connections[station] = self.connections.get(station, 0) + 1
        self._wake()

    def _wake(self) -> None:
        # One Event per generation: every waiter of this generation wakes exactly once.
        self._changed.set()
        self._changed = asyncio.Event()

    def of(self, station: str, action: str | None = None) -> list[PeerRequest]:
        """What ``station`` sent (only ``action`` when given), in order."""
        return [
            r
            for r in self.requests
            if r.station == station and (action is None or r.action == action)
        ]

    def errors(self, station: str | None = None) -> list[PeerRequest]:
        """Requests the peer answered with a CALLERROR."""
        return [
            r
            for r in self.requests
            if r.error is not None and (station is None or r.station == station)
        ]

    async def wait_until(
        self,
        check: Callable[[], bool],
        timeout: float | None = 10.0,  # noqa: ASYNC109 - None: no limit
    ) -> None:
        """Return once ``check()`` holds; re-checked on every new record."""
        async with asyncio.timeout(timeout):
            while not check():
                await self._changed.wait()

    async def wait_for(
        self,
        station: str,
        action: str,
        count: int = 1,
        *,
        where: Callable[[PeerRequest], bool] | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109 - a test-facing convenience
    ) -> list[PeerRequest]:
        """Wait until ``station`` sent ``action`` at least ``count`` times (those matching
        ``where``, if given) and return those requests."""

        def matching() -> list[PeerRequest]:
            found = self.of(station, action)
            return found if where is None else [r for r in found if where(r)]

        try:
            await self.wait_until(lambda: len(matching()) >= count, timeout)
        except TimeoutError:
            seen = [r.action for r in self.of(station)]
            raise AssertionError(
                f"{station} sent {action} {len(matching())}/{count} times; all it sent: {seen}; "
                f"problems: {self.problems}"
            ) from None
        return matching()


class CsmsPeer(Protocol):
    """A foreign CSMS the simulator is tested against."""

    name: str
    recorder: Recorder

    @property
    def url(self) -> str:
        """The OCPP-J endpoint without the station id (``ws://127.0.0.1:PORT/ocpp``)."""
        ...

    async def call(self, station: str, action: str, payload: Payload) -> Payload:
        """Send a CSMS→station CALL through the peer's own library and return the answer
        (validated by that library). Raises :class:`PeerCallError`."""
        ...

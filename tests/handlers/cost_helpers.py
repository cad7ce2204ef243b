"""Helpers for the cost tests: a raw station that answers the CSMS's own CALLs, tariffs."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import orjson

from opencsms.app import Csms
from opencsms.domain.cdrs import Cdr
from opencsms.domain.tariffs import AssignmentScope
from tests.wire import RawStation

_ids = itertools.count(1)


class AnsweringStation:
    """Wraps a :class:`RawStation`: CALLs from the CSMS (CostUpdated, DataTransfer) are
    answered and kept in :attr:`calls`, whatever order they arrive in relative to results."""

    def __init__(self, station: RawStation, answer: dict[str, Any] | None = None) -> None:
        self.station = station
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._answer = answer if answer is not None else {}

    async def _take(self, frame: list[Any]) -> None:
        self.calls.append((frame[2], frame[3]))
        await self.station.send_raw(orjson.dumps([3, frame[1], self._answer]).decode())

    async def result(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        message_id = f"c{next(_ids)}"
        await self.station.send_raw(orjson.dumps([2, message_id, action, payload]).decode())
        while True:
            frame = await self.station.recv()
            if frame[0] == 2:
                await self._take(frame)
            elif frame[1] == message_id:
                assert frame[0] == 3, frame
                result: dict[str, Any] = frame[2]
                return result

    async def next_call(self, action: str, wait: float = 5.0) -> dict[str, Any]:
        """The first (already received or next) CALL of ``action``, removed from the list."""
        async with asyncio.timeout(wait):
            while True:
                for i, (name, payload) in enumerate(self.calls):
                    if name == action:
                        del self.calls[i]
                        return payload
                frame = await self.station.recv(wait)
                assert frame[0] == 2, f"unexpected frame {frame}"
                await self._take(frame)


async def default_tariff(csms: Csms, body: dict[str, Any], tariff_id: str = "T1") -> None:
    await csms.tariffs.create(tariff_id, body)
    await csms.tariffs.assign(AssignmentScope.DEFAULT, "", tariff_id)


async def wait_cdr(csms: Csms, transaction_pk: int, wait: float = 5.0) -> Cdr:
    """The session's CDR, once the cost subscriber (or the handler) issued it."""
    async with asyncio.timeout(wait):
        # The CDR is a row, not an event: the condition is polled in the store.
        while (cdr := await csms.storage.tariffs.cdr(transaction_pk)) is None:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    return cdr

"""Playing a raw station's side of the CALLs the CSMS sends (SendLocalList, ReserveNow, ...)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from tests.wire import RawStation


@dataclass(frozen=True)
class CallError:
    """Answer with a CALLERROR."""

    code: str
    description: str = ""


NO_ANSWER = object()
"""Answer nothing (the CSMS's call times out)."""

Answer = dict[str, Any] | CallError | object | Callable[[dict[str, Any]], Any]


@dataclass
class Responder:
    """Answers each CALL by its action from ``answers`` (a payload, a function of the request,
    a :class:`CallError` or :data:`NO_ANSWER`); records every CALL received."""

    station: RawStation
    answers: Mapping[str, Answer]
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def actions(self) -> list[str]:
        return [action for action, _ in self.received]

    def payloads(self, action: str) -> list[dict[str, Any]]:
        return [payload for name, payload in self.received if name == action]

    async def run(self) -> None:
        while True:
            frame = await self.station.recv(wait=30)
            assert frame[0] == 2, f"expected a CALL from the CSMS, got {frame}"
            _, message_id, action, payload = frame
            self.received.append((action, payload))
            answer = self.answers[action]
            if callable(answer):
                answer = answer(payload)
            if answer is NO_ANSWER:
                continue
            if isinstance(answer, CallError):
                out: list[Any] = [4, message_id, answer.code, answer.description, {}]
            else:
                out = [3, message_id, answer]
            await self.station.send_raw(orjson.dumps(out).decode())


@contextlib.asynccontextmanager
async def responding(
    station: RawStation, answers: Mapping[str, Answer]
) -> AsyncIterator[Responder]:
    """Answer the CSMS's CALLs while the block runs (the station sends nothing itself then)."""
    responder = Responder(station, answers)
    task = asyncio.get_running_loop().create_task(responder.run())
    try:
        yield responder
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task  # re-raises what went wrong in the responder (a CALL it did not expect)

"""A minimal CSMS written with the ``ocpp`` PyPI library, as its documentation shows, for interop
tests of the simulator (a CSMS we did not write; docs/simulator-interop.md).

One ``ChargePoint`` subclass per protocol version with ``@on`` handlers returning the library's
``call_result`` dataclasses, served by ``websockets`` on 127.0.0.1 port 0, with the library's own
JSON-schema validation left on: every request the station sends and every answer it gives to a
CSMS CALL is checked by the library, and a request that fails is answered with a CALLERROR.

    async with LibCsms(heartbeat_interval=1) as csms:
        ...  # point a station at csms.url
        await csms.recorder.wait_for("CS1", "Heartbeat", 2)
        answer = await csms.call("CS1", "GetConfiguration", {"key": ["HeartbeatInterval"]})

Every request is recorded with the answer that went out (:class:`~tests.peers.recording.Recorder`).
:meth:`LibCsms.charge_point` exposes the library's own object for a station, so a test can also
use ``ChargePoint.call`` with the library's ``call`` dataclasses directly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import itertools
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar

from ocpp.charge_point import camel_to_snake_case
from ocpp.exceptions import OCPPError
from ocpp.routing import on as _library_on
from ocpp.v16 import ChargePoint as ChargePoint16Base
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import ChargePoint as ChargePoint201Base
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from tests.peers.recording import Payload, PeerCallError, PeerRequest, Recorder

__all__ = ["LibCsms"]

SUBPROTOCOLS = [Subprotocol("ocpp1.6"), Subprotocol("ocpp2.0.1")]
BLOCKED = "BLOCKED"
"""The one id token this CSMS refuses (stands in for a blocklist)."""


_Handler = TypeVar("_Handler", bound=Callable[..., Any])


def on(action: str) -> Callable[[_Handler], _Handler]:
    """The library's ``@on`` route decorator, typed (the ``ocpp`` package ships no types)."""
    decorator: Callable[[_Handler], _Handler] = _library_on(action)
    return decorator


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _auth_status(token: str | None) -> str:
    """1.6 §4.1 / 2.0.1 C01: Accepted, except the stand-in blocked token."""
    return "Blocked" if token == BLOCKED else "Accepted"


class _Recording:
    """Mixin for both versions: record each station CALL with the answer that went out, and
    keep the raw CALLRESULT payloads of our own CALLs.

    The library parses and answers inside ``route_message`` and writes through ``_send``; both are
    wrapped here, which keeps its validation and error mapping untouched.
    """

    id: str

    def _init_recording(self, csms: LibCsms) -> None:
        self.csms = csms
        self._answers: dict[str, list[Any]] = {}
        self.raw_results: dict[str, Payload] = {}

    async def _send(self, message: str) -> None:
        frame = json.loads(message)
        if frame[0] in (3, 4):  # our answer to the station's CALL frame[1]
            self._answers[frame[1]] = frame
        await super()._send(message)  # type: ignore[misc]

    async def route_message(self, raw_msg: str | bytes) -> None:
        await super().route_message(raw_msg)  # type: ignore[misc]
        try:
            frame = json.loads(raw_msg)
        except ValueError:
            self.csms.recorder.problem(f"{self.id}: not JSON: {raw_msg!r}")
            return
        if not isinstance(frame, list) or not frame:
            self.csms.recorder.problem(f"{self.id}: not an OCPP-J frame: {raw_msg!r}")
        elif frame[0] == 3 and len(frame) == 3:
            self.raw_results[frame[1]] = frame[2]
        elif frame[0] == 2 and len(frame) == 4:
            answer = self._answers.pop(frame[1], None)
            if answer is None:  # the library could not even parse it well enough to answer
                request = PeerRequest(self.id, frame[2], frame[3], error="NoAnswer")
            elif answer[0] == 3:
                request = PeerRequest(self.id, frame[2], frame[3], result=answer[2])
            else:
                request = PeerRequest(
                    self.id, frame[2], frame[3], error=answer[2], error_description=answer[3]
                )
            self.csms.recorder.add(request)


class ChargePoint16(_Recording, ChargePoint16Base):  # type: ignore[misc]
    """OCPP 1.6 Central System side of one connection."""

    def __init__(self, station_id: str, ws: ServerConnection, csms: LibCsms) -> None:
        super().__init__(station_id, ws, response_timeout=10)
        self._init_recording(csms)

    @on(Action16.boot_notification)
    def on_boot_notification(self, **_: Any) -> result16.BootNotification:
        """1.6 §4.2: Accepted, with the interval the test asked for."""
        return result16.BootNotification(
            current_time=_now(), interval=self.csms.heartbeat_interval, status="Accepted"
        )

    @on(Action16.heartbeat)
    def on_heartbeat(self, **_: Any) -> result16.Heartbeat:
        return result16.Heartbeat(current_time=_now())

    @on(Action16.status_notification)
    def on_status_notification(self, **_: Any) -> result16.StatusNotification:
        return result16.StatusNotification()

    @on(Action16.authorize)
    def on_authorize(self, id_tag: str, **_: Any) -> result16.Authorize:
        return result16.Authorize(id_tag_info={"status": _auth_status(id_tag)})

    @on(Action16.start_transaction)
    def on_start_transaction(self, id_tag: str, **_: Any) -> result16.StartTransaction:
        """1.6 §4.8: a fresh transactionId from a counter."""
        return result16.StartTransaction(
            transaction_id=next(self.csms.transaction_ids),
            id_tag_info={"status": _auth_status(id_tag)},
        )

    @on(Action16.stop_transaction)
    def on_stop_transaction(self, id_tag: str | None = None, **_: Any) -> result16.StopTransaction:
        """1.6 §4.10: idTagInfo only when the station sent an idTag."""
        info = None if id_tag is None else {"status": _auth_status(id_tag)}
        return result16.StopTransaction(id_tag_info=info)

    @on(Action16.meter_values)
    def on_meter_values(self, **_: Any) -> result16.MeterValues:
        return result16.MeterValues()

    @on(Action16.data_transfer)
    def on_data_transfer(self, **_: Any) -> result16.DataTransfer:
        """1.6 §4.3: no vendor extensions here."""
        return result16.DataTransfer(status="UnknownVendorId")

    @on(Action16.diagnostics_status_notification)
    def on_diagnostics_status(self, **_: Any) -> result16.DiagnosticsStatusNotification:
        return result16.DiagnosticsStatusNotification()

    @on(Action16.firmware_status_notification)
    def on_firmware_status(self, **_: Any) -> result16.FirmwareStatusNotification:
        return result16.FirmwareStatusNotification()

    @on(Action16.security_event_notification)
    def on_security_event(self, **_: Any) -> result16.SecurityEventNotification:
        return result16.SecurityEventNotification()


class ChargePoint201(_Recording, ChargePoint201Base):  # type: ignore[misc]
    """OCPP 2.0.1 CSMS side of one connection."""

    def __init__(self, station_id: str, ws: ServerConnection, csms: LibCsms) -> None:
        super().__init__(station_id, ws, response_timeout=10)
        self._init_recording(csms)

    @on(Action201.boot_notification)
    def on_boot_notification(self, **_: Any) -> result201.BootNotification:
        """B01: Accepted, with the interval the test asked for."""
        return result201.BootNotification(
            current_time=_now(), interval=self.csms.heartbeat_interval, status="Accepted"
        )

    @on(Action201.heartbeat)
    def on_heartbeat(self, **_: Any) -> result201.Heartbeat:
        return result201.Heartbeat(current_time=_now())

    @on(Action201.status_notification)
    def on_status_notification(self, **_: Any) -> result201.StatusNotification:
        return result201.StatusNotification()

    @on(Action201.authorize)
    def on_authorize(self, id_token: dict[str, Any], **_: Any) -> result201.Authorize:
        return result201.Authorize(id_token_info={"status": _auth_status(id_token["id_token"])})

    @on(Action201.transaction_event)
    def on_transaction_event(
        self, id_token: dict[str, Any] | None = None, **_: Any
    ) -> result201.TransactionEvent:
        """E01-E07: idTokenInfo only when the event carries an idToken."""
        if id_token is None:
            return result201.TransactionEvent()
        return result201.TransactionEvent(
            id_token_info={"status": _auth_status(id_token["id_token"])}
        )

    @on(Action201.meter_values)
    def on_meter_values(self, **_: Any) -> result201.MeterValues:
        return result201.MeterValues()

    @on(Action201.data_transfer)
    def on_data_transfer(self, **_: Any) -> result201.DataTransfer:
        """P01: no vendor extensions here."""
        return result201.DataTransfer(status="UnknownVendorId")

    @on(Action201.notify_report)
    def on_notify_report(self, **_: Any) -> result201.NotifyReport:
        return result201.NotifyReport()

    @on(Action201.notify_event)
    def on_notify_event(self, **_: Any) -> result201.NotifyEvent:
        return result201.NotifyEvent()

    @on(Action201.firmware_status_notification)
    def on_firmware_status(self, **_: Any) -> result201.FirmwareStatusNotification:
        return result201.FirmwareStatusNotification()

    @on(Action201.security_event_notification)
    def on_security_event(self, **_: Any) -> result201.SecurityEventNotification:
        return result201.SecurityEventNotification()


class LibCsms:
    """The ``ocpp``-library CSMS, running in this event loop; see the module docstring."""

    name = "ocpp-lib"

    def __init__(self, *, heartbeat_interval: int = 300, port: int = 0) -> None:
        self.heartbeat_interval = heartbeat_interval
        """Sent in every BootNotification answer."""
        self.recorder = Recorder()
        self.transaction_ids = itertools.count(1)
        self._stations: dict[str, ChargePoint16 | ChargePoint201] = {}
        self._port = port
        self._server: Server | None = None

    async def __aenter__(self) -> LibCsms:
        self._server = await serve(
            self._on_connect, "127.0.0.1", self._port, subprotocols=SUBPROTOCOLS
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        """The endpoint stations connect to (their id is appended)."""
        assert self._server is not None
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}/ocpp"

    def charge_point(self, station: str) -> ChargePoint16 | ChargePoint201:
        """The library's ``ChargePoint`` of ``station``'s live connection."""
        try:
            return self._stations[station]
        except KeyError:
            raise PeerCallError("NotConnected", f"{station} is not connected") from None

    async def call(self, station: str, action: str, payload: Payload) -> Payload:
        """Send ``action`` through the library's ``ChargePoint.call`` (request and answer both
        validated by it) and return the station's answer payload as it was on the wire."""
        cp = self.charge_point(station)
        module = call16 if isinstance(cp, ChargePoint16) else call201
        request = getattr(module, action)(**camel_to_snake_case(payload))
        unique_id = str(uuid.uuid4())
        try:
            await cp.call(request, suppress=False, unique_id=unique_id)
        except OCPPError as exc:  # the station's CALLERROR, or an answer breaking the schema
            raise PeerCallError(exc.code, str(exc.description)) from exc
        except TimeoutError as exc:
            raise PeerCallError("Timeout", str(exc)) from exc
        except ConnectionClosed as exc:
            raise PeerCallError("ConnectionClosed", str(exc)) from exc
        return cp.raw_results.pop(unique_id)

    async def _on_connect(self, ws: ServerConnection) -> None:
        """Pick the ChargePoint class by subprotocol and serve the connection until it closes."""
        if ws.subprotocol is None:  # as in the library's examples: no OCPP version, no talk
            await ws.close()
            return
        assert ws.request is not None
        station = ws.request.path.rstrip("/").rsplit("/", 1)[-1]
        cls = ChargePoint16 if ws.subprotocol == "ocpp1.6" else ChargePoint201
        cp = cls(station, ws, self)
        self._stations[station] = cp
        self.recorder.connected(station)
        try:
            with contextlib.suppress(ConnectionClosed):
                await cp.start()
        finally:
            if self._stations.get(station) is cp:
                del self._stations[station]


async def _serve_forever(port: int, heartbeat_interval: int) -> None:
    """Serve on ``port`` and print every request with its answer as a JSON line."""
    async with LibCsms(heartbeat_interval=heartbeat_interval, port=port) as csms:
        print(json.dumps({"event": "listening", "url": csms.url}), flush=True)
        requests = csms.recorder.requests
        for seen in itertools.count():
            await csms.recorder.wait_until(functools.partial(_longer, requests, seen), None)
            print(json.dumps(dataclasses.asdict(requests[seen])), flush=True)


def _longer(items: list[PeerRequest], n: int) -> bool:
    return len(items) > n


if __name__ == "__main__":  # by hand: see docs/simulator-interop.md
    parser = argparse.ArgumentParser(description="a minimal CSMS on the ocpp PyPI library")
    parser.add_argument("--port", type=int, default=9200)
    parser.add_argument("--heartbeat-interval", type=int, default=300)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(args.port, args.heartbeat_interval))

"""The library baseline: a minimal CSMS on the ``ocpp`` PyPI package, served by ``websockets``.

Written the way the package's documentation shows (``examples/v16/central_system.py`` and
``examples/v201/central_system.py``): one ``ChargePoint`` subclass per protocol version with
``@on(Action...)`` handlers returning ``call_result`` dataclasses, ``cp.start()`` per connection,
and the library's default JSON-schema validation of every request and response (its
``ASYNC_VALIDATION`` default runs ``jsonschema`` in the default thread pool).

Two deliberate departures from the examples, both in the baseline's favour:

* logging stays at WARNING; the examples set INFO, which would log every frame to stderr and
  measure the terminal instead of the library;
* the station id is the last path segment, so ``/ocpp/{stationId}`` works like OpenCSMS.

``--uvloop`` runs it on uvloop instead of the examples' plain ``asyncio.run``.

    python bench/servers/ocpp_lib_server.py --port 9000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import signal
from datetime import UTC, datetime
from typing import Any

from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16Base
from ocpp.v16 import call_result as result16
from ocpp.v16.datatypes import IdTagInfo
from ocpp.v16.enums import Action as Action16
from ocpp.v16.enums import AuthorizationStatus, RegistrationStatus
from ocpp.v201 import ChargePoint as ChargePoint201Base
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201
from ocpp.v201.enums import RegistrationStatusEnumType
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

SUBPROTOCOLS = ["ocpp1.6", "ocpp2.0.1"]
_transaction_ids = itertools.count(1)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class ChargePoint16(ChargePoint16Base):  # type: ignore[misc]
    """OCPP 1.6 handlers: Boot, Heartbeat, StatusNotification, StartTransaction, MeterValues."""

    @on(Action16.boot_notification)
    def on_boot_notification(self, **_: Any) -> result16.BootNotification:
        return result16.BootNotification(
            current_time=_now(), interval=300, status=RegistrationStatus.accepted
        )

    @on(Action16.heartbeat)
    def on_heartbeat(self, **_: Any) -> result16.Heartbeat:
        return result16.Heartbeat(current_time=_now())

    @on(Action16.status_notification)
    def on_status_notification(self, **_: Any) -> result16.StatusNotification:
        return result16.StatusNotification()

    @on(Action16.start_transaction)
    def on_start_transaction(self, **_: Any) -> result16.StartTransaction:
        return result16.StartTransaction(
            transaction_id=next(_transaction_ids),
            id_tag_info=IdTagInfo(status=AuthorizationStatus.accepted),
        )

    @on(Action16.meter_values)
    def on_meter_values(self, **_: Any) -> result16.MeterValues:
        return result16.MeterValues()


class ChargePoint201(ChargePoint201Base):  # type: ignore[misc]
    """OCPP 2.0.1 handlers: Boot, Heartbeat, StatusNotification, TransactionEvent."""

    @on(Action201.boot_notification)
    def on_boot_notification(self, **_: Any) -> result201.BootNotification:
        return result201.BootNotification(
            current_time=_now(), interval=300, status=RegistrationStatusEnumType.accepted
        )

    @on(Action201.heartbeat)
    def on_heartbeat(self, **_: Any) -> result201.Heartbeat:
        return result201.Heartbeat(current_time=_now())

    @on(Action201.status_notification)
    def on_status_notification(self, **_: Any) -> result201.StatusNotification:
        return result201.StatusNotification()

    @on(Action201.transaction_event)
    def on_transaction_event(self, **_: Any) -> result201.TransactionEvent:
        return result201.TransactionEvent()


async def on_connect(websocket: ServerConnection) -> None:
    """Pick the ChargePoint class by negotiated subprotocol and run it until the socket closes."""
    if websocket.subprotocol is None:
        # As in the library's examples: refuse a client that negotiated no OCPP version.
        await websocket.close()
        return
    assert websocket.request is not None
    station_id = websocket.request.path.rstrip("/").rsplit("/", 1)[-1]
    cls = ChargePoint16 if websocket.subprotocol == "ocpp1.6" else ChargePoint201
    cp = cls(station_id, websocket)
    with contextlib.suppress(ConnectionClosed):
        await cp.start()


async def main(host: str, port: int, backlog: int) -> None:
    """Serve until SIGINT/SIGTERM."""
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set_result, None)
    async with serve(
        on_connect,
        host,
        port,
        subprotocols=SUBPROTOCOLS,  # type: ignore[arg-type]
        backlog=backlog,
    ):
        print(f"ocpp-lib server listening on {host}:{port}", flush=True)
        await stop


if __name__ == "__main__":
    p = argparse.ArgumentParser(description="minimal CSMS on the ocpp PyPI library")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--backlog", type=int, default=4096)
    p.add_argument("--uvloop", action="store_true", help="run on uvloop (examples use asyncio)")
    a = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if a.uvloop:
        import uvloop

        uvloop.run(main(a.host, a.port, a.backlog))
    else:
        asyncio.run(main(a.host, a.port, a.backlog))

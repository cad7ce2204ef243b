"""The NATS bus between the nodes of a cluster.

Two jobs, both plain NATS (no JetStream needed):

- **Command routing** (request-reply). The node that holds a station's socket subscribes to the
  station's own subject, ``<cluster>.station.<hex id>.call``; any node sends a CALL for the
  station as a request there and gets the station's answer (or the failure) as the reply. NATS
  answers "no responders" at once when no node holds the station, which is exactly "the station
  is not connected". The caller's deadline is the node's ``call_timeout`` plus a margin, so the
  holder's own timeout (the one the station sees) decides first.
- **Event fan-out**. Each node publishes its domain events on ``<cluster>.events`` and feeds the
  events of the other nodes into its own hub, so SSE streams, the load allocator and the fleet
  view see the whole fleet. A node ignores its own events on the way back (it published them
  locally already).

Takeovers: when a station connects to a node, the node publishes the new lease on
``<cluster>.station.<hex id>.takeover``; the node holding an older connection of that station
closes it.

Station ids may hold characters NATS gives a meaning to (``.``, ``*``, ``>``, spaces): subjects
carry their UTF-8 bytes in hex.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import nats
import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from opencsms.cluster.codec import CodecError, decode_event, encode_event
from opencsms.errors import (
    CallErrorResponse,
    CallFailedError,
    CallTimeoutError,
    ConnectionClosedError,
)

__all__ = ["ClusterBus", "RemoteCallHandler", "station_subject"]

log = logging.getLogger(__name__)

EVENTS_SUBJECT = "events"
REPLY_MARGIN_SECONDS = 2.0
"""How much longer than the station's own timeout a caller waits for the holder's reply."""

RemoteCallHandler = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
"""``(action, payload) -> CALLRESULT payload`` of the station's live connection on this node."""


def station_subject(station_id: str, verb: str, prefix: str = "opencsms") -> str:
    """``<cluster>.station.<hex of the id>.<verb>``."""
    return f"{prefix}.station.{station_id.encode().hex()}.{verb}"


def _failure(exc: CallFailedError) -> dict[str, Any]:
    if isinstance(exc, CallErrorResponse):
        return {
            "kind": "callerror",
            "code": exc.error_code,
            "description": exc.description,
            "details": exc.details,
        }
    if isinstance(exc, CallTimeoutError):
        return {"kind": "timeout", "message": str(exc)}
    if isinstance(exc, ConnectionClosedError):
        return {"kind": "closed", "message": str(exc)}
    return {"kind": "failed", "message": str(exc)}


def _raise(failure: dict[str, Any], action: str) -> None:
    kind = failure.get("kind")
    if kind == "callerror":
        raise CallErrorResponse(
            failure["code"], failure.get("description", ""), failure.get("details"), action=action
        )
    if kind == "timeout":
        raise CallTimeoutError(failure.get("message", "timed out"), action=action)
    if kind == "closed":
        raise ConnectionClosedError(failure.get("message", "connection closed"), action=action)
    raise CallFailedError(failure.get("message", "call failed"), action=action)


class ClusterBus:
    """This node's connection to the cluster's NATS server."""

    def __init__(self, node_id: str, *, call_timeout: float, cluster: str = "opencsms") -> None:
        self.node_id = node_id
        self.cluster = cluster
        """The subjects' prefix: several clusters may share one NATS server."""
        self._call_timeout = call_timeout
        self._nc: Client | None = None
        self._served: dict[str, Subscription] = {}
        self._closers: dict[str, Subscription] = {}

    @property
    def client(self) -> Client:
        if self._nc is None:
            raise RuntimeError("the cluster bus is not connected")
        return self._nc

    async def connect(self, url: str) -> None:
        """Connect (retrying while the server restarts; a node keeps serving its own stations)."""
        # no_echo: the server does not hand this node its own events back (it would decode each
        # of them only to drop it: measured at a third of a node's CPU under load).
        self._nc = await nats.connect(
            url,
            name=f"opencsms-{self.node_id}",
            max_reconnect_attempts=-1,
            reconnect_time_wait=1,
            no_echo=True,
        )

    async def close(self) -> None:
        if self._nc is not None:
            await self._nc.drain()
            self._nc = None
        self._served.clear()
        self._closers.clear()

    # ------------------------------------------------------------------ command routing

    async def serve_station(
        self,
        station_id: str,
        handler: RemoteCallHandler,
        closer: Callable[[int, str], Awaitable[None]] | None = None,
    ) -> None:
        """Answer the cluster's CALLs for ``station_id`` with ``handler`` (its live connection
        here) and its close requests with ``closer``, replacing an earlier handler of this node
        for the station."""
        await self.stop_serving(station_id)
        if closer is not None:
            close_with = closer

            async def close(msg: Msg) -> None:
                request = orjson.loads(msg.data)
                await close_with(int(request["code"]), str(request["reason"]))
                await msg.respond(b"{}")

            self._closers[station_id] = await self.client.subscribe(
                station_subject(station_id, "close", self.cluster), cb=close
            )

        async def answer(msg: Msg) -> None:
            try:
                request = orjson.loads(msg.data)
                result = await handler(request["action"], request["payload"])
                reply: dict[str, Any] = {"result": result}
            except CallFailedError as exc:
                reply = {"error": _failure(exc)}
            except Exception as exc:  # the caller must hear something, not wait for its timeout
                log.exception("routed call for %s failed", station_id)
                reply = {"error": {"kind": "failed", "message": f"{type(exc).__name__}: {exc}"}}
            await msg.respond(orjson.dumps(reply))

        self._served[station_id] = await self.client.subscribe(
            station_subject(station_id, "call", self.cluster), cb=answer
        )
        # The server knows the subscription once it answered a PING after it: from then on a
        # request from any node finds this one (no "no responders" race on a fresh connection).
        await self.client.flush()

    async def stop_serving(self, station_id: str) -> None:
        subscriptions = [self._served.pop(station_id, None), self._closers.pop(station_id, None)]
        for subscription in subscriptions:
            if subscription is not None:
                await subscription.unsubscribe()
        if any(subscriptions) and self._nc is not None:
            await self.client.flush()

    async def close_station(self, station_id: str, code: int, reason: str) -> None:
        """Have the node holding ``station_id`` close its connection (nothing if none does)."""
        body = orjson.dumps({"code": code, "reason": reason})
        with contextlib.suppress(NoRespondersError, NatsTimeoutError):
            await self.client.request(
                station_subject(station_id, "close", self.cluster),
                body,
                timeout=REPLY_MARGIN_SECONDS,
            )

    async def call_station(
        self, station_id: str, action: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """Send a CALL through the node that holds the station; its CALLRESULT payload.

        Raises like a local call: :class:`ConnectionClosedError` when no node holds the station,
        :class:`CallTimeoutError`, :class:`CallErrorResponse`."""
        body = orjson.dumps({"action": action, "payload": payload})
        try:
            msg = await self.client.request(
                station_subject(station_id, "call", self.cluster),
                body,
                timeout=self._call_timeout + REPLY_MARGIN_SECONDS,
            )
        except NoRespondersError:
            raise ConnectionClosedError(
                f"station {station_id} is not connected to any node", action=action
            ) from None
        except NatsTimeoutError:
            raise CallTimeoutError(
                f"the node holding station {station_id} did not answer", action=action
            ) from None
        reply = orjson.loads(msg.data)
        if "error" in reply:
            _raise(reply["error"], action)
        result: dict[str, Any] = reply["result"]
        return result

    # ------------------------------------------------------------------ takeovers

    async def announce_takeover(self, station_id: str, token: int) -> None:
        """Tell every node that this node now holds ``station_id`` with lease ``token``."""
        body = orjson.dumps({"node": self.node_id, "token": token})
        await self.client.publish(station_subject(station_id, "takeover", self.cluster), body)
        await self.client.flush()

    async def on_takeover(self, handler: Callable[[str, str, int], Awaitable[None]]) -> None:
        """Call ``handler(station_id, node, token)`` for every other node's takeover."""

        async def received(msg: Msg) -> None:
            hexed = msg.subject.split(".")[2]
            body = orjson.loads(msg.data)
            if body["node"] != self.node_id:
                await handler(bytes.fromhex(hexed).decode(), body["node"], int(body["token"]))

        await self.client.subscribe(f"{self.cluster}.station.*.takeover", cb=received)
        await self.client.flush()

    # ------------------------------------------------------------------ events

    async def publish_event(self, event: Any) -> None:
        await self.client.publish(
            f"{self.cluster}.{EVENTS_SUBJECT}", encode_event(event, origin=self.node_id)
        )

    async def on_events(self, handler: Callable[[str, Any], None]) -> None:
        """Call ``handler(origin node, event)`` for every event another node publishes."""

        async def received(msg: Msg) -> None:
            try:
                origin, event = decode_event(msg.data)
            except CodecError:
                log.warning("ignored an event this node cannot read: %.200r", msg.data)
                return
            if origin != self.node_id:
                handler(origin, event)

        await self.client.subscribe(f"{self.cluster}.{EVENTS_SUBJECT}", cb=received)
        await self.client.flush()

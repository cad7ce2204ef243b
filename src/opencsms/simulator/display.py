"""2.0.1/2.1 display messages of a simulated station (functional block O, O01-O06).

The CSMS stores messages by id (SetDisplayMessage; the same id again replaces it, O06), reads
them back (GetDisplayMessages → NotifyDisplayMessages in parts, O03/O04) and removes them
(ClearDisplayMessage, O05). A message lives until its ``endDateTime``, and a message bound to a
transaction until that transaction ended (O02); expired messages are dropped whenever the store
is used. :meth:`DisplayMessages.shown` says what the screen shows now: the messages in their
time window whose ``state`` matches the station's, AlwaysFront before InFront before
NormalCycle.

What this display supports is in DisplayMessageCtrlr (part 2 appendix 3.1.8): the formats in
SupportedFormats (no HTML), every priority of SupportedPriorities, the states Charging,
Faulted, Idle, Unavailable (2.1 also Suspended; not Discharging: this station does no V2X), and
at most :data:`MAX_MESSAGES` messages (DisplayMessages counts them).
"""

from __future__ import annotations

import weakref
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opencsms.handlers.common import parse_timestamp
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator.config_keys import Variable, is_boolean
from opencsms.simulator.connection import HandlerFn, Payload, Reply

if TYPE_CHECKING:
    from opencsms.simulator.station import SimulatedStation

__all__ = ["MAX_MESSAGES", "ROUTES_2", "ROUTES_16", "DisplayMessages", "display"]

MAX_MESSAGES = 20
"""Messages the display stores (maxLimit of DisplayMessageCtrlr.DisplayMessages)."""
PRIORITY_ORDER = ("AlwaysFront", "InFront", "NormalCycle")
SUPPORTED_STATES = frozenset({"Charging", "Faulted", "Idle", "Unavailable", "Suspended"})


class DisplayMessages:
    """The display messages of one station; see the module docstring."""

    def __init__(self, station: SimulatedStation) -> None:
        assert station.device_model is not None
        # Weak: this state is the value of a WeakKeyDictionary keyed by the station, and a
        # strong reference back would keep every station ever made alive.
        self._station = weakref.ref(station)
        self.model = station.device_model
        self._messages: dict[int, dict[str, Any]] = {}
        formats = "ASCII,UTF8,URI" + (",QRCODE" if station.version is OcppVersion.V21 else "")
        for name, value, mutability in (
            ("Enabled", "true", "ReadWrite"),
            ("Available", "true", "ReadOnly"),
            ("DisplayMessages", "0", "ReadOnly"),
            ("SupportedFormats", formats, "ReadOnly"),
            ("SupportedPriorities", ",".join(PRIORITY_ORDER), "ReadOnly"),
        ):
            try:
                self.model.get("DisplayMessageCtrlr", name)
            except KeyError:
                validate = is_boolean if name == "Enabled" else None
                self.model.add("DisplayMessageCtrlr", name, Variable(value, mutability, validate))

    @property
    def station(self) -> SimulatedStation:
        """The station this state belongs to."""
        station = self._station()
        if station is None:
            raise RuntimeError("the station is gone")
        return station

    def messages(self) -> list[dict[str, Any]]:
        """The stored MessageInfo entries (still valid), by id."""
        self._prune()
        return [self._messages[i] for i in sorted(self._messages)]

    # ------------------------------------------------------------------ O01-O06

    def set_message(self, info: dict[str, Any]) -> str:
        """O01/O02/O06: store ``info`` (replacing the message of the same id); the status."""
        self._prune()
        status = self._check(info)
        if status == "Accepted":
            self._messages[info["id"]] = info
            self._count()
        return status

    def _check(self, info: dict[str, Any]) -> str:
        if self.model.get("DisplayMessageCtrlr", "Enabled").lower() != "true":
            return "Rejected"
        formats = self._members("SupportedFormats")
        contents = [info["message"], *info.get("messageExtra", [])]
        if any(content["format"] not in formats for content in contents):
            return "NotSupportedMessageFormat"
        if info["priority"] not in self._members("SupportedPriorities"):
            return "NotSupportedPriority"
        state = info.get("state")
        if state is not None and (
            state not in SUPPORTED_STATES
            or (state == "Suspended" and self.station.version is not OcppVersion.V21)
        ):
            return "NotSupportedState"
        transaction_id = info.get("transactionId")
        if transaction_id is not None and self.station.sessions.find(transaction_id) is None:
            return "UnknownTransaction"  # O02: only a transaction running now
        display = info.get("display")
        if display is not None and (
            display["name"] != "Display"
            or not 0 <= display.get("evse", {}).get("id", 0) <= self.station.evse_count
        ):
            return "Rejected"  # a display this station does not have
        start, end = _window(info)
        now = self.station.clock.now()
        if end is not None and (end <= now or (start is not None and end <= start)):
            return "Rejected"  # it would never be shown
        if info["id"] not in self._messages and len(self._messages) >= MAX_MESSAGES:
            return "Rejected"  # the store is full
        return "Accepted"

    def find(
        self, ids: list[int] | None, priority: str | None, state: str | None
    ) -> list[dict[str, Any]]:
        """O03/O04: the messages matching every filter given (ids: any of them)."""
        return [
            info
            for info in self.messages()
            if (ids is None or info["id"] in ids)
            and (priority is None or info["priority"] == priority)
            and (state is None or info.get("state") == state)
        ]

    def clear_message(self, message_id: int) -> bool:
        """O05: remove the message; False when there is none with that id."""
        self._prune()
        if self._messages.pop(message_id, None) is None:
            return False
        self._count()
        return True

    def shown(self) -> list[dict[str, Any]]:
        """What the display shows now, frontmost first: messages in their time window whose
        state (if any) is the station's, by priority, then by id."""
        now = self.station.clock.now()
        current = self._station_state()
        showing = []
        for info in self.messages():
            start, _ = _window(info)
            if start is not None and start > now:
                continue
            if info.get("state", current) != current:
                continue
            showing.append(info)
        return sorted(showing, key=lambda i: (PRIORITY_ORDER.index(i["priority"]), i["id"]))

    # ------------------------------------------------------------------ helpers

    def _prune(self) -> None:
        """Drop expired messages and those of transactions that have ended (O02)."""
        now = self.station.clock.now()
        sessions = self.station.sessions
        gone = [
            message_id
            for message_id, info in self._messages.items()
            if ((end := _window(info)[1]) is not None and end <= now)
            or ("transactionId" in info and sessions.find(info["transactionId"]) is None)
        ]
        for message_id in gone:
            del self._messages[message_id]
        if gone:
            self._count()

    def _count(self) -> None:
        self.model.set("DisplayMessageCtrlr", "DisplayMessages", str(len(self._messages)))

    def _members(self, name: str) -> set[str]:
        return {item.strip() for item in self.model.get("DisplayMessageCtrlr", name).split(",")}

    def _station_state(self) -> str:
        """MessageStateEnumType of the station as a whole."""
        station = self.station
        evses = range(1, station.evse_count + 1)
        if any(station.sessions.fault(e) is not None for e in evses):
            return "Faulted"
        if not any(station.operative(e) for e in evses):
            return "Unavailable"
        if any(station.transaction(e) is not None for e in evses):
            return "Charging"
        return "Idle"


_STATE: weakref.WeakKeyDictionary[SimulatedStation, DisplayMessages] = weakref.WeakKeyDictionary()


def display(station: SimulatedStation) -> DisplayMessages:
    """The display messages of a 2.x ``station`` (created, with its variables, on first use)."""
    state = _STATE.get(station)
    if state is None:
        state = _STATE[station] = DisplayMessages(station)
    return state


# ------------------------------------------------------------------------- handlers


def set_display_message(station: SimulatedStation, payload: Payload) -> Reply:
    """O01/O02/O06 SetDisplayMessage: Accepted / NotSupportedMessageFormat /
    NotSupportedPriority / NotSupportedState / UnknownTransaction / Rejected."""
    return Reply({"status": display(station).set_message(payload["message"])})


def get_display_messages(station: SimulatedStation, payload: Payload) -> Reply:
    """O03/O04 GetDisplayMessages: Accepted then NotifyDisplayMessages (same requestId, parts
    of at most DeviceDataCtrlr.ItemsPerMessage messages, ``tbc`` on all but the last), or
    Unknown when no message matches."""
    found = display(station).find(payload.get("id"), payload.get("priority"), payload.get("state"))
    if not found:
        return Reply({"status": "Unknown"})
    assert station.device_model is not None
    per_message = max(1, int(station.device_model.get("DeviceDataCtrlr", "ItemsPerMessage")))
    parts = [found[i : i + per_message] for i in range(0, len(found), per_message)]
    request_id = payload["requestId"]

    async def send_parts() -> None:
        for index, part in enumerate(parts):
            await station.call(
                "NotifyDisplayMessages",
                {"requestId": request_id, "tbc": index < len(parts) - 1, "messageInfo": part},
            )

    return Reply({"status": "Accepted"}, after=send_parts)


def clear_display_message(station: SimulatedStation, payload: Payload) -> Reply:
    """O05 ClearDisplayMessage: Accepted (removed) or Unknown."""
    cleared = display(station).clear_message(payload["id"])
    return Reply({"status": "Accepted" if cleared else "Unknown"})


def _window(info: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    start, end = info.get("startDateTime"), info.get("endDateTime")
    return (
        parse_timestamp(start) if start else None,
        parse_timestamp(end) if end else None,
    )


ROUTES_16: dict[str, HandlerFn] = {}
ROUTES_2: dict[str, HandlerFn] = {
    "ClearDisplayMessage": clear_display_message,
    "GetDisplayMessages": get_display_messages,
    "SetDisplayMessage": set_display_message,
}

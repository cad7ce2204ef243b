"""CSMS-initiated actions about sessions: remote start/stop, unlock, local list, cache, status.

1.6 RemoteStartTransaction / RemoteStopTransaction (§5.11, §5.12), UnlockConnector (§5.18),
SendLocalList / GetLocalListVersion (§5.15, §5.10), ClearCache (§5.4); 2.0.1 RequestStart /
RequestStopTransaction (F01-F03), GetTransactionStatus (E14), UnlockConnector (F05), SendLocalList /
GetLocalListVersion (D01-D02), ClearCache (C11). Reservations are in
:mod:`opencsms.simulator.reservations`.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from opencsms.simulator import reservations
from opencsms.simulator.authorization import local_list_items
from opencsms.simulator.connection import HandlerFn, Payload, Reply
from opencsms.simulator.sessions import NotAuthorizedError

if TYPE_CHECKING:
    from opencsms.simulator.station import SimulatedStation

__all__ = ["ROUTES_2", "ROUTES_16"]


def remote_start_16(station: SimulatedStation, payload: Payload) -> Reply:
    """1.6 §5.11 RemoteStartTransaction: Accepted when the connector can take a session."""
    sessions = station.sessions
    evse = payload.get("connectorId") or _free_evse(station)
    if evse is None or not 1 <= evse <= station.evse_count or not station.can_start(evse):
        return Reply({"status": "Rejected"})
    token = payload["idTag"]
    if not station.sessions.reservations.may_use(evse, token, None):
        return Reply({"status": "Rejected"})
    authorize = station.keys is not None and station.keys.get("AuthorizeRemoteTxRequests") == "true"

    async def start() -> None:
        with contextlib.suppress(NotAuthorizedError):
            await sessions.start(evse, token, authorize=authorize, trigger="RemoteStart")

    return Reply({"status": "Accepted"}, after=start)


def remote_stop_16(station: SimulatedStation, payload: Payload) -> Reply:
    """1.6 §5.12 RemoteStopTransaction: Accepted for an open transaction, else Rejected."""
    tx = station.sessions.find(str(payload["transactionId"]))
    if tx is None:
        return Reply({"status": "Rejected"})
    return Reply({"status": "Accepted"}, after=lambda: station.sessions.stop(tx.evse, "Remote"))


def request_start_2(station: SimulatedStation, payload: Payload) -> Reply:
    """F01/F02 RequestStartTransaction: Accepted, then TransactionEvent Started (RemoteStart)."""
    sessions = station.sessions
    evse = payload.get("evseId") or _free_evse(station)
    if evse is None or not 1 <= evse <= station.evse_count or not station.can_start(evse):
        return Reply({"status": "Rejected"})
    id_token = payload["idToken"]
    if not sessions.reservations.may_use(evse, id_token["idToken"], None):
        return Reply({"status": "Rejected"})
    assert station.device_model is not None
    authorize = station.device_model.get("AuthCtrlr", "AuthorizeRemoteStart") == "true"
    remote_start_id = payload["remoteStartId"]

    async def start() -> None:
        with contextlib.suppress(NotAuthorizedError):
            await sessions.start(
                evse,
                id_token["idToken"],
                id_token["type"],
                remote_start_id=remote_start_id,
                authorize=authorize,
                trigger="RemoteStart",
            )

    return Reply({"status": "Accepted"}, after=start)


def request_stop_2(station: SimulatedStation, payload: Payload) -> Reply:
    """F03 RequestStopTransaction: Accepted for an open transaction (then Ended, RemoteStop)."""
    tx = station.sessions.find(payload["transactionId"])
    if tx is None:
        return Reply({"status": "Rejected"})
    return Reply({"status": "Accepted"}, after=lambda: station.sessions.stop(tx.evse, "Remote"))


def get_transaction_status(station: SimulatedStation, payload: Payload) -> Reply:
    """E14 GetTransactionStatus: whether it is ongoing and whether its messages are queued."""
    transaction_id = payload.get("transactionId")
    queued = station.queued_for(transaction_id)
    answer: Payload = {"messagesInQueue": queued}
    if transaction_id is not None:
        answer["ongoingIndicator"] = station.sessions.find(transaction_id) is not None
    return Reply(answer)


def unlock_connector_16(station: SimulatedStation, payload: Payload) -> Reply:
    """1.6 §5.18: a transaction on the connector is stopped (UnlockCommand) first."""
    evse = payload["connectorId"]
    if not 1 <= evse <= station.evse_count:
        return Reply({"status": "NotSupported"})
    if station.sessions.transaction(evse) is None:
        return Reply({"status": "Unlocked"})
    return Reply({"status": "Unlocked"}, after=lambda: station.sessions.stop(evse, "UnlockCommand"))


def unlock_connector_2(station: SimulatedStation, payload: Payload) -> Reply:
    """F05: OngoingAuthorizedTransaction while a session runs (F05.FR.02), else Unlocked."""
    evse, connector = payload["evseId"], payload["connectorId"]
    if not 1 <= evse <= station.evse_count or connector != 1:
        return Reply({"status": "UnknownConnector"})
    if station.sessions.transaction(evse) is not None:
        return Reply({"status": "OngoingAuthorizedTransaction"})
    return Reply({"status": "Unlocked"})


def send_local_list(station: SimulatedStation, payload: Payload) -> Reply:
    """1.6 §5.15 / D01-D02: full or differential update of the versioned local list."""
    sessions = station.sessions
    if not sessions.flag("LocalAuthListEnabled", "LocalAuthListCtrlr", "Enabled"):
        return Reply({"status": "NotSupported" if station.keys is not None else "Failed"})
    version = payload["listVersion"] if station.keys is not None else payload["versionNumber"]
    items = local_list_items(station.version, payload)
    status = sessions.auth.send_local_list(version, payload["updateType"] == "Full", items)
    if status == "Accepted" and station.device_model is not None:
        station.device_model.set("LocalAuthListCtrlr", "Entries", str(len(sessions.auth.entries)))
    return Reply({"status": status})


def get_local_list_version(station: SimulatedStation, payload: Payload) -> Reply:
    """1.6 §5.10 / D01: the list version (0: empty list, never sent)."""
    version = station.sessions.auth.version
    if station.keys is not None:
        return Reply({"listVersion": version})
    return Reply({"versionNumber": version})


def clear_cache(station: SimulatedStation, payload: Payload) -> Reply:
    """1.6 §5.4 / C11: empty the authorization cache."""
    station.sessions.auth.cache.clear()
    return Reply({"status": "Accepted"})


def _free_evse(station: SimulatedStation) -> int | None:
    return next((e for e in range(1, station.evse_count + 1) if station.can_start(e)), None)


ROUTES_16: dict[str, HandlerFn] = {
    "ClearCache": clear_cache,
    "GetLocalListVersion": get_local_list_version,
    "RemoteStartTransaction": remote_start_16,
    "RemoteStopTransaction": remote_stop_16,
    "SendLocalList": send_local_list,
    "UnlockConnector": unlock_connector_16,
} | reservations.ROUTES_16
ROUTES_2: dict[str, HandlerFn] = {
    "ClearCache": clear_cache,
    "GetLocalListVersion": get_local_list_version,
    "GetTransactionStatus": get_transaction_status,
    "RequestStartTransaction": request_start_2,
    "RequestStopTransaction": request_stop_2,
    "SendLocalList": send_local_list,
    "UnlockConnector": unlock_connector_2,
} | reservations.ROUTES_2

"""The typed operator commands: their request bodies, and the OCPP action and payload each one
becomes in a station's version (docs/commands.md).

The bodies are version-independent where the meaning is the same; where a version lacks what is
asked (a 1.6 ``Immediate`` reset, a 2.0.1 ``Soft`` one) the builder raises
:class:`UnsupportedCommand` and the API answers 400. Everything else about a payload (the
``requestedMessage`` enumeration, a charging profile's shape, string lengths) is left to the
action's JSON schema, which the API checks before anything is sent. 2.1 uses the 2.0.1 shapes of
every field here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from opencsms.ocpp.version import OcppVersion

__all__ = [
    "AvailabilityIn",
    "DataTransferIn",
    "RemoteStartIn",
    "RemoteStopIn",
    "ResetIn",
    "TriggerIn",
    "UnlockIn",
    "UnsupportedCommand",
    "availability",
    "data_transfer",
    "remote_start",
    "remote_stop",
    "reset",
    "trigger",
    "unlock",
]

Built = tuple[str, dict[str, Any]]
"""An OCPP action and its payload."""


class UnsupportedCommand(ValueError):
    """The station's OCPP version has no way to say what the operator asked."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RemoteStartIn(_Body):
    """Start a session for ``id_token`` (1.6 RemoteStartTransaction §5.11, 2.0.1
    RequestStartTransaction F01/F02)."""

    evse_id: int | None = Field(
        default=None, ge=1, description="The EVSE (1.6: connector); absent: the station picks"
    )
    id_token: str = Field(min_length=1)
    token_type: str | None = Field(
        default=None,
        description="2.0.1 idToken type (default: the stored token's type, else ISO14443); "
        "ignored for 1.6, whose idTag has no type",
    )
    charging_profile: dict[str, Any] | None = Field(
        default=None,
        description="An OCPP chargingProfile in the station's version, sent as is "
        "(purpose TxProfile: 1.6 §5.11, 2.0.1 F01)",
    )


class RemoteStopIn(_Body):
    """Stop a session (1.6 RemoteStopTransaction §5.12, 2.0.1 RequestStopTransaction F03)."""

    transaction_id: str = Field(
        min_length=1, description="The station's transaction id (1.6: an integer)"
    )


class ResetIn(_Body):
    """Reset the station (1.6 §5.14: Soft/Hard) or one EVSE (2.0.1 B11/B12: OnIdle/Immediate)."""

    type: Literal["soft", "hard", "immediate", "on_idle"]
    evse_id: int | None = Field(default=None, ge=1, description="2.0.1 only: reset this EVSE")


class AvailabilityIn(_Body):
    """Make the station, an EVSE or a connector (in)operative (1.6 ChangeAvailability §5.2,
    2.0.1 G03/G04). A station in use may answer Scheduled: the change then happens when it is
    free."""

    operative: bool
    evse_id: int | None = Field(
        default=None, ge=0, description="absent or 0: the whole station; 1.6: the connector"
    )
    connector_id: int | None = Field(
        default=None, ge=1, description="2.0.1: one connector of the EVSE (1.6: only 1)"
    )


class UnlockIn(_Body):
    """Unlock a connector (1.6 UnlockConnector §5.18, 2.0.1 F05)."""

    evse_id: int = Field(ge=1, description="1.6: the connector")
    connector_id: int | None = Field(default=None, ge=1, description="default 1")


class TriggerIn(_Body):
    """Ask the station to send a message now (1.6 TriggerMessage §5.17, 2.0.1 F06)."""

    message: str = Field(
        min_length=1, description="The requestedMessage of the version, e.g. StatusNotification"
    )
    evse_id: int | None = Field(default=None, ge=0, description="1.6: the connector")


class DataTransferIn(_Body):
    """A vendor-specific message (1.6 DataTransfer §5.6, 2.0.1 P01)."""

    vendor_id: str = Field(min_length=1)
    message_id: str | None = None
    data: Any = Field(default=None, description="1.6: a string; 2.0.1: any JSON value")


def _v16(version: OcppVersion) -> bool:
    return version is OcppVersion.V16


def _one_connector_16(connector_id: int | None) -> None:
    # OpenCSMS shows 1.6 connector c as EVSE c with connector 1 (docs/api.md).
    if connector_id not in (None, 1):
        raise UnsupportedCommand("1.6 addresses a connector by evse_id (connector_id must be 1)")


def remote_start(
    version: OcppVersion, body: RemoteStartIn, *, remote_start_id: int, token_type: str
) -> Built:
    """1.6 RemoteStartTransaction / 2.0.1 RequestStartTransaction; ``remote_start_id`` is the
    CSMS-allocated 2.0.1 ``remoteStartId``, which the station echoes in the session's
    TransactionEvent (F01)."""
    if _v16(version):
        payload: dict[str, Any] = {"idTag": body.id_token}
        if body.evse_id is not None:
            payload["connectorId"] = body.evse_id
        if body.charging_profile is not None:
            payload["chargingProfile"] = body.charging_profile
        return "RemoteStartTransaction", payload
    payload = {
        "idToken": {"idToken": body.id_token, "type": token_type},
        "remoteStartId": remote_start_id,
    }
    if body.evse_id is not None:
        payload["evseId"] = body.evse_id
    if body.charging_profile is not None:
        payload["chargingProfile"] = body.charging_profile
    return "RequestStartTransaction", payload


def remote_stop(version: OcppVersion, body: RemoteStopIn) -> Built:
    """1.6 RemoteStopTransaction (integer transactionId) / 2.0.1 RequestStopTransaction."""
    if _v16(version):
        try:
            transaction_id = int(body.transaction_id)
        except ValueError:
            raise UnsupportedCommand("1.6 transaction ids are integers") from None
        return "RemoteStopTransaction", {"transactionId": transaction_id}
    return "RequestStopTransaction", {"transactionId": body.transaction_id}


_RESET_16 = {"soft": "Soft", "hard": "Hard"}
_RESET_2 = {"immediate": "Immediate", "on_idle": "OnIdle"}


def reset(version: OcppVersion, body: ResetIn) -> Built:
    """1.6 Reset Soft/Hard of the charge point; 2.0.1 Reset Immediate/OnIdle, of one EVSE when
    ``evse_id`` is given (B11)."""
    if _v16(version):
        if body.type not in _RESET_16:
            raise UnsupportedCommand("OCPP 1.6 resets are soft or hard")
        if body.evse_id is not None:
            raise UnsupportedCommand("OCPP 1.6 resets the whole charge point (no evse_id)")
        return "Reset", {"type": _RESET_16[body.type]}
    if body.type not in _RESET_2:
        raise UnsupportedCommand(f"OCPP {version.value} resets are immediate or on_idle")
    payload: dict[str, Any] = {"type": _RESET_2[body.type]}
    if body.evse_id is not None:
        payload["evseId"] = body.evse_id
    return "Reset", payload


def availability(version: OcppVersion, body: AvailabilityIn) -> Built:
    """1.6 ChangeAvailability (connectorId 0: the charge point) / 2.0.1 ChangeAvailability
    (no ``evse``: the station, G03; ``evse.connectorId``: one connector, G04)."""
    status = "Operative" if body.operative else "Inoperative"
    if body.connector_id is not None and not body.evse_id:
        raise UnsupportedCommand("connector_id needs an evse_id")
    if _v16(version):
        _one_connector_16(body.connector_id)
        return "ChangeAvailability", {"connectorId": body.evse_id or 0, "type": status}
    payload: dict[str, Any] = {"operationalStatus": status}
    if body.evse_id:
        evse: dict[str, Any] = {"id": body.evse_id}
        if body.connector_id is not None:
            evse["connectorId"] = body.connector_id
        payload["evse"] = evse
    return "ChangeAvailability", payload


def unlock(version: OcppVersion, body: UnlockIn) -> Built:
    """1.6 UnlockConnector (connectorId) / 2.0.1 UnlockConnector (evseId, connectorId)."""
    if _v16(version):
        _one_connector_16(body.connector_id)
        return "UnlockConnector", {"connectorId": body.evse_id}
    return "UnlockConnector", {"evseId": body.evse_id, "connectorId": body.connector_id or 1}


def trigger(version: OcppVersion, body: TriggerIn) -> Built:
    """1.6 TriggerMessage (connectorId) / 2.0.1 TriggerMessage (evse.id)."""
    payload: dict[str, Any] = {"requestedMessage": body.message}
    if body.evse_id is not None:
        if _v16(version):
            payload["connectorId"] = body.evse_id
        else:
            payload["evse"] = {"id": body.evse_id}
    return "TriggerMessage", payload


def data_transfer(version: OcppVersion, body: DataTransferIn) -> Built:
    """DataTransfer: the same fields in every version (1.6 ``data`` is a string, which the
    schema checks)."""
    payload: dict[str, Any] = {"vendorId": body.vendor_id}
    if body.message_id is not None:
        payload["messageId"] = body.message_id
    if body.data is not None:
        payload["data"] = body.data
    return "DataTransfer", payload

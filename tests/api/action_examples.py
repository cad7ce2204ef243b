"""One valid example of every CSMS → station action of OCPP 1.6 and 2.0.1, and what the simulator
answers to it (tests/api/test_every_action.py sends each through the generic API endpoint).

An example is a payload (or a function of what its ``prepare`` step returned) and the fields the
simulated station's answer must carry. ``prepare`` brings the station into the state where the
action means something — a session to stop, a reservation to cancel, a certificate to delete —
using the station's own API or earlier commands through the operator API, and returns the values
the payload needs.

A new action in :data:`opencsms.ocpp.actions.CSMS_TO_STATION` without an example here fails
``test_every_action_has_an_example``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from cryptography import x509

from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import SimulatedStation
from tests.simulator.certs import TestCa, expected_hash_data, pem

__all__ = ["EXAMPLES", "NOT_SUPPORTED_BY_SIMULATOR", "STAND_IN", "Example", "Peer"]

Payload = dict[str, Any]

PAST = "2025-01-01T00:00:00Z"
FUTURE = "2099-01-01T00:00:00Z"
"""A retrieve date the station waits for: the firmware download never starts during a test."""
NOWHERE = "http://127.0.0.1:9/files/"
"""A file server that is not there (port 9, discard): uploads fail after the answer."""

ROOT_CA = TestCa("OpenCSMS test root")
"""A self-signed root the stations install (InstallCertificate) and that signs their CSRs."""
FIRMWARE_SIGNER = TestCa("OpenCSMS firmware signer")


@dataclass(frozen=True)
class Peer:
    """What a ``prepare`` step may use: the simulated station and the operator API."""

    station: SimulatedStation
    api: httpx.AsyncClient

    async def send(self, action: str, payload: Payload) -> Payload:
        """Send a command through the generic endpoint; it must be answered. The answer."""
        response = await self.api.post(
            f"/api/v1/stations/{self.station.config.id}/calls/{action}", json=payload
        )
        assert response.status_code == 200, response.text
        answer: Payload = response.json()["response"]
        return answer

    async def csr(self) -> str:
        """Have the station send a CSR (SignCertificate) and read it from the CSMS's message
        log, as an operator with an external CA would."""
        await self.station.certificates.request_certificate()
        response = await self.api.get(
            f"/api/v1/stations/{self.station.config.id}/messages", params={"limit": 50}
        )
        assert response.status_code == 200, response.text
        for message in response.json()["items"]:
            if message["action"] == "SignCertificate" and message["direction"] == "in":
                csr: str = orjson.loads(message["frame"])[3]["csr"]
                return csr
        raise AssertionError("the station's SignCertificate is not in the message log")


Prepare = Callable[[Peer], Awaitable[Payload]]


@dataclass(frozen=True)
class Example:
    """A payload the simulator acts on, and the fields its answer must carry."""

    payload: Payload | Callable[[Payload], Payload]
    answer: Payload
    prepare: Prepare | None = None

    def build(self, prepared: Payload) -> Payload:
        return self.payload(prepared) if callable(self.payload) else self.payload


# ------------------------------------------------------------------------------ preparations


async def running_session(peer: Peer) -> Payload:
    """A session on EVSE 1 (its id as the station uses it)."""
    tx = await peer.station.start_transaction(1, "DRIVER-1")
    assert tx.id is not None
    return {"transaction_id": tx.id}


async def signed_certificate(peer: Peer) -> Payload:
    """The station's CSR signed by :data:`ROOT_CA`: the chain for CertificateSigned."""
    leaf = ROOT_CA.sign_csr(await peer.csr())
    return {"chain": pem(leaf, ROOT_CA.cert)}


def _root_type(version: OcppVersion) -> str:
    return "CentralSystemRootCertificate" if version is OcppVersion.V16 else "CSMSRootCertificate"


def installed_root(version: OcppVersion) -> Prepare:
    """InstallCertificate of :data:`ROOT_CA` first; its hash data."""

    async def prepare(peer: Peer) -> Payload:
        answer = await peer.send(
            "InstallCertificate", {"certificateType": _root_type(version), "certificate": _pem()}
        )
        assert answer["status"] == "Accepted", answer
        return {"hash": expected_hash_data(ROOT_CA.cert, ROOT_CA.cert)}

    return prepare


def _pem(cert: x509.Certificate | None = None) -> str:
    return pem(cert or ROOT_CA.cert)


def reservation(version: OcppVersion) -> Prepare:
    """A reservation of EVSE 1 made with ReserveNow first; its id."""

    async def prepare(peer: Peer) -> Payload:
        answer = await peer.send("ReserveNow", _reserve_now(version, 71))
        assert answer["status"] == "Accepted", answer
        return {"reservation_id": 71}

    return prepare


def _reserve_now(version: OcppVersion, reservation_id: int) -> Payload:
    if version is OcppVersion.V16:
        return {
            "connectorId": 1,
            "expiryDate": FUTURE,
            "idTag": "DRIVER-1",
            "reservationId": reservation_id,
        }
    return {
        "id": reservation_id,
        "expiryDateTime": FUTURE,
        "idToken": {"idToken": "DRIVER-1", "type": "ISO14443"},
        "evseId": 1,
    }


def sent_first(action: str, payload: Payload) -> Prepare:
    """``action`` sent (and answered) first; its answer."""

    async def prepare(peer: Peer) -> Payload:
        return await peer.send(action, payload)

    return prepare


# ------------------------------------------------------------------------------ 1.6


def _profile_16(profile_id: int) -> Payload:
    return {
        "chargingProfileId": profile_id,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {
            "startSchedule": PAST,
            "chargingRateUnit": "W",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7400.0}],
        },
    }


_SET_PROFILE_16 = {"connectorId": 1, "csChargingProfiles": _profile_16(11)}

V16: dict[str, Example] = {
    "CancelReservation": Example(
        lambda p: {"reservationId": p["reservation_id"]},
        {"status": "Accepted"},
        reservation(OcppVersion.V16),
    ),
    "CertificateSigned": Example(
        lambda p: {"certificateChain": p["chain"]}, {"status": "Accepted"}, signed_certificate
    ),
    "ChangeAvailability": Example(
        {"connectorId": 1, "type": "Inoperative"}, {"status": "Accepted"}
    ),
    "ChangeConfiguration": Example(
        {"key": "HeartbeatInterval", "value": "120"}, {"status": "Accepted"}
    ),
    "ClearCache": Example({}, {"status": "Accepted"}),
    "ClearChargingProfile": Example(
        {"id": 11}, {"status": "Accepted"}, sent_first("SetChargingProfile", _SET_PROFILE_16)
    ),
    "DataTransfer": Example(
        {"vendorId": "com.example", "messageId": "ping", "data": "hello"},
        {"status": "UnknownVendorId"},
    ),
    "DeleteCertificate": Example(
        lambda p: {"certificateHashData": p["hash"]},
        {"status": "Accepted"},
        installed_root(OcppVersion.V16),
    ),
    "ExtendedTriggerMessage": Example({"requestedMessage": "Heartbeat"}, {"status": "Accepted"}),
    "GetCompositeSchedule": Example(
        {"connectorId": 1, "duration": 3600, "chargingRateUnit": "W"},
        {"status": "Accepted", "connectorId": 1},
        sent_first("SetChargingProfile", _SET_PROFILE_16),
    ),
    "GetConfiguration": Example(
        {"key": ["HeartbeatInterval"]},
        {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]},
    ),
    "GetDiagnostics": Example({"location": NOWHERE}, {}),
    "GetInstalledCertificateIds": Example(
        {"certificateType": "CentralSystemRootCertificate"},
        {"status": "Accepted"},
        installed_root(OcppVersion.V16),
    ),
    "GetLocalListVersion": Example({}, {"listVersion": 0}),
    "GetLog": Example(
        {"logType": "DiagnosticsLog", "requestId": 5, "log": {"remoteLocation": NOWHERE}},
        {"status": "Accepted"},
    ),
    "InstallCertificate": Example(
        {"certificateType": "CentralSystemRootCertificate", "certificate": _pem()},
        {"status": "Accepted"},
    ),
    "RemoteStartTransaction": Example(
        {"connectorId": 1, "idTag": "DRIVER-1"}, {"status": "Accepted"}
    ),
    "RemoteStopTransaction": Example(
        lambda p: {"transactionId": int(p["transaction_id"])},
        {"status": "Accepted"},
        running_session,
    ),
    "ReserveNow": Example(_reserve_now(OcppVersion.V16, 71), {"status": "Accepted"}),
    "Reset": Example({"type": "Soft"}, {"status": "Accepted"}),
    "SendLocalList": Example(
        {
            "listVersion": 1,
            "updateType": "Full",
            "localAuthorizationList": [{"idTag": "DRIVER-1", "idTagInfo": {"status": "Accepted"}}],
        },
        {"status": "Accepted"},
    ),
    "SetChargingProfile": Example(_SET_PROFILE_16, {"status": "Accepted"}),
    "SignedUpdateFirmware": Example(
        {
            "requestId": 3,
            "firmware": {
                "location": NOWHERE + "fw-2.0.0.bin",
                "retrieveDateTime": FUTURE,
                "signingCertificate": FIRMWARE_SIGNER.pem,
                "signature": "c2lnbmF0dXJl",
            },
        },
        {"status": "Accepted"},
    ),
    "TriggerMessage": Example(
        {"requestedMessage": "StatusNotification", "connectorId": 1}, {"status": "Accepted"}
    ),
    "UnlockConnector": Example({"connectorId": 1}, {"status": "Unlocked"}),
    "UpdateFirmware": Example({"location": NOWHERE + "fw-2.0.0.bin", "retrieveDate": FUTURE}, {}),
}

# ------------------------------------------------------------------------------ 2.0.1

_HEARTBEAT = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}


def _profile_2(profile_id: int) -> Payload:
    return {
        "id": profile_id,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": [
            {
                "id": 1,
                "startSchedule": PAST,
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7400.0}],
            }
        ],
    }


_SET_PROFILE_2 = {"evseId": 1, "chargingProfile": _profile_2(12)}
_MESSAGE = {
    "id": 4,
    "priority": "NormalCycle",
    "message": {"format": "UTF8", "content": "Welcome"},
}
_MONITOR = {
    "value": 230.0,
    "type": "UpperThreshold",
    "severity": 5,
    "component": {"name": "OCPPCommCtrlr"},
    "variable": {"name": "HeartbeatInterval"},
}


def _monitor_id(prepared: Payload) -> Payload:
    return {"id": [prepared["setMonitoringResult"][0]["id"]]}


V201: dict[str, Example] = {
    "CancelReservation": Example(
        lambda p: {"reservationId": p["reservation_id"]},
        {"status": "Accepted"},
        reservation(OcppVersion.V201),
    ),
    "CertificateSigned": Example(
        lambda p: {"certificateChain": p["chain"], "certificateType": "ChargingStationCertificate"},
        {"status": "Accepted"},
        signed_certificate,
    ),
    "ChangeAvailability": Example(
        {"operationalStatus": "Inoperative", "evse": {"id": 1}}, {"status": "Accepted"}
    ),
    "ClearCache": Example({}, {"status": "Accepted"}),
    "ClearChargingProfile": Example(
        {"chargingProfileId": 12},
        {"status": "Accepted"},
        sent_first("SetChargingProfile", _SET_PROFILE_2),
    ),
    "ClearDisplayMessage": Example(
        {"id": 4}, {"status": "Accepted"}, sent_first("SetDisplayMessage", {"message": _MESSAGE})
    ),
    "ClearVariableMonitoring": Example(
        _monitor_id,
        {"clearMonitoringResult": [{"status": "Accepted"}]},
        sent_first("SetVariableMonitoring", {"setMonitoringData": [_MONITOR]}),
    ),
    "CostUpdated": Example(
        lambda p: {"totalCost": 4.25, "transactionId": p["transaction_id"]}, {}, running_session
    ),
    "CustomerInformation": Example(
        {
            "requestId": 9,
            "report": True,
            "clear": False,
            "idToken": {"idToken": "DRIVER-1", "type": "ISO14443"},
        },
        {"status": "Accepted"},
    ),
    "DataTransfer": Example(
        {"vendorId": "com.example", "messageId": "ping", "data": {"hello": 1}},
        {"status": "UnknownVendorId"},
    ),
    "DeleteCertificate": Example(
        lambda p: {"certificateHashData": p["hash"]},
        {"status": "Accepted"},
        installed_root(OcppVersion.V201),
    ),
    "GetBaseReport": Example(
        {"requestId": 1, "reportBase": "ConfigurationInventory"}, {"status": "Accepted"}
    ),
    "GetChargingProfiles": Example(
        {"requestId": 2, "chargingProfile": {"chargingProfilePurpose": "TxDefaultProfile"}},
        {"status": "Accepted"},
        sent_first("SetChargingProfile", _SET_PROFILE_2),
    ),
    "GetCompositeSchedule": Example(
        {"evseId": 1, "duration": 3600, "chargingRateUnit": "W"},
        {"status": "Accepted"},
        sent_first("SetChargingProfile", _SET_PROFILE_2),
    ),
    "GetDisplayMessages": Example(
        {"requestId": 3},
        {"status": "Accepted"},
        sent_first("SetDisplayMessage", {"message": _MESSAGE}),
    ),
    "GetInstalledCertificateIds": Example(
        {"certificateType": ["CSMSRootCertificate"]},
        {"status": "Accepted"},
        installed_root(OcppVersion.V201),
    ),
    "GetLocalListVersion": Example({}, {"versionNumber": 0}),
    "GetLog": Example(
        {"logType": "DiagnosticsLog", "requestId": 5, "log": {"remoteLocation": NOWHERE}},
        {"status": "Accepted"},
    ),
    "GetMonitoringReport": Example(
        {"requestId": 6},
        {"status": "Accepted"},
        sent_first("SetVariableMonitoring", {"setMonitoringData": [_MONITOR]}),
    ),
    "GetReport": Example(
        {"requestId": 7, "componentVariable": [{"component": {"name": "OCPPCommCtrlr"}}]},
        {"status": "Accepted"},
    ),
    "GetTransactionStatus": Example(
        lambda p: {"transactionId": p["transaction_id"]},
        {"ongoingIndicator": True, "messagesInQueue": False},
        running_session,
    ),
    "GetVariables": Example(
        {"getVariableData": [_HEARTBEAT]},
        {
            "getVariableResult": [
                {
                    **_HEARTBEAT,
                    "attributeStatus": "Accepted",
                    "attributeType": "Actual",
                    "attributeValue": "300",
                }
            ]
        },
    ),
    "InstallCertificate": Example(
        {"certificateType": "CSMSRootCertificate", "certificate": _pem()}, {"status": "Accepted"}
    ),
    # Publish/UnpublishFirmware are Local Controller use cases (L03/L04): the simulated station
    # answers them with CALLERROR NotSupported (docs/simulator.md); see NOT_SUPPORTED_BY_SIMULATOR.
    "PublishFirmware": Example(
        {
            "location": NOWHERE + "fw-2.0.0.bin",
            "checksum": "0123456789abcdef0123456789abcdef",
            "requestId": 8,
        },
        {},
    ),
    "RequestStartTransaction": Example(
        {"evseId": 1, "remoteStartId": 42, "idToken": {"idToken": "DRIVER-1", "type": "ISO14443"}},
        {"status": "Accepted"},
    ),
    "RequestStopTransaction": Example(
        lambda p: {"transactionId": p["transaction_id"]}, {"status": "Accepted"}, running_session
    ),
    "ReserveNow": Example(_reserve_now(OcppVersion.V201, 71), {"status": "Accepted"}),
    "Reset": Example({"type": "Immediate"}, {"status": "Accepted"}),
    "SendLocalList": Example(
        {
            "versionNumber": 1,
            "updateType": "Full",
            "localAuthorizationList": [
                {
                    "idToken": {"idToken": "DRIVER-1", "type": "ISO14443"},
                    "idTokenInfo": {"status": "Accepted"},
                }
            ],
        },
        {"status": "Accepted"},
    ),
    "SetChargingProfile": Example(_SET_PROFILE_2, {"status": "Accepted"}),
    "SetDisplayMessage": Example({"message": _MESSAGE}, {"status": "Accepted"}),
    "SetMonitoringBase": Example({"monitoringBase": "All"}, {"status": "Accepted"}),
    "SetMonitoringLevel": Example({"severity": 4}, {"status": "Accepted"}),
    "SetNetworkProfile": Example(
        {
            "configurationSlot": 1,
            "connectionData": {
                "ocppVersion": "OCPP20",
                "ocppTransport": "JSON",
                "ocppCsmsUrl": "ws://backup.example.com/ocpp",
                "messageTimeout": 30,
                "securityProfile": 1,
                "ocppInterface": "Wired0",
            },
        },
        {"status": "Accepted"},
    ),
    "SetVariableMonitoring": Example(
        {"setMonitoringData": [_MONITOR]}, {"setMonitoringResult": [{"status": "Accepted"}]}
    ),
    "SetVariables": Example(
        {"setVariableData": [{**_HEARTBEAT, "attributeValue": "120"}]},
        {
            "setVariableResult": [
                {**_HEARTBEAT, "attributeStatus": "Accepted", "attributeType": "Actual"}
            ]
        },
    ),
    "TriggerMessage": Example(
        {"requestedMessage": "StatusNotification", "evse": {"id": 1, "connectorId": 1}},
        {"status": "Accepted"},
    ),
    "UnlockConnector": Example({"evseId": 1, "connectorId": 1}, {"status": "Unlocked"}),
    "UnpublishFirmware": Example({"checksum": "0123456789abcdef0123456789abcdef"}, {}),
    "UpdateFirmware": Example(
        {
            "requestId": 3,
            "firmware": {
                "location": NOWHERE + "fw-2.0.0.bin",
                "retrieveDateTime": FUTURE,
                "signingCertificate": FIRMWARE_SIGNER.pem,
                "signature": "c2lnbmF0dXJl",
            },
        },
        {"status": "Accepted"},
    ),
}

EXAMPLES: dict[OcppVersion, dict[str, Example]] = {OcppVersion.V16: V16, OcppVersion.V201: V201}

NOT_SUPPORTED_BY_SIMULATOR: dict[OcppVersion, frozenset[str]] = {
    OcppVersion.V16: frozenset(),
    OcppVersion.V201: frozenset({"PublishFirmware", "UnpublishFirmware"}),
}
"""Actions the simulated station answers with CALLERROR NotSupported (Local Controller use
cases L03/L04, which a charging station does not implement): the API gives 502 and the log
records the CallError."""

STAND_IN: Payload = {
    "transaction_id": "1",
    "reservation_id": 71,
    "chain": pem(ROOT_CA.cert),
    "hash": expected_hash_data(ROOT_CA.cert, ROOT_CA.cert),
    "setMonitoringResult": [{"id": 1}],
}
"""What the ``prepare`` steps return, for a raw station that takes any valid payload."""

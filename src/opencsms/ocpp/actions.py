"""Which side sends which action, per OCPP version.

Sources:

* 1.6: OCPP 1.6 edition 2 §4 ("Operations initiated by Charge Point") and §5 ("Operations
  initiated by Central System"), plus the messages added by the OCPP 1.6 Security Whitepaper
  edition 2 (§5 "Messages": LogStatusNotification, SecurityEventNotification, SignCertificate,
  SignedFirmwareStatusNotification from the Charge Point; CertificateSigned, DeleteCertificate,
  ExtendedTriggerMessage, GetInstalledCertificateIds, GetLog, InstallCertificate,
  SignedUpdateFirmware from the Central System).
* 2.0.1 and 2.1: the message lists of part 2 (each ``...Request`` message says who sends it),
  checked against the schema files shipped in the ``ocpp`` package so that every schema is in
  exactly one direction (DataTransfer in both).
* 2.1 SEND (part 4 §4.2.4): NotifyPeriodicEventStream is the only unconfirmed message; the
  station sends it.

DataTransfer is bidirectional in every version. A CALL whose action has a schema but belongs to
the other direction is "known but not supported by the CSMS" → ``NotSupported``.
"""

from __future__ import annotations

import enum

from opencsms.ocpp.version import OcppVersion

__all__ = [
    "CSMS_TO_STATION",
    "SEND_STATION_TO_CSMS",
    "STATION_TO_CSMS",
    "Role",
    "incoming_actions",
    "outgoing_actions",
]


class Role(enum.Enum):
    """Which end of the connection a session plays."""

    CSMS = "csms"
    STATION = "station"


_V16_FROM_STATION = frozenset(
    {
        "Authorize",
        "BootNotification",
        "DataTransfer",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "StartTransaction",
        "StatusNotification",
        "StopTransaction",
        # Security whitepaper edition 2
        "LogStatusNotification",
        "SecurityEventNotification",
        "SignCertificate",
        "SignedFirmwareStatusNotification",
    }
)

_V16_FROM_CSMS = frozenset(
    {
        "CancelReservation",
        "ChangeAvailability",
        "ChangeConfiguration",
        "ClearCache",
        "ClearChargingProfile",
        "DataTransfer",
        "GetCompositeSchedule",
        "GetConfiguration",
        "GetDiagnostics",
        "GetLocalListVersion",
        "RemoteStartTransaction",
        "RemoteStopTransaction",
        "ReserveNow",
        "Reset",
        "SendLocalList",
        "SetChargingProfile",
        "TriggerMessage",
        "UnlockConnector",
        "UpdateFirmware",
        # Security whitepaper edition 2
        "CertificateSigned",
        "DeleteCertificate",
        "ExtendedTriggerMessage",
        "GetInstalledCertificateIds",
        "GetLog",
        "InstallCertificate",
        "SignedUpdateFirmware",
    }
)

_V201_FROM_STATION = frozenset(
    {
        "Authorize",
        "BootNotification",
        "ClearedChargingLimit",
        "DataTransfer",
        "FirmwareStatusNotification",
        "Get15118EVCertificate",
        "GetCertificateStatus",
        "Heartbeat",
        "LogStatusNotification",
        "MeterValues",
        "NotifyChargingLimit",
        "NotifyCustomerInformation",
        "NotifyDisplayMessages",
        "NotifyEVChargingNeeds",
        "NotifyEVChargingSchedule",
        "NotifyEvent",
        "NotifyMonitoringReport",
        "NotifyReport",
        "PublishFirmwareStatusNotification",
        "ReportChargingProfiles",
        "ReservationStatusUpdate",
        "SecurityEventNotification",
        "SignCertificate",
        "StatusNotification",
        "TransactionEvent",
    }
)

_V201_FROM_CSMS = frozenset(
    {
        "CancelReservation",
        "CertificateSigned",
        "ChangeAvailability",
        "ClearCache",
        "ClearChargingProfile",
        "ClearDisplayMessage",
        "ClearVariableMonitoring",
        "CostUpdated",
        "CustomerInformation",
        "DataTransfer",
        "DeleteCertificate",
        "GetBaseReport",
        "GetChargingProfiles",
        "GetCompositeSchedule",
        "GetDisplayMessages",
        "GetInstalledCertificateIds",
        "GetLocalListVersion",
        "GetLog",
        "GetMonitoringReport",
        "GetReport",
        "GetTransactionStatus",
        "GetVariables",
        "InstallCertificate",
        "PublishFirmware",
        "RequestStartTransaction",
        "RequestStopTransaction",
        "ReserveNow",
        "Reset",
        "SendLocalList",
        "SetChargingProfile",
        "SetDisplayMessage",
        "SetMonitoringBase",
        "SetMonitoringLevel",
        "SetNetworkProfile",
        "SetVariableMonitoring",
        "SetVariables",
        "TriggerMessage",
        "UnlockConnector",
        "UnpublishFirmware",
        "UpdateFirmware",
    }
)

# OCPP 2.1 keeps every 2.0.1 message and adds these (part 2, new use cases of 2.1).
_V21_NEW_FROM_STATION = frozenset(
    {
        "BatterySwap",  # N01 battery swap: station reports the swap
        "ClosePeriodicEventStream",
        "GetCertificateChainStatus",
        "NotifyDERAlarm",
        "NotifyDERStartStop",
        "NotifyPriorityCharging",
        "NotifySettlement",
        "OpenPeriodicEventStream",
        "PullDynamicScheduleUpdate",
        "ReportDERControl",
        "VatNumberValidation",
    }
)

_V21_NEW_FROM_CSMS = frozenset(
    {
        "AFRRSignal",
        "AdjustPeriodicEventStream",
        "ChangeTransactionTariff",
        "ClearDERControl",
        "ClearTariffs",
        "GetDERControl",
        "GetPeriodicEventStream",
        "GetTariffs",
        "NotifyAllowedEnergyTransfer",
        "NotifyWebPaymentStarted",
        "RequestBatterySwap",
        "SetDERControl",
        "SetDefaultTariff",
        "UpdateDynamicSchedule",
        "UsePriorityCharging",
    }
)

#: Actions a station sends to the CSMS as CALL, per version.
STATION_TO_CSMS: dict[OcppVersion, frozenset[str]] = {
    OcppVersion.V16: _V16_FROM_STATION,
    OcppVersion.V201: _V201_FROM_STATION,
    OcppVersion.V21: _V201_FROM_STATION | _V21_NEW_FROM_STATION,
}

#: Actions the CSMS sends to a station as CALL, per version.
CSMS_TO_STATION: dict[OcppVersion, frozenset[str]] = {
    OcppVersion.V16: _V16_FROM_CSMS,
    OcppVersion.V201: _V201_FROM_CSMS,
    OcppVersion.V21: _V201_FROM_CSMS | _V21_NEW_FROM_CSMS,
}

#: Actions a station sends as SEND (2.1 part 4 §4.2.4); the CSMS sends none.
SEND_STATION_TO_CSMS: dict[OcppVersion, frozenset[str]] = {
    OcppVersion.V16: frozenset(),
    OcppVersion.V201: frozenset(),
    OcppVersion.V21: frozenset({"NotifyPeriodicEventStream"}),
}


def incoming_actions(version: OcppVersion, role: Role) -> frozenset[str]:
    """The CALL actions the peer of a ``role`` session may send it."""
    return STATION_TO_CSMS[version] if role is Role.CSMS else CSMS_TO_STATION[version]


def outgoing_actions(version: OcppVersion, role: Role) -> frozenset[str]:
    """The CALL actions a ``role`` session may send."""
    return CSMS_TO_STATION[version] if role is Role.CSMS else STATION_TO_CSMS[version]

"""OCPP 1.6 route table."""

from opencsms.handlers.router import RouteTable
from opencsms.handlers.v16 import certificates, core, firmware, security, transactions

ROUTES: RouteTable = {
    "BootNotification": core.boot_notification,
    "Heartbeat": core.heartbeat,
    "StatusNotification": core.status_notification,
    "MeterValues": core.meter_values,
    "DataTransfer": core.data_transfer,
    "Authorize": transactions.authorize,
    "StartTransaction": transactions.start_transaction,
    "StopTransaction": transactions.stop_transaction,
    "FirmwareStatusNotification": firmware.firmware_status_notification,
    "DiagnosticsStatusNotification": firmware.diagnostics_status_notification,
    "SignedFirmwareStatusNotification": firmware.signed_firmware_status_notification,
    "LogStatusNotification": firmware.log_status_notification,
    "SecurityEventNotification": security.security_event_notification,
    "SignCertificate": certificates.sign_certificate,
}

"""OCPP 2.0.1 route table."""

from opencsms.handlers.router import RouteTable
from opencsms.handlers.v201 import (
    authorization,
    customer,
    device_model,
    display,
    firmware,
    monitoring,
    provisioning,
    reporting,
    reservations,
    security,
    smart_charging,
    transactions,
)

ROUTES: RouteTable = {
    "BootNotification": provisioning.boot_notification,
    "Heartbeat": provisioning.heartbeat,
    "StatusNotification": provisioning.status_notification,
    "DataTransfer": provisioning.data_transfer,
    "NotifyEvent": reporting.notify_event,
    "MeterValues": reporting.meter_values,
    "TransactionEvent": transactions.transaction_event,
    "Authorize": authorization.authorize,
    "ReservationStatusUpdate": reservations.reservation_status_update,
    "NotifyMonitoringReport": monitoring.notify_monitoring_report,
    "NotifyDisplayMessages": display.notify_display_messages,
    "NotifyCustomerInformation": customer.notify_customer_information,
    "NotifyReport": device_model.notify_report,
    "FirmwareStatusNotification": firmware.firmware_status_notification,
    "LogStatusNotification": firmware.log_status_notification,
    "SecurityEventNotification": security.security_event_notification,
    "ReportChargingProfiles": smart_charging.report_charging_profiles,
}

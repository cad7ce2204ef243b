"""OCPP 1.6 route table."""

from opencsms.handlers.router import RouteTable
from opencsms.handlers.v16 import core, transactions

ROUTES: RouteTable = {
    "BootNotification": core.boot_notification,
    "Heartbeat": core.heartbeat,
    "StatusNotification": core.status_notification,
    "MeterValues": core.meter_values,
    "DataTransfer": core.data_transfer,
    "Authorize": transactions.authorize,
    "StartTransaction": transactions.start_transaction,
    "StopTransaction": transactions.stop_transaction,
}

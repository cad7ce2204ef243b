"""The Reusable States of the OCPP 1.6 OCTT test case document (Central System part, §3.22:
Booted, Authorized, Charging), played by the test tool's charge point, and the message helpers
the 1.6 scenario tables are made of (StatusNotification sequences, Start/StopTransaction,
MeterValues).

A ``Tx`` carries what the tool remembers between steps: the connector, the idTag, the
``transactionId`` the Central System assigned in its StartTransaction.conf and the meter register.
Tool validations use ``check`` (re-exported from the 2.0.1 states) so a failure is the OCTT's FAIL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from tests.conformance.octt import Station, now
from tests.conformance.sut import CONFIGURED
from tests.conformance.v201.states import check

__all__ = [
    "PROTOCOL",
    "Tx",
    "authorize",
    "authorized",
    "boot",
    "booted",
    "charging",
    "check",
    "manual_action",
    "meter_values",
    "start_transaction",
    "status",
    "stop_transaction",
    "stopped",
]

T = TypeVar("T")

PROTOCOL = "ocpp1.6"
"""The subprotocol of a 1.6 station: ``sut.station(id, PROTOCOL)``."""


@dataclass
class Tx:
    """The tool's memory of one transaction on one connector."""

    connector_id: int = CONFIGURED.connector_id
    id_tag: str = CONFIGURED.valid_id_token
    transaction_id: int | None = None
    """The ``transactionId`` of the Central System's StartTransaction.conf."""
    meter_wh: int = 1000
    started: bool = False
    stopped: bool = False

    def id(self) -> int:
        """The transactionId; fails the test when no StartTransaction.conf gave one."""
        check(self.transaction_id is not None, "no transaction has been started")
        assert self.transaction_id is not None
        return self.transaction_id


async def status(
    station: Station,
    connector_status: str,
    *,
    connector_id: int = CONFIGURED.connector_id,
    error_code: str = "NoError",
    **extra: Any,
) -> dict[str, Any]:
    """StatusNotification.req (1.6 §4.9); the Central System answers an empty conf."""
    payload: dict[str, Any] = {
        "connectorId": connector_id,
        "errorCode": error_code,
        "status": connector_status,
        "timestamp": now(),
        **extra,
    }
    return await station.send("StatusNotification", payload)


async def boot(station: Station, **fields: Any) -> dict[str, Any]:
    """BootNotification.req with <Configured Vendor Name> and <Configured Model>."""
    payload: dict[str, Any] = {
        "chargePointVendor": CONFIGURED.vendor_name,
        "chargePointModel": CONFIGURED.model,
        "chargePointSerialNumber": CONFIGURED.serial_number,
        "firmwareVersion": "1.0.0",
        **fields,
    }
    return await station.send("BootNotification", payload)


async def booted(station: Station, *, connectors: int = 1) -> dict[str, Any]:
    """Reusable State Booted (Table 199): BootNotification Accepted, then a StatusNotification
    Available per connector and for connectorId 0."""
    response = await boot(station)
    # Step 2: status should be Accepted.
    check(
        response["status"] == "Accepted",
        f"BootNotification.conf status {response['status']}, want Accepted",
    )
    for connector_id in range(connectors + 1):
        await status(station, "Available", connector_id=connector_id)
    return response


async def authorize(station: Station, id_tag: str = CONFIGURED.valid_id_token) -> dict[str, Any]:
    """Authorize.req; returns the conf (no validation)."""
    return await station.send("Authorize", {"idTag": id_tag})


async def authorized(station: Station, tx: Tx | None = None) -> dict[str, Any]:
    """Reusable State Authorized (Table 200): Authorize.req with <Configured Valid IdTag>;
    idTagInfo.status should be Accepted."""
    id_tag = tx.id_tag if tx is not None else CONFIGURED.valid_id_token
    response = await authorize(station, id_tag)
    got = response["idTagInfo"]["status"]
    check(got == "Accepted", f"Authorize.conf idTagInfo.status {got}, want Accepted")
    return response


async def start_transaction(
    station: Station, tx: Tx, *, timestamp: str | None = None, **extra: Any
) -> dict[str, Any]:
    """StartTransaction.req for ``tx``; remembers the transactionId. No validation."""
    payload: dict[str, Any] = {
        "connectorId": tx.connector_id,
        "idTag": tx.id_tag,
        "meterStart": tx.meter_wh,
        "timestamp": timestamp or now(),
        **extra,
    }
    response = await station.send("StartTransaction", payload)
    tx.transaction_id = response["transactionId"]
    tx.started = True
    return response


async def charging(station: Station, tx: Tx, *, preparing: bool = True) -> dict[str, Any]:
    """Reusable State Charging (Table 201): StatusNotification Preparing, StartTransaction.req
    (idTagInfo.status should be Accepted), StatusNotification Charging. ``preparing=False``
    when the scenario already reported Preparing (plug-in first)."""
    if preparing:
        await status(station, "Preparing", connector_id=tx.connector_id)
    response = await start_transaction(station, tx)
    got = response["idTagInfo"]["status"]
    check(got == "Accepted", f"StartTransaction.conf idTagInfo.status {got}, want Accepted")
    await status(station, "Charging", connector_id=tx.connector_id)
    return response


async def meter_values(
    station: Station, tx: Tx, *, add_wh: int = 500, context: str = "Sample.Periodic"
) -> dict[str, Any]:
    """MeterValues.req for the transaction: one Energy.Active.Import.Register sample."""
    tx.meter_wh += add_wh
    payload: dict[str, Any] = {
        "connectorId": tx.connector_id,
        "meterValue": [
            {
                "timestamp": now(),
                "sampledValue": [
                    {
                        "value": str(tx.meter_wh),
                        "context": context,
                        "measurand": "Energy.Active.Import.Register",
                        "unit": "Wh",
                    }
                ],
            }
        ],
    }
    if tx.transaction_id is not None:
        payload["transactionId"] = tx.transaction_id
    return await station.send("MeterValues", payload)


async def stop_transaction(
    station: Station,
    tx: Tx,
    *,
    reason: str | None = None,
    with_id_tag: bool = True,
    add_wh: int = 1000,
    timestamp: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """StopTransaction.req for ``tx`` (``reason`` omitted means Local, 1.6 §7.30)."""
    tx.meter_wh += add_wh
    payload: dict[str, Any] = {
        "transactionId": tx.id(),
        "meterStop": tx.meter_wh,
        "timestamp": timestamp or now(),
        **extra,
    }
    if reason is not None:
        payload["reason"] = reason
    if with_id_tag:
        payload["idTag"] = tx.id_tag
    response = await station.send("StopTransaction", payload)
    tx.stopped = True
    return response


async def stopped(
    station: Station, tx: Tx, *, reason: str | None = None, with_id_tag: bool = True
) -> dict[str, Any]:
    """The usual end of a 1.6 session: StopTransaction.req, StatusNotification Finishing, then
    (cable unplugged) StatusNotification Available. Returns the StopTransaction.conf."""
    response = await stop_transaction(station, tx, reason=reason, with_id_tag=with_id_tag)
    await status(station, "Finishing", connector_id=tx.connector_id)
    await status(station, "Available", connector_id=tx.connector_id)
    return response


def manual_action(request: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """Start a "Manual Action" (an operator's API request) in the background: its answer only
    comes once the tool's charge point has answered the CALL it causes, so the test plays the
    exchange first and awaits the returned task afterwards."""
    return asyncio.ensure_future(request)

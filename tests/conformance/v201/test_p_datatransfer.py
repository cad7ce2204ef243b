"""OCPP 2.0.1 Part 6 §3.17, P DataTransfer: the CSMS test cases TC_P_xx_CSMS (P02 data transfer
to the CSMS, and CustomData in any message)."""

from __future__ import annotations

from tests.conformance.octt import now
from tests.conformance.sut import CONFIGURED, Sut
from tests.conformance.v201.states import Tx, check, transaction_event

VENDOR_ID = "org.openchargealliance.octt"
"""<Configured vendorId>: a vendor the CSMS has no extension for."""

MESSAGE_ID = "OcttTestMessage"
"""<Configured messageId>."""

CUSTOM_DATA = {"vendorId": VENDOR_ID, "octtField": "octt-value", "octtNumber": 42}
"""<customData>: the vendorId CustomDataType requires plus vendor properties it allows."""


async def test_TC_P_02_CSMS(sut: Sut) -> None:
    """Data Transfer to the CSMS - Rejected / Unknown VendorId / Unknown MessageId
    (P02.FR.06, P02.FR.07)."""
    await sut.provision("CS-P02")
    async with sut.station("CS-P02") as station:
        # 1. DataTransferRequest with <Configured vendorId> and <Configured messageId>
        response = await station.send(
            "DataTransfer", {"vendorId": VENDOR_ID, "messageId": MESSAGE_ID, "data": "octt"}
        )
        # Step 2: status UnknownVendorId, UnknownMessageId or Rejected
        check(
            response["status"] in ("UnknownVendorId", "UnknownMessageId", "Rejected"),
            f"DataTransferResponse status {response['status']}, "
            "want UnknownVendorId, UnknownMessageId or Rejected",
        )
        check(not station.received, f"unexpected CALLs from the CSMS: {station.received}")


async def test_TC_P_03_CSMS(sut: Sut) -> None:
    """CustomData - Receive custom data: the CSMS accepts customData wherever a message
    carries it (every 2.0.1 type has an optional ``customData``)."""
    await sut.add_token(CONFIGURED.valid_id_token)
    await sut.provision("CS-P03")
    async with sut.station("CS-P03") as station:
        # 1./2. StatusNotificationRequest with customData
        response = await station.send(
            "StatusNotification",
            {
                "timestamp": now(),
                "connectorStatus": "Occupied",
                "evseId": CONFIGURED.evse_id,
                "connectorId": CONFIGURED.connector_id,
                "customData": CUSTOM_DATA,
            },
        )
        check(response == {}, f"StatusNotificationResponse {response}, want an empty object")
        # 3./4. TransactionEventRequest with customData and transactionInfo.customData
        tx = Tx()
        await transaction_event(
            station,
            tx,
            "Started",
            "CablePluggedIn",
            meter=True,
            extra={
                "customData": CUSTOM_DATA,
                "transactionInfo": {
                    "transactionId": tx.transaction_id,
                    "chargingState": "EVConnected",
                    "customData": CUSTOM_DATA,
                },
            },
        )
        # The CSMS processed both messages, not only answered them.
        stored = await sut.api.get("/stations/CS-P03")
        statuses = [c["status"] for e in stored["evses"] for c in e["connectors"]]
        assert statuses == ["Occupied"], f"the CSMS shows connectors {statuses}"
        page = await sut.api.get("/transactions", params={"station_id": "CS-P03"})
        assert [t["status"] for t in page["items"]] == ["Active"], page
        check(not station.received, f"unexpected CALLs from the CSMS: {station.received}")

"""``GET /api/v1/stations/{id}/meter-values`` over real HTTP: values in and out of a transaction,
kept verbatim (signed meter data included, J01.FR.21 / J02.FR.21), newest first, limit, 404."""

from __future__ import annotations

from typing import Any

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from tests.handlers.builders import booted, register_201, tx_event
from tests.wire import api_client, raw_station

SIGNED = {
    "signedMeterData": "T0NNRnx7fQ==",
    "signingMethod": "ECDSA-secp256r1-SHA256",
    "encodingMethod": "OCMF",
    "publicKey": "MFkwEwYHKoZIzj0CAQ==",
}


def clock(at: str, wh: float) -> dict[str, Any]:
    return {
        "timestamp": at,
        "sampledValue": [
            {
                "value": wh,
                "context": "Sample.Clock",
                "measurand": "Energy.Active.Import.Register",
                "signedMeterValue": SIGNED,
            }
        ],
    }


async def test_station_meter_values(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="CS1"))
    async with raw_station(csms, "CS1", "ocpp2.0.1") as cs:
        await booted(cs, "ocpp2.0.1")
        grid = {"evseId": 0, "meterValue": [clock("2026-01-01T10:00:00Z", 1000.0)]}
        assert await cs.result("MeterValues", grid) == {}
        started = tx_event(
            "Started",
            0,
            trigger="CablePluggedIn",
            at="2026-01-01T10:15:00Z",
            meter=[register_201("2026-01-01T10:15:00Z", 2000.0, context="Transaction.Begin")],
        )
        await cs.result("TransactionEvent", started)
    async with api_client(csms) as api:
        everything = (await api.get("/api/v1/stations/CS1/meter-values")).json()
        latest = (await api.get("/api/v1/stations/CS1/meter-values?limit=1")).json()
        missing = await api.get("/api/v1/stations/NOPE/meter-values")
        bad = await api.get("/api/v1/stations/CS1/meter-values?limit=0")
    assert [(m["evse_id"], m["transaction_id"], m["context"]) for m in everything] == [
        (1, "TX-1", "Transaction.Begin"),
        (0, None, "Sample.Clock"),
    ]
    assert everything[1]["sampled_value"] == grid["meterValue"][0]["sampledValue"]
    assert everything[1]["sampled_value"][0]["signedMeterValue"] == SIGNED
    assert latest == everything[:1]
    assert missing.status_code == 404
    assert bad.status_code == 422

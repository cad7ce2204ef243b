"""Certificate endpoints refuse with a precise 4xx before sending anything (docs/certificates)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import orjson

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from opencsms.security.ca import CertificateAuthority
from tests.handlers.builders import booted
from tests.wire import api_client, raw_station


async def test_refusals(csms: Csms, tmp_path: Path) -> None:
    root = CertificateAuthority.init(
        tmp_path / "ca", organization="X", now=datetime.now(UTC), ecdsa=True
    ).pem
    await csms.stations.create(StationSpec(id="API16"))
    async with api_client(csms) as api:
        base = "/api/v1/stations"
        response = await api.get(f"{base}/NOPE/certificates")
        assert response.status_code == 404
        assert "NOPE" in response.json()["detail"]
        install = {"certificate_type": "CSMSRootCertificate", "pem": root}
        response = await api.post(f"{base}/API16/certificates/install", json=install)
        assert response.status_code == 409
        assert "not connected" in response.json()["detail"]
        async with raw_station(csms, "API16", "ocpp1.6") as cp:
            await booted(cp, "ocpp1.6")
            v2g = {"certificate_type": "V2GRootCertificate", "pem": root}
            response = await api.post(f"{base}/API16/certificates/install", json=v2g)
            assert response.status_code == 400
            assert "OCPP 1.6 has no V2GRootCertificate" in response.json()["detail"]
            chain = {"certificate_type": "V2GCertificateChain", "pem": root}
            response = await api.post(f"{base}/API16/certificates/install", json=chain)
            assert response.status_code == 422
            assert "cannot be installed" in response.json()["detail"]
            garbage = {"certificate_type": "CSMSRootCertificate", "pem": "nope"}
            response = await api.post(f"{base}/API16/certificates/install", json=garbage)
            assert response.status_code == 422
            assert "not a PEM certificate" in response.json()["detail"]
            response = await api.delete(f"{base}/API16/certificates/0123")
            assert response.status_code == 404
            response = await api.post(
                f"{base}/API16/certificates/renew", json={"use": "V2GCertificate"}
            )
            assert response.status_code == 400
        response = await api.get("/api/v1/certificates/issued")
        assert response.json() == {"items": []}


async def test_refresh_of_one_type(csms: Csms) -> None:
    """M03 with certificateType (TC_M_13_CSMS, TC_M_19_CSMS): only that type is asked about and
    replaced; 1.6 asks once, for that type; a type the version or M03 lacks is refused."""
    await csms.stations.create(StationSpec(id="REF16"))
    url = "/api/v1/stations/REF16/certificates/refresh"
    async with api_client(csms) as api, raw_station(csms, "REF16", "ocpp1.6") as cp:
        await booted(cp, "ocpp1.6")
        response = await api.post(url, json={"certificate_type": "V2GRootCertificate"})
        assert response.status_code == 400
        response = await api.post(url, json={"certificate_type": "ChargingStationCertificate"})
        assert response.status_code == 422
        refresh = asyncio.ensure_future(
            api.post(url, json={"certificate_type": "ManufacturerRootCertificate"})
        )
        call = await cp.recv()
        assert call[2:] == [
            "GetInstalledCertificateIds",
            {"certificateType": "ManufacturerRootCertificate"},
        ]
        await cp.send_raw(orjson.dumps([3, call[1], {"status": "NotFound"}]).decode())
        response = await refresh
        assert response.status_code == 200, response.text
        assert response.json() == {"items": []}

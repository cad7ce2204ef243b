"""OCPP 2.0.1 Part 6 §3.14, M ISO 15118 Certificate management: the CSMS test cases TC_M_01,
TC_M_02, TC_M_05 (install, M05), TC_M_13, TC_M_18, TC_M_19 (retrieve, M03) and TC_M_20,
TC_M_21 (delete, M04), with the Reusable States CertificateInstalled (Table 401) and
GetInstalledCertificates (Table 400).

The "Manual Action" steps are the certificate endpoints of the API (docs/certificates.md): an
endpoint that sends a CALL answers once the station has answered, so it runs as a task while
the tool's station plays its part.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import pytest

from tests.conformance.octt import Station
from tests.conformance.sut import Sut, new_password
from tests.conformance.v201.states import booted, check
from tests.conformance.v201.tls_material import Pki, hash_data, make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
async def booted_station(sut: Sut, request: pytest.FixtureRequest) -> AsyncIterator[Station]:
    """The OCTT's station, provisioned (profile 1) and in Reusable State Booted."""
    station_id = "CS-" + request.node.name.removeprefix("test_").removesuffix("_CSMS")
    password = new_password()
    await sut.provision(station_id, password=password)
    async with sut.station(station_id, password=password) as station:
        await booted(station)
        yield station


def manual(action: Awaitable[Any]) -> asyncio.Task[Any]:
    """A Manual Action: the API call, running while the station answers what it causes."""
    return asyncio.ensure_future(action)


async def inventory(sut: Sut, station: Station) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (
        await sut.api.get(f"/stations/{station.station_id}/certificates")
    )["items"]
    return items


async def certificate_installed(
    sut: Sut, station: Station, certificate_type: str, pem: str, *, status: str = "Accepted"
) -> str:
    """Reusable State CertificateInstalled (Table 401), answering ``status``; returns the
    station's answer as the API reports it."""
    # Manual Action: trigger the CSMS to send an InstallCertificateRequest.
    install = manual(
        sut.api.post(
            f"/stations/{station.station_id}/certificates/install",
            {"certificate_type": certificate_type, "pem": pem},
        )
    )
    call = await station.expect("InstallCertificate")  # 1.
    check(
        call.payload["certificateType"] == certificate_type,
        f"InstallCertificateRequest certificateType {call.payload['certificateType']}, "
        f"want {certificate_type}",
    )
    check(
        call.payload["certificate"] == pem,
        "InstallCertificateRequest certificate is not the configured certificate",
    )
    await station.respond(call, {"status": status})  # 2.
    answer: str = (await install)["status"]
    return answer


async def get_installed_certificates(
    sut: Sut,
    station: Station,
    certificate_type: str | None,
    answer: dict[str, Any],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """GetInstalledCertificateIds asked through the API (of ``certificate_type``, or of all
    types) and answered with ``answer``; returns the request and the inventory the API returns."""
    body = {"certificate_type": certificate_type} if certificate_type is not None else None
    refresh = manual(sut.api.post(f"/stations/{station.station_id}/certificates/refresh", body))
    call = await station.expect("GetInstalledCertificateIds")
    await station.respond(call, answer)
    items: list[dict[str, Any]] = (await refresh)["items"]
    return call.payload, items


def chain_entry(certificate_type: str, data: dict[str, str]) -> dict[str, Any]:
    return {"certificateType": certificate_type, "certificateHashData": data}


def hash_out(data: dict[str, str]) -> dict[str, str]:
    """``data`` as the API spells hash data."""
    return {
        "hash_algorithm": data["hashAlgorithm"],
        "issuer_name_hash": data["issuerNameHash"],
        "issuer_key_hash": data["issuerKeyHash"],
        "serial_number": data["serialNumber"],
    }


def of_type(items: list[dict[str, Any]], certificate_type: str) -> list[dict[str, Any]]:
    return [e for e in items if e["certificate_type"] == certificate_type]


async def test_TC_M_01_CSMS(sut: Sut, pki: Pki, booted_station: Station) -> None:
    """Install CA certificate - CSMSRootCertificate (M05.FR.01)."""
    station = booted_station
    # 1. Reusable State CertificateInstalled for CSMSRootCertificate.
    status = await certificate_installed(sut, station, "CSMSRootCertificate", pki.root.pem)
    assert status == "Accepted"
    # The CSMS keeps what the station now holds.
    (entry,) = of_type(await inventory(sut, station), "CSMSRootCertificate")
    assert entry["source"] == "installed"
    assert entry["hash_data"] == hash_out(hash_data(pki.root.cert, pki.root.cert))


async def test_TC_M_02_CSMS(sut: Sut, pki: Pki, booted_station: Station) -> None:
    """Install CA certificate - ManufacturerRootCertificate (M05.FR.01)."""
    station = booted_station
    # 1. Reusable State CertificateInstalled for ManufacturerRootCertificate.
    pem = pki.manufacturer_root.pem
    status = await certificate_installed(sut, station, "ManufacturerRootCertificate", pem)
    assert status == "Accepted"
    (entry,) = of_type(await inventory(sut, station), "ManufacturerRootCertificate")
    assert entry["pem"] == pem


async def test_TC_M_05_CSMS(sut: Sut, pki: Pki, booted_station: Station) -> None:
    """Install CA certificate - Failed (M05.FR.01, M05.FR.03)."""
    station = booted_station
    # Manual Action, 1. InstallCertificateRequest CSMSRootCertificate; 2. status Failed.
    status = await certificate_installed(
        sut, station, "CSMSRootCertificate", pki.root.pem, status="Failed"
    )
    assert status == "Failed"
    # The station does not hold it: the CSMS must not think it does.
    assert of_type(await inventory(sut, station), "CSMSRootCertificate") == []


async def test_TC_M_13_CSMS(sut: Sut, pki: Pki, booted_station: Station) -> None:
    """Retrieve certificates from Charging Station - ManufacturerRootCertificate (M03.FR.01):
    Reusable State GetInstalledCertificates (Table 400)."""
    station = booted_station
    data = hash_data(pki.manufacturer_root.cert, pki.manufacturer_root.cert)
    # Manual Action; 1. GetInstalledCertificateIdsRequest; 2. Accepted with the configured
    # ManufacturerRootCertificate's hash data.
    request, items = await get_installed_certificates(
        sut,
        station,
        "ManufacturerRootCertificate",
        {
            "status": "Accepted",
            "certificateHashDataChain": [chain_entry("ManufacturerRootCertificate", data)],
        },
    )
    # Tool validation, step 1: certificateType must be ManufacturerRootCertificate.
    check(
        request.get("certificateType") == ["ManufacturerRootCertificate"],
        f"GetInstalledCertificateIdsRequest certificateType {request.get('certificateType')}, "
        "want [ManufacturerRootCertificate]",
    )
    (entry,) = of_type(items, "ManufacturerRootCertificate")
    assert entry["hash_data"] == hash_out(data)
    assert entry["source"] == "reported"


async def test_TC_M_18_CSMS(sut: Sut, pki: Pki, booted_station: Station) -> None:
    """Retrieve certificates from Charging Station - All certificateTypes (M03.FR.01)."""
    station = booted_station
    store = {
        "CSMSRootCertificate": pki.root,
        "ManufacturerRootCertificate": pki.manufacturer_root,
        "V2GRootCertificate": pki.v2g_root,
        "MORootCertificate": pki.mo_root,
    }
    chain = [chain_entry(t, hash_data(m.cert, m.cert)) for t, m in store.items()]
    # Manual Action; 1. GetInstalledCertificateIdsRequest without certificateType;
    # 2. Accepted with the hash data of every certificate of the OCTT's truststore.
    request, items = await get_installed_certificates(
        sut, station, None, {"status": "Accepted", "certificateHashDataChain": chain}
    )
    # Tool validation, step 1: certificateType is omitted.
    check(
        "certificateType" not in request,
        f"GetInstalledCertificateIdsRequest has certificateType {request.get('certificateType')}",
    )
    reported = {(e["certificate_type"], e["hash_data"]["serial_number"]) for e in items}
    assert reported == {(t, format(m.cert.serial_number, "x")) for t, m in store.items()}


async def test_TC_M_19_CSMS(sut: Sut, pki: Pki, booted_station: Station) -> None:
    """Retrieve certificates from Charging Station - No matching certificate found (M03.FR.01,
    M03.FR.02)."""
    station = booted_station
    # Manual Action; 1. GetInstalledCertificateIdsRequest ManufacturerRootCertificate;
    # 2. NotFound, certificateHashDataChain omitted.
    request, items = await get_installed_certificates(
        sut, station, "ManufacturerRootCertificate", {"status": "NotFound"}
    )
    # Tool validation, step 1: certificateType is ManufacturerRootCertificate.
    check(
        request.get("certificateType") == ["ManufacturerRootCertificate"],
        f"GetInstalledCertificateIdsRequest certificateType {request.get('certificateType')}, "
        "want [ManufacturerRootCertificate]",
    )
    assert of_type(items, "ManufacturerRootCertificate") == []


async def delete_certificate(
    sut: Sut, station: Station, pki: Pki, algorithm: str, status: str
) -> tuple[str, list[dict[str, Any]]]:
    """The main scenario of TC_M_20 / TC_M_21: the CSMS asks for the installed certificates,
    the OCTT reports the CSMS root with ``algorithm``, the CSMS deletes it with that hash data
    and the OCTT answers ``status``. Returns the API's answer and the inventory after it."""
    data = hash_data(pki.root.cert, pki.root.cert, algorithm)
    # Manual Action: request the CSMS to send a DeleteCertificateRequest. The API deletes an
    # entry of the CSMS's inventory with the hash data the station reported (M04.FR.07):
    # asking the station for them first is the refresh.
    request, items = await get_installed_certificates(
        sut,
        station,
        None,
        {
            "status": "Accepted",
            "certificateHashDataChain": [chain_entry("CSMSRootCertificate", data)],
        },
    )
    # Tool validation: certificateType contains CSMSRootCertificate OR is omitted.
    types = request.get("certificateType")
    check(
        types is None or "CSMSRootCertificate" in types,
        f"GetInstalledCertificateIdsRequest certificateType {types}",
    )
    (entry,) = of_type(items, "CSMSRootCertificate")
    delete = manual(sut.api.delete(f"/stations/{station.station_id}/certificates/{entry['id']}"))
    call = await station.expect("DeleteCertificate")
    # Tool validation: certificateHashData is the hash data returned before (M04.FR.07).
    check(
        call.payload["certificateHashData"] == data,
        f"DeleteCertificateRequest certificateHashData {call.payload['certificateHashData']}, "
        f"want {data}",
    )
    await station.respond(call, {"status": status})
    answer: str = (await delete)["status"]
    return answer, await inventory(sut, station)


async def test_TC_M_20_CSMS(sut: Sut, pki: Pki, booted_station: Station) -> None:
    """Delete a certificate from a Charging Station - Success (M04.FR.01, M04.FR.07), with
    every hash algorithm."""
    station = booted_station
    # Steps 1-5 are repeated for each hash algorithm.
    for algorithm in ("SHA256", "SHA384", "SHA512"):
        # 1. CertificateInstalled with certificateType CSMSRootCertificate.
        status = await certificate_installed(sut, station, "CSMSRootCertificate", pki.root.pem)
        assert status == "Accepted"
        # 2.-5.
        answer, items = await delete_certificate(sut, station, pki, algorithm, "Accepted")
        assert answer == "Accepted", algorithm
        assert of_type(items, "CSMSRootCertificate") == [], algorithm


async def test_TC_M_21_CSMS(sut: Sut, pki: Pki, booted_station: Station) -> None:
    """Delete a certificate from a Charging Station - Failed (M04.FR.01, M04.FR.07)."""
    station = booted_station
    # Reusable State CertificateInstalled with certificateType CSMSRootCertificate.
    status = await certificate_installed(sut, station, "CSMSRootCertificate", pki.root.pem)
    assert status == "Accepted"
    # Manual Action; 1.-4.: the deletion Failed.
    answer, items = await delete_certificate(sut, station, pki, "SHA256", "Failed")
    assert answer == "Failed"
    # The station still holds the certificate, and the CSMS knows it.
    (entry,) = of_type(items, "CSMSRootCertificate")
    assert entry["hash_data"] == hash_out(hash_data(pki.root.cert, pki.root.cert))

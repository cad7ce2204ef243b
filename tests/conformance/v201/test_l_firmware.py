"""OCPP 2.0.1 Part 6 §3.13, L FirmwareManagement: the CSMS test cases TC_L_xx_CSMS (L01 Secure
Firmware Update).

The "Manual Action" that makes the CSMS send UpdateFirmwareRequest is a firmware job started
through the REST API (docs/jobs.md) with the image uploaded to the CSMS and the OCTT's configured
signing certificate and signature; the job is checked through the API at the end of each case.
A reboot (InstallRebooting) is played as a real one: the tool's station closes its connection and
connects again before its BootNotification with reason FirmwareUpdate.
"""

from __future__ import annotations

import asyncio
import base64
import functools
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conformance.octt import Call, Station
from tests.conformance.sut import CONFIGURED, Sut
from tests.conformance.v201.states import (
    Tx,
    boot,
    booted,
    check,
    connector_state,
    energy_transfer_started,
    ev_connected_post_session,
    ev_disconnected,
    stop_authorized,
)

IMAGE = b"OCTT firmware image 2.0.1\n" * 64
IMAGE_NAME = "octt-firmware-2.0.1.bin"
SCHEDULE_AHEAD = timedelta(seconds=2)
"""How far in the future install/retrieve dates are set: short, as the tool waits for them."""


@functools.cache
def signing() -> tuple[str, str]:
    """<Configured signingCertificate> and <Configured signature>: a self-signed firmware
    signing certificate (PEM) and the image's ECDSA-SHA256 signature made with its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "OCTT Firmware Signer")])
    start = datetime.now(UTC) - timedelta(days=1)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    signature = base64.b64encode(key.sign(IMAGE, ec.ECDSA(hashes.SHA256()))).decode()
    return pem, signature


def parse_time(text: str) -> datetime:
    """An OCPP dateTime as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def until(moment: datetime) -> None:
    """Wait for a moment the scenario names ("after the given installDateTime ...")."""
    delay = (moment - datetime.now(UTC)).total_seconds()
    if delay > 0:
        await asyncio.sleep(delay)


async def upload_image(sut: Sut) -> int:
    """The operator uploads the firmware image the CSMS will host."""
    file = await sut.api.request(
        "POST", f"/firmware?file_name={IMAGE_NAME}", content=IMAGE, expect=201
    )
    image_id: int = file["id"]
    return image_id


async def answer(station: Station, action: str, response: dict[str, Any]) -> Call:
    """The tool receives the CSMS's ``action`` and responds with ``response``."""
    call = await station.expect(action)
    await station.respond(call, response)
    return call


async def update_firmware(
    sut: Sut,
    station: Station,
    image_id: int,
    status: str = "Accepted",
    **fields: Any,
) -> tuple[dict[str, Any], Call]:
    """1./2. The operator starts a firmware job; the CSMS sends UpdateFirmwareRequest and the
    tool responds with ``status``. Returns the job the API answered and the request."""
    certificate, signature = signing()
    body = {
        "image_id": image_id,
        "signing_certificate": certificate,
        "signature": signature,
        **fields,
    }
    code = 202 if status in ("Accepted", "AcceptedCanceled") else 200
    job, call = await asyncio.gather(
        sut.api.post(f"/stations/{station.station_id}/jobs/firmware", body, expect=code),
        answer(station, "UpdateFirmware", {"status": status}),
    )
    check(
        call.payload["requestId"] == job["id"],
        f"UpdateFirmwareRequest requestId {call.payload['requestId']}, the job is {job['id']}",
    )
    return job, call


def check_signed(call: Call) -> None:
    """Tool validation: firmware.signingCertificate and firmware.signature are the configured
    ones (L01.FR.11)."""
    certificate, signature = signing()
    firmware = call.payload["firmware"]
    check(
        firmware.get("signingCertificate") == certificate,
        "UpdateFirmwareRequest firmware.signingCertificate is not the configured certificate",
    )
    check(
        firmware.get("signature") == signature,
        "UpdateFirmwareRequest firmware.signature is not the configured signature",
    )


async def firmware_status(station: Station, status: str, request_id: int) -> None:
    """The OCTT sends FirmwareStatusNotificationRequest; the CSMS responds (schema-checked)."""
    await station.send("FirmwareStatusNotification", {"status": status, "requestId": request_id})


async def download(call: Call) -> None:
    """The tool downloads the image from the location the CSMS gave (the Downloading step)."""
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(call.payload["firmware"]["location"])
    check(response.status_code == 200, f"firmware download → {response.status_code}")
    check(response.content == IMAGE, "the firmware location served other bytes than the image")


async def job_of(sut: Sut, job_id: int) -> dict[str, Any]:
    """The job and its history, as the operator reads it."""
    job: dict[str, Any] = await sut.api.get(f"/jobs/{job_id}")
    return job


def reported(job: dict[str, Any]) -> list[str]:
    """The statuses the station reported for the job, in order."""
    return [e["status"] for e in job["events"] if e["source"] == "station"]


async def install_after_reboot(
    sut: Sut, station_id: str, request_id: int, final: str = "Installed", *, evses: int = 1
) -> None:
    """Steps after InstallRebooting: reboot, BootNotification FirmwareUpdate (Accepted), all
    connectors Available, then the final FirmwareStatusNotification."""
    async with sut.station(station_id) as station:
        response = await boot(station, "FirmwareUpdate")
        check(
            response["status"] == "Accepted",
            f"BootNotificationResponse status {response['status']}, want Accepted",
        )
        for evse in range(1, evses + 1):
            await connector_state(station, "Available", evse_id=evse)
        await firmware_status(station, final, request_id)


FULL_INSTALL = [
    "Downloading",
    "Downloaded",
    "SignatureVerified",
    "Installing",
    "InstallRebooting",
    "Installed",
]


async def test_TC_L_01_CSMS(sut: Sut) -> None:
    """Secure Firmware Update - Installation successful (L01.FR.01, L01.FR.11, L01.FR.15)."""
    await sut.provision("CS-L01")
    image_id = await upload_image(sut)
    async with sut.station("CS-L01") as station:
        await booted(station)
        job, call = await update_firmware(sut, station, image_id)  # 1-2
        check_signed(call)  # tool validation step 1
        request_id = call.payload["requestId"]
        await firmware_status(station, "Downloading", request_id)  # 3-4
        await download(call)
        for status in ("Downloaded", "SignatureVerified", "Installing", "InstallRebooting"):
            await firmware_status(station, status, request_id)  # 5-12
    await install_after_reboot(sut, "CS-L01", request_id)  # 13-18
    job = await job_of(sut, job["id"])
    assert (job["state"], job["station_status"]) == ("Succeeded", "Installed"), job
    assert reported(job) == FULL_INSTALL


async def test_TC_L_02_CSMS(sut: Sut) -> None:
    """Secure Firmware Update - InstallScheduled (L01.FR.01, L01.FR.11, L01.FR.15)."""
    await sut.provision("CS-L02")
    image_id = await upload_image(sut)
    install_at = datetime.now(UTC) + SCHEDULE_AHEAD
    async with sut.station("CS-L02") as station:
        await booted(station)
        job, call = await update_firmware(
            sut, station, image_id, install_date=install_at.isoformat()
        )  # 1-2
        firmware = call.payload["firmware"]
        check(  # tool validation step 1: firmware.installDateTime in the future
            "installDateTime" in firmware
            and parse_time(firmware["installDateTime"]) > datetime.now(UTC),
            f"UpdateFirmwareRequest firmware.installDateTime not in the future: {firmware}",
        )
        request_id = call.payload["requestId"]
        for status in ("Downloading", "Downloaded", "SignatureVerified", "InstallScheduled"):
            await firmware_status(station, status, request_id)  # 3-10
        await until(parse_time(firmware["installDateTime"]))
        for status in ("Installing", "InstallRebooting"):
            await firmware_status(station, status, request_id)  # 11-14
    await install_after_reboot(sut, "CS-L02", request_id)  # 15-20
    job = await job_of(sut, job["id"])
    assert (job["state"], job["station_status"]) == ("Succeeded", "Installed"), job
    assert "InstallScheduled" in reported(job)


async def test_TC_L_03_CSMS(sut: Sut) -> None:
    """Secure Firmware Update - DownloadScheduled (L01.FR.01, L01.FR.11, L01.FR.15)."""
    await sut.provision("CS-L03")
    image_id = await upload_image(sut)
    retrieve_at = datetime.now(UTC) + SCHEDULE_AHEAD
    async with sut.station("CS-L03") as station:
        await booted(station)
        job, call = await update_firmware(
            sut, station, image_id, retrieve_date=retrieve_at.isoformat()
        )  # 1-2
        firmware = call.payload["firmware"]
        check(  # tool validation step 1: firmware.retrieveDateTime in the future
            parse_time(firmware["retrieveDateTime"]) > datetime.now(UTC),
            f"UpdateFirmwareRequest firmware.retrieveDateTime not in the future: {firmware}",
        )
        request_id = call.payload["requestId"]
        await firmware_status(station, "DownloadScheduled", request_id)  # 3-4
        await until(parse_time(firmware["retrieveDateTime"]))
        await firmware_status(station, "Downloading", request_id)  # 5-6
        await download(call)
        for status in ("Downloaded", "SignatureVerified", "Installing", "InstallRebooting"):
            await firmware_status(station, status, request_id)  # 7-14
    await install_after_reboot(sut, "CS-L03", request_id)  # 15-20
    job = await job_of(sut, job["id"])
    assert (job["state"], job["station_status"]) == ("Succeeded", "Installed"), job
    assert reported(job)[0] == "DownloadScheduled"


async def refused(sut: Sut, station_id: str, status: str) -> None:
    """TC_L_04/05: the tool refuses UpdateFirmwareRequest with ``status``; the job ends."""
    await sut.provision(station_id)
    image_id = await upload_image(sut)
    async with sut.station(station_id) as station:
        await booted(station)
        job, _ = await update_firmware(sut, station, image_id, status)  # 1-2
        await station.expect_nothing(0.5)
    job = await job_of(sut, job["id"])
    assert (job["state"], job["answer_status"]) == ("Rejected", status), job


async def test_TC_L_04_CSMS(sut: Sut) -> None:
    """Secure Firmware Update - RevokedCertificate (L01.FR.01)."""
    await refused(sut, "CS-L04", "RevokedCertificate")


async def test_TC_L_05_CSMS(sut: Sut) -> None:
    """Secure Firmware Update - InvalidCertificate (L01.FR.01)."""
    await refused(sut, "CS-L05", "InvalidCertificate")


async def failed(sut: Sut, station_id: str, statuses: list[str]) -> None:
    """TC_L_06/07/08: the update is accepted, then fails with the last of ``statuses``."""
    await sut.provision(station_id)
    image_id = await upload_image(sut)
    async with sut.station(station_id) as station:
        await booted(station)
        job, call = await update_firmware(sut, station, image_id)  # 1-2
        for status in statuses:
            await firmware_status(station, status, call.payload["requestId"])
    job = await job_of(sut, job["id"])
    assert (job["state"], job["station_status"]) == ("Failed", statuses[-1]), job
    assert reported(job) == statuses


async def test_TC_L_06_CSMS(sut: Sut) -> None:
    """Secure Firmware Update - InvalidSignature (L01.FR.01, L01.FR.11)."""
    await failed(sut, "CS-L06", ["Downloading", "Downloaded", "InvalidSignature"])


async def test_TC_L_07_CSMS(sut: Sut) -> None:
    """Secure Firmware Update - DownloadFailed (L01.FR.01, L01.FR.11)."""
    await failed(sut, "CS-L07", ["Downloading", "DownloadFailed"])


async def test_TC_L_08_CSMS(sut: Sut) -> None:
    """Secure Firmware Update - InstallVerificationFailed (L01.FR.01, L01.FR.11)."""
    statuses = ["Downloading", "Downloaded", "SignatureVerified", "Installing"]
    await failed(sut, "CS-L08", [*statuses, "InstallVerificationFailed"])


async def test_TC_L_09_CSMS(sut: Sut) -> None:
    """Secure Firmware Update - InstallationFailed (L01.FR.01, L01.FR.11)."""
    await sut.provision("CS-L09")
    image_id = await upload_image(sut)
    async with sut.station("CS-L09") as station:
        await booted(station)
        job, call = await update_firmware(sut, station, image_id)  # 1-2
        request_id = call.payload["requestId"]
        for status in FULL_INSTALL[:5]:
            await firmware_status(station, status, request_id)  # 3-12
    await install_after_reboot(sut, "CS-L09", request_id, "InstallationFailed")  # 13-18
    job = await job_of(sut, job["id"])
    assert (job["state"], job["station_status"]) == ("Failed", "InstallationFailed"), job


async def test_TC_L_10_CSMS(sut: Sut) -> None:
    """Secure Firmware Update - AcceptedCanceled (L01.FR.01, L01.FR.11, L01.FR.24)."""
    await sut.provision("CS-L10")
    image_id = await upload_image(sut)
    async with sut.station("CS-L10") as station:
        await booted(station)
        first, call = await update_firmware(sut, station, image_id)  # 1-2
        await firmware_status(station, "Downloading", call.payload["requestId"])  # 3-4
        second, call = await update_firmware(sut, station, image_id, "AcceptedCanceled")  # 5-6
        request_id = call.payload["requestId"]
        check(request_id != first["id"], "the second UpdateFirmwareRequest reused the requestId")
        for status in FULL_INSTALL[:5]:
            await firmware_status(station, status, request_id)  # 7-16
    await install_after_reboot(sut, "CS-L10", request_id)  # 17-22
    first, second = await job_of(sut, first["id"]), await job_of(sut, second["id"])
    assert first["state"] == "Cancelled", first  # L01.FR.26: replaced by the second
    assert (second["state"], second["answer_status"]) == ("Succeeded", "AcceptedCanceled"), second
    assert reported(second) == FULL_INSTALL


async def test_TC_L_11_CSMS(sut: Sut) -> None:
    """Secure Firmware Update - Unable to cancel (L01.FR.01, L01.FR.11, L01.FR.27)."""
    await sut.provision("CS-L11")
    image_id = await upload_image(sut)
    async with sut.station("CS-L11") as station:
        await booted(station)
        first, call = await update_firmware(sut, station, image_id)  # 1-2
        request_id = call.payload["requestId"]
        await firmware_status(station, "Downloading", request_id)  # 3-4
        second, _ = await update_firmware(sut, station, image_id, "Rejected")  # 5-6
        for status in FULL_INSTALL[1:5]:
            await firmware_status(station, status, request_id)  # 7-14
    await install_after_reboot(sut, "CS-L11", request_id)  # 15-20
    first, second = await job_of(sut, first["id"]), await job_of(sut, second["id"])
    assert (first["state"], first["station_status"]) == ("Succeeded", "Installed"), first
    assert reported(first) == FULL_INSTALL
    assert (second["state"], second["answer_status"]) == ("Rejected", "Rejected"), second


async def test_TC_L_13_CSMS(sut: Sut) -> None:
    """Secure Firmware Update - Unable to download/install firmware with ongoing transaction -
    AllowNewSessionsPendingFirmwareUpdate is false (L01.FR.01, L01.FR.11)."""
    await sut.add_token(CONFIGURED.valid_id_token)
    await sut.provision("CS-L13")
    image_id = await upload_image(sut)
    retrieve_at = datetime.now(UTC) + SCHEDULE_AHEAD
    tx = Tx()
    async with sut.station("CS-L13") as station:
        # Two EVSEs: the transaction runs on EVSE 1, EVSE 2 is the connector without one.
        await booted(station, evses=2)
        await energy_transfer_started(station, tx)  # Before: EnergyTransferStarted
        job, call = await update_firmware(
            sut, station, image_id, retrieve_date=retrieve_at.isoformat()
        )  # 1-2
        check_signed(call)  # tool validation step 1
        request_id = call.payload["requestId"]
        await firmware_status(station, "DownloadScheduled", request_id)  # 3-4
        await connector_state(station, "Unavailable", evse_id=2)  # 5-6
        await stop_authorized(station, tx)  # 7
        await ev_connected_post_session(station, tx)  # 8
        await ev_disconnected(station, tx)  # 9
        await until(parse_time(call.payload["firmware"]["retrieveDateTime"]))
        await firmware_status(station, "Downloading", request_id)  # 10-11
        await download(call)
        for status in FULL_INSTALL[1:5]:
            await firmware_status(station, status, request_id)  # 12-19
    await install_after_reboot(sut, "CS-L13", request_id, evses=2)  # 20-25
    job = await job_of(sut, job["id"])
    assert (job["state"], job["station_status"]) == ("Succeeded", "Installed"), job
    assert reported(job) == ["DownloadScheduled", *FULL_INSTALL]
    transactions = await sut.api.get("/transactions", params={"station_id": "CS-L13"})
    (record,) = [t for t in transactions["items"] if t["transaction_id"] == tx.transaction_id]
    assert (record["status"], record["stop_reason"]) == ("Completed", "EVDisconnected"), record

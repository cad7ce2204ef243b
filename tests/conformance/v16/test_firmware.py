"""OCPP 1.6 OCTT test case document, Central System section, module "Firmware Management":
TC_044_x_CSMS (UpdateFirmware, §5.19 / §4.5) and TC_045_x_CSMS (GetDiagnostics, §5.9 / §4.4).

The "Manual Action" is the jobs API (docs/jobs.md): ``POST /stations/{id}/jobs/firmware`` with an
image uploaded to the CSMS (the <Firmware Download URL> is then the CSMS's own hosted file) and
``POST /stations/{id}/jobs/log`` for diagnostics. The tool's charge point downloads the image and
uploads its diagnostics over HTTP as a real one would, and the job's outcome, read back through
the API, is what the Central System made of the notifications.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conformance.octt import Station
from tests.conformance.sut import Sut, start_sut
from tests.conformance.v16.states import PROTOCOL, boot, booted, check, manual_action, status

IMAGE = b"OCTT dummy firmware image 1.0.1\n" * 64


@pytest.fixture
async def files_sut(tmp_path: Path) -> AsyncIterator[Sut]:
    """The CSMS hosting its files under the test's own directory."""
    async with start_sut(tmp_path, files_dir=str(tmp_path / "files")) as running:
        yield running


async def _firmware(station: Station, firmware_status: str) -> None:
    await station.send("FirmwareStatusNotification", {"status": firmware_status})


async def _diagnostics(station: Station, diagnostics_status: str) -> None:
    await station.send("DiagnosticsStatusNotification", {"status": diagnostics_status})


async def _job(sut: Sut, job_id: int, *, wait: int = 0) -> dict[str, Any]:
    job: dict[str, Any] = await sut.api.get(f"/jobs/{job_id}", params={"wait": wait})
    return job


async def _update_firmware(sut: Sut, station: Station) -> tuple[dict[str, Any], str]:
    """Steps 1-2: the CPO installs an uploaded image; the tool accepts UpdateFirmware.req and
    downloads the image from its location. Returns the job and the location."""
    image = await sut.api.request(
        "POST", "/firmware", params={"file_name": "octt-1.0.1.bin"}, content=IMAGE, expect=201
    )
    starting = manual_action(
        sut.api.post(
            f"/stations/{station.station_id}/jobs/firmware", {"image_id": image["id"]}, expect=202
        )
    )
    call = await station.expect("UpdateFirmware")  # 1.
    location = call.payload["location"]
    check("retrieveDate" in call.payload, f"UpdateFirmware.req without retrieveDate: {call}")
    await station.respond(call, {})  # 2.
    job: dict[str, Any] = await starting
    async with httpx.AsyncClient() as client:  # the charge point fetches the firmware
        response = await client.get(location)
    assert response.status_code == 200, location
    assert response.content == IMAGE, location
    return job, location


async def _download_and_install(sut: Sut, station_id: str, last_status: str) -> dict[str, Any]:
    """TC_044_1 / TC_044_3: download, install, reboot, then ``last_status``."""
    await sut.provision(station_id)
    async with sut.station(station_id, PROTOCOL) as station:
        await booted(station)
        job, _ = await _update_firmware(sut, station)
        await _firmware(station, "Downloading")  # 3./4.
        await _firmware(station, "Downloaded")  # 5./6.
        await status(station, "Unavailable")  # 7./8. all connectors
        await _firmware(station, "Installing")  # 9./10.
    # 11. The charge point reboots and sends a BootNotification.
    async with sut.station(station_id, PROTOCOL) as station:
        response = await boot(station)  # 11./12.
        check(response["status"] == "Accepted", f"BootNotification.conf {response}")
        await status(station, "Available", connector_id=0)  # 13./14.
        await status(station, "Available")
        await _firmware(station, last_status)  # 15./16.
        return await _job(sut, job["id"], wait=10)


async def test_TC_044_1_CSMS(files_sut: Sut) -> None:
    """Firmware Update - Download and Install."""
    job = await _download_and_install(files_sut, "CP0441", "Installed")
    assert job["state"] == "Succeeded", job
    assert job["station_status"] == "Installed", job


async def test_TC_044_2_CSMS(files_sut: Sut) -> None:
    """Firmware Update - Download Failed."""
    sut = files_sut
    await sut.provision("CP0442")
    async with sut.station("CP0442", PROTOCOL) as station:
        await booted(station)
        job, _ = await _update_firmware(sut, station)
        await _firmware(station, "Downloading")  # 3./4.
        await _firmware(station, "DownloadFailed")  # 5./6.
        job = await _job(sut, job["id"], wait=10)
    assert job["state"] == "Failed", job
    assert job["station_status"] == "DownloadFailed", job


async def test_TC_044_3_CSMS(files_sut: Sut) -> None:
    """Firmware Update - Installation Failed."""
    job = await _download_and_install(files_sut, "CP0443", "InstallationFailed")
    assert job["state"] == "Failed", job
    assert job["station_status"] == "InstallationFailed", job


async def _get_diagnostics(sut: Sut, station: Station, outcome: str) -> dict[str, Any]:
    """TC_045_x: GetDiagnostics, Uploading, then ``outcome`` (the tool uploads the log)."""
    starting = manual_action(
        sut.api.post(f"/stations/{station.station_id}/jobs/log", {}, expect=202)
    )
    call = await station.expect("GetDiagnostics")  # 1.
    location = call.payload["location"]
    await station.respond(call, {"fileName": "octt-diagnostics.log"})  # 2.
    job: dict[str, Any] = await starting
    await _diagnostics(station, "Uploading")  # 3./4.
    if outcome == "Uploaded":
        async with httpx.AsyncClient() as client:
            response = await client.put(f"{location}octt-diagnostics.log", content=b"octt log\n")
        assert response.status_code == 201, response.text
    await _diagnostics(station, outcome)  # 5./6.
    return await _job(sut, job["id"], wait=10)


async def test_TC_045_1_CSMS(files_sut: Sut) -> None:
    """Get Diagnostics."""
    sut = files_sut
    await sut.provision("CP0451")
    async with sut.station("CP0451", PROTOCOL) as station:
        await booted(station)
        job = await _get_diagnostics(sut, station, "Uploaded")
    assert job["state"] == "Succeeded", job
    # Expected: the diagnostics log is at the location sent in step 1.
    assert [f["name"] for f in job["files"]] == ["octt-diagnostics.log"], job


async def test_TC_045_2_CSMS(files_sut: Sut) -> None:
    """Get Diagnostics - Upload Failed."""
    sut = files_sut
    await sut.provision("CP0452")
    async with sut.station("CP0452", PROTOCOL) as station:
        await booted(station)
        job = await _get_diagnostics(sut, station, "UploadFailed")
    assert job["state"] == "Failed", job
    assert job["station_status"] == "UploadFailed", job

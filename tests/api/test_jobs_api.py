"""Firmware and log jobs over the real wire: the operator starts them over HTTP, the simulator
really downloads the image from the CSMS and really uploads its log to it, and the jobs follow
the station's status notifications to their end. Refusals and failures take the command road
(400/404/409/502/504) and fail the job."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import SimulatedStation, file_transfer
from tests.handlers.builders import booted
from tests.handlers.station_calls import NO_ANSWER, CallError, responding
from tests.simulator.certs import TestCa, pem, sign_file
from tests.simulator.helpers import sim_config
from tests.wire import api_client, raw_station, running_csms, settings_for

IMAGE = b"\x7fSIMFW" + bytes(range(256)) * 16


@pytest.fixture
async def csms(tmp_path: Path) -> AsyncIterator[Csms]:
    async with running_csms(settings_for(tmp_path, files_dir=str(tmp_path / "files"))) as node:
        yield node


async def upload_image(api: httpx.AsyncClient, name: str, content: bytes = IMAGE) -> int:
    response = await api.post("/api/v1/firmware", params={"file_name": name}, content=content)
    assert response.status_code == 201, response.text
    image_id: int = response.json()["id"]
    return image_id


async def finished(api: httpx.AsyncClient, job_id: int) -> dict[str, Any]:
    """The job once it ended (long-poll)."""
    response = await api.get(f"/api/v1/jobs/{job_id}", params={"wait": 15})
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    return job


def reported(job: dict[str, Any]) -> list[str]:
    return [e["status"] for e in job["events"] if e["source"] == "station"]


def signing() -> tuple[str, str]:
    """A firmware signing certificate and the image's signature made with its key."""
    signer = TestCa("Firmware Signer", parent=TestCa("Manufacturer Root"))
    return pem(signer.cert), sign_file(signer.key, IMAGE)


FIRMWARE_CASES = [
    pytest.param(OcppVersion.V16, False, id="1.6-UpdateFirmware"),
    pytest.param(OcppVersion.V16, True, id="1.6-SignedUpdateFirmware"),
    pytest.param(OcppVersion.V201, True, id="2.0.1-UpdateFirmware"),
]


@pytest.mark.parametrize(("version", "signed"), FIRMWARE_CASES)
async def test_firmware_job_installs_an_image_the_station_downloads_from_the_csms(
    csms: Csms, version: OcppVersion, signed: bool
) -> None:
    station_id = f"FW-{version.name}-{signed}"
    await csms.stations.create(StationSpec(id=station_id))
    async with (
        SimulatedStation(sim_config(csms, station_id, version)) as st,
        api_client(csms) as api,
    ):
        await st.wait_for(lambda s: s.registration == "Accepted")
        image_id = await upload_image(api, "simcharger-2.4.1.bin")
        body: dict[str, Any] = {"image_id": image_id, "retries": 1, "retry_interval": 0}
        if signed:
            certificate, signature = signing()
            body |= {"signing_certificate": certificate, "signature": signature}
        started = await api.post(f"/api/v1/stations/{station_id}/jobs/firmware", json=body)
        assert started.status_code == 202, started.text
        job = await finished(api, started.json()["id"])
        commands = (await api.get(f"/api/v1/stations/{station_id}/commands")).json()["items"]
        station = (await api.get(f"/api/v1/stations/{station_id}")).json()

    assert job["state"] == "Succeeded", job
    assert job["station_status"] == "Installed"
    assert job["answer_status"] == "Accepted"
    assert job["location"].endswith("/simcharger-2.4.1.bin")
    assert job["files"][0]["id"] == image_id
    # The station installed exactly the uploaded bytes, rebooted into the new version, and told
    # the CSMS so in its new BootNotification.
    assert st.maintenance.firmware.image == IMAGE
    assert st.firmware_version == "2.4.1"
    assert station["boot"]["firmware_version"] == "2.4.1"
    if version is OcppVersion.V16 and not signed:
        assert job["action"] == "UpdateFirmware"
        assert job["request_id"] is None
        assert reported(job) == ["Downloading", "Downloaded", "Installing", "Installed"]
    else:
        assert job["action"] == (
            "SignedUpdateFirmware" if version is OcppVersion.V16 else "UpdateFirmware"
        )
        assert job["request_id"] == job["id"]
        assert reported(job) == [
            "Downloading",
            "Downloaded",
            "SignatureVerified",
            "Installing",
            "InstallRebooting",
            "Installed",
        ]
        notification = (
            "SignedFirmwareStatusNotification"
            if version is OcppVersion.V16
            else "FirmwareStatusNotification"
        )
        assert {e["action"] for e in job["events"] if e["source"] == "station"} == {notification}
    # The command went through the command log, and the job links it.
    (command,) = [c for c in commands if c["id"] == job["command_id"]]
    assert (command["action"], command["status"]) == (job["action"], "Answered")
    if signed:  # signed fields passed through (L01.FR.11)
        firmware = command["payload"]["firmware"]
        assert (firmware["signingCertificate"], firmware["signature"]) == (
            body["signing_certificate"],
            body["signature"],
        )
        assert command["payload"]["requestId"] == job["id"]
    assert (command["payload"].get("retries"), command["payload"].get("retryInterval")) == (1, 0)


LOG_CASES = [
    pytest.param(OcppVersion.V16, None, "GetDiagnostics", id="1.6-GetDiagnostics"),
    pytest.param(OcppVersion.V16, "SecurityLog", "GetLog", id="1.6-GetLog"),
    pytest.param(OcppVersion.V201, None, "GetLog", id="2.0.1-GetLog"),
    pytest.param(OcppVersion.V21, "SecurityLog", "GetLog", id="2.1-GetLog"),
]


@pytest.mark.parametrize(("version", "log_type", "action"), LOG_CASES)
async def test_log_job_stores_the_file_the_station_uploads(
    csms: Csms,
    monkeypatch: pytest.MonkeyPatch,
    version: OcppVersion,
    log_type: str | None,
    action: str,
) -> None:
    sent: list[tuple[str, bytes]] = []
    real_upload = file_transfer.upload

    async def spy(location: str, file_name: str, content: bytes, time_limit: float) -> str:
        sent.append((file_name, content))
        return await real_upload(location, file_name, content, time_limit)

    monkeypatch.setattr(file_transfer, "upload", spy)
    station_id = f"LOG-{version.name}-{log_type}"
    await csms.stations.create(StationSpec(id=station_id))
    async with (
        SimulatedStation(sim_config(csms, station_id, version)) as st,
        api_client(csms) as api,
    ):
        await st.wait_for(lambda s: s.registration == "Accepted")
        body = {} if log_type is None else {"log_type": log_type}
        started = await api.post(f"/api/v1/stations/{station_id}/jobs/log", json=body)
        assert started.status_code == 202, started.text
        job = await finished(api, started.json()["id"])
        listed = (await api.get("/api/v1/files", params={"station_id": station_id})).json()
        content = await api.get(listed["items"][0]["download"])

    assert job["state"] == "Succeeded", job
    assert job["action"] == action
    assert reported(job) == ["Uploading", "Uploaded"]
    ((name, uploaded),) = sent
    assert job["file_name"] == name  # the name the station announced in its answer
    assert listed["total"] == 1
    (stored,) = listed["items"]
    assert (stored["name"], stored["kind"], stored["job_id"]) == (name, "log", job["id"])
    assert [f["id"] for f in job["files"]] == [stored["id"]]
    assert content.status_code == 200
    assert content.content == uploaded  # the same bytes, downloadable
    assert stored["size"] == len(uploaded)
    expected_type = log_type or "DiagnosticsLog"
    assert uploaded.startswith(f"# OpenCSMS simulated charging station {station_id}: ".encode())
    assert expected_type.encode() in uploaded.splitlines()[0]
    assert [e["status"] for e in job["events"] if e["source"] == "upload"] == ["FileReceived"]


async def test_failures_the_simulator_reports_fail_the_job(csms: Csms) -> None:
    """DownloadFailed (the image URL's token is wrong: 404), UploadFailed (1.6) and
    PermissionDenied (2.0.1: the upload URL of a finished job is closed, 403)."""
    await csms.stations.create(StationSpec(id="BAD-16"))
    await csms.stations.create(StationSpec(id="BAD-201"))
    async with (
        SimulatedStation(sim_config(csms, "BAD-16", OcppVersion.V16)) as st16,
        SimulatedStation(sim_config(csms, "BAD-201", OcppVersion.V201)) as st201,
        api_client(csms) as api,
    ):
        await st16.wait_for(lambda s: s.registration == "Accepted")
        await st201.wait_for(lambda s: s.registration == "Accepted")
        base = f"http://127.0.0.1:{csms.ports.http}"
        wrong_image = {"location": f"{base}/files/firmware/not-a-token/fw-9.0.bin"}
        download = await api.post("/api/v1/stations/BAD-16/jobs/firmware", json=wrong_image)
        wrong_upload = {"location": f"{base}/files/upload/not-a-token/"}
        upload = await api.post("/api/v1/stations/BAD-16/jobs/log", json=wrong_upload)
        first = await api.post("/api/v1/stations/BAD-201/jobs/log", json={})
        done = await finished(api, first.json()["id"])
        closed = await api.post(
            "/api/v1/stations/BAD-201/jobs/log", json={"location": done["location"]}
        )
        download_job = await finished(api, download.json()["id"])
        upload_job = await finished(api, upload.json()["id"])
        closed_job = await finished(api, closed.json()["id"])
    assert done["state"] == "Succeeded"
    assert (download_job["state"], download_job["station_status"]) == ("Failed", "DownloadFailed")
    assert download_job["error"] == "the station reported DownloadFailed"
    assert (upload_job["state"], upload_job["station_status"]) == ("Failed", "UploadFailed")
    assert (closed_job["state"], closed_job["station_status"]) == ("Failed", "PermissionDenied")
    assert closed_job["files"] == []
    assert st16.firmware_version == "1.0.0"


async def test_station_refusals_end_the_job_at_once(csms: Csms) -> None:
    """TC_L_04/05_CSMS (RevokedCertificate / InvalidCertificate), TC_N_34_CSMS (GetLog
    Rejected), and a 1.6 station without diagnostics (no fileName, §5.9): 200, job Rejected."""
    await csms.stations.create(StationSpec(id="NO-201"))
    await csms.stations.create(StationSpec(id="NO-16"))
    async with raw_station(csms, "NO-201", "ocpp2.0.1") as cp201:
        await booted(cp201, "ocpp2.0.1")
        answers = {
            "UpdateFirmware": {"status": "RevokedCertificate"},
            "GetLog": {"status": "Rejected", "statusInfo": {"reasonCode": "NoLogs"}},
        }
        async with responding(cp201, answers), api_client(csms) as api:
            firmware = await api.post(
                "/api/v1/stations/NO-201/jobs/firmware",
                json={"location": "https://fw.example.com/x-1.bin"},
            )
            log = await api.post(
                "/api/v1/stations/NO-201/jobs/log", json={"log_type": "SecurityLog"}
            )
    async with raw_station(csms, "NO-16") as cp16:
        await booted(cp16, "ocpp1.6")
        async with responding(cp16, {"GetDiagnostics": {}}) as station, api_client(csms) as api:
            diagnostics = await api.post("/api/v1/stations/NO-16/jobs/log", json={})
    assert firmware.status_code == 200, firmware.text
    assert (firmware.json()["state"], firmware.json()["answer_status"]) == (
        "Rejected",
        "RevokedCertificate",
    )
    assert firmware.json()["finished_at"] is not None
    assert log.status_code == 200
    assert (log.json()["state"], log.json()["error"]) == ("Rejected", "NoLogs")
    assert diagnostics.status_code == 200
    assert diagnostics.json()["state"] == "Rejected"
    assert "no diagnostics file" in diagnostics.json()["error"]
    (sent,) = station.payloads("GetDiagnostics")
    assert sent["location"].startswith(f"http://127.0.0.1:{csms.ports.http}/files/upload/")


async def test_offline_invalid_and_unknown(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="AWAY"))
    async with api_client(csms) as api:
        never = await api.post("/api/v1/stations/AWAY/jobs/log", json={})
        unknown = await api.post("/api/v1/stations/NOPE/jobs/log", json={})
        both = await api.post(
            "/api/v1/stations/AWAY/jobs/firmware", json={"image_id": 1, "location": "http://x/y"}
        )
        missing = await api.get("/api/v1/jobs/12345")
    assert never.status_code == 409  # never connected: no version to build the command for
    assert unknown.status_code == 404
    assert both.status_code == 422
    assert missing.status_code == 404

    async with SimulatedStation(sim_config(csms, "AWAY", OcppVersion.V16)) as st:
        await st.wait_for(lambda s: s.registration == "Accepted")
        connection = csms.registry.get("AWAY")
        assert connection is not None
    async with asyncio.timeout(5):
        await connection.finished.wait()  # the CSMS saw the socket close
    async with api_client(csms) as api:
        offline = await api.post("/api/v1/stations/AWAY/jobs/log", json={})
        no_image = await api.post("/api/v1/stations/AWAY/jobs/firmware", json={"image_id": 77})
        plain_install = await api.post(
            "/api/v1/stations/AWAY/jobs/firmware",
            json={"location": "http://fw/x.bin", "install_date": "2030-01-01T00:00:00Z"},
        )
        half_signed = await api.post(
            "/api/v1/stations/AWAY/jobs/firmware",
            json={"location": "http://fw/x.bin", "signature": "c2ln"},
        )
        jobs = (await api.get("/api/v1/stations/AWAY/jobs")).json()
    assert offline.status_code == 409
    body = offline.json()
    assert body["detail"] == "station 'AWAY' is not connected"
    assert body["command"]["status"] == "Offline"
    assert (body["job"]["state"], body["job"]["command_status"]) == ("Failed", "Offline")
    assert body["job"]["command_id"] == body["command"]["id"]
    assert no_image.status_code == 404
    assert plain_install.status_code == 400
    assert "no install date" in plain_install.json()["detail"]
    assert half_signed.status_code == 400
    assert "L01.FR.11" in half_signed.json()["detail"]
    assert [j["state"] for j in jobs["items"]] == ["Failed"]  # refused bodies left no job


async def test_timeout_is_504_and_the_station_still_has_the_last_word(tmp_path: Path) -> None:
    """No answer within call_timeout: 504 and the job Failed; the station did get it, though,
    and its requestId-carrying reports move the job on to Succeeded. A CALLERROR is 502."""
    settings = settings_for(tmp_path, call_timeout=0.3, files_dir=str(tmp_path / "files"))
    async with running_csms(settings) as csms:
        await csms.stations.create(StationSpec(id="SLOW"))
        async with raw_station(csms, "SLOW", "ocpp2.0.1") as cp:
            await booted(cp, "ocpp2.0.1")
            answers = {"UpdateFirmware": NO_ANSWER, "GetLog": CallError("NotSupported", "no logs")}
            async with responding(cp, answers), api_client(csms) as api:
                silent = await api.post(
                    "/api/v1/stations/SLOW/jobs/firmware",
                    json={"location": "https://fw.example.com/fw-2.0.bin"},
                )
                refused = await api.post("/api/v1/stations/SLOW/jobs/log", json={})
            job_id = silent.json()["job"]["id"]
            for status in ("Downloading", "Installed"):
                payload = {"status": status, "requestId": job_id}
                assert await cp.result("FirmwareStatusNotification", payload) == {}
            # A report about no job (an Idle answer to a trigger) is kept as history.
            assert await cp.result("FirmwareStatusNotification", {"status": "Idle"}) == {}
            async with api_client(csms) as api:
                late = (await api.get(f"/api/v1/jobs/{job_id}")).json()
                history = (
                    await api.get(
                        "/api/v1/stations/SLOW/jobs/events", params={"reports_only": True}
                    )
                ).json()
    assert silent.status_code == 504
    assert (silent.json()["job"]["state"], silent.json()["job"]["command_status"]) == (
        "Failed",
        "Timeout",
    )
    assert refused.status_code == 502
    assert refused.json()["job"]["state"] == "Failed"
    assert "NotSupported" in refused.json()["job"]["error"]
    assert late["state"] == "Succeeded"
    assert [e["status"] for e in late["events"]] == [
        "Requested",
        "Timeout",
        "Downloading",
        "Installed",
    ]
    assert [(e["status"], e["job_id"]) for e in history["items"]] == [
        ("Idle", None),
        ("Installed", job_id),
        ("Downloading", job_id),
    ]


class OffsetClock:
    """The real clock, moved forward on demand (for deadlines)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def monotonic(self) -> float:
        return time.monotonic()


async def test_a_job_without_final_status_times_out(tmp_path: Path) -> None:
    clock = OffsetClock()
    settings = settings_for(tmp_path, log_job_timeout=60, files_dir=str(tmp_path / "files"))
    async with Csms(settings, clock=clock) as csms:
        await csms.stations.create(StationSpec(id="MUTE"))
        async with raw_station(csms, "MUTE", "ocpp2.0.1") as cp:
            await booted(cp, "ocpp2.0.1")
            answers = {"GetLog": {"status": "Accepted", "filename": "mute.log"}}
            async with responding(cp, answers), api_client(csms) as api:
                started = await api.post(
                    "/api/v1/stations/MUTE/jobs/log", json={"retries": 2, "retry_interval": 10}
                )
            job_id = started.json()["id"]
            assert started.json()["state"] == "Accepted"
            assert (
                await cp.result(
                    "LogStatusNotification", {"status": "Uploading", "requestId": job_id}
                )
                == {}
            )
            clock.offset = timedelta(seconds=79)
            await csms.jobs.expire_due()  # what the node's background check runs
            running = await csms.jobs.get(job_id)
            clock.offset = timedelta(seconds=81)  # 60 s + 2 retries x 10 s
            await csms.jobs.expire_due()
            async with api_client(csms) as api:
                timed_out = (await api.get(f"/api/v1/jobs/{job_id}")).json()
    assert running.state == "InProgress"
    assert timed_out["state"] == "TimedOut"
    assert timed_out["error"] == "no final status before the job's deadline"
    assert timed_out["events"][-1]["status"] == "TimedOut"

"""The files the CSMS hosts, over real HTTP: operators upload, list, download and delete firmware
images and uploaded logs; stations download their job's image and upload their job's log with
the job's capability token (no bearer token), as raw PUT or multipart POST (``curl -F``), within
the size limit and only while the job is open."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from tests.handlers.builders import booted
from tests.handlers.station_calls import responding
from tests.wire import api_client, raw_station, running_csms, settings_for

# Bytes that look like a multipart delimiter and line ends: the form parser must keep them.
TRICKY = b"\r\n--not-the-boundary\r\n\x00\xff\r\n\r\nend\n"


@pytest.fixture
async def csms(tmp_path: Path) -> AsyncIterator[Csms]:
    settings = settings_for(
        tmp_path,
        files_dir=str(tmp_path / "files"),
        upload_max_bytes=1024,
        firmware_max_bytes=4096,
    )
    async with running_csms(settings) as node:
        yield node


def station_client(csms: Csms) -> httpx.AsyncClient:
    """What a station has: no bearer token."""
    return api_client(csms, token=None)


async def test_firmware_images_are_uploaded_listed_downloaded_and_deleted(csms: Csms) -> None:
    async with api_client(csms) as api, station_client(csms) as anonymous:
        raw = await api.post("/api/v1/firmware", params={"file_name": "fw-1.0.bin"}, content=TRICKY)
        form = await api.post(
            "/api/v1/firmware",
            files={"file": ("fw-2.0.bin", TRICKY + b"2", "application/x-firmware")},
        )
        nameless = await api.post("/api/v1/firmware", content=b"x")
        slashed = await api.post("/api/v1/firmware", params={"file_name": "a/b"}, content=b"x")
        too_big = await api.post(
            "/api/v1/firmware", params={"file_name": "big.bin"}, content=b"x" * 4097
        )
        listed = (await api.get("/api/v1/firmware")).json()
        one = await api.get(f"/api/v1/files/{raw.json()['id']}")
        content = await api.get(f"/api/v1/files/{form.json()['id']}/content")
        ranged = await api.get(
            f"/api/v1/files/{raw.json()['id']}/content", headers={"Range": "bytes=2-5"}
        )
        unauthorized = await anonymous.get("/api/v1/firmware")
        deleted = await api.delete(f"/api/v1/files/{raw.json()['id']}")
        gone = await api.get(f"/api/v1/files/{raw.json()['id']}/content")
        again = await api.delete(f"/api/v1/files/{raw.json()['id']}")
    assert raw.status_code == 201, raw.text
    assert (raw.json()["name"], raw.json()["size"], raw.json()["kind"]) == (
        "fw-1.0.bin",
        len(TRICKY),
        "firmware",
    )
    assert raw.json()["sha256"] == hashlib.sha256(TRICKY).hexdigest()
    assert form.status_code == 201, form.text
    assert (form.json()["name"], form.json()["content_type"]) == (
        "fw-2.0.bin",
        "application/x-firmware",
    )
    assert form.json()["sha256"] == hashlib.sha256(TRICKY + b"2").hexdigest()
    assert nameless.status_code == 400
    assert "no file name" in nameless.json()["detail"]
    assert slashed.status_code == 400
    assert too_big.status_code == 413
    assert [f["name"] for f in listed["items"]] == ["fw-2.0.bin", "fw-1.0.bin"]
    assert one.json() == raw.json()
    assert content.content == TRICKY + b"2"
    assert 'filename="fw-2.0.bin"' in content.headers["content-disposition"]
    assert ranged.status_code == 206
    assert ranged.content == TRICKY[2:6]
    assert unauthorized.status_code == 401
    assert deleted.status_code == 204
    assert gone.status_code == 404
    assert again.status_code == 404


async def start_job(api: httpx.AsyncClient, station_id: str, kind: str, body: Any) -> Any:
    response = await api.post(f"/api/v1/stations/{station_id}/jobs/{kind}", json=body)
    assert response.status_code == 202, response.text
    return response.json()


async def test_stations_upload_logs_with_the_jobs_token(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="UP"))
    async with raw_station(csms, "UP", "ocpp2.0.1") as cp:
        await booted(cp, "ocpp2.0.1")
        answers = {"GetLog": {"status": "Accepted", "filename": "up.log"}}
        async with responding(cp, answers), api_client(csms) as api:
            job = await start_job(api, "UP", "log", {})
        location: str = job["location"]
        assert location.endswith("/")
        async with station_client(csms) as station:
            put = await station.put(location + "up.log", content=b"first attempt")
            replaced = await station.put(location + "up.log", content=TRICKY)
            form = await station.post(location, files={"file": ("form.log", TRICKY)})
            form_no_slash = await station.post(
                location.rstrip("/"), files={"log": ("bare.log", b"bare")}
            )
            no_file = await station.post(location, files={"file": (None, b"not a file")})
            bad_token = await station.put(
                location.replace("/upload/", "/upload/x") + "up.log", content=b"x"
            )
            too_big = await station.put(location + "big.log", content=b"x" * 1025)
            bad_name = await station.put(location + "a%5Cb.log", content=b"x")
            as_firmware = await station.get(location.replace("/upload/", "/firmware/") + "up.log")
        # The station reports the end: the URL closes.
        assert (
            await cp.result("LogStatusNotification", {"status": "Uploaded", "requestId": job["id"]})
            == {}
        )
        async with station_client(csms) as station, api_client(csms) as api:
            closed = await station.put(location + "late.log", content=b"late")
            listed = (await api.get("/api/v1/files", params={"station_id": "UP"})).json()
            detail = (await api.get(f"/api/v1/jobs/{job['id']}")).json()
            contents = {f["name"]: (await api.get(f["download"])).content for f in listed["items"]}
    assert put.status_code == 201, put.text
    assert replaced.status_code == 201
    assert replaced.json()["id"] == put.json()["id"]  # the same name again replaces it
    assert replaced.json()["sha256"] == hashlib.sha256(TRICKY).hexdigest()
    assert form.status_code == 201, form.text
    assert form_no_slash.status_code == 201, form_no_slash.text
    assert no_file.status_code == 400
    assert bad_token.status_code == 404
    assert too_big.status_code == 413
    assert bad_name.status_code == 400
    assert as_firmware.status_code == 404
    assert closed.status_code == 403
    assert "Succeeded" in closed.json()["detail"]
    assert contents == {"up.log": TRICKY, "form.log": TRICKY, "bare.log": b"bare"}
    assert {f["job_id"] for f in listed["items"]} == {job["id"]}
    assert sorted(f["name"] for f in detail["files"]) == ["bare.log", "form.log", "up.log"]
    uploads = [e["detail"] for e in detail["events"] if e["source"] == "upload"]
    assert len(uploads) == 4
    assert uploads[0].startswith("up.log: 13 bytes")


async def test_stations_download_their_jobs_image(csms: Csms) -> None:
    await csms.stations.create(StationSpec(id="DL"))
    async with raw_station(csms, "DL", "ocpp2.0.1") as cp:
        await booted(cp, "ocpp2.0.1")
        async with api_client(csms) as api:
            image = await api.post(
                "/api/v1/firmware", params={"file_name": "dl 3.0.bin"}, content=TRICKY
            )
            async with responding(cp, {"UpdateFirmware": {"status": "Accepted"}}) as responder:
                job = await start_job(api, "DL", "firmware", {"image_id": image.json()["id"]})
        (sent,) = responder.payloads("UpdateFirmware")
        location = sent["firmware"]["location"]
        assert location == job["location"]
        assert location.endswith("/dl%203.0.bin")
        async with station_client(csms) as station, api_client(csms) as api:
            download = await station.get(location)
            wrong_name = await station.get(location.replace("dl%203.0", "other"))
            bad_token = await station.get(location.replace("/firmware/", "/firmware/x"))
            as_upload = await station.put(location.replace("/firmware/", "/upload/"), content=b"x")
            in_use = await api.delete(f"/api/v1/files/{image.json()['id']}")
        report = {"status": "DownloadFailed", "requestId": job["id"]}
        assert await cp.result("FirmwareStatusNotification", report) == {}
        async with station_client(csms) as station, api_client(csms) as api:
            closed = await station.get(location)
            deleted = await api.delete(f"/api/v1/files/{image.json()['id']}")
    assert download.status_code == 200
    assert download.content == TRICKY
    assert wrong_name.status_code == 404
    assert bad_token.status_code == 404
    assert as_upload.status_code == 404
    assert in_use.status_code == 409
    assert f"job(s) {job['id']}" in in_use.json()["detail"]
    assert closed.status_code == 403
    assert deleted.status_code == 204

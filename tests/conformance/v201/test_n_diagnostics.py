"""OCPP 2.0.1 Part 6 §3.15, N Diagnostics: the CSMS test cases TC_N_25/34/35/36_CSMS (N01
Retrieve Log Information) and TC_N_27..32/62_CSMS (N09 Get / N10 Clear Customer Information).

The "Manual Action" behind GetLogRequest is a log job started through the REST API
(docs/jobs.md); the tool's station uploads its log to the location the CSMS gave, and the job
and the stored file are checked through the API at the end. CustomerInformationRequest is asked
through ``/stations/{id}/customer-information`` (docs/customer-information.md), and the data the
tool reports is read back from there.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conformance.octt import Call, Station, now
from tests.conformance.sut import CONFIGURED, Sut
from tests.conformance.v201.states import booted, check

LOG = b"2023-06-30T12:00:00Z OCTT station log line\n" * 32


async def answer(station: Station, action: str, response: dict[str, Any]) -> Call:
    """The tool receives the CSMS's ``action`` and responds with ``response``."""
    call = await station.expect(action)
    await station.respond(call, response)
    return call


# --- N01 Retrieve Log Information ---------------------------------------------------------------


async def get_log(
    sut: Sut, station: Station, status: str = "Accepted", **fields: Any
) -> tuple[dict[str, Any], Call]:
    """1./2. The operator asks for a log; the CSMS sends GetLogRequest and the tool responds
    with ``status``. Returns the job the API answered and the request."""
    code = 202 if status in ("Accepted", "AcceptedCanceled") else 200
    response: dict[str, Any] = {"status": status}
    if code == 202:
        response["filename"] = "octt.log"
    job, call = await asyncio.gather(
        sut.api.post(f"/stations/{station.station_id}/jobs/log", fields, expect=code),
        answer(station, "GetLog", response),
    )
    check(
        call.payload["requestId"] == job["id"],
        f"GetLogRequest requestId {call.payload['requestId']}, the job is {job['id']}",
    )
    return job, call


async def log_status(station: Station, status: str, request_id: int) -> None:
    """The OCTT sends LogStatusNotificationRequest; the CSMS responds (schema-checked)."""
    await station.send("LogStatusNotification", {"status": status, "requestId": request_id})


async def upload(call: Call) -> None:
    """The tool uploads its log to the remoteLocation the CSMS gave (a directory URL: the
    file name is appended)."""
    location = call.payload["log"]["remoteLocation"]
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.put(location.rstrip("/") + "/octt.log", content=LOG)
    check(response.status_code in (200, 201, 204), f"log upload → {response.status_code}")


async def uploaded_log(sut: Sut, station_id: str, log_type: str) -> None:
    """TC_N_25/35: GetLog of ``log_type``, Uploading, the upload, Uploaded."""
    await sut.provision(station_id)
    async with sut.station(station_id) as station:
        await booted(station)
        job, call = await get_log(sut, station, log_type=log_type)  # 1-2
        check(  # tool validation step 1
            call.payload["logType"] == log_type,
            f"GetLogRequest logType {call.payload['logType']}, want {log_type}",
        )
        request_id = call.payload["requestId"]
        await log_status(station, "Uploading", request_id)  # 3-4
        await upload(call)
        await log_status(station, "Uploaded", request_id)  # 5-6
    job = await sut.api.get(f"/jobs/{job['id']}")
    assert (job["state"], job["station_status"], job["log_type"]) == (
        "Succeeded",
        "Uploaded",
        log_type,
    ), job
    (file,) = job["files"]
    assert (file["name"], file["size"]) == ("octt.log", len(LOG)), file
    content = await sut.api.get(f"/files/{file['id']}/content")
    assert content.encode() == LOG


async def test_TC_N_25_CSMS(sut: Sut) -> None:
    """Retrieve Log Information - Diagnostics Log - Success (N01)."""
    await uploaded_log(sut, "CS-N25", "DiagnosticsLog")


async def test_TC_N_34_CSMS(sut: Sut) -> None:
    """Retrieve Log Information - Rejected (N01)."""
    await sut.provision("CS-N34")
    async with sut.station("CS-N34") as station:
        await booted(station)
        job, _ = await get_log(sut, station, "Rejected")  # 1-2
        await station.expect_nothing(0.5)
    job = await sut.api.get(f"/jobs/{job['id']}")
    assert (job["state"], job["answer_status"]) == ("Rejected", "Rejected"), job


async def test_TC_N_35_CSMS(sut: Sut) -> None:
    """Retrieve Log Information - Security Log - Success (N01)."""
    await uploaded_log(sut, "CS-N35", "SecurityLog")


async def test_TC_N_36_CSMS(sut: Sut) -> None:
    """Retrieve Log Information - Second Request (N01, N01.FR.11)."""
    await sut.provision("CS-N36")
    async with sut.station("CS-N36") as station:
        await booted(station)
        first, call = await get_log(sut, station)  # 1-2
        first_id = call.payload["requestId"]
        await log_status(station, "Uploading", first_id)  # 3-4
        second, call = await get_log(sut, station, "AcceptedCanceled")  # 5-6
        second_id = call.payload["requestId"]
        check(second_id != first_id, "the second GetLogRequest reused the first requestId")
        await log_status(station, "AcceptedCanceled", first_id)  # 7-8
        await log_status(station, "Uploading", second_id)  # 9-10
        await upload(call)
        await log_status(station, "Uploaded", second_id)  # 11-12
    first = await sut.api.get(f"/jobs/{first['id']}")
    second = await sut.api.get(f"/jobs/{second['id']}")
    assert first["state"] == "Cancelled", first
    assert [e["status"] for e in first["events"] if e["source"] == "station"] == [
        "Uploading",
        "AcceptedCanceled",
    ]
    assert (second["state"], second["answer_status"]) == ("Succeeded", "AcceptedCanceled"), second
    assert [f["name"] for f in second["files"]] == ["octt.log"]


# --- N09 Get / N10 Clear Customer Information --------------------------------------------------


def check_id_token(call: Call) -> None:
    """Tool validation: idToken is the configured valid idToken and type."""
    check(
        call.payload.get("idToken")
        == {"idToken": CONFIGURED.valid_id_token, "type": CONFIGURED.valid_id_token_type},
        f"CustomerInformationRequest idToken {call.payload.get('idToken')}, want the "
        "configured valid idToken",
    )


def check_flags(call: Call, *, report: bool, clear: bool) -> None:
    """Tool validation: report and clear as the test case wants them."""
    got = (call.payload["report"], call.payload["clear"])
    check(got == (report, clear), f"CustomerInformationRequest (report, clear) {got}")


async def customer_information(
    sut: Sut,
    station: Station,
    body: dict[str, Any],
    status: str = "Accepted",
    parts: list[str] | None = None,
) -> tuple[dict[str, Any], Call]:
    """1.-4. The operator asks; the CSMS sends CustomerInformationRequest, the tool responds
    with ``status`` and then reports ``parts`` in NotifyCustomerInformationRequests."""

    async def tool() -> Call:
        call = await answer(station, "CustomerInformation", {"status": status})  # 1-2
        for seq_no, data in enumerate(parts or []):  # 3-4
            notify = {
                "data": data,
                "seqNo": seq_no,
                "generatedAt": now(),
                "requestId": call.payload["requestId"],
                "tbc": seq_no < len(parts or []) - 1,
            }
            await station.send("NotifyCustomerInformation", notify)
        return call

    path = f"/stations/{station.station_id}/customer-information"
    # The operator waits for the report only when the tool sends one.
    wait = 10 if parts else 0
    result, call = await asyncio.gather(sut.api.post(path, {**body, "wait": wait}), tool())
    check(
        call.payload["requestId"] == result["request_id"],
        f"CustomerInformationRequest requestId {call.payload['requestId']}, the API says "
        f"{result['request_id']}",
    )
    info = await sut.api.get(f"{path}/{result['request_id']}")
    return info, call


async def token_report(sut: Sut, station_id: str, *, clear: bool, parts: list[str]) -> None:
    """TC_N_27/28/30/31: report (and clear) the configured idToken's data, Accepted."""
    await sut.add_token(CONFIGURED.valid_id_token)
    await sut.provision(station_id)
    async with sut.station(station_id) as station:
        await booted(station)
        body = {"id_token": CONFIGURED.valid_id_token, "report": True, "clear": clear}
        info, call = await customer_information(sut, station, body, parts=parts)
        check_flags(call, report=True, clear=clear)  # tool validation step 1
        check_id_token(call)
    assert (info["status"], info["complete"], info["missing"]) == ("Accepted", True, []), info
    assert info["parts"] == len(parts)
    assert (info["data"] or "") == "".join(parts)


DATA = [
    f"idToken {CONFIGURED.valid_id_token}: authorization cache entry Accepted; ",
    "transaction 1 on EVSE 1, 12.3 kWh",
]


async def test_TC_N_27_CSMS(sut: Sut) -> None:
    """Get Customer Information - Accepted + data (N09.FR.01, N09.FR.04)."""
    await token_report(sut, "CS-N27", clear=False, parts=DATA)


async def test_TC_N_28_CSMS(sut: Sut) -> None:
    """Get Customer Information - Accepted + no data (N09.FR.01, N09.FR.04)."""
    await token_report(sut, "CS-N28", clear=False, parts=[""])


async def test_TC_N_29_CSMS(sut: Sut) -> None:
    """Get Customer Information - Not Accepted (N09.FR.01, N09.FR.04)."""
    await sut.add_token(CONFIGURED.valid_id_token)
    await sut.provision("CS-N29")
    async with sut.station("CS-N29") as station:
        await booted(station)
        body = {"id_token": CONFIGURED.valid_id_token, "report": True}
        info, call = await customer_information(sut, station, body, "Rejected")  # 1-2
        check_flags(call, report=True, clear=False)  # tool validation step 1
        check_id_token(call)
        await station.expect_nothing(0.5)
    assert (info["status"], info["complete"], info["parts"]) == ("Rejected", True, 0), info


async def test_TC_N_30_CSMS(sut: Sut) -> None:
    """Clear Customer Information - Clear and report + data (N10.FR.08)."""
    await token_report(sut, "CS-N30", clear=True, parts=DATA)


async def test_TC_N_31_CSMS(sut: Sut) -> None:
    """Clear Customer Information - Clear and report + no data (N10.FR.08)."""
    await token_report(sut, "CS-N31", clear=True, parts=[""])


async def test_TC_N_32_CSMS(sut: Sut) -> None:
    """Clear Customer Information - Clear and no report (N10.FR.08)."""
    await sut.add_token(CONFIGURED.valid_id_token)
    await sut.provision("CS-N32")
    async with sut.station("CS-N32") as station:
        await booted(station)
        body = {"id_token": CONFIGURED.valid_id_token, "report": False, "clear": True}
        info, call = await customer_information(sut, station, body)  # 1-2
        check_flags(call, report=False, clear=True)  # tool validation step 1
        check_id_token(call)
    assert (info["status"], info["request"]["clear"], info["parts"]) == ("Accepted", True, 0), info


async def test_TC_N_62_CSMS(sut: Sut) -> None:
    """Clear Customer Information - Clear and report - customerIdentifier (N10.FR.08)."""
    await sut.provision("CS-N62")
    async with sut.station("CS-N62") as station:
        await booted(station)
        body = {"customer_identifier": "OpenChargeAlliance", "report": True, "clear": True}
        parts = ["customer OpenChargeAlliance: 2 sessions; cleared"]
        info, call = await customer_information(sut, station, body, parts=parts)  # 1-4
        check_flags(call, report=True, clear=True)  # tool validation step 1
        check(
            call.payload.get("customerIdentifier") == "OpenChargeAlliance",
            f"CustomerInformationRequest {call.payload}: want customerIdentifier "
            "OpenChargeAlliance",
        )
    assert (info["status"], info["complete"], info["data"]) == ("Accepted", True, parts[0]), info

"""Firmware updates, diagnostics and log uploads of a simulated station, over the real wire.

The station talks to a scripted CSMS (``CsmsPeer``) and a real HTTP server (``FileServer``):
the firmware is really downloaded, the log really uploaded, the reboot is a real reconnect.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opencsms.clock import utc_iso
from opencsms.errors import CallErrorResponse
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import SimulatedStation
from tests.simulator.certs import TestCa, pem, sign_file
from tests.simulator.csms_peer import CsmsPeer, FileServer, PeerCall

IMAGE = b"\x7fSIMFW" + bytes(range(256)) * 8
PAST = utc_iso(datetime.now(UTC) - timedelta(hours=2))


def _statuses(calls: list[PeerCall]) -> list[str]:
    return [call.payload["status"] for call in calls]


async def _statuses_of(peer: CsmsPeer, action: str, count: int) -> list[PeerCall]:
    return [await peer.next_call(action) for _ in range(count)]


def _signing(manufacturer: TestCa) -> tuple[str, str]:
    """A firmware signing certificate issued by ``manufacturer`` and the image's signature."""
    signer = TestCa("Firmware Signer", parent=manufacturer)
    return pem(signer.cert), sign_file(signer.key, IMAGE)


# ------------------------------------------------------------------------------- 1.6


async def test_v16_update_firmware_reboots_into_the_new_version() -> None:
    async with FileServer() as files, CsmsPeer(OcppVersion.V16) as peer:
        files.files["/fw/simcharger-2.4.1.bin"] = IMAGE
        async with SimulatedStation(peer.station_config("FW16")) as st:
            first_boot = await peer.next_call("BootNotification")
            assert first_boot.payload["firmwareVersion"] == "1.0.0"
            update = {"location": files.url("/fw/simcharger-2.4.1.bin"), "retrieveDate": PAST}
            assert await peer.call("UpdateFirmware", update) == {}
            calls = await _statuses_of(peer, "FirmwareStatusNotification", 4)
            assert _statuses(calls) == ["Downloading", "Downloaded", "Installing", "Installed"]
            boot = await peer.next_call("BootNotification")
            # 1.6 §5.19 automatic reboot: Installing, reboot + BootNotification, Installed.
            assert [c.connection for c in calls] == [1, 1, 1, 2]
            assert boot.connection == 2
            assert boot.at <= calls[3].at
            assert boot.payload["firmwareVersion"] == "2.4.1"
            assert st.firmware_version == "2.4.1"
            assert st.maintenance.firmware.image == IMAGE
            assert [(r.method, r.path) for r in files.requests] == [
                ("GET", "/fw/simcharger-2.4.1.bin")
            ]
            # 1.6 §4.5: Idle when nothing runs; a plain 1.6 station pushes no security event.
            trigger = {"requestedMessage": "FirmwareStatusNotification"}
            assert await peer.call("TriggerMessage", trigger) == {"status": "Accepted"}
            assert (await peer.next_call("FirmwareStatusNotification")).payload == {
                "status": "Idle"
            }
            assert "SecurityEventNotification" not in peer.actions()
            assert st.certificates.security_log[-1].type == "FirmwareUpdated"


async def test_v16_update_firmware_retries_and_failures() -> None:
    async with (
        FileServer() as files,
        CsmsPeer(OcppVersion.V16) as peer,
        SimulatedStation(peer.station_config("FWR16")) as st,
    ):
        # A missing file, 1 + 2 attempts: Downloading, then DownloadFailed.
        missing = {
            "location": files.url("/fw/missing-3.0.bin"),
            "retrieveDate": PAST,
            "retries": 2,
            "retryInterval": 0,
        }
        assert await peer.call("UpdateFirmware", missing) == {}
        calls = await _statuses_of(peer, "FirmwareStatusNotification", 2)
        assert _statuses(calls) == ["Downloading", "DownloadFailed"]
        assert [r.path for r in files.requests] == ["/fw/missing-3.0.bin"] * 3
        # ftp is not spoken: failed at once, no HTTP request.
        ftp = {"location": "ftp://files.example.com/fw/fw-3.0.bin", "retrieveDate": PAST}
        assert await peer.call("UpdateFirmware", ftp) == {}
        calls = await _statuses_of(peer, "FirmwareStatusNotification", 2)
        assert _statuses(calls) == ["Downloading", "DownloadFailed"]
        assert len(files.requests) == 3
        assert any("only HTTP and HTTPS" in text for _, text in st.maintenance.events)
        # One 503 then success: the retry downloads it.
        files.files["/fw/ok-3.1.bin"] = IMAGE
        files.failures = 1
        retried = {
            "location": files.url("/fw/ok-3.1.bin"),
            "retrieveDate": PAST,
            "retries": 1,
            "retryInterval": 0,
        }
        assert await peer.call("UpdateFirmware", retried) == {}
        calls = await _statuses_of(peer, "FirmwareStatusNotification", 4)
        assert _statuses(calls) == ["Downloading", "Downloaded", "Installing", "Installed"]
        assert len(files.requests) == 5
        assert st.firmware_version == "3.1"


async def test_v16_update_firmware_waits_for_the_retrieve_date() -> None:
    async with FileServer() as files, CsmsPeer(OcppVersion.V16) as peer:
        files.files["/fw/later-1.1.bin"] = b""  # empty image: InstallationFailed, no reboot
        async with SimulatedStation(peer.station_config("FWW16")) as st:
            retrieve = datetime.now(UTC) + timedelta(seconds=0.3)
            update = {"location": files.url("/fw/later-1.1.bin"), "retrieveDate": utc_iso(retrieve)}
            assert await peer.call("UpdateFirmware", update) == {}
            calls = await _statuses_of(peer, "FirmwareStatusNotification", 4)
            assert _statuses(calls) == [
                "Downloading",
                "Downloaded",
                "Installing",
                "InstallationFailed",
            ]
            assert calls[0].at >= retrieve - timedelta(milliseconds=5)  # ms on the wire
            assert st.firmware_version == "1.0.0"
            assert peer.connections == 1


async def test_v16_signed_update_firmware_whitepaper_flow() -> None:
    manufacturer = TestCa("Manufacturer Root")
    certificate, signature = _signing(manufacturer)
    async with FileServer() as files, CsmsPeer(OcppVersion.V16) as peer:
        files.files["/fw/secure-5.0.0.bin"] = IMAGE
        async with SimulatedStation(peer.station_config("SFW16")) as st:
            install = {
                "certificateType": "ManufacturerRootCertificate",
                "certificate": manufacturer.pem,
            }
            assert await peer.call("InstallCertificate", install) == {"status": "Accepted"}
            request = {
                "requestId": 7,
                "firmware": {
                    "location": files.url("/fw/secure-5.0.0.bin"),
                    "retrieveDateTime": PAST,
                    "signingCertificate": certificate,
                    "signature": signature,
                },
            }
            assert await peer.call("SignedUpdateFirmware", request) == {"status": "Accepted"}
            calls = await _statuses_of(peer, "SignedFirmwareStatusNotification", 6)
            assert _statuses(calls) == [
                "Downloading",
                "Downloaded",
                "SignatureVerified",
                "Installing",
                "InstallRebooting",
                "Installed",
            ]
            assert {c.payload["requestId"] for c in calls} == {7}  # L01.FR.10
            boot = await peer.next_call("BootNotification")
            boot = await peer.next_call("BootNotification")
            assert boot.payload["firmwareVersion"] == "5.0.0"
            assert boot.connection == 2
            event = await peer.next_call("SecurityEventNotification")
            assert event.payload["type"] == "FirmwareUpdated"
            assert event.connection == 2
            assert event.at <= calls[-1].at
            # L01.FR.28: after Installed, ExtendedTriggerMessage → Idle without requestId.
            trigger = {"requestedMessage": "FirmwareStatusNotification"}
            answer = await peer.call("ExtendedTriggerMessage", trigger)
            assert answer == {"status": "Accepted"}
            idle = await peer.next_call("SignedFirmwareStatusNotification")
            assert idle.payload == {"status": "Idle"}
            # L01.FR.20: a station taking signed firmware only refuses the 1.6 message.
            st.maintenance.firmware.signed_only = True
            with pytest.raises(CallErrorResponse) as refused:
                await peer.call(
                    "UpdateFirmware", {"location": files.url("/x"), "retrieveDate": PAST}
                )
            assert refused.value.error_code == "NotSupported"


async def test_v16_signed_update_firmware_refusals() -> None:
    manufacturer = TestCa("Manufacturer Root")
    certificate, signature = _signing(TestCa("Somebody Else"))
    async with FileServer() as files, CsmsPeer(OcppVersion.V16) as peer:
        files.files["/fw/secure-5.0.1.bin"] = IMAGE
        async with SimulatedStation(peer.station_config("SFX16")) as st:
            install = {
                "certificateType": "ManufacturerRootCertificate",
                "certificate": manufacturer.pem,
            }
            assert await peer.call("InstallCertificate", install) == {"status": "Accepted"}
            firmware = {
                "location": files.url("/fw/secure-5.0.1.bin"),
                "retrieveDateTime": PAST,
                "signingCertificate": certificate,
                "signature": signature,
            }
            # Not issued by the installed manufacturer root: L01.FR.24 + L01.FR.02.
            request = {"requestId": 1, "firmware": firmware}
            answer = await peer.call("SignedUpdateFirmware", request)
            assert answer == {"status": "InvalidCertificate"}
            event = await peer.next_call("SecurityEventNotification")
            assert event.payload["type"] == "InvalidFirmwareSigningCertificate"
            # A good certificate, a signature over other bytes: InvalidSignature + L01.FR.03.
            good, _ = _signing(manufacturer)
            wrong = sign_file(TestCa("x").key, IMAGE)
            request = {
                "requestId": 2,
                "firmware": firmware | {"signingCertificate": good, "signature": wrong},
            }
            assert await peer.call("SignedUpdateFirmware", request) == {"status": "Accepted"}
            calls = await _statuses_of(peer, "SignedFirmwareStatusNotification", 3)
            assert _statuses(calls) == ["Downloading", "Downloaded", "InvalidSignature"]
            event = await peer.next_call("SecurityEventNotification")
            assert event.payload["type"] == "InvalidFirmwareSignature"
            # L01.FR.29: a trigger repeats the last status with its requestId.
            trigger = {"requestedMessage": "FirmwareStatusNotification"}
            assert await peer.call("ExtendedTriggerMessage", trigger) == {"status": "Accepted"}
            last = await peer.next_call("SignedFirmwareStatusNotification")
            assert last.payload == {"status": "InvalidSignature", "requestId": 2}
            assert st.firmware_version == "1.0.0"


async def test_v16_get_diagnostics_uploads_the_station_log_by_put() -> None:
    async with (
        FileServer() as files,
        CsmsPeer(OcppVersion.V16) as peer,
        SimulatedStation(peer.station_config("DG16")) as st,
    ):
        trigger = {"requestedMessage": "DiagnosticsStatusNotification"}
        assert await peer.call("TriggerMessage", trigger) == {"status": "Accepted"}
        idle = await peer.next_call("DiagnosticsStatusNotification")
        assert idle.payload == {"status": "Idle"}  # 1.6 §4.4: nothing uploading
        answer = await peer.call("GetDiagnostics", {"location": files.url("/diag/")})
        name = answer["fileName"]
        assert name.startswith("DG16_DiagnosticsLog_")
        assert name.endswith(".log")
        calls = await _statuses_of(peer, "DiagnosticsStatusNotification", 2)
        assert _statuses(calls) == ["Uploading", "Uploaded"]
        upload = files.requests[-1]
        assert (upload.method, upload.path) == ("PUT", f"/diag/{name}")
        text = upload.body.decode()
        assert text.startswith("# OpenCSMS simulated charging station DG16: DiagnosticsLog")
        assert "firmware=1.0.0 ocpp=1.6" in text
        assert "received TriggerMessage" in text
        assert "received GetDiagnostics" in text
        assert st.maintenance.uploaded == [files.url(f"/diag/{name}")]
        # startTime selects the lines: the earlier calls are left out.
        since = utc_iso(datetime.now(UTC))
        answer = await peer.call(
            "GetDiagnostics", {"location": files.url("/diag/"), "startTime": since}
        )
        calls = await _statuses_of(peer, "DiagnosticsStatusNotification", 2)
        assert _statuses(calls) == ["Uploading", "Uploaded"]
        text = files.requests[-1].body.decode()
        assert "received GetDiagnostics" in text
        assert "received TriggerMessage" not in text
        # ftp: UploadFailed at once, with the reason in the station's log.
        count = len(files.requests)
        await peer.call("GetDiagnostics", {"location": "ftp://logs.example.com/diag/"})
        failed = await peer.next_call("DiagnosticsStatusNotification")
        assert failed.payload == {"status": "UploadFailed"}
        assert len(files.requests) == count
        assert "only HTTP and HTTPS" in st.maintenance.events[-1][1]


async def test_v16_get_log_security_whitepaper() -> None:
    async with (
        FileServer() as files,
        CsmsPeer(OcppVersion.V16) as peer,
        SimulatedStation(peer.station_config("LG16")),
    ):
        # A security event to find in the security log later.
        bad = {
            "requestId": 3,
            "firmware": {
                "location": files.url("/fw/x.bin"),
                "retrieveDateTime": PAST,
                "signingCertificate": "not a certificate",
                "signature": "AAAA",
            },
        }
        answer = await peer.call("SignedUpdateFirmware", bad)
        assert answer == {"status": "InvalidCertificate"}
        await peer.next_call("SecurityEventNotification")
        request = {
            "logType": "DiagnosticsLog",
            "requestId": 11,
            "log": {"remoteLocation": files.url("/logs/")},
        }
        answer = await peer.call("GetLog", request)
        assert answer["status"] == "Accepted"
        assert answer["filename"].endswith(".log")
        calls = await _statuses_of(peer, "LogStatusNotification", 2)
        assert [c.payload for c in calls] == [
            {"status": "Uploading", "requestId": 11},
            {"status": "Uploaded", "requestId": 11},
        ]
        assert files.requests[-1].path == f"/logs/{answer['filename']}"
        assert "received SignedUpdateFirmware" in files.requests[-1].body.decode()
        # N01.FR.03: the security log holds security events only.
        security = request | {"logType": "SecurityLog", "requestId": 12}
        answer = await peer.call("GetLog", security)
        assert "SecurityLog" in answer["filename"]
        calls = await _statuses_of(peer, "LogStatusNotification", 2)
        assert _statuses(calls) == ["Uploading", "Uploaded"]
        text = files.requests[-1].body.decode()
        assert "security InvalidFirmwareSigningCertificate" in text
        assert "received" not in text
        # N01.FR.10: the most precise failure status; N01.FR.12: Idle without requestId.
        files.status["/denied/station.log"] = 403  # no trailing "/": the file's own URL
        target = {"remoteLocation": files.url("/denied/station.log")}
        await peer.call("GetLog", request | {"requestId": 13, "log": target})
        calls = await _statuses_of(peer, "LogStatusNotification", 2)
        assert _statuses(calls) == ["Uploading", "PermissionDenied"]
        assert files.requests[-1].path == "/denied/station.log"
        trigger = {"requestedMessage": "LogStatusNotification"}
        assert await peer.call("ExtendedTriggerMessage", trigger) == {"status": "Accepted"}
        assert (await peer.next_call("LogStatusNotification")).payload == {"status": "Idle"}
        configuration = await peer.call("GetConfiguration", {})
        keys = {k["key"]: k["value"] for k in configuration["configurationKey"]}
        assert keys["SupportedFileTransferProtocols"] == "HTTP,HTTPS"
        assert "FirmwareManagement" in keys["SupportedFeatureProfiles"].split(",")


# ------------------------------------------------------------------------ 2.0.1 / 2.1


@pytest.mark.parametrize("version", [OcppVersion.V201, OcppVersion.V21])
async def test_v2_update_firmware_signed_flow(version: OcppVersion) -> None:
    manufacturer = TestCa("Manufacturer Root")
    certificate, signature = _signing(manufacturer)
    async with FileServer() as files, CsmsPeer(version) as peer:
        files.files["/fw/charger-fw_v7.2.0-rc1.bin"] = IMAGE
        async with SimulatedStation(peer.station_config("FW2")) as st:
            install_at = datetime.now(UTC) + timedelta(seconds=0.3)
            request = {
                "requestId": 42,
                "firmware": {
                    "location": files.url("/fw/charger-fw_v7.2.0-rc1.bin"),
                    "retrieveDateTime": PAST,
                    "installDateTime": utc_iso(install_at),
                    "signingCertificate": certificate,
                    "signature": signature,
                },
            }
            assert await peer.call("UpdateFirmware", request) == {"status": "Accepted"}
            calls = await _statuses_of(peer, "FirmwareStatusNotification", 7)
            assert _statuses(calls) == [
                "Downloading",
                "Downloaded",
                "SignatureVerified",
                "InstallScheduled",  # L01.FR.16
                "Installing",
                "InstallRebooting",  # L01.FR.15
                "Installed",
            ]
            assert all(c.payload["requestId"] == 42 for c in calls)
            assert calls[4].at >= install_at - timedelta(milliseconds=5)
            await peer.next_call("BootNotification")
            boot = await peer.next_call("BootNotification")
            assert boot.payload["reason"] == "FirmwareUpdate"  # TC_L_01_CS step 13
            assert boot.payload["chargingStation"]["firmwareVersion"] == "7.2.0-rc1"
            event = await peer.next_call("SecurityEventNotification")
            assert event.payload["type"] == "FirmwareUpdated"
            assert event.connection == 2
            assert calls[-1].connection == 2
            assert st.firmware_version == "7.2.0-rc1"
            trigger = {"requestedMessage": "FirmwareStatusNotification"}
            assert await peer.call("TriggerMessage", trigger) == {"status": "Accepted"}
            idle = await peer.next_call("FirmwareStatusNotification")
            assert idle.payload == {"status": "Idle"}


async def test_v201_update_firmware_refusal_cancel_and_invalid_signature() -> None:
    certificate, signature = _signing(TestCa("Manufacturer Root"))
    async with FileServer() as files, CsmsPeer(OcppVersion.V201) as peer:
        files.files["/fw/fw-8.0.bin"] = IMAGE
        async with SimulatedStation(peer.station_config("FWX2")) as st:
            firmware = {"location": files.url("/fw/fw-8.0.bin"), "retrieveDateTime": PAST}
            # TC_L_18_CS: no signing certificate and signature → refused.
            answer = await peer.call("UpdateFirmware", {"requestId": 1, "firmware": firmware})
            assert answer == {"status": "InvalidCertificate"}
            event = await peer.next_call("SecurityEventNotification")
            assert event.payload["type"] == "InvalidFirmwareSigningCertificate"
            # Scheduled an hour ahead: DownloadScheduled (L01.FR.13), and the trigger says so.
            later = utc_iso(datetime.now(UTC) + timedelta(hours=1))
            signed = firmware | {"signingCertificate": certificate, "signature": signature}
            request = {"requestId": 2, "firmware": signed | {"retrieveDateTime": later}}
            assert await peer.call("UpdateFirmware", request) == {"status": "Accepted"}
            scheduled = await peer.next_call("FirmwareStatusNotification")
            assert scheduled.payload == {"status": "DownloadScheduled", "requestId": 2}
            trigger = {"requestedMessage": "FirmwareStatusNotification"}
            assert await peer.call("TriggerMessage", trigger) == {"status": "Accepted"}
            again = await peer.next_call("FirmwareStatusNotification")
            assert again.payload == {"status": "DownloadScheduled", "requestId": 2}
            # A new request cancels the scheduled one (L01.FR.26); its signature is wrong.
            wrong = sign_file(TestCa("x").key, IMAGE)
            request = {"requestId": 3, "firmware": signed | {"signature": wrong}}
            assert await peer.call("UpdateFirmware", request) == {"status": "AcceptedCanceled"}
            calls = await _statuses_of(peer, "FirmwareStatusNotification", 3)
            assert [c.payload for c in calls] == [
                {"status": "Downloading", "requestId": 3},
                {"status": "Downloaded", "requestId": 3},
                {"status": "InvalidSignature", "requestId": 3},
            ]
            event = await peer.next_call("SecurityEventNotification")
            assert event.payload["type"] == "InvalidFirmwareSignature"
            assert len(files.requests) == 1  # the cancelled update never downloaded
            assert not st.maintenance.firmware.busy
            assert st.firmware_version == "1.0.0"
            # Unsigned firmware when the station allows it: no SignatureVerified step.
            st.maintenance.firmware.signed_only = False
            request = {"requestId": 4, "firmware": firmware}
            assert await peer.call("UpdateFirmware", request) == {"status": "Accepted"}
            calls = await _statuses_of(peer, "FirmwareStatusNotification", 4)
            assert _statuses(calls) == [
                "Downloading",
                "Downloaded",
                "Installing",
                "InstallRebooting",
            ]
            installed = await peer.next_call("FirmwareStatusNotification")
            assert installed.payload == {"status": "Installed", "requestId": 4}
            assert st.firmware_version == "8.0"


@pytest.mark.parametrize("version", [OcppVersion.V201, OcppVersion.V21])
async def test_v2_get_log_uploads_retries_and_cancels(version: OcppVersion) -> None:
    async with (
        FileServer() as files,
        CsmsPeer(version) as peer,
        SimulatedStation(peer.station_config("LG2")) as st,
    ):
        trigger = {"requestedMessage": "LogStatusNotification"}
        assert await peer.call("TriggerMessage", trigger) == {"status": "Accepted"}
        assert (await peer.next_call("LogStatusNotification")).payload == {"status": "Idle"}
        request = {
            "logType": "DiagnosticsLog",
            "requestId": 5,
            "log": {"remoteLocation": files.url("/logs/")},
            "retries": 1,
            "retryInterval": 0,
        }
        files.failures = 1  # the first PUT fails, the retry succeeds
        answer = await peer.call("GetLog", request)
        assert answer["status"] == "Accepted"
        calls = await _statuses_of(peer, "LogStatusNotification", 2)
        assert [c.payload for c in calls] == [
            {"status": "Uploading", "requestId": 5},
            {"status": "Uploaded", "requestId": 5},
        ]
        assert [r.method for r in files.requests] == ["PUT", "PUT"]
        assert f"ocpp={version.value}" in files.requests[-1].body.decode()
        # An upload waiting an hour for its retry is replaced (N01.FR.11).
        files.failures = 1
        slow = request | {"requestId": 6, "retryInterval": 3600}
        assert (await peer.call("GetLog", slow))["status"] == "Accepted"
        await files.next_request(3)  # the failed PUT: now it waits
        assert (await peer.next_call("LogStatusNotification")).payload["requestId"] == 6
        assert await peer.call("TriggerMessage", trigger) == {"status": "Accepted"}
        busy = await peer.next_call("LogStatusNotification")
        assert busy.payload == {"status": "Uploading", "requestId": 6}
        answer = await peer.call("GetLog", request | {"requestId": 7})
        assert answer["status"] == "AcceptedCanceled"
        calls = await _statuses_of(peer, "LogStatusNotification", 2)
        assert [c.payload for c in calls] == [
            {"status": "Uploading", "requestId": 7},
            {"status": "Uploaded", "requestId": 7},
        ]
        # Another scheme: NotSupportedOperation (N01.FR.10).
        ftp = request | {"requestId": 8, "log": {"remoteLocation": "ftp://x.example/"}}
        await peer.call("GetLog", ftp)
        failed = await peer.next_call("LogStatusNotification")
        assert failed.payload == {"status": "NotSupportedOperation", "requestId": 8}
        assert len(files.requests) == 4
        variables = await peer.call(
            "GetVariables",
            {
                "getVariableData": [
                    {
                        "component": {"name": "OCPPCommCtrlr"},
                        "variable": {"name": "FileTransferProtocols"},
                    }
                ]
            },
        )
        assert variables["getVariableResult"][0]["attributeValue"] == "HTTP,HTTPS"
        assert st.maintenance.log_status == "NotSupportedOperation"

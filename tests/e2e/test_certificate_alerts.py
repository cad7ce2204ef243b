"""``certificate_expiring`` alerts end to end: a real CSMS with its own CA signs a short-lived
certificate for a simulated station; the expiry check raises one alert per (station, serial)
with a severity by the days left; the station accepting a newer certificate resolves it, and an
operator can resolve one too (docs/alerts.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opencsms.app import Csms
from opencsms.clock import SystemClock
from opencsms.domain.alert_model import AlertChange, AlertSeverity, AlertType
from opencsms.domain.alert_rules import certificate_occurrence, certificate_severity
from opencsms.domain.stations import StationSpec
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import SimulatedStation
from tests.domain.test_alerts_wire import alert_events, change
from tests.security.helpers import api_get, api_post, make_ca, until
from tests.simulator.helpers import sim_config
from tests.wire import api_client, running_csms, settings_for

EXPIRING = AlertType.CERTIFICATE_EXPIRING


class ShiftedClock(SystemClock):
    """The real clock, moved forward by ``shift`` (days passing without waiting for them)."""

    def __init__(self) -> None:
        self.shift = timedelta()

    def now(self) -> datetime:
        return super().now() + self.shift


async def _issued(csms: Csms, station_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (
        await api_get(csms, "/certificates/issued", station_id=station_id)
    )["items"]
    return items


async def test_expiring_certificate_alert_is_resolved_by_a_renewal_or_an_operator(
    tmp_path: Path,
) -> None:
    make_ca(tmp_path / "ca")
    settings = settings_for(
        tmp_path,
        ca_dir=str(tmp_path / "ca"),
        certificate_validity_days=10,
        certificate_expiry_warning_days=30,
        alert_check_interval=0.05,
    )
    async with running_csms(settings) as csms:
        await csms.stations.create(StationSpec(id="CEXP"))
        async with SimulatedStation(sim_config(csms, "CEXP", OcppVersion.V201)) as st:
            await st.wait_for(lambda s: s.registration == "Accepted")

            async def renew_and_wait(count: int) -> str:
                await api_post(csms, "/stations/CEXP/certificates/renew", {})

                async def accepted() -> bool:
                    issued = await _issued(csms, "CEXP")
                    return len(issued) == count and issued[0]["delivery_status"] == "Accepted"

                await until(accepted)
                serial: str = (await _issued(csms, "CEXP"))[0]["serial"]
                return serial

            first = await renew_and_wait(1)
            with alert_events(csms) as events:
                await csms.certificates.check_expiry()
                raised = await change(events, EXPIRING, AlertChange.RAISED, "CEXP")
                assert raised.key == f"certificate:ChargingStationCertificate:{first}"
                assert raised.severity is AlertSeverity.MINOR  # 10 days left
                assert raised.details["serial"] == first
                assert "expires in" in raised.summary
                listed = await api_get(csms, "/alerts", type="certificate_expiring")
                assert [a["id"] for a in listed["items"]] == [raised.id]
                # announced once: another check raises nothing new
                assert await csms.certificates.check_expiry() == []

                # the station accepts a newer certificate: the old one's alert resolves
                second = await renew_and_wait(2)
                resolved = await change(events, EXPIRING, AlertChange.RESOLVED, "CEXP")
                assert resolved.id == raised.id
                assert resolved.resolution is not None
                assert second in resolved.resolution

                # the new certificate (10 days too) is announced in turn; an operator resolves it
                await csms.certificates.check_expiry()
                again = await change(events, EXPIRING, AlertChange.RAISED, "CEXP")
                assert again.key.endswith(second)
                async with api_client(csms) as api:
                    done = await api.post(
                        f"/api/v1/alerts/{again.id}/resolve", json={"by": "ops", "note": "ok"}
                    )
                assert done.status_code == 200, done.text
                assert done.json()["status"] == "resolved"
    assert [a for a in csms.alerts.open_alerts() if a.type is EXPIRING] == []


async def test_severity_rises_as_the_end_comes_closer(tmp_path: Path) -> None:
    make_ca(tmp_path / "ca")
    settings = settings_for(
        tmp_path,
        ca_dir=str(tmp_path / "ca"),
        certificate_validity_days=20,
        certificate_expiry_warning_days=30,
        alert_check_interval=0.05,
    )
    clock = ShiftedClock()
    async with Csms(settings, clock=clock) as csms:
        await csms.stations.create(StationSpec(id="CESC"))
        async with SimulatedStation(sim_config(csms, "CESC", OcppVersion.V16)) as st:
            await st.wait_for(lambda s: s.registration == "Accepted")
            await api_post(csms, "/stations/CESC/certificates/renew", {})

            async def accepted() -> bool:
                issued = await _issued(csms, "CESC")
                return len(issued) == 1 and issued[0]["delivery_status"] == "Accepted"

            await until(accepted)
            with alert_events(csms) as events:
                await csms.certificates.check_expiry()
                raised = await change(events, EXPIRING, AlertChange.RAISED, "CESC")
                assert raised.severity is AlertSeverity.WARNING  # 20 days left
                clock.shift = timedelta(days=15)  # 5 days left: the watchdog makes it major
                major = await change(events, EXPIRING, AlertChange.REPEATED, "CESC")
                assert (major.id, major.severity) == (raised.id, AlertSeverity.MAJOR)
                clock.shift = timedelta(days=21)
                critical = await change(events, EXPIRING, AlertChange.REPEATED, "CESC")
                assert critical.severity is AlertSeverity.CRITICAL
                assert "expired" in critical.summary


def test_severity_follows_the_days_left() -> None:
    assert certificate_severity(-1) is AlertSeverity.CRITICAL
    assert certificate_severity(0) is AlertSeverity.CRITICAL
    assert certificate_severity(3) is AlertSeverity.MAJOR
    assert certificate_severity(7) is AlertSeverity.MAJOR
    assert certificate_severity(10) is AlertSeverity.MINOR
    assert certificate_severity(20) is AlertSeverity.WARNING
    now = datetime(2026, 5, 1, tzinfo=UTC)
    expired = certificate_occurrence("S", "V2GCertificate", "ab12", now - timedelta(hours=1), now)
    assert expired.severity is AlertSeverity.CRITICAL
    assert "expired" in expired.summary
    assert expired.key == "certificate:V2GCertificate:ab12"

"""Contract tests of the monitoring, display message and report repositories, through their
services (SQLite and PostgreSQL): what answers and reports do to the record, idempotent parts,
full reports that replace, events joined to their monitors."""

from __future__ import annotations

from datetime import timedelta

import orjson

from opencsms.domain.customer_information import CustomerInformationService, CustomerQuery
from opencsms.domain.display_messages import (
    DisplayMessage,
    DisplayMessageService,
    DisplayQuery,
    MessageContent,
)
from opencsms.domain.model import StationEvent
from opencsms.domain.monitoring import MonitoringService
from opencsms.domain.monitoring_model import (
    ClearMonitorResult,
    ComponentRef,
    MonitoringQuery,
    MonitorOrigin,
    MonitorSetting,
    MonitorSpec,
    SetMonitorResult,
    VariableRef,
)
from opencsms.storage import Storage

from .conftest import T0, FixedClock

HEARTBEAT = VariableRef(ComponentRef("OCPPCommCtrlr"), "HeartbeatInterval")
POWER = VariableRef(ComponentRef("ChargingStation"), "Power")
EVSE_POWER = VariableRef(ComponentRef("EVSE", evse_id=1), "Power", "Max")


def spec(
    target: VariableRef = HEARTBEAT, kind: str = "UpperThreshold", **extra: object
) -> MonitorSpec:
    values: dict[str, object] = {"target": target, "type": kind, "value": 600.0, "severity": 5}
    values.update(extra)
    return MonitorSpec(**values)  # type: ignore[arg-type]


def accepted(s: MonitorSpec, monitor_id: int) -> SetMonitorResult:
    return SetMonitorResult("Accepted", s.target, s.type, s.severity, monitor_id)


def event(event_id: int, monitor_id: int | None, target: VariableRef = HEARTBEAT) -> StationEvent:
    return StationEvent(
        station_id="CS-1",
        event_id=event_id,
        timestamp=T0 + timedelta(seconds=event_id),
        trigger="Alerting",
        event_type="CustomMonitor",
        component_json=orjson.dumps({"name": target.component.name}).decode(),
        variable_json=orjson.dumps({"name": target.name}).decode(),
        actual_value="900",
        variable_monitoring_id=monitor_id,
        received_at=T0 + timedelta(seconds=event_id),
    )


async def test_set_results_store_accepted_monitors_only(
    storage: Storage, clock: FixedClock
) -> None:
    service = MonitoringService(storage, clock)
    first, second, evse = spec(), spec(kind="Delta", value=5.0), spec(EVSE_POWER, transaction=True)
    results = [
        accepted(evse, 12),  # answered out of order: matched by variable, type and severity
        accepted(first, 10),
        SetMonitorResult("Duplicate", second.target, second.type, second.severity),
    ]
    stored = await service.record_set("CS-1", [first, second, evse], results)
    assert [m.id for m in stored] == [12, 10]
    monitors = await service.monitors("CS-1")
    assert [(m.id, m.type, m.value, m.origin, m.kind) for m in monitors] == [
        (10, "UpperThreshold", 600.0, MonitorOrigin.CSMS, "CustomMonitor"),
        (12, "UpperThreshold", 600.0, MonitorOrigin.CSMS, "CustomMonitor"),
    ]
    assert monitors[1].target == EVSE_POWER
    assert monitors[1].transaction is True
    assert await service.monitors("CS-2") == []

    # Replacing by id keeps the first sighting and takes the new settings.
    clock.advance(60)
    replacement = spec(value=900.0, id=10)
    await service.record_set("CS-1", [replacement], [accepted(replacement, 10)])
    replaced = await service.monitor("CS-1", 10)
    assert replaced is not None
    assert (replaced.value, replaced.created_at, replaced.updated_at) == (
        900.0,
        T0,
        T0 + timedelta(seconds=60),
    )

    removed = await service.record_cleared(
        "CS-1",
        [
            ClearMonitorResult(10, "Accepted"),
            ClearMonitorResult(12, "Rejected"),
            ClearMonitorResult(99, "NotFound"),
        ],
    )
    assert removed == [10]  # 99: NotFound, and not in the record either
    assert [m.id for m in await service.monitors("CS-1")] == [12]


async def test_full_report_in_parts_replaces_and_resends_change_nothing(
    storage: Storage, clock: FixedClock
) -> None:
    service = MonitoringService(storage, clock)
    old = spec(kind="Periodic", value=30.0)
    await service.record_set("CS-1", [old], [accepted(old, 7)])  # gone from the station since
    clock.advance(10)
    await service.report_requested("CS-1", 500, MonitoringQuery())
    await service.report_answered("CS-1", 500, "Accepted")
    hardwired = MonitorSetting(1, POWER, "UpperThreshold", 22000.0, 3, kind="HardWiredMonitor")
    custom = MonitorSetting(8, HEARTBEAT, "Delta", 5.0, 4)
    clock.advance(1)
    with service.watch("CS-1", 500) as done:
        await service.report_part("CS-1", 500, 0, True, T0, [hardwired], clock.now())
        assert not done.is_set()
        assert [m.id for m in await service.monitors("CS-1")] == [1, 7]  # not complete yet
        await service.report_part("CS-1", 500, 0, True, T0, [hardwired], clock.now())  # resent
        await service.report_part("CS-1", 500, 1, False, T0, [custom], clock.now())
        assert done.is_set()
    monitors = await service.monitors("CS-1")
    assert [(m.id, m.origin, m.kind, m.report_id) for m in monitors] == [
        (1, MonitorOrigin.REPORT, "HardWiredMonitor", 500),
        (8, MonitorOrigin.REPORT, None, 500),
    ]
    report = await service.report("CS-1", 500)
    assert report is not None
    assert (report.status, report.full, report.completed_at) == ("Accepted", True, clock.now())
    parts = await service.report_parts("CS-1", 500)
    assert [p.seq_no for p in parts] == [0, 1]
    assert orjson.loads(parts[1].data)[0]["variable"] == {
        "name": "HeartbeatInterval",
        "instance": None,
    }

    # The final part again after completion: nothing changes, nothing is removed.
    clock.advance(5)
    await service.report_part("CS-1", 500, 1, False, T0, [custom], clock.now())
    assert [m.id for m in await service.monitors("CS-1")] == [1, 8]
    again = await service.report("CS-1", 500)
    assert again is not None
    assert again.completed_at == report.completed_at


async def test_filtered_report_updates_without_removing_and_base_marks(
    storage: Storage, clock: FixedClock
) -> None:
    service = MonitoringService(storage, clock)
    mine = spec()
    await service.record_set("CS-1", [mine], [accepted(mine, 10)])
    query = MonitoringQuery(criteria=("PeriodicMonitoring",), targets=(POWER.component,))
    await service.report_requested("CS-1", 600, query)
    reported = MonitorSetting(3, POWER, "Periodic", 60.0, 8)
    await service.report_part("CS-1", 600, 0, False, None, [reported], clock.now())
    assert [m.id for m in await service.monitors("CS-1")] == [3, 10]
    report = await service.report("CS-1", 600)
    assert report is not None
    assert not report.full
    assert report.parameters == {
        "criteria": ["PeriodicMonitoring"],
        "targets": [
            {
                "component": {
                    "name": "ChargingStation",
                    "instance": None,
                    "evse_id": None,
                    "connector_id": None,
                }
            }
        ],
    }

    # N03: FactoryDefault removes the custom monitors and marks the others stale.
    change = await service.record_base("CS-1", "FactoryDefault", "Accepted")
    assert (change.removed, change.stale) == ((10,), (3,))
    (left,) = await service.monitors("CS-1")
    assert (left.id, left.stale) == (3, True)
    assert (await service.settings("CS-1")).base == "FactoryDefault"
    await service.record_level("CS-1", 4, "Accepted")
    await service.record_level("CS-1", 12, "Rejected")
    settings = await service.settings("CS-1")
    assert (settings.base, settings.level, settings.level_at) == ("FactoryDefault", 4, T0)

    # An empty full report empties the record.
    clock.advance(1)
    await service.report_requested("CS-1", 601, MonitoringQuery())
    await service.report_answered("CS-1", 601, "EmptyResultSet")
    assert await service.monitors("CS-1") == []


async def test_unsolicited_report_parts_are_kept(storage: Storage, clock: FixedClock) -> None:
    service = MonitoringService(storage, clock)
    setting = MonitorSetting(4, HEARTBEAT, "Delta", 1.0, 2)
    await service.report_part("CS-1", 77, 0, False, None, [setting], clock.now())
    report = await service.report("CS-1", 77)
    assert report is not None
    assert (report.parameters, report.requested_at, report.full) == (None, None, False)
    assert report.completed_at == clock.now()
    assert [m.id for m in await service.monitors("CS-1")] == [4]


async def test_events_are_joined_to_their_monitor(storage: Storage, clock: FixedClock) -> None:
    service = MonitoringService(storage, clock)
    mine = spec()
    await service.record_set("CS-1", [mine], [accepted(mine, 10)])
    await storage.events.add(
        [event(1, 10), event(2, None), event(3, 10, target=POWER), event(4, 55)]
    )
    linked = await service.events("CS-1")
    assert [(e.event.event_id, e.monitor.id if e.monitor else None) for e in linked] == [
        (4, None),  # a monitor the CSMS does not know
        (3, None),  # id 10 but another variable: a reused id, not this monitor
        (2, None),
        (1, 10),
    ]
    only = await service.events("CS-1", monitor_id=10)
    assert [e.event.event_id for e in only] == [3, 1]
    assert await service.events("CS-2") == []


async def test_display_messages_set_refused_report_and_clear(
    storage: Storage, clock: FixedClock
) -> None:
    service = DisplayMessageService(storage, clock)
    hello = DisplayMessage(
        1,
        "NormalCycle",
        MessageContent("UTF8", "Hello", "en"),
        end_at=T0 + timedelta(hours=1),
        display=ComponentRef("Display", evse_id=1),
    )
    stored = await service.record_set("CS-1", hello, "Accepted")
    assert (stored.on_station, stored.last_set_status) == (True, "Accepted")
    # A refused replacement leaves the message the station holds.
    html = DisplayMessage(1, "NormalCycle", MessageContent("HTML", "<b>x</b>"))
    kept = await service.record_set("CS-1", html, "NotSupportedMessageFormat")
    assert (kept.message, kept.last_set_status) == (hello, "NotSupportedMessageFormat")
    # A refused new id is kept as not on the station.
    refused = await service.record_set(
        "CS-1",
        DisplayMessage(2, "AlwaysFront", MessageContent("ASCII", "x")),
        "NotSupportedPriority",
    )
    assert refused.on_station is False
    assert [(m.message.id, m.on_station) for m in await service.messages("CS-1")] == [
        (1, True),
        (2, False),
    ]
    assert (await service.get("CS-1", 1)) == kept

    # A full report lists message 3 only: 1 is gone from the station, 2 was never there.
    clock.advance(10)
    await service.report_requested("CS-1", 700, DisplayQuery())
    await service.report_answered("CS-1", 700, "Accepted")
    third = DisplayMessage(3, "InFront", MessageContent("URI", "https://example.com"), "Charging")
    with service.watch("CS-1", 700) as done:
        await service.report_part("CS-1", 700, True, [], clock.now())
        await service.report_part("CS-1", 700, False, [third], clock.now())
        await service.report_part("CS-1", 700, False, [third], clock.now())  # resent
        assert done.is_set()
    messages = await service.messages("CS-1")
    assert [(m.message.id, m.on_station, m.source) for m in messages] == [
        (2, False, "csms"),
        (3, True, "report"),
    ]
    assert messages[1].message == third

    # A filtered request answered Unknown: the matching message is not on the station.
    clock.advance(10)
    await service.report_requested("CS-1", 701, DisplayQuery(priority="InFront"))
    await service.report_answered("CS-1", 701, "Unknown")
    assert [m.message.id for m in await service.messages("CS-1")] == [2]
    assert await service.record_cleared("CS-1", 2, "Unknown")
    assert await service.messages("CS-1") == []


async def test_customer_information_parts_assemble_idempotently(
    storage: Storage, clock: FixedClock
) -> None:
    service = CustomerInformationService(storage, clock)
    query = CustomerQuery(report=True, clear=True, customer_identifier="OpenChargeAlliance")
    await service.requested("CS-1", 900, query)
    await service.answered("CS-1", 900, "Accepted")
    await service.part("CS-1", 900, 1, False, "world", T0, clock.now())  # out of order
    partial = await service.get("CS-1", 900)
    assert partial is not None
    assert (partial.complete, partial.missing, partial.data) == (False, [0], "world")
    await service.part("CS-1", 900, 0, True, "hello ", T0, clock.now())
    await service.part("CS-1", 900, 0, True, "hello ", T0, clock.now())  # resent
    done = await service.get("CS-1", 900)
    assert done is not None
    assert (done.complete, done.parts, done.data) == (True, 2, "hello world")
    assert done.request.parameters is not None
    assert done.request.parameters["customer_identifier"] == "OpenChargeAlliance"

    await service.requested("CS-1", 901, CustomerQuery(report=True, clear=False, id_token="A"))
    await service.answered("CS-1", 901, "Rejected")
    listed = await service.requests("CS-1")
    assert [(c.request.request_id, c.request.status, c.complete, c.data) for c in listed] == [
        (901, "Rejected", True, None),
        (900, "Accepted", True, "hello world"),
    ]
    await service.withdrawn("CS-1", 901)
    assert await service.get("CS-1", 901) is None

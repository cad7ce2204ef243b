"""Configuration storage: 1.6 keys, the 2.0.1 device model and its reports, desired configuration
and profiles, apply results — the same contract on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from opencsms.domain.configuration import (
    ConfigurationKey,
    ConfigurationService,
    KeyReport,
    ReportedKey,
)
from opencsms.domain.desired_config import (
    ApplyResult,
    ConfigProfile,
    DesiredKind,
    DesiredSet,
    Scope,
)
from opencsms.domain.device_model import (
    ReportKind,
    ReportPart,
    ReportRequest,
    VariableCharacteristics,
    VariableRef,
    VariableRow,
)
from opencsms.domain.device_model_service import DeviceModelService
from opencsms.storage import Storage
from tests.storage.conftest import T0, FixedClock

KEY, VARIABLE = DesiredKind.KEY, DesiredKind.VARIABLE


def key(name: str, value: str | None = "1", readonly: bool = False) -> ConfigurationKey:
    return ConfigurationKey("CP-1", name, value, readonly, T0)


async def test_keys_replaced_as_a_set_updated_and_removed(storage: Storage) -> None:
    repo = storage.configuration
    await repo.replace_keys("CP-1", [key("A"), key("B", None, True), key("C")])
    await repo.replace_keys("CP-2", [ConfigurationKey("CP-2", "Z", "9", False, T0)])
    await repo.replace_keys("CP-1", [key("B", "2", True), key("D", "ä")])  # A and C are gone
    await repo.put_keys([key("E", "5")])
    await repo.remove_keys("CP-1", ["D", "NotThere"])
    got = await repo.keys("CP-1")
    assert [(k.key, k.value, k.readonly) for k in got] == [("B", "2", True), ("E", "5", False)]
    assert got[0].reported_at == T0
    assert [k.key for k in await repo.keys("CP-2")] == ["Z"]  # another station is untouched


async def test_refresh_of_some_keys_keeps_the_rest(storage: Storage, clock: FixedClock) -> None:
    service = ConfigurationService(storage, clock)

    class Port:
        ocpp_version = "1.6"

        def __init__(self, report: KeyReport) -> None:
            self.report = report

        async def get_configuration(self, keys: object) -> KeyReport:
            return self.report

        async def change_configuration(self, key: str, value: str) -> str:
            return "Accepted" if key == "A" else "RebootRequired"

    full = KeyReport((ReportedKey("A", False, "1"), ReportedKey("B", True, "x")))
    await service.refresh("CP-1", Port(full))
    partial = KeyReport((ReportedKey("A", False, "2"),), unknown=("B",))
    await service.refresh("CP-1", Port(partial), ["A", "B"])
    assert [(k.key, k.value) for k in await service.keys("CP-1")] == [("A", "2")]
    clock.advance(1)
    assert await service.change("CP-1", Port(full), "A", "7") == "Accepted"
    assert await service.change("CP-1", Port(full), "Q", "7") == "RebootRequired"
    stored = await service.keys("CP-1")
    assert [(k.key, k.value, k.reported_at) for k in stored] == [
        ("A", "7", T0 + timedelta(seconds=1))
    ]


async def test_apply_results_keep_the_latest_attempt(storage: Storage) -> None:
    repo = storage.configuration
    first = ApplyResult("CP-1", KEY, "A", "1", "Rejected", "read-only key", T0)
    await repo.put_results([first, ApplyResult("CP-1", VARIABLE, "X.Y", "2", "Accepted", None, T0)])
    later = ApplyResult("CP-1", KEY, "A", "3", "Accepted", None, T0 + timedelta(seconds=5))
    await repo.put_results([later])
    assert await repo.results("CP-1") == [
        later,
        ApplyResult("CP-1", VARIABLE, "X.Y", "2", "Accepted", None, T0),
    ]
    assert await repo.results("CP-2") == []


async def test_desired_entries_replaced_per_owner_and_kind(storage: Storage) -> None:
    repo = storage.desired_config
    await repo.replace(
        Scope.STATION, "CP-1", {KEY: {"A": "1", "B": "2"}, VARIABLE: {"X.Y": "3"}}, T0
    )
    await repo.replace(Scope.STATION, "CP-2", {KEY: {"A": "9"}}, T0)
    await repo.replace(Scope.STATION, "CP-1", {KEY: {"B": "20", "C": "30"}}, T0)  # variables kept
    assert await repo.desired(Scope.STATION, "CP-1") == DesiredSet(
        {"B": "20", "C": "30"}, {"X.Y": "3"}
    )
    await repo.replace(Scope.STATION, "CP-1", {VARIABLE: {}}, T0)
    assert await repo.desired(Scope.STATION, "CP-1") == DesiredSet({"B": "20", "C": "30"}, {})
    await repo.delete_owner(Scope.STATION, "CP-1")
    assert not await repo.desired(Scope.STATION, "CP-1")
    assert await repo.desired(Scope.STATION, "CP-2") == DesiredSet({"A": "9"}, {})


async def test_profiles_put_list_delete(storage: Storage) -> None:
    repo = storage.desired_config
    later = T0 + timedelta(seconds=10)
    acme = ConfigProfile("acme", "ACME", None, DesiredSet({"A": "1"}, {"X.Y": "2"}), T0, T0)
    await repo.put_profile(acme)
    await repo.put_profile(ConfigProfile("beta", "Beta", "B1", DesiredSet(), T0, T0))
    changed = ConfigProfile("acme", "ACME", "M", DesiredSet({"B": "2"}, {}), later, later)
    await repo.put_profile(changed)
    profiles = await repo.profiles()
    assert [p.name for p in profiles] == ["acme", "beta"]
    assert profiles[0] == ConfigProfile("acme", "ACME", "M", DesiredSet({"B": "2"}, {}), T0, later)
    assert await repo.profiles("beta") == [profiles[1]]
    assert await repo.delete_profile("acme") is True
    assert await repo.delete_profile("acme") is False
    assert [p.name for p in await repo.profiles()] == ["beta"]
    assert not await repo.desired(Scope.PROFILE, "acme")


def row(variable: str, value: str | None = "1", **ref: object) -> VariableRow:
    return VariableRow(
        "CP-1",
        VariableRef("Ctrlr", variable, **ref),  # type: ignore[arg-type]
        value,
        T0,
        mutability="ReadWrite",
        characteristics=VariableCharacteristics("integer", True, unit="s", max_limit=5.5),
    )


def part(request_id: int, seq_no: int, tbc: bool, *rows: VariableRow) -> ReportPart:
    return ReportPart("CP-1", request_id, seq_no, tbc, T0, rows, T0)


async def test_report_parts_are_idempotent_and_a_full_inventory_replaces(
    storage: Storage, clock: FixedClock
) -> None:
    service = DeviceModelService(storage, clock)
    repo = storage.device_model
    addressed = row(
        "Deep",
        "x",
        component_instance="i",
        evse_id=1,
        connector_id=2,
        variable_instance="v",
        attribute="Target",
    )
    await repo.add_report(ReportRequest("CP-1", 7, ReportKind.FULL_INVENTORY, T0))
    await service.receive_part(part(7, 1, False, row("C")))  # out of order: incomplete
    progress = await service.receive_part(part(7, 0, True, row("A"), addressed))
    resent = await service.receive_part(part(7, 0, True, row("A"), addressed))
    assert (progress.parts, progress.last_seq_no, progress.complete) == (2, 1, True)
    assert resent == progress
    rows, total = await service.rows("CP-1")
    assert total == 3
    assert [r.ref.path for r in rows] == ["Ctrlr.A", "Ctrlr.C", "Ctrlr[i]@1/2.Deep[v]#Target"]
    assert rows[0].characteristics == VariableCharacteristics(
        "integer", True, unit="s", max_limit=5.5
    )
    assert rows[0].report_id == 7

    await service.receive_part(part(8, 0, False, row("Z")))  # unsolicited: adds
    assert (await service.report("CP-1", 8)).kind is ReportKind.UNSOLICITED  # type: ignore[union-attr]
    await repo.add_report(ReportRequest("CP-1", 9, ReportKind.FULL_INVENTORY, T0))
    await service.receive_part(part(9, 0, False, row("A", "2")))
    rows, total = await service.rows("CP-1")
    assert [(r.ref.path, r.value) for r in rows] == [("Ctrlr.A", "2")]
    assert [r.request_id for r in await service.reports("CP-1")] == [9, 8, 7]


async def test_values_learned_outside_reports_keep_what_reports_said(storage: Storage) -> None:
    repo = storage.device_model
    await repo.store_part(
        part(1, 0, False, row("A"), row("B")), ReportRequest("CP-1", 1, ReportKind.CUSTOM, T0)
    )
    later = T0 + timedelta(seconds=3)
    await repo.put_values(
        [
            VariableRow("CP-1", VariableRef("Ctrlr", "A"), "42", later),
            VariableRow("CP-1", VariableRef("New", "V"), "n", later),
        ]
    )
    rows, total = await repo.rows("CP-1", component="CTRLR", variable="a")
    assert total == 1
    assert (rows[0].value, rows[0].mutability, rows[0].updated_at) == ("42", "ReadWrite", later)
    found = await repo.values(
        "CP-1", [VariableRef("ctrlr", "b"), VariableRef("New", "V"), VariableRef("X", "Y")]
    )
    assert found == {VariableRef("ctrlr", "b"): "1", VariableRef("New", "V"): "n"}
    page, total = await repo.rows("CP-1", offset=1, limit=1)
    assert total == 3
    assert [r.ref.path for r in page] == ["Ctrlr.B"]

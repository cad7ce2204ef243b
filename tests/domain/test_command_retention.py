"""``command_retention_days``: read from the provisioning file, checked, and applied by the node's
command log (the hourly job calls :meth:`CommandService.purge`)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from opencsms.app import Csms
from opencsms.config import ConfigError, Settings, load_settings_file
from opencsms.domain.commands import CommandRecord, CommandStatus
from tests.simulator.helpers import T0, ManualClock
from tests.wire import settings_for


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "opencsms.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_default_keeps_commands_90_days() -> None:
    assert Settings().command_retention_days == 90


@pytest.mark.parametrize("days", [0, 7, 3650])
def test_retention_is_read_from_the_file(tmp_path: Path, days: int) -> None:
    settings = load_settings_file(write(tmp_path, f"[server]\ncommand_retention_days = {days}\n"))
    assert settings.command_retention_days == days


@pytest.mark.parametrize("value", ["-1", "1.5", '"90"', "true"])
def test_a_retention_that_is_no_number_of_days_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="command_retention_days must be a whole number"):
        load_settings_file(write(tmp_path, f"[server]\ncommand_retention_days = {value}\n"))


def record(command_id: int, days_ago: float) -> CommandRecord:
    return CommandRecord(
        id=command_id,
        station_id="CP-1",
        ocpp_version="2.0.1",
        action="ClearCache",
        payload={},
        requested_by="api",
        user_id=None,
        requested_at=T0 - timedelta(days=days_ago),
        status=CommandStatus.ANSWERED,
        response={"status": "Accepted"},
        duration_ms=3.0,
    )


@pytest.mark.parametrize(("days", "kept"), [(30, [1]), (0, [1, 2, 3])])
async def test_the_node_purges_what_its_setting_says(
    tmp_path: Path, days: int, kept: list[int]
) -> None:
    settings = settings_for(tmp_path, command_retention_days=days)
    async with Csms(settings, clock=ManualClock()) as csms:  # its clock stands at T0
        for command_id, days_ago in ((1, 29.9), (2, 30.1), (3, 400)):
            await csms.storage.commands.add(record(command_id, days_ago))
        await csms.commands.purge()
        left = await csms.commands.page("CP-1", None, 10)
    assert sorted(c.id for c in left) == kept

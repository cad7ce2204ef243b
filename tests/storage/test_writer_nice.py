"""``sqlite_writer_nice``: the SQLite writer process runs at a niceness relative to the server's
(below it by default: every acknowledgement waits for its commits), read from the provisioning
file, checked, and kept at the server's own when raising priorities is not allowed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from opencsms.config import ConfigError, Settings, load_settings_file
from opencsms.storage import Storage
from opencsms.storage.sqlite_worker import WRITER_NICE
from tests.wire import running_csms, settings_for

OWN = os.getpriority(os.PRIO_PROCESS, 0)
MAY_RAISE = os.geteuid() == 0  # root (CAP_SYS_NICE alone is not checked for here)


def expected(nice: int) -> int:
    """The niceness a child asking for ``nice`` relative to this process ends up with."""
    if nice < 0 and not MAY_RAISE:
        return OWN
    return min(max(OWN + nice, -20), 19)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "opencsms.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_default_raises_the_writers_priority() -> None:
    assert Settings().sqlite_writer_nice == WRITER_NICE < 0


def test_the_niceness_is_read_from_the_file(tmp_path: Path) -> None:
    settings = load_settings_file(write(tmp_path, "[server]\nsqlite_writer_nice = 0\n"))
    assert settings.sqlite_writer_nice == 0


@pytest.mark.parametrize("value", ["-21", "20", "1.5", '"-5"', "true"])
def test_a_niceness_out_of_range_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="sqlite_writer_nice must be a whole number"):
        load_settings_file(write(tmp_path, f"[server]\nsqlite_writer_nice = {value}\n"))


@pytest.mark.parametrize("nice", [-3, 2])
async def test_the_writer_process_runs_at_the_niceness_asked_for(tmp_path: Path, nice: int) -> None:
    store = await Storage.open(f"sqlite:///{tmp_path / 'nice.db'}", sqlite_nice=nice)
    try:
        child = store.writer.child_pid
        assert child is not None
        assert os.getpriority(os.PRIO_PROCESS, child) == expected(nice)
    finally:
        await store.aclose()


async def test_a_csms_gives_its_writer_process_the_configured_niceness(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, sqlite_writer="process", sqlite_writer_nice=-2)
    async with running_csms(settings) as csms:
        child = csms.storage.writer.child_pid
        assert child is not None
        assert os.getpriority(os.PRIO_PROCESS, child) == expected(-2)

"""``[[id_tokens]]`` in the provisioning file: read, checked, and unknown keys refused."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from opencsms.config import ConfigError, TokenSeed, load_settings_file


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "opencsms.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_id_tokens_and_authorization_settings_are_read(tmp_path: Path) -> None:
    settings = load_settings_file(
        write(
            tmp_path,
            """
[server]
unknown_tokens = "accept"
master_pass_group_id = "MASTER"

[[id_tokens]]
id_token = "04A2B3C4"
type = "ISO14443"
group_id = "FLEET"
expires_at = 2030-01-01T00:00:00Z
allowed_locations = ["CS-1", "CS-2/1"]
max_concurrent = 1

[[id_tokens]]
id_token = "BLOCKED-1"
status = "Blocked"
expires_at = "2031-06-01T12:00:00+02:00"
""",
        )
    )
    assert (settings.unknown_tokens, settings.master_pass_group_id) == ("accept", "MASTER")
    first, second = settings.id_tokens
    assert first == TokenSeed(
        id_token="04A2B3C4",
        type="ISO14443",
        group_id="FLEET",
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        allowed_locations=("CS-1", "CS-2/1"),
        max_concurrent=1,
    )
    assert (second.status, second.expires_at) == ("Blocked", datetime(2031, 6, 1, 10, tzinfo=UTC))


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('id_token = "A"\ncolour = "red"', "unknown keys: colour"),
        ('status = "Accepted"', "needs a string 'id_token'"),
        ('id_token = "A"\nstatus = "Perhaps"', "status must be one of"),
        ('id_token = "A"\nexpires_at = 2030-01-01T00:00:00', "time zone"),
        ('id_token = "A"\nexpires_at = "soon"', "ISO 8601"),
        ('id_token = "A"\nallowed_locations = "CS-1"', "list of strings"),
    ],
)
def test_bad_entries_stop_the_start(tmp_path: Path, entry: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings_file(write(tmp_path, f"[[id_tokens]]\n{entry}\n"))


def test_unknown_token_policy_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown_tokens"):
        load_settings_file(write(tmp_path, '[server]\nunknown_tokens = "maybe"\n'))


def test_local_list_settings_are_read_and_checked(tmp_path: Path) -> None:
    settings = load_settings_file(
        write(
            tmp_path,
            '[server]\nlocal_lists = "all"\nlocal_list_items_per_message = 25\n'
            "local_list_debounce = 0.5\nlocal_list_concurrency = 4\n",
        )
    )
    assert (
        settings.local_lists,
        settings.local_list_items_per_message,
        settings.local_list_debounce,
        settings.local_list_concurrency,
    ) == ("all", 25, 0.5, 4)
    for bad, message in (
        ('local_lists = "some"', "local_lists"),
        ("local_list_items_per_message = 0", "local_list_items_per_message"),
        ("local_list_debounce = -1", "local_list_debounce"),
    ):
        with pytest.raises(ConfigError, match=message):
            load_settings_file(write(tmp_path, f"[server]\n{bad}\n"))

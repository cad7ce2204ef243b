"""Shared fixtures: a running CSMS node on loopback with a fresh SQLite database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from opencsms.app import Csms
from tests.wire import running_csms, settings_for


@pytest.fixture
async def csms(tmp_path: Path) -> AsyncIterator[Csms]:
    async with running_csms(settings_for(tmp_path)) as node:
        yield node

"""A real Chromium for the dashboard's tests: Debian's package driven by Playwright.

The browser is the system's (``/usr/bin/chromium``, from ``apt-get install chromium``; ``make
test`` installs it when missing): Playwright's own browser downloads need the internet, which CI
machines do not have. Without Chromium the browser tests skip on a developer's machine and fail
under CI (``CI=true``), so a CI run can never pass without having run them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.async_api import Browser

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # root in CI containers: the sandbox needs user namespaces
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    """The system Chromium, or skip (fail under CI) with how to get it."""
    for candidate in (os.environ.get("OPENCSMS_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    found = shutil.which("chromium")
    if found:
        return found
    missing("Chromium is not installed: run `make browser` (apt-get install chromium)")
    raise AssertionError("unreachable")


def missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; the dashboard's browser test must run in CI", pytrace=False)
    pytest.skip(reason)


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A headless Chromium for one test."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        missing("the playwright package is missing: pip install -e '.[dev]'")
        raise
    executable = chromium_path()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield browser
        finally:
            await browser.close()

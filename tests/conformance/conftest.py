"""Fixtures of the conformance suite and the recorder of its verdicts.

Every test here is named after its test case (``test_TC_B_01_CSMS``, ``test_TC_001_CSMS``).
When ``OPENCSMS_CONFORMANCE_REPORT`` names a file, the verdict of every test case that ran is
written there at the end of the session; ``scripts/conformance_matrix.py`` turns it into
docs/conformance.md. A test case that does not apply to OpenCSMS is skipped with a reason that
starts with ``not applicable:`` and is shown so, with the reason, in the matrix.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.sut import Sut, start_sut

REPORT_ENV = "OPENCSMS_CONFORMANCE_REPORT"
NOT_APPLICABLE = "not applicable:"
_CASE = re.compile(r"test_(TC_[A-Z0-9_]+?_CSMS)")

_verdicts: dict[str, dict[str, str]] = {}


@pytest.fixture
async def sut(tmp_path: Path) -> AsyncIterator[Sut]:
    """The CSMS under test with its default configuration."""
    async with start_sut(tmp_path) as running:
        yield running


def _case_of(nodeid: str) -> str | None:
    if "/conformance/" not in nodeid.replace("\\", "/"):
        return None
    match = _CASE.search(nodeid.rsplit("::", 1)[-1])
    return match.group(1) if match else None


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("E "):
            line = line[2:].strip()
        if line:
            return line[:200]
    return ""


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    case = _case_of(report.nodeid)
    if case is None:
        return
    previous = _verdicts.get(case)
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        if reason.startswith(NOT_APPLICABLE):
            verdict = {"verdict": "not applicable", "reason": reason[len(NOT_APPLICABLE) :].strip()}
        else:
            verdict = {"verdict": "not run", "reason": reason}
    elif report.failed:
        message = ""
        crash = getattr(report.longrepr, "reprcrash", None)
        if crash is not None:
            message = crash.message
        verdict = {"verdict": "fail", "reason": _first_line(message or str(report.longrepr))}
    elif report.when == "call":
        verdict = {"verdict": "pass", "reason": ""}
    else:
        return
    # One test case may be several tests (parametrised variants): any failure is the verdict.
    if previous is None or previous["verdict"] == "pass" or verdict["verdict"] == "fail":
        _verdicts[case] = verdict


def pytest_sessionfinish(session: pytest.Session, exitstatus: Any) -> None:
    target = os.environ.get(REPORT_ENV)
    if target and _verdicts:
        Path(target).write_text(json.dumps(dict(sorted(_verdicts.items())), indent=1) + "\n")

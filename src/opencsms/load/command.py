"""The ``opencsms load`` command behind the CLI: options from strings, signals, progress, report.

``cli.py`` only declares the options; this module turns them into :class:`LoadOptions` (every
error names its option), runs the load with Ctrl-C handling and a progress bar, prints the report
and returns the exit code (1 when a station never got Accepted).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from opencsms.load.options import (
    LoadOptions,
    OptionError,
    parse_duration,
    parse_mix,
    parse_ramp,
    parse_rate,
)
from opencsms.load.progress import show_progress
from opencsms.load.report import print_report, write_json
from opencsms.load.runner import LoadRun
from opencsms.ocpp.version import OcppVersion

__all__ = ["build_options", "run_command"]


def _parsed(param: str, parse: Any, text: str) -> Any:
    try:
        return parse(text)
    except OptionError as exc:
        raise OptionError(str(exc), param) from None


def build_options(
    *,
    url: str,
    stations: int,
    version: str,
    prefix: str,
    ramp: str,
    duration: str,
    mix: str,
    rate: str,
    password: str | None,
    connect_concurrency: int,
    ramp_timeout: str,
    call_timeout: str,
    ping_interval: str,
    compression: bool,
) -> LoadOptions:
    """:class:`LoadOptions` from the CLI's strings; :class:`OptionError` names the bad option."""
    try:
        ocpp_version = OcppVersion(version)
    except ValueError:
        raise OptionError("must be 1.6, 2.0.1 or 2.1", "--version") from None
    ramp_timeout_s = _parsed("--ramp-timeout", parse_duration, ramp_timeout)
    call_timeout_s = _parsed("--call-timeout", parse_duration, call_timeout)
    if ramp_timeout_s is None:
        raise OptionError("must be finite", "--ramp-timeout")
    if call_timeout_s is None or call_timeout_s <= 0:
        raise OptionError("must be finite and positive", "--call-timeout")
    ping = _parsed("--ping-interval", parse_duration, ping_interval)
    return LoadOptions(
        url=url,
        stations=stations,
        version=ocpp_version,
        prefix=prefix,
        ramp=_parsed("--ramp", parse_ramp, ramp),
        duration=_parsed("--duration", parse_duration, duration),
        mix=_parsed("--mix", parse_mix, mix),
        rate=_parsed("--rate", parse_rate, rate),
        password=password,
        connect_concurrency=connect_concurrency,
        ramp_timeout=ramp_timeout_s,
        call_timeout=call_timeout_s,
        ping_interval=ping or None,
        compression=compression,
    )


async def run_command(
    options: LoadOptions, *, progress: bool | None, json_path: Path | None
) -> int:
    """Run the load, print the report (and write ``json_path``); the process exit code.

    SIGINT/SIGTERM stop the run cleanly (a second one stops waiting for stragglers); the report
    is still printed.
    """
    run = LoadRun(options)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, run.stop)
    show = sys.stderr.isatty() if progress is None else progress
    try:
        async with asyncio.TaskGroup() as tasks:
            view = tasks.create_task(show_progress(run)) if show else None
            try:
                report = await run.run()
            finally:
                if view is not None:
                    view.cancel()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
    print_report(report, Console())
    if json_path is not None:
        write_json(report, json_path)
    return 0 if report["ok"] else 1

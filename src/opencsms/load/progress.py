"""The progress bar of ``opencsms load``: stations Accepted while ramping, time while holding.

A display only: it reads :meth:`LoadRun.snapshot` a few times a second and never takes part in the
run's synchronisation. It writes to stderr so the report on stdout stays clean for pipes.
"""

from __future__ import annotations

import asyncio
import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from opencsms.load.runner import LoadRun

__all__ = ["show_progress"]

_REFRESH_SECONDS = 0.5


async def show_progress(run: LoadRun, console: Console | None = None) -> None:
    """Render ``run``'s progress until cancelled (the CLI cancels it when the run returns)."""
    console = console or Console(stderr=True)
    progress = Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    stations = run.options.stations
    duration = run.options.duration
    with progress:
        ramp = progress.add_task("ramp", total=stations, detail="")
        hold = progress.add_task("hold", total=duration or None, detail="", start=False)
        last_answered, last_time = 0, time.monotonic()
        while True:
            snap = run.snapshot()
            now = time.monotonic()
            progress.update(
                ramp,
                completed=snap.accepted,
                detail=(
                    f"{snap.accepted:,}/{stations:,} accepted, {snap.connected:,} connected, "
                    f"{snap.reconnects:,} reconnects"
                ),
            )
            if snap.phase in ("hold", "stopping", "done") and not progress.tasks[hold].started:
                progress.start_task(hold)
            if progress.tasks[hold].started:
                rate = (snap.answered - last_answered) / max(now - last_time, 1e-6)
                progress.update(
                    hold,
                    completed=min(snap.hold_elapsed, duration) if duration else snap.hold_elapsed,
                    detail=f"{rate:,.0f} msg/s, {snap.answered:,} answered, {snap.errors:,} errors",
                )
            last_answered, last_time = snap.answered, now
            await asyncio.sleep(_REFRESH_SECONDS)  # a display refresh, not synchronisation

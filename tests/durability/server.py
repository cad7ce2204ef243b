"""``opencsms serve`` as a real subprocess that a test can SIGKILL and restart, and a throw-away
PostgreSQL database for it.

The server's output is read continuously by a task (so the pipe never fills and blocks it) and
the last lines are kept for failure messages; readiness is the "API listening" log line, which
comes after the OCPP listener is up. Every process the server starts (the SQLite writer child, the
multiprocessing resource tracker) is recorded while it runs, so the test can prove afterwards that
a SIGKILL left nothing behind — and end a straggler by its pid if one did.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]

OPENCSMS = str(Path(sys.executable).with_name("opencsms"))
ADMIN_TOKEN = "durability-token"
PG_ADMIN_DSN = os.environ.get("OPENCSMS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
READY_LINE = "API listening on"
START_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class ServeConfig:
    """What every incarnation of the server shares: ports, database, policies."""

    db_url: str
    ocpp_port: int
    http_port: int

    @property
    def ocpp_url(self) -> str:
        return f"ws://127.0.0.1:{self.ocpp_port}/ocpp"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/api/v1"


def descendants(pid: int) -> list[int]:
    """Live descendants of ``pid`` (Linux /proc)."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                found.append(int(child))
                found += descendants(int(child))
    return found


def start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot), or None if it is gone or a zombie.

    A pid alone may be reused by an unrelated process once ours ended; (pid, start time) may not.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else int(fields[19])


class CsmsProcess:
    """One incarnation of ``opencsms serve``; :meth:`start`, then :meth:`kill` or :meth:`stop`."""

    def __init__(self, config: ServeConfig, name: str) -> None:
        self.config = config
        self.name = name
        self.lines: deque[str] = deque(maxlen=60)
        self.children: dict[int, int] = {}
        """Every process this server started that we saw: pid → start time."""
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        """The exit code once the process ended (-9 after :meth:`kill`)."""
        return self._proc.returncode if self._proc is not None else None

    def output(self) -> str:
        """The server's last log lines, for assertion messages."""
        return f"--- {self.name} (last lines) ---\n" + "".join(self.lines)

    async def start(self) -> None:
        """Start the server and return once both listeners are up."""
        cfg = self.config
        env = {
            **os.environ,
            "OPENCSMS_ADMIN_TOKEN": ADMIN_TOKEN,
            "OPENCSMS_UNKNOWN_TOKENS": "accept",
            "PYTHONUNBUFFERED": "1",
        }
        self._proc = await asyncio.create_subprocess_exec(
            OPENCSMS, "serve", "--host", "127.0.0.1",
            "--ocpp-port", str(cfg.ocpp_port), "--http-port", str(cfg.http_port),
            "--db", cfg.db_url, "--unknown-stations", "accept", "--log-level", "INFO",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env,
            start_new_session=True,  # a terminal's Ctrl-C on the test must not reach it
        )  # fmt: skip
        self._reader = asyncio.get_running_loop().create_task(self._read())
        exited = asyncio.ensure_future(self._proc.wait())
        ready = asyncio.ensure_future(self._ready.wait())
        try:
            await asyncio.wait(
                {exited, ready}, timeout=START_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            exited.cancel()
            ready.cancel()
        if not self._ready.is_set():
            await self.stop()
            raise RuntimeError(f"{self.name} did not start\n{self.output()}")
        self._note_children()

    def _note_children(self) -> None:
        for pid in descendants(self.pid):
            started = start_time(pid)
            if started is not None:
                self.children[pid] = started

    def _open_child(self, pid: int) -> int | None:
        """A pidfd for our child ``pid`` if it still runs (and is still ours), else None."""
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            return None
        if start_time(pid) != self.children[pid]:  # checked after opening: no race
            os.close(fd)
            return None
        return fd

    async def _read(self) -> None:
        assert self._proc is not None
        assert self._proc.stdout is not None
        stream = self._proc.stdout
        while line := await stream.readline():
            text = line.decode(errors="replace")
            self.lines.append(text)
            if READY_LINE in text:
                self._ready.set()

    def freeze(self) -> None:
        """SIGSTOP the server process (not its children): from now on it reads and answers
        nothing, while a batch its SQLite writer child or PostgreSQL holds may still commit."""
        assert self._proc is not None
        self._note_children()
        self._proc.send_signal(signal.SIGSTOP)

    async def kill(self) -> None:
        """SIGKILL the server process itself (not its group: as the OOM killer would) and wait
        until it is gone. Its SQLite writer child notices the orphaning and exits by itself."""
        assert self._proc is not None
        self._note_children()
        self._proc.send_signal(signal.SIGKILL)
        await self._proc.wait()
        await self._finish_reader()

    async def stop(self, timeout: float = 20.0) -> int | None:  # noqa: ASYNC109
        """SIGTERM (a clean shutdown), SIGKILL after ``timeout``; returns the exit code."""
        proc = self._proc
        if proc is None:
            return None
        if proc.returncode is None:
            self._note_children()
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGCONT)  # in case a failed test left it frozen
                proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(timeout):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()
        await self._finish_reader()
        return proc.returncode

    async def _finish_reader(self) -> None:
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                async with asyncio.timeout(5):
                    await self._reader
            self._reader = None

    async def leftovers(self, grace: float = 5.0) -> list[int]:
        """Processes this server started that are still running ``grace`` seconds from now.

        Children end a moment after the server (the resource tracker when its pipe closes, an
        orphaned SQLite writer when its watchdog notices): each is awaited through a pidfd, which
        becomes readable when the process ends.
        """
        loop = asyncio.get_running_loop()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                for pid in sorted(self.children):
                    fd = self._open_child(pid)
                    if fd is None:
                        continue
                    ended = loop.create_future()
                    loop.add_reader(fd, ended.set_result, None)
                    try:
                        await ended
                    finally:
                        loop.remove_reader(fd)
                        os.close(fd)
        return sorted(pid for pid, t in self.children.items() if start_time(pid) == t)

    def kill_leftovers(self) -> None:
        """SIGKILL whatever this server started and left running (through a pidfd: only ours)."""
        for pid in sorted(self.children):
            fd = self._open_child(pid)
            if fd is not None:
                with contextlib.suppress(ProcessLookupError):
                    signal.pidfd_send_signal(fd, signal.SIGKILL)
                os.close(fd)


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A fresh, empty database on the PostgreSQL server (dropped at the end); its asyncpg URL."""
    name = f"dur_{uuid.uuid4().hex[:12]}"
    try:
        await _admin(f'CREATE DATABASE "{name}"')
    except (OSError, asyncpg.PostgresError) as exc:
        raise RuntimeError(f"PostgreSQL not reachable at {PG_ADMIN_DSN}: {exc}") from exc
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

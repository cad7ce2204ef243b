"""The CSMS is SIGKILLed mid-load and restarted; nothing a station was told is stored may be lost
or stored twice (ARCHITECTURE rule 7, docs/storage.md "acknowledged only when durable").

Twenty simulated stations (ten OCPP 1.6, ten 2.0.1, two EVSEs each) run charging sessions against
``opencsms serve`` in a subprocess: drivers plug in, start (1.6 StartTransaction §4.8 / 2.0.1
TransactionEvent Started E01), meter every second (1.6 MeterValues §4.7 / Updated E02), stop
(§4.10 / Ended E06) and leave. Once sessions have completed, every open session sends one extra
meter sample at once; as soon as the first of them is acknowledged the server process is frozen
(SIGSTOP) and, once another message has gone out to it, SIGKILLed — so messages are on the wire,
some committed and unanswered, some not yet read. The stations notice, keep charging offline
(their ordered queues hold every transaction message until acknowledged: 1.6 §4.7 note, E04;
drivers whose token is cached start sessions offline), and reconnect with a short back-off to a
new server on the same ports and database, which gets their queues resent (OCPP-J 2.0.1 part 4
§5.3: no new boot).
After more sessions on the new server, the drivers stop, the queues drain, and ``checks.verify``
compares what the stations had acknowledged with what the database holds.

Runs on a SQLite file (the writer's child process outlives its parent for up to half a second
and may still commit) and on PostgreSQL (a fresh database per run). About 8 s per backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from opencsms.errors import CallFailedError
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import EvseConfig, SimulatedStation, StationConfig
from opencsms.simulator.config import BackOffConfig
from opencsms.simulator.outbox import QueuedMessage
from opencsms.simulator.sessions import NotAuthorizedError
from tests.durability.checks import Database, committed_unanswered, verify
from tests.durability.recorder import Recorder
from tests.durability.server import (
    ADMIN_TOKEN,
    CsmsProcess,
    ServeConfig,
    postgres_database,
)
from tests.wire import free_port

STATIONS_PER_VERSION = 10
EVSES = 2
SESSIONS_BEFORE_KILL = 20
SESSIONS_AFTER_RESTART = 20
SAFE_GAP = (0.05, 0.8)
"""A stop or an extra sample is made only this long (s) after the EVSE's last periodic sample:
well clear of it and of the next one (1 s later), so no two samples of an EVSE share a
millisecond timestamp — the storage keeps one sample per (station, EVSE, transaction, time)."""


@contextlib.asynccontextmanager
async def database(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'durability.db'}"
        return
    async with postgres_database() as url:
        yield url


def station_configs(url: str) -> list[StationConfig]:
    configs = []
    for version, tag in ((OcppVersion.V16, "16"), (OcppVersion.V201, "201")):
        for n in range(1, STATIONS_PER_VERSION + 1):
            configs.append(
                StationConfig(
                    id=f"DUR{tag}-{n:02d}",
                    version=version,
                    csms_url=url,
                    evses=tuple(EvseConfig() for _ in range(EVSES)),
                    meter_sample_interval=1,
                    call_timeout=15.0,
                    open_timeout=5.0,
                    backoff=BackOffConfig(wait_minimum=0.1, random_range=0.2, repeat_times=2),
                )
            )
    return configs


async def _quietly(step: Awaitable[object]) -> None:
    """A driver's step whose CALL may fail when the link drops (what it queued stays queued)."""
    with contextlib.suppress(CallFailedError, NotAuthorizedError):
        await step


async def drive(
    st: SimulatedStation, evse: int, rec: Recorder, stopping: asyncio.Event, rng: random.Random
) -> None:
    """Drivers at one EVSE: start, charge for two periodic samples or more, stop, leave; repeat
    until ``stopping``. The waits with random lengths are the drivers' own timing."""
    token = f"DUR-{st.config.id}-{evse}"
    while not stopping.is_set():
        if st.transaction(evse) is None and not await _start(st, evse, token, stopping):
            continue
        tx = st.transaction(evse)
        enough = rec.meters_queued(st, evse) + 2

        def charged(s: SimulatedStation) -> bool:
            return (
                rec.meters_queued(s, evse) >= enough  # noqa: B023 - awaited in this iteration
                or stopping.is_set()
                or s.transaction(evse) is not tx  # noqa: B023
            )

        await st.wait_for(charged, None)
        while st.transaction(evse) is tx:
            await asyncio.sleep(rng.uniform(0.2, 0.5))
            low, high = SAFE_GAP
            if low < rec.since_last_meter(st, evse) < high:
                await _quietly(st.stop_transaction(evse, "Local"))
                break
            seen = rec.meters_queued(st, evse)  # too close to a periodic sample: next gap
            await st.wait_for(lambda s: rec.meters_queued(s, evse) > seen, None)  # noqa: B023
        await _quietly(st.unplug(evse))
        await asyncio.sleep(rng.uniform(0.05, 0.3))


async def _start(st: SimulatedStation, evse: int, token: str, stopping: asyncio.Event) -> bool:
    """Plug in and start; False (after waiting for the next connection) when it did not start."""
    connection = st.connections
    # Offline, a token the station has cached starts a session (LocalAuthorizeOffline).
    await _quietly(st.start_transaction(evse, token))
    if st.transaction(evse) is not None:
        return True
    # Refused offline (token not cached yet) or the link dropped mid-start: leave, and come back
    # on the next connection. (Not "once online_and_accepted": that stays true until the dead
    # link's tasks have unwound, and this loop would spin without yielding.)
    await _quietly(st.unplug(evse))

    def reconnected(s: SimulatedStation) -> bool:
        return (s.connections > connection and s.online_and_accepted) or stopping.is_set()

    await st.wait_for(reconnected, None)
    return False


async def burst(stations: list[SimulatedStation], rec: Recorder) -> list[QueuedMessage]:
    """One extra meter sample (context Trigger) from every open session clear of its periodic
    ones: a few dozen messages reach the CSMS at once."""
    sent = []
    low, high = SAFE_GAP
    for st in stations:
        for evse in range(1, EVSES + 1):
            tx = st.transaction(evse)
            if (
                tx is not None
                and low < rec.since_last_meter(st, evse) < high
                and st.clock.now() - tx.started_at > timedelta(seconds=low)
            ):
                sent.append(await st.sessions.send_meter(tx, "Trigger", "Trigger"))
    return sent


@dataclass(frozen=True, slots=True)
class Kill:
    """The moment of the SIGKILL, seen from the stations."""

    at: float
    in_flight: int
    """Messages sent and not acknowledged when the server died."""
    extras: int
    extras_unacked: int


async def kill_mid_burst(
    server: CsmsProcess, stations: list[SimulatedStation], rec: Recorder
) -> Kill:
    """Send the burst of extra samples; when the first is acknowledged, freeze the server
    (SIGSTOP) and SIGKILL it once another message has gone out to it.

    The server is frozen mid-way through the burst: some messages committed (or still being
    committed by its SQLite writer child or by PostgreSQL) but not answered, others not read
    yet. A message sent after the freeze cannot be answered at all, so at least one answer is
    certainly lost: the freeze makes "mid-flight" deterministic instead of a race with the
    server's answers.
    """
    extra: list[QueuedMessage] = []
    while not extra:
        extra = await burst(stations, rec)
        if not extra:  # no session clear of its periodic samples right now: next sample
            n = len(rec.records)
            await rec.wait(lambda: len(rec.records) > n, 5)  # noqa: B023 - awaited in this iteration
    extras = [rec.record_of(m) for m in extra]
    await rec.wait(lambda: any(r.acked for r in extras), 10)
    frozen_at = rec.seq
    server.freeze()
    await rec.wait(lambda: bool(rec.sent_after(frozen_at)), 10)
    # Taken with no await before the signal: the stations' view at the moment of the kill.
    kill = Kill(
        at=rec.now(),
        in_flight=len(rec.in_flight()),
        extras=len(extras),
        extras_unacked=sum(1 for r in extras if not r.acked),
    )
    await server.kill()
    return kill


@pytest.mark.timeout(60)
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_sigkill_mid_load_loses_and_duplicates_nothing(backend: str, tmp_path: Path) -> None:
    servers: list[CsmsProcess] = []
    async with database(backend, tmp_path) as db_url, contextlib.AsyncExitStack() as stack:
        cfg = ServeConfig(db_url, free_port(), free_port())
        try:
            first = CsmsProcess(cfg, "first server")
            servers.append(first)
            await first.start()
            rec = Recorder()
            rng = random.Random(4)
            stations = []
            for config in station_configs(cfg.ocpp_url):
                st = SimulatedStation(config, rng=random.Random(rng.random()))
                rec.observe(st)
                stations.append(await stack.enter_async_context(st))
            for st in stations:
                await st.wait_for(lambda s: s.online_and_accepted)
            stopping = asyncio.Event()
            async with asyncio.timeout(45), asyncio.TaskGroup() as drivers:
                for st in stations:
                    for evse in range(1, EVSES + 1):
                        driver_rng = random.Random(rng.random())
                        drivers.create_task(drive(st, evse, rec, stopping, driver_rng))

                # ---- mid-load: sessions have completed, others run; then the kill
                await rec.wait(lambda: rec.session_ends_acked_after(0) >= SESSIONS_BEFORE_KILL, 20)
                kill = await kill_mid_burst(first, stations, rec)

                # ---- a new server on the same ports and database; the stations come back
                second = CsmsProcess(cfg, "second server")
                servers.append(second)
                await second.start()
                restarted_at = rec.now()
                for st in stations:
                    await st.wait_for(lambda s: s.connections >= 2 and s.online_and_accepted, 20)
                await rec.wait(
                    lambda: rec.session_ends_acked_after(restarted_at) >= SESSIONS_AFTER_RESTART,
                    20,
                )
                stopping.set()
                for st in stations:
                    await st.notify_changed()

            # ---- every session stopped; every queue drained
            for st in stations:
                await st.wait_for(
                    lambda s: s.queued == 0 and s.unsent_statuses == 0 and s.online_and_accepted,
                    20,
                )
            api = await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=cfg.api_url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
                )
            )
            db = Database(db_url)
            verdict = await verify(rec, stations, db, api)
            committed_first = await committed_unanswered(db, rec.records)
            offline_started = sum(
                1
                for r in rec.records
                if r.message is not None
                and r.message.queued_offline
                and (r.action == "StartTransaction" or r.payload.get("eventType") == "Started")
            )
            resent = [r for r in rec.records if r.resent]
            # Sent before the signal, answered only on a later connection: the server died
            # before that answer left it (answers already on their way arrive on the old one).
            cut_off = [
                r for r in resent if r.first_sent_at is not None and r.first_sent_at <= kill.at
            ]
            summary = (
                f"{backend}: {verdict.counts}, in flight at kill {kill.in_flight} "
                f"(extra samples unacknowledged {kill.extras_unacked}/{kill.extras}), "
                f"answer cut off by the kill {len(cut_off)}, resent {len(resent)} "
                f"(first copy committed {committed_first}), "
                f"sessions started offline {offline_started}, "
                f"down {restarted_at - kill.at:.1f} s"
            )
            print(summary)
            assert verdict.problems == [], "\n".join([summary, *verdict.problems, second.output()])
            # The kill hit mid-load: messages were on the wire, and went out again afterwards.
            assert cut_off, summary
            assert all(tx.stopped for st in stations for tx in st.sessions.history)
        finally:
            await stack.aclose()  # stations first, while the server still answers
            for server in reversed(servers):
                await server.stop()
            leftovers = [pid for server in servers for pid in await server.leftovers()]
            for server in servers:
                server.kill_leftovers()
    assert leftovers == [], f"processes left behind: {leftovers}"
    assert servers[-1].returncode == 0, servers[-1].output()  # the restarted one stops cleanly

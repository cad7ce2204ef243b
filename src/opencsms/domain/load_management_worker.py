"""The load manager's loop: triggers in, allocation rounds, TxProfile / TxDefault out
(docs/load-management.md).

Triggers: sessions starting and stopping (TransactionChanged), meter values (the measured
current), an EV's charging needs (2.0.1 K15 NotifyEVChargingNeeds), external limits a station
reports (K12 / K13), a station connecting or booting, changes through the API, schedule and
external-signal boundaries. Triggers are coalesced for ``debounce`` seconds into one round; a
safety round runs every ``interval`` seconds whatever happens. EV needs and an operator's
rebalance skip the debounce: K15 wants the schedule "at once".

A round (:meth:`LoadManagementWorker.rebalance`) plans every managed session
(:func:`~opencsms.domain.load_management_plan.build_plan`) and sends only what passes the
hysteresis (:func:`opencsms.smartcharging.allocator.changed_enough`): a TxProfile with the
transaction id on the session's EVSE (1.6 §3.13.1 / §5.16, 2.0.1 K01.FR.03 / K01.FR.16), one
reserved profile id per EVSE, and on every managed station a TxDefaultProfile on EVSE 0 with the
safe limit new sessions start at until their first allocation. Decreases go first, and
increases only once every decrease of the tree was Accepted, so the sum never exceeds a limit
because a station raised before another lowered. Accepted profiles are recorded
(:meth:`ChargingProfileService.accepted`); a refusal, a timeout or an offline station is recorded
in the decision and retried on the next round. Sends run ``concurrency`` at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opencsms.clock import Clock
from opencsms.domain.charging_profiles import ChargingProfileService, ProfileRefusedError
from opencsms.domain.ev_charging_model import EvChargingNeeds, ExternalLimit
from opencsms.domain.fleet_events import (
    BootReported,
    ChargingLimitReported,
    EvChargingNeedsReported,
    EvChargingScheduleReported,
    FleetEvent,
    FleetEvents,
    MeterValuesStored,
    StationConnected,
    Subscription,
    TransactionChanged,
)
from opencsms.domain.load_management import LoadManagementService
from opencsms.domain.load_management_model import Decision, DecisionEntry
from opencsms.domain.load_management_plan import (
    ActiveSession,
    Defaults,
    Plan,
    build_plan,
    session_key,
)
from opencsms.domain.load_management_sends import Dispatcher, Send, with_status
from opencsms.domain.metering import samples_of
from opencsms.domain.transaction_model import Transaction
from opencsms.errors import OpenCsmsError
from opencsms.smartcharging import (
    ChargingProfile,
    ChargingSchedule,
    ProfileKind,
    ProfilePurpose,
    RateUnit,
    SchedulePeriod,
)
from opencsms.smartcharging.allocator import changed_enough
from opencsms.smartcharging.group_schedule import next_change

if TYPE_CHECKING:
    from opencsms.storage.store import Storage

__all__ = [
    "LoadManagementWorker",
    "LoadSettings",
    "OpenSessions",
    "ProfileAnswer",
    "ProfilePort",
]

OpenSessions = Callable[[str], Awaitable[Mapping[str, Transaction]]]
"""A station's Active sessions by OCPP transaction id (``TransactionService.open_sessions``)."""

log = logging.getLogger("opencsms.load_management")

MAX_RENEGOTIATIONS = 3
"""TxProfiles re-sent per session for EV schedules above it (K15.FR.13) before giving up."""


@dataclass(frozen=True, slots=True)
class ProfileAnswer:
    """A station's answer to SetChargingProfile: its status, the chargingProfile as sent (for
    the CSMS's record) and the 2.x reasonCode, if any."""

    status: str
    version: str
    payload: dict[str, Any]
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ProfilePort:
    """The way to one connected station: its OCPP version and a SetChargingProfile sender
    (raises a :class:`~opencsms.errors.CallFailedError` when no answer comes)."""

    version: str
    send: Callable[[ChargingProfile], Awaitable[ProfileAnswer]]


@dataclass(frozen=True, slots=True)
class LoadSettings:
    """The worker's settings (config.py ``load_management_*``)."""

    debounce: float = 0.5
    interval: float = 30.0
    stack_level: int = 1
    profile_id: int = 91_000
    """TxDefault uses this id, the TxProfile of EVSE *n* this id + *n*."""
    threshold_a: float = 1.0
    concurrency: int = 16
    """SetChargingProfile CALLs in flight at once, over all stations."""
    round_wait: float = 10.0
    """How long :meth:`LoadManagementWorker.rebalance` (the API's "rebalance now") waits for the
    answers of its round before returning what was decided so far; the loop never waits."""
    defaults: Defaults = field(default_factory=Defaults)


@dataclass(frozen=True, slots=True)
class _Accepted:
    limit_a: float
    transaction_id: str
    at: datetime


_HEARD = (
    TransactionChanged,
    MeterValuesStored,
    EvChargingNeedsReported,
    EvChargingScheduleReported,
    ChargingLimitReported,
    StationConnected,
    BootReported,
)
"""The events that may change an allocation."""


class LoadManagementWorker:
    """Runs the allocation rounds (see the module docstring)."""

    def __init__(
        self,
        service: LoadManagementService,
        store: Storage,
        profiles: ChargingProfileService,
        events: FleetEvents,
        clock: Clock,
        port_for: Callable[[str], ProfilePort | None],
        settings: LoadSettings,
        open_sessions: OpenSessions | None = None,
    ) -> None:
        self._service = service
        self._open_sessions = open_sessions
        self._store = store
        self._profiles = profiles
        self._events = events
        self._clock = clock
        self._port_for = port_for
        self.settings = settings
        self._measured: dict[str, tuple[float | None, float | None, datetime]] = {}
        """Session key → (current A per phase, power W, received at) of its last sample."""
        self._accepted: dict[str, _Accepted] = {}
        self._defaults: dict[str, float] = {}
        self._boots: dict[str, int] = {}
        """Station → Accepted boots seen: an answer landing after a reboot is not trusted."""
        """Station → the TxDefault limit it accepted."""
        self._needs: dict[str, EvChargingNeeds] = {}
        self._limits: dict[tuple[str, int], ExternalLimit] = {}
        self._force: dict[str, int] = {}
        """Sessions whose TxProfile is sent even if unchanged (K15), with a generation so that
        needs arriving while a send is in flight are answered again."""
        self._generation = 0
        self._renegotiations: dict[str, int] = {}
        """Session key → TxProfiles re-sent because the EV's schedule exceeded it (K16)."""
        self._triggers: list[str] = []
        self._wake = asyncio.Event()
        self._urgent = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._round_lock = asyncio.Lock()
        self._sends = Dispatcher(
            self._send,
            store.load_management.add_decision,
            lambda why: self.trigger(why, urgent=True),
            self._maybe_idle,
            settings.concurrency,
        )
        self.rounds = 0
        """Rounds run (tests, metrics)."""
        self.last_plan: Plan | None = None

    # ------------------------------------------------------------------ triggers

    def trigger(self, reason: str, *, urgent: bool = False) -> None:
        """Ask for a round (after the debounce unless ``urgent``)."""
        self._triggers.append(reason)
        self._urgent |= urgent
        self._idle.clear()
        self._wake.set()

    async def settled(self) -> None:
        """Return once no trigger is pending, no round is running and no send is in flight."""
        await self._idle.wait()

    def _maybe_idle(self) -> None:
        if not self._wake.is_set() and not self._sends.busy and not self._round_lock.locked():
            self._idle.set()

    async def _on_event(self, event: FleetEvent) -> None:
        """A fleet event other than stored meter values (:meth:`_read` takes those inline)."""
        service = self._service
        if isinstance(event, TransactionChanged):
            tx = event.transaction
            evse = tx.evse_id or tx.connector_id
            if evse is None or not service.managed(tx.station_id):
                return
            key = session_key(tx.station_id, evse)
            if not tx.open:
                # The station drops the TxProfile with its transaction (1.6 §3.13.1, K01); the
                # CSMS's record forgets it too (ChargingProfileService.forget_tx_profiles).
                self._forget(key)
                self.trigger(f"session stopped on {key}")
            elif event.started:
                self._forget(key, keep_needs=True)
                if key in self._needs:
                    self._force_send(key)
                self.trigger(f"session started on {key}")
        elif isinstance(event, EvChargingNeedsReported):
            needs = event.needs
            key = session_key(needs.station_id, needs.evse_id)
            self._needs[key] = needs
            self._force_send(key)  # K15: answer with a TxProfile even if the limit is unchanged
            self.trigger(f"EV charging needs on {key}", urgent=True)
        elif isinstance(event, EvChargingScheduleReported):
            self._renegotiate(event)
        elif isinstance(event, ChargingLimitReported):
            limit = event.limit
            place = (limit.station_id, limit.evse_id or 0)
            if limit.cleared:
                self._limits.pop(place, None)
            else:
                self._limits[place] = limit
            self.trigger(f"external limit reported by {limit.station_id}")
        elif isinstance(event, BootReported):
            if event.status == "Accepted" and service.managed(event.station_id):
                # A rebooted station may have lost its profiles and its transactions.
                self._boots[event.station_id] = self._boots.get(event.station_id, 0) + 1
                self._defaults.pop(event.station_id, None)
                prefix = f"{event.station_id}/"
                for key in [k for k in self._accepted if k.startswith(prefix)]:
                    del self._accepted[key]
                self.trigger(f"{event.station_id} booted")
        elif isinstance(event, StationConnected) and service.managed(event.station_id):
            self.trigger(f"{event.station_id} connected")

    def _renegotiate(self, event: EvChargingScheduleReported) -> None:
        """K15.FR.13 / K16: the EV chose a schedule above its TxProfile (answered Rejected): send
        the session's TxProfile again, with the limit the allocator plans now, even if unchanged;
        a new SetChargingProfile makes the station renegotiate with the EV (K16.FR.02). At most
        ``MAX_RENEGOTIATIONS`` times per session, so an EV that keeps asking for more than it
        may have cannot make the CSMS and the station loop."""
        schedule = event.schedule
        if schedule.within_limits or not self._service.managed(schedule.station_id):
            return
        key = session_key(schedule.station_id, schedule.evse_id)
        done = self._renegotiations.get(key, 0)
        if done >= MAX_RENEGOTIATIONS:
            log.warning("load management: %s keeps exceeding its TxProfile; not renegotiating", key)
            return
        self._renegotiations[key] = done + 1
        self._force_send(key)
        self.trigger(f"EV schedule above the TxProfile on {key}", urgent=True)

    def _force_send(self, key: str) -> None:
        self._generation += 1
        self._force[key] = self._generation

    def _forget(self, key: str, *, keep_needs: bool = False) -> None:
        self._accepted.pop(key, None)
        self._renegotiations.pop(key, None)
        self._measured.pop(key, None)
        self._force.pop(key, None)
        if not keep_needs:
            self._needs.pop(key, None)

    def _meter(self, event: MeterValuesStored) -> None:
        """Keep each EVSE's latest measured current (Current.Import, per phase, at the outlet)
        and power (Power.Active.Import)."""
        for record in event.records:
            if record.transaction_id is None and record.context != "Sample.Periodic":
                continue
            amps: list[float] = []
            watts: float | None = None
            for sample in samples_of(record):
                if sample.location != "Outlet":
                    continue
                if sample.measurand == "Current.Import":
                    amps.append(sample.value)
                elif sample.measurand == "Power.Active.Import" and sample.phase is None:
                    watts = sample.value
            if amps or watts is not None:
                key = session_key(record.station_id, record.evse_id)
                self._measured[key] = (max(amps) if amps else None, watts, record.received_at)
                self.trigger(f"meter values from {key}")

    # ------------------------------------------------------------------ loop

    async def run(self) -> None:
        """Serve triggers until cancelled (owned by the node's task group)."""
        # Sessions and meter values of every node: the allocator runs on one (the leader).
        subscription = self._events.subscribe(types=_HEARD, scope="all")
        try:
            async with asyncio.TaskGroup() as tasks:
                self._sends.tasks = tasks
                tasks.create_task(self._read(subscription), name="load-management-events")
                tasks.create_task(self._loop(), name="load-management-rounds")
        finally:
            self._sends.tasks = None
            subscription.close()

    async def _read(self, subscription: Subscription) -> None:
        while True:
            for event in await subscription.batch():
                try:
                    if type(event) is MeterValuesStored:  # one per station message: no coroutine
                        if self._service.managed(event.station_id):
                            self._meter(event)
                        continue
                    await self._on_event(event)
                except Exception:  # a bug must not stop the manager; the safety round catches up
                    log.exception("load management: event %r failed", type(event).__name__)

    def _next_deadline(self) -> float:
        """Seconds until the safety round or the next schedule / signal boundary."""
        now = self._clock.now()
        wait = self.settings.interval
        for group in self._service.groups.values():
            moments: list[datetime | None] = []
            if group.schedule:
                moments.append(next_change(group.schedule, now))
            if group.external is not None:
                moments.append(group.external.until)
            for moment in moments:
                if moment is not None and moment > now:
                    wait = min(wait, (moment - now).total_seconds() + 0.01)
        return max(wait, 0.0)

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._next_deadline()):
                    await self._wake.wait()
            if not self._wake.is_set():
                self._triggers.append("periodic")
            elif not self._urgent:
                await asyncio.sleep(self.settings.debounce)  # coalesce a burst of triggers
            self._wake.clear()
            self._urgent = False
            reasons, self._triggers = self._triggers, []
            try:
                # The loop never waits for answers: a silent station must not hold up the
                # next round (its sends land in their own tasks).
                await self.rebalance(_summary(reasons), wait=0.0)
            except OpenCsmsError as exc:
                log.warning("load management round failed: %s", exc)
            except Exception:
                log.exception("load management round failed")
            self._maybe_idle()

    # ------------------------------------------------------------------ rounds

    async def _open(self, station_id: str) -> Iterable[Transaction]:
        """The station's Active sessions.

        For a station connected to this node: the TransactionService's in-memory record, kept
        current by that connection's messages, so a round costs no query for it (a 1,000-station
        site would otherwise cost 1,000 queries a round). For any other station (offline, or
        connected to another node of a cluster, whose record here could be stale): the store.
        """
        if self._open_sessions is not None and self._port_for(station_id) is not None:
            return list((await self._open_sessions(station_id)).values())
        return await self._store.transactions.open_for_station(station_id)

    async def plan(self) -> Plan:
        """The allocation now, without sending anything."""
        service = self._service
        stations = sorted({m.station_id for m in service.members})
        sessions: list[ActiveSession] = []
        for station_id in stations:
            for tx in sorted(await self._open(station_id), key=lambda t: t.id):
                evse = tx.evse_id or tx.connector_id
                if evse:
                    sessions.append(
                        ActiveSession(
                            station_id,
                            evse,
                            tx.transaction_id,
                            tx.id,
                            tx.token_key,
                            tx.group_id,
                            energy_wh=tx.energy_wh,
                        )
                    )
        measured: dict[str, float] = {}
        for s in sessions:
            sample = self._measured.get(s.key)
            accepted = self._accepted.get(s.key)
            if sample is None or accepted is None or sample[2] <= accepted.at:
                continue  # only what the EV drew under the limit it has now says what it wants
            amps, watts, _ = sample
            if amps is None and watts is not None:
                member = service.member_for(s.station_id, s.evse_id)
                group = service.groups.get(member.group_id) if member else None
                phases = (member.phases if member else None) or (group.phases if group else 3)
                amps = watts / (phases * (group.voltage_v if group else 230.0))
            if amps is not None:
                measured[s.key] = amps
        previous = {k: a.limit_a for k, a in self._accepted.items()}
        plan = build_plan(
            service.groups,
            service.members,
            sessions,
            at=self._clock.now(),
            defaults=self.settings.defaults,
            measured=measured,
            previous=previous,
            needs=self._needs,
            station_limits=self._limits,
        )
        self.last_plan = plan
        return plan

    def accepted_limit(self, key: str) -> float | None:
        """The limit the session's station last accepted."""
        accepted = self._accepted.get(key)
        return None if accepted is None else accepted.limit_a

    def measured(self, key: str) -> float | None:
        sample = self._measured.get(key)
        return None if sample is None else sample[0]

    async def rebalance(
        self, trigger: str = "rebalance", *, wait: float | None = None
    ) -> list[Decision]:
        """Run one round now: plan, send what changed enough, record the decisions.

        Sends run in their own tasks, ``concurrency`` at a time over all stations; a target
        whose previous send is still in flight is skipped (recorded ``InFlight``) and
        re-evaluated when that send lands. Returns the decisions whose sends all landed within
        ``wait`` seconds (default ``round_wait``; the rest are recorded when they land).
        """
        async with self._round_lock:
            self.rounds += 1
            plan = await self.plan()
            by_root = self._batches(plan)
            started = [
                self._sends.dispatch(root, items, _decider(plan, root, trigger))
                for root, items in sorted(by_root.items())
                if any(isinstance(i, Send) or i.status == "InFlight" for i in items)
            ]
            if started:
                self._idle.clear()
        if not started:
            return []
        timeout = self.settings.round_wait if wait is None else wait
        done, _ = await asyncio.wait(started, timeout=timeout) if timeout > 0 else (set(), set())
        return [d for t in started if t in done and (d := t.result()) is not None]

    def _batches(self, plan: Plan) -> dict[str, list[Send | DecisionEntry]]:
        """Per root group: the sends this round wants and the entries it keeps as they are."""
        by_root: dict[str, list[Send | DecisionEntry]] = {}
        for key, planned in sorted(plan.sessions.items()):
            s = planned.session
            accepted = self._accepted.get(key)
            before = accepted.limit_a if accepted else None
            entry = DecisionEntry(
                s.station_id,
                s.evse_id,
                "TxProfile",
                planned.limit_a,
                s.transaction_id,
                before,
                planned.demand.measured_current_a,
                "Unchanged",
            )
            wanted = key in self._force or changed_enough(
                before, planned.limit_a, threshold_a=self.settings.threshold_a
            )
            if wanted:
                phases = planned.demand.phases
                profile = self._tx_profile(s, planned.limit_a, phases)
                decrease = before is None or planned.limit_a < before
                item: Send | DecisionEntry = Send(entry, profile, decrease, self._force.get(key))
            else:
                item = entry
            by_root.setdefault(planned.root_id, []).append(item)
        for station_id, limit in sorted(plan.tx_default.items()):
            before = self._defaults.get(station_id)
            if before == limit:
                continue
            entry = DecisionEntry(station_id, 0, "TxDefault", limit, previous_a=before)
            root = plan.station_roots[station_id]
            send = Send(entry, self._tx_default(limit), before is None or limit < before)
            by_root.setdefault(root, []).append(send)
        for root, items in by_root.items():
            self._sends.skip_in_flight(root, items)
        return by_root

    async def _send(self, item: Send) -> DecisionEntry:
        entry, profile = item.entry, item.profile
        port = self._port_for(entry.station_id)
        if port is None:
            return with_status(entry, "Failed", "station not connected")
        started = time.monotonic()
        boots = self._boots.get(entry.station_id, 0)
        try:
            await self._profiles.check(entry.station_id, profile, port.version != "1.6")
            answer = await port.send(profile)
        except ProfileRefusedError as exc:
            return with_status(entry, "Failed", f"not sent: {exc}")
        except OpenCsmsError as exc:
            return with_status(entry, "Failed", f"{type(exc).__name__}: {exc}")
        if answer.status != "Accepted":
            return with_status(entry, answer.status, answer.reason)
        await self._profiles.accepted(entry.station_id, answer.version, profile, answer.payload)
        now = self._clock.now()
        if self._boots.get(entry.station_id, 0) != boots:
            # The station rebooted while this was in flight (it may have lost the profile):
            # not remembered as held, so the round its boot triggered sends it again.
            self.trigger(f"{entry.station_id} rebooted during a send")
        elif entry.kind == "TxDefault":
            self._defaults[entry.station_id] = entry.limit_a
        else:
            key = session_key(entry.station_id, entry.evse_id)
            assert entry.transaction_id is not None
            self._accepted[key] = _Accepted(entry.limit_a, entry.transaction_id, now)
            if item.forced is not None and self._force.get(key) == item.forced:
                del self._force[key]  # answered, and no newer needs arrived meanwhile
        elapsed = math.ceil((time.monotonic() - started) * 1000)
        return with_status(entry, "Accepted", f"{elapsed} ms")

    # ------------------------------------------------------------------ profiles

    def _tx_profile_id(self, evse: int) -> int:
        return self.settings.profile_id + evse

    def _schedule(self, limit_a: float, phases: int | None) -> tuple[ChargingSchedule, ...]:
        period = SchedulePeriod(0, round(limit_a, 1), phases)
        return (ChargingSchedule(RateUnit.A, (period,)),)

    def _tx_profile(self, s: ActiveSession, limit_a: float, phases: int) -> ChargingProfile:
        """The session's TxProfile: Relative (in force from the start of its transaction, no
        startSchedule: K01.FR.41), so a station clock off by minutes still applies it."""
        return ChargingProfile(
            id=self._tx_profile_id(s.evse_id),
            stack_level=self.settings.stack_level,
            purpose=ProfilePurpose.TX,
            kind=ProfileKind.RELATIVE,
            schedules=self._schedule(limit_a, phases),
            evse=s.evse_id,
            transaction_id=s.transaction_id,
        )

    def _tx_default(self, limit_a: float) -> ChargingProfile:
        """The station-wide TxDefaultProfile new sessions start under."""
        return ChargingProfile(
            id=self.settings.profile_id,
            stack_level=self.settings.stack_level,
            purpose=ProfilePurpose.TX_DEFAULT,
            kind=ProfileKind.RELATIVE,
            schedules=self._schedule(limit_a, None),
            evse=0,
        )


def _decider(
    plan: Plan, root: str, trigger: str
) -> Callable[[tuple[DecisionEntry, ...]], Decision]:
    """How a root's batch becomes its decision once its sends landed."""
    groups = {gid: state.summary() for gid, state in plan.groups.items() if state.root_id == root}
    return lambda entries: Decision(root, plan.at, trigger, groups, entries)


def _summary(reasons: list[str]) -> str:
    """One line for the decision log: the first distinct reasons and how many more."""
    distinct = list(dict.fromkeys(reasons))
    shown = "; ".join(distinct[:3])
    return shown if len(distinct) <= 3 else f"{shown}; +{len(distinct) - 3} more"

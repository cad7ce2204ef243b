"""The CSMS's record of the charging profiles each station holds, and the checks a profile
passes before it is sent (docs/charging-profiles.md).

The record changes only when a station accepted a SetChargingProfile / ClearChargingProfile
(1.6 §5.16 / §5.5, 2.0.1 K01 / K10) or reported what it holds (K09 ReportChargingProfiles), so
it never claims more than the station said. A complete unfiltered report replaces the record
(reconciliation). The composite schedule preview applies the same rules as a station
(:mod:`opencsms.smartcharging.composite`) to the recorded profiles.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opencsms.clock import Clock
from opencsms.domain.fleet_events import (
    BootReported,
    FleetEvent,
    StationConnected,
    Subscription,
    TransactionChanged,
)
from opencsms.domain.transaction_model import Transaction
from opencsms.errors import OpenCsmsError
from opencsms.smartcharging import (
    Capabilities,
    ChargingProfile,
    CompositeSchedule,
    Criteria,
    EvseState,
    ProfilePurpose,
    RateUnit,
    StationState,
    check_profile,
    composite_schedule,
    lowest_of,
)
from opencsms.smartcharging.rules import overlapping, same_slot

if TYPE_CHECKING:
    from opencsms.storage.store import Storage

StationCall = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
"""Sends one CALL to a connected station and returns its CALLRESULT payload."""

ReconcileCall = Callable[[str], StationCall | None]
"""The station's CALL sender when it is connected with a version that has GetChargingProfiles
(2.0.1 / 2.1), ``None`` otherwise (1.6 or not connected)."""

ExternalProfiles = Callable[[str], Awaitable[Sequence[ChargingProfile]]]
"""A station's external limits in force (K12 NotifyChargingLimit, not cleared), each as a
ChargingStationExternalConstraints profile (made by the handlers from the stored schedules)."""

__all__ = [
    "ChargingProfileService",
    "ExternalProfiles",
    "ProfileReconciler",
    "ProfileRefusedError",
    "ReconcileCall",
    "StoredProfile",
    "capabilities_for",
]

log = logging.getLogger(__name__)

_MAX_STACK_LEVEL = 1000
_MAX_PERIODS = 1024


def capabilities_for(strict_start: bool) -> Capabilities:
    """What the CSMS checks before sending, not knowing a station's real limits: shape rules
    only (stack level and period counts generous; the station refuses beyond its own
    ChargeProfileMaxStackLevel / PeriodsPerSchedule). ``strict_start`` is 2.x K01.FR.40/41."""
    return Capabilities(
        max_stack_level=_MAX_STACK_LEVEL,
        max_periods=_MAX_PERIODS,
        strict_start=strict_start,
        phase_switching=True,
    )


@dataclass(frozen=True, slots=True)
class StoredProfile:
    """A profile a station holds: the domain view, the OCPP payload as sent or reported (for
    resending), who set it (2.x chargingLimitSource, ``CSO`` for the CSMS) and the report that
    last confirmed it (``report_id``, None when set through SetChargingProfile)."""

    station_id: str
    profile: ChargingProfile
    payload: dict[str, Any]
    ocpp_version: str
    updated_at: datetime
    source: str = "CSO"
    report_id: int | None = None


class ProfileRefusedError(ValueError):
    """A profile the CSMS does not send: the message says why (the API answers 400)."""


class ChargingProfileService:
    """Checks profiles, keeps the per-station record, computes the composite preview."""

    def __init__(
        self, store: Storage, clock: Clock, external: ExternalProfiles | None = None
    ) -> None:
        self._store = store
        self._clock = clock
        self.external = external
        """Where :meth:`composite` finds the external limits (set by the node once the EV
        charging service exists)."""
        self._full_reports: set[tuple[str, int]] = set()
        # Seeded from the clock so ids do not repeat across restarts (a report of an earlier
        # request must not pass for the answer to a new one).
        self._request_ids = itertools.count(int(clock.now().timestamp()) % 2**30)

    async def held(self, station_id: str) -> list[StoredProfile]:
        """The profiles the station holds as recorded, by profile id."""
        return await self._store.charging_profiles.list(station_id)

    async def check(self, station_id: str, profile: ChargingProfile, strict_start: bool) -> None:
        """Raise :class:`ProfileRefusedError` unless ``profile`` may be sent.

        Refused: a bad shape (:func:`check_profile`), ChargingStationExternalConstraints (set by
        an external system, read-only for the CSMS, K01.FR.22), a TxProfile not on an EVSE
        (1.6 §3.13.1, K01.FR.16) or, in 2.x, without transactionId (K01.FR.03), and a profile
        in the slot (purpose, stack level, EVSE) of another recorded profile whose validity
        overlaps (K01.FR.06; 1.6 §3.13.2 would silently replace it, which the CSMS refuses to
        do behind the operator's back).
        """
        problem = check_profile(profile, capabilities_for(strict_start))
        if problem is not None:
            raise ProfileRefusedError(f"{problem.reason}: {problem.detail}")
        if profile.purpose is ProfilePurpose.EXTERNAL_CONSTRAINTS:
            raise ProfileRefusedError(
                "ChargingStationExternalConstraints profiles are read-only for the CSMS"
            )
        if profile.purpose is ProfilePurpose.TX:
            if profile.evse == 0:
                raise ProfileRefusedError("a TxProfile applies to an EVSE, not to evse_id 0")
            if strict_start and profile.transaction_id is None:
                raise ProfileRefusedError("a TxProfile needs the transactionId it applies to")
        for other in await self.held(station_id):
            held = other.profile
            if held.id != profile.id and same_slot(held, profile) and overlapping(held, profile):
                raise ProfileRefusedError(
                    f"conflicts with profile {held.id} (same purpose, stackLevel "
                    f"{held.stack_level} and evse {held.evse}, overlapping validity)"
                )

    async def accepted(
        self, station_id: str, version: str, profile: ChargingProfile, payload: dict[str, Any]
    ) -> StoredProfile:
        """Record a profile the station accepted; it replaces the one with its id (K01.FR.05,
        1.6 §3.13.2) and, in 1.6, any other in its slot whatever its validity (§3.13.2)."""
        if version == "1.6":
            replaced = [
                s.profile.id
                for s in await self.held(station_id)
                if s.profile.id != profile.id and same_slot(s.profile, profile)
            ]
            await self._store.charging_profiles.delete(station_id, replaced)
        stored = StoredProfile(station_id, profile, payload, version, self._clock.now())
        await self._store.charging_profiles.save(stored)
        return stored

    async def forget(self, station_id: str, profile_ids: list[int]) -> None:
        """Drop profiles the station turned out not to hold (a refused 1.6 restore)."""
        await self._store.charging_profiles.delete(station_id, profile_ids)

    async def restore_16(
        self,
        station_id: str,
        call: StationCall,
        skip: Callable[[ChargingProfile], bool] = lambda _profile: False,
    ) -> list[tuple[int, str]]:
        """Send a 1.6 station each recorded profile again (TxProfiles and ``skip`` ones
        excepted; expired ones leave the record); those it refuses leave the record. Returns
        (profile id, answer) pairs."""
        now = self._clock.now()
        results: list[tuple[int, str]] = []
        for stored in await self.held(station_id):
            profile = stored.profile
            if profile.purpose is ProfilePurpose.TX or skip(profile):
                continue
            if profile.valid_to is not None and profile.valid_to <= now:
                await self.forget(station_id, [profile.id])
                results.append((profile.id, "Expired"))
                continue
            results.append((profile.id, await _restore_one(self, station_id, call, stored)))
        return results

    async def cleared(self, station_id: str, criteria: Criteria) -> list[int]:
        """Remove what an accepted ClearChargingProfile with ``criteria`` removed on the station
        (1.6 §5.5 errata 3.25/3.26, K10.FR.02/03: every given criterion must match); the ids."""
        gone = [s.profile.id for s in await self.held(station_id) if criteria.matches(s.profile)]
        await self._store.charging_profiles.delete(station_id, gone)
        return gone

    def expect_full_report(self, station_id: str, request_id: int) -> None:
        """The next report of ``request_id`` answers an unfiltered GetChargingProfiles: once
        complete it replaces the record (K09)."""
        self._full_reports.add((station_id, request_id))

    def full_report_request(self, station_id: str) -> tuple[int, dict[str, Any]]:
        """A new unfiltered GetChargingProfiles (K09: ``chargingProfile`` with no criteria):
        its requestId and payload; the report it brings replaces the record."""
        request_id = next(self._request_ids)
        self.expect_full_report(station_id, request_id)
        return request_id, {"requestId": request_id, "chargingProfile": {}}

    async def full_report_answered(
        self, station_id: str, request_id: int, response: dict[str, Any] | None
    ) -> None:
        """The station's answer to :meth:`full_report_request`: NoProfiles empties the record
        (K09.FR.02: no ReportChargingProfiles follows); Accepted waits for the reports."""
        if response is not None and response.get("status") == "NoProfiles":
            await self.no_profiles(station_id, request_id)

    async def reconcile(self, station_id: str, call: StationCall) -> dict[str, Any]:
        """Send an unfiltered GetChargingProfiles through ``call`` (K09) so the record is
        replaced by what the station reports; the station's answer."""
        request_id, payload = self.full_report_request(station_id)
        response = await call("GetChargingProfiles", payload)
        await self.full_report_answered(station_id, request_id, response)
        return response

    async def no_profiles(self, station_id: str, request_id: int) -> None:
        """An unfiltered GetChargingProfiles answered NoProfiles: the station holds none."""
        if (station_id, request_id) in self._full_reports:
            self._full_reports.discard((station_id, request_id))
            await self._store.charging_profiles.replace(station_id, request_id, ())

    async def reported(
        self, station_id: str, request_id: int, items: Iterable[StoredProfile], last: bool
    ) -> None:
        """Store one ReportChargingProfiles (K09) durably; when it is the last part (``tbc``
        false) of an unfiltered request, drop every recorded profile it did not report."""
        items = list(items)
        if last and (station_id, request_id) in self._full_reports:
            self._full_reports.discard((station_id, request_id))
            await self._store.charging_profiles.replace(station_id, request_id, items)
        else:
            await self._store.charging_profiles.save(*items)

    async def composite(
        self,
        station_id: str,
        evse: int,
        duration: int,
        unit: RateUnit,
        start: datetime | None = None,
    ) -> CompositeSchedule:
        """The composite schedule of ``evse`` (0: station) over ``duration`` seconds from
        ``start`` (default now, whole seconds) from the recorded profiles, by the station's
        rules (1.6 §3.13.4, 2.0.1 K08). The transactions the CSMS knows to be running are
        used (a TxProfile applies to its transaction, a Relative profile counts from its
        start); EVSE ratings are not known: periods no profile limits have no limit.

        External limits the station reported (K12 NotifyChargingLimit, in force until K13
        ClearedChargingLimit) limit it too, as in the station's own composite (K08): each is a
        ChargingStationExternalConstraints profile, and the result is the period-by-period
        minimum over them (several sources all apply at once), next to any
        ChargingStationExternalConstraints profiles the station reported (K09)."""
        begin = (start or self._clock.now()).replace(microsecond=0)
        profiles = [s.profile for s in await self.held(station_id)]
        external = list(await self.external(station_id)) if self.external is not None else []
        running = {
            number: EvseState(transaction_id=tx.transaction_id, transaction_start=tx.started_at)
            for tx in await self._store.transactions.open_for_station(station_id)
            if (number := tx.evse_id or tx.connector_id)
        }
        evses = {p.evse for p in [*profiles, *external] if p.evse > 0}
        evses |= ({evse} if evse > 0 else set()) | set(running)
        state = StationState({e: running.get(e, EvseState()) for e in sorted(evses) or [1]})
        base = composite_schedule(profiles, state, evse, begin, duration, unit)
        # One composite per external limit: placed above the station's own external-constraint
        # profiles it shadows them, which the minimum with ``base`` puts back.
        each = [
            composite_schedule([*profiles, x], state, evse, begin, duration, unit) for x in external
        ]
        return lowest_of(base, *each)

    # ------------------------------------------------ TxProfiles end with their transaction

    @staticmethod
    def ended_transactions(event: FleetEvent) -> bool:
        """The events :meth:`forget_tx_profiles` needs: a transaction was closed."""
        return isinstance(event, TransactionChanged) and not event.transaction.open

    async def transaction_ended(self, tx: Transaction) -> list[int]:
        """Drop the TxProfiles of the closed transaction ``tx`` from the record; the ids.

        A TxProfile applies to its transaction only: 1.6 §3.13.1 ("After the transaction is
        stopped, the profile SHOULD be deleted") and 2.0.1 K01 (TxProfile: "for the duration of
        the current transaction only"), so the station no longer holds it and neither may the
        record. Matched by transactionId (always set in 2.x, K01.FR.03, and in a 1.6
        SetChargingProfile); a 1.6 TxProfile set without one (e.g. in RemoteStartTransaction)
        belongs to whatever transaction ran on its connector.
        """
        evse = tx.evse_id or tx.connector_id
        gone = [
            s.profile.id
            for s in await self.held(tx.station_id)
            if s.profile.purpose is ProfilePurpose.TX
            and (
                s.profile.transaction_id == tx.transaction_id
                or (s.profile.transaction_id is None and evse and s.profile.evse == evse)
            )
        ]
        await self._store.charging_profiles.delete(tx.station_id, gone)
        return gone

    async def forget_tx_profiles(self, subscription: Subscription) -> None:
        """The worker (owned by the node's TaskGroup) applying :meth:`transaction_ended` to every
        closed transaction of ``subscription`` (subscribed with :meth:`ended_transactions`)."""
        try:
            async for event in subscription:
                if not isinstance(event, TransactionChanged):
                    continue
                try:
                    gone = await self.transaction_ended(event.transaction)
                except OpenCsmsError as exc:  # the store is down: the next report reconciles
                    log.warning(
                        "station %s: TxProfiles of transaction %s not forgotten: %s",
                        event.transaction.station_id,
                        event.transaction.transaction_id,
                        exc,
                    )
                    continue
                if gone:
                    log.info(
                        "station %s: transaction %s ended, TxProfiles %s forgotten",
                        event.transaction.station_id,
                        event.transaction.transaction_id,
                        gone,
                    )
        finally:
            subscription.close()


async def _restore_one(
    service: ChargingProfileService, station_id: str, call: StationCall, stored: StoredProfile
) -> str:
    answer = await call(
        "SetChargingProfile",
        {"connectorId": stored.profile.evse, "csChargingProfiles": stored.payload},
    )
    status = str(answer.get("status"))
    if status != "Accepted":
        await service.forget(station_id, [stored.profile.id])
    return status


class ProfileReconciler:
    """Reconciles the record with each 2.0.1 / 2.1 station automatically (K09,
    docs/charging-profiles.md): after an Accepted BootNotification, and after a reconnection
    without a boot (``debounce`` seconds after the connection, once per connection). The node
    runs :meth:`run` in its TaskGroup when ``charging_profile_reconcile_on_boot`` is set.
    1.6 has no GetChargingProfiles: the same moments re-send the recorded profiles instead
    (:meth:`_restore_16`); the load manager re-sends its own."""

    def __init__(
        self,
        service: ChargingProfileService,
        call_for: ReconcileCall,
        debounce: float = 2.0,
        *,
        call_16: ReconcileCall | None = None,
        restore_skips: Callable[[ChargingProfile], bool] = lambda _profile: False,
    ) -> None:
        self._service = service
        self._call_for = call_for
        self._call_16 = call_16
        self._restore_skips = restore_skips
        self._debounce = debounce
        self._due: dict[str, float] = {}
        """Station → when its reconnection is reconciled, unless it boots first."""
        self.done: deque[tuple[str, str]] = deque(maxlen=1000)
        """The latest (station, status of the GetChargingProfiles answer or the failure),
        oldest first (for operators' debugging and the tests)."""

    @staticmethod
    def accepts(event: FleetEvent) -> bool:
        """The events the reconciler needs: connections and accepted boots."""
        return isinstance(event, StationConnected) or (
            isinstance(event, BootReported) and event.status == "Accepted"
        )

    async def run(self, subscription: Subscription) -> None:
        """Read ``subscription`` (subscribed with :meth:`accepts`); each reconciliation runs in
        its own task of this worker's TaskGroup so a silent station delays no other."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.TaskGroup() as tasks:
                while True:
                    now = loop.time()
                    for station_id, due in list(self._due.items()):
                        if due <= now:
                            del self._due[station_id]
                            tasks.create_task(self._reconcile(station_id))
                    wait = min(self._due.values(), default=now + 3600.0) - now
                    try:
                        async with asyncio.timeout(max(wait, 0.0)):
                            event = await subscription.get()
                    except TimeoutError:
                        continue
                    if isinstance(event, StationConnected):
                        self._due[event.station_id] = loop.time() + self._debounce
                    elif isinstance(event, BootReported):
                        self._due.pop(event.station_id, None)  # the boot reconciles
                        tasks.create_task(self._reconcile(event.station_id))
        finally:
            subscription.close()

    async def _reconcile(self, station_id: str) -> None:
        call = self._call_for(station_id)
        if call is None:
            call_16 = self._call_16(station_id) if self._call_16 is not None else None
            if call_16 is not None:
                await self._restore_16(station_id, call_16)
            return  # 1.6 done, or gone again
        try:
            answer = await self._service.reconcile(station_id, call)
            status = str(answer.get("status"))
        except OpenCsmsError as exc:  # offline, timeout, store down: the next boot retries
            log.warning("station %s: charging profiles not reconciled: %s", station_id, exc)
            status = f"failed: {exc}"
        self.done.append((station_id, status))

    async def _restore_16(self, station_id: str, call: StationCall) -> None:
        """1.6 has no GetChargingProfiles: after a boot or reconnection, send the station every
        recorded profile again (its own id replaces itself, §3.13.2), so it holds what the record
        says even if it lost profiles in a reboot; one it refuses leaves the record. TxProfiles
        ended with their transaction; ``restore_skips`` names profiles another worker restores
        itself (the load manager's TxDefault)."""
        try:
            statuses = await self._service.restore_16(station_id, call, self._restore_skips)
            status = ", ".join(f"{pid}:{answer}" for pid, answer in statuses) or "nothing held"
        except OpenCsmsError as exc:
            log.warning("station %s: charging profiles not restored: %s", station_id, exc)
            status = f"failed: {exc}"
        self.done.append((station_id, status))

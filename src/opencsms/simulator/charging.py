"""Smart charging on a simulated station: installed charging profiles and the limit they set.

Answers SetChargingProfile / ClearChargingProfile / GetCompositeSchedule (1.6 §5.5, §5.7, §5.16;
2.0.1 K01, K08, K10) and GetChargingProfiles (K09), translating payloads to the version-neutral
:mod:`opencsms.smartcharging` model. The station's EVSEs follow the composite limit: every change
re-applies it, a background task re-applies it at each period boundary (on the station's clock),
and the session code applies it before every meter sample. A station-wide limit is shared
between EVSEs charging at the same time (1.6 §3.13.3).

Capabilities are real configuration: 1.6 ChargeProfileMaxStackLevel,
ChargingScheduleAllowedChargingRateUnit, ChargingScheduleMaxPeriods, MaxChargingProfilesInstalled
(§9.4); 2.x SmartChargingCtrlr.Enabled, ProfileStackLevel, RateUnit, PeriodsPerSchedule and
Entries (its maximum is :attr:`ChargingProfiles.max_installed`, the device model has no maxLimit).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from opencsms.clock import utc_iso
from opencsms.errors import CallErrorResponse, CallFailedError, PropertyConstraintViolationError
from opencsms.handlers.charging_profiles import (
    PURPOSES_2,
    PURPOSES_16,
    profile_from_2,
    profile_from_16,
)
from opencsms.simulator.config_keys import ConfigKey, Variable
from opencsms.simulator.connection import HandlerFn, Payload, Reply
from opencsms.smartcharging import (
    Capabilities,
    ChargingProfile,
    CompositeSchedule,
    Criteria,
    EvseRating,
    EvseState,
    ProfileKind,
    ProfilePurpose,
    RateUnit,
    Rejection,
    StationState,
    check_profile,
    composite_schedule,
    limit_at,
    next_change,
    share_power,
    station_budget,
)
from opencsms.smartcharging.rules import overlapping, same_slot

if TYPE_CHECKING:
    from opencsms.simulator.station import SimulatedStation

__all__ = ["ROUTES_2", "ROUTES_16", "ChargingProfiles", "InstalledProfile", "ReportOutcome"]

P = ProfilePurpose
_UNITS_16 = {"Current": RateUnit.A, "Power": RateUnit.W}

MAX_STACK_LEVEL = 8
MAX_PERIODS = 24
MAX_PROFILES = 16


@dataclass(frozen=True, slots=True)
class InstalledProfile:
    """A profile as installed: the domain view, and the payload as received (reported back by
    GetChargingProfiles, K09) with its chargingLimitSource."""

    profile: ChargingProfile
    payload: Payload
    source: str = "CSO"


@dataclass(frozen=True, slots=True)
class TxRejection:
    """A TxProfile refused because its transaction is not running on the EVSE (``TxNotFound``).
    ``ended``: the station had already ended that transaction (a CSMS cannot avoid sending into
    a stop it has not heard of yet); otherwise the station did not know it yet."""

    evse: int
    transaction_id: str | None
    ended: bool


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    """One ReportChargingProfiles sent: the payload and how the CSMS answered (``error`` is the
    CALLERROR code or the failure's name; ``None`` when it was acknowledged)."""

    payload: Payload
    error: str | None


class ChargingProfiles:
    """The charging profiles installed on one station, and the limit they set on its EVSEs."""

    def __init__(self, station: SimulatedStation) -> None:
        self.station = station
        self.installed: list[InstalledProfile] = []
        """Installed profiles, oldest first (a later one wins a tie in the composite)."""
        self.reports: list[ReportOutcome] = []
        """Every ReportChargingProfiles sent, in order."""
        self.tx_rejections: list[TxRejection] = []
        """Every TxProfile refused for its transaction (tests check none raced a start)."""
        self.max_installed = MAX_PROFILES
        """2.x: how many profiles fit (SmartChargingCtrlr.Entries maxLimit)."""
        self._tx_start: dict[int, datetime] = {}
        self._pending: dict[int, InstalledProfile] = {}
        self._wake = asyncio.Event()
        self._following = False
        self._register_settings()

    # ------------------------------------------------------------------ configuration

    def _register_settings(self) -> None:
        keys, model = self.station.keys, self.station.device_model
        if keys is not None:  # 1.6 §3.13.5 / §9.4: required, read-only
            keys.add("ChargeProfileMaxStackLevel", ConfigKey(str(MAX_STACK_LEVEL), readonly=True))
            keys.add("ChargingScheduleAllowedChargingRateUnit", ConfigKey("Current,Power", True))
            keys.add("ChargingScheduleMaxPeriods", ConfigKey(str(MAX_PERIODS), readonly=True))
            keys.add("MaxChargingProfilesInstalled", ConfigKey(str(MAX_PROFILES), readonly=True))
            keys.add_profile("SmartCharging")
        if model is not None:  # 2.0.1 part 2 appendix 3.1.16; required ones per part 6
            variables = {
                "Enabled": Variable("true", "ReadWrite", lambda v: v in ("true", "false")),
                "Available": Variable("true", "ReadOnly"),
                "ProfileStackLevel": Variable(str(MAX_STACK_LEVEL), "ReadOnly"),
                "RateUnit": Variable("A,W", "ReadOnly"),
                "PeriodsPerSchedule": Variable(str(MAX_PERIODS), "ReadOnly"),
                "Entries": Variable("0", "ReadOnly"),
                "LimitChangeSignificance": Variable("5", "ReadWrite", _is_number),
                "ACPhaseSwitchingSupported": Variable("false", "ReadOnly"),
            }
            for name, variable in variables.items():
                model.add("SmartChargingCtrlr", name, variable)

    def capabilities(self) -> Capabilities:
        """What SetChargingProfile accepts, read from the configuration in force."""
        keys, model = self.station.keys, self.station.device_model
        if keys is not None:
            units = keys.get("ChargingScheduleAllowedChargingRateUnit").split(",")
            return Capabilities(
                max_stack_level=int(keys.get("ChargeProfileMaxStackLevel")),
                max_periods=int(keys.get("ChargingScheduleMaxPeriods")),
                rate_units=[_UNITS_16[u.strip()] for u in units if u.strip() in _UNITS_16],
                strict_start=False,
            )
        assert model is not None
        units = model.get("SmartChargingCtrlr", "RateUnit").split(",")
        return Capabilities(
            max_stack_level=int(model.get("SmartChargingCtrlr", "ProfileStackLevel")),
            max_periods=int(model.get("SmartChargingCtrlr", "PeriodsPerSchedule")),
            rate_units=[RateUnit(u.strip()) for u in units if u.strip() in ("A", "W")],
            phase_switching=model.get("SmartChargingCtrlr", "ACPhaseSwitchingSupported") == "true",
        )

    def _capacity(self) -> int:
        keys = self.station.keys
        return int(keys.get("MaxChargingProfilesInstalled")) if keys else self.max_installed

    @property
    def profiles(self) -> list[ChargingProfile]:
        """The installed profiles in installation order."""
        return [item.profile for item in self.installed]

    # ------------------------------------------------------------------ installing

    def install_16(self, profile: ChargingProfile, payload: Payload) -> Rejection | None:
        """1.6 §5.16: install ``profile`` or say why not (1.6 answers any refusal Rejected)."""
        if profile.purpose is P.STATION_MAX and profile.evse != 0:
            return Rejection("InvalidValue", "ChargePointMaxProfile only on connector 0")
        if profile.purpose is P.TX:
            # §3.13.1: only on a connector > 0 with a transaction, never in advance (§5.16.4).
            active = self._transaction(profile.evse)
            if active is None:
                return self._tx_not_found(profile, "no transaction on this connector")
            if profile.transaction_id not in (None, active):  # §5.16 note: no mismatch
                return self._tx_not_found(profile, "transactionId is not the running transaction")
            profile = dataclasses.replace(profile, transaction_id=active)
        problem = check_profile(profile, self.capabilities())
        if problem is not None:
            return problem
        # §3.13.2, §5.16.3: the same id, or the same stackLevel and purpose, is replaced.
        kept = [i for i in self.installed if i.profile.id != profile.id]
        kept = [i for i in kept if not same_slot(i.profile, profile)]
        return self._store(kept, InstalledProfile(profile, payload))

    def install_2(self, profile: ChargingProfile, payload: Payload) -> Rejection | None:
        """2.0.1 K01: install ``profile`` or say why not (reasonCode from part 2 appendix 5)."""
        evse = profile.evse
        if profile.purpose is P.TX:
            problem = self._check_tx_2(profile)
            if problem is not None:
                return problem
        if profile.purpose is P.STATION_MAX:
            if evse != 0:  # SetChargingProfileRequest.evseId: station-wide limits on EVSE 0
                return Rejection("InvalidValue", "ChargingStationMaxProfile only on EVSE 0")
            if profile.kind is ProfileKind.RELATIVE:  # K01.FR.38
                return Rejection("InvalidValue", "ChargingStationMaxProfile cannot be Relative")
        problem = check_profile(profile, self.capabilities())
        if problem is not None:
            return problem
        kept = [i for i in self.installed if i.profile.id != profile.id]  # K01.FR.05: replaced
        for other in (i.profile for i in kept):
            if same_slot(other, profile):
                if profile.purpose is P.TX:  # K01.FR.39: one profile per stack level
                    return Rejection("InvalidStackLevel", "the transaction has that stackLevel")
                if overlapping(other, profile):  # K01.FR.06
                    return Rejection("DuplicateProfile", f"profile {other.id} overlaps")
            if (
                profile.purpose is P.TX_DEFAULT
                and other.purpose is P.TX_DEFAULT
                and profile.stack_level == other.stack_level
                and 0 in (profile.evse, other.evse)
                and profile.evse != other.evse
            ):  # K01.FR.52/53: station-wide and EVSE TxDefault on one stack level
                return Rejection("DuplicateProfile", f"TxDefaultProfile {other.id} shares it")
        return self._store(kept, InstalledProfile(profile, payload))

    def _check_tx_2(self, profile: ChargingProfile) -> Rejection | None:
        """A TxProfile belongs to the transaction running on its EVSE."""
        if profile.evse == 0:  # K01.FR.16
            return Rejection("InvalidValue", "a TxProfile needs an EVSE > 0")
        if profile.transaction_id is None:  # K01.FR.03
            return Rejection("MissingParam", "a TxProfile needs a transactionId")
        if profile.transaction_id != self._transaction(profile.evse):  # K01.FR.09
            return self._tx_not_found(profile, "no such transaction on this EVSE")
        return None

    def _tx_not_found(self, profile: ChargingProfile, detail: str) -> Rejection:
        ended = any(
            tx.stopped and tx.id is not None and tx.id == profile.transaction_id
            for tx in self.station.sessions.history
        )
        self.tx_rejections.append(TxRejection(profile.evse, profile.transaction_id, ended))
        return Rejection("TxNotFound", detail)

    def _store(self, kept: list[InstalledProfile], new: InstalledProfile) -> Rejection | None:
        if len(kept) >= self._capacity():  # 1.6 MaxChargingProfilesInstalled / Entries
            return Rejection("OutOfStorage", f"at most {self._capacity()} profiles")
        self.installed = [*kept, new]
        self._changed()
        return None

    def remove(self, criteria: Criteria) -> list[ChargingProfile]:
        """Remove the installed profiles ``criteria`` selects; returns them."""
        gone = [i for i in self.installed if criteria.matches(i.profile, i.source)]
        if gone:
            self.installed = [i for i in self.installed if i not in gone]
            self._changed()
        return [i.profile for i in gone]

    def remote_start_profile(self, evse: int, payload: Payload) -> bool:
        """Keep the chargingProfile of a RemoteStartTransaction / RequestStartTransaction for
        the transaction about to start on ``evse``; it binds to it in
        :meth:`on_transaction_started` (1.6 §5.16.2, K05). False when it is not a usable
        TxProfile (it must be one, without transactionId: 1.6 errata 3.41)."""
        v16 = self.station.keys is not None
        profile = profile_from_16(evse, payload) if v16 else profile_from_2(evse, payload)
        if profile.purpose is not P.TX or check_profile(profile, self.capabilities()):
            return False
        self._pending[evse] = InstalledProfile(profile, payload)
        return True

    def _changed(self) -> None:
        model = self.station.device_model
        if model is not None:
            model.set("SmartChargingCtrlr", "Entries", str(len(self.installed)))
        self.apply()

    # ------------------------------------------------------------------ transactions

    def on_transaction_started(self, evse: int, transaction_id: str) -> None:
        """A transaction started on ``evse``: relative profiles count from now, and the
        RemoteStart TxProfile binds to it (1.6 §5.16.2 errata 3.42)."""
        self._tx_start[evse] = self.station.clock.now()
        pending = self._pending.pop(evse, None)
        if pending is not None:
            bound = dataclasses.replace(pending.profile, transaction_id=transaction_id)
            kept = [i for i in self.installed if not same_slot(i.profile, bound)]
            self.installed = [*kept, InstalledProfile(bound, pending.payload)]
            self._changed()
        else:
            self.apply()

    def on_transaction_ended(self, evse: int, transaction_id: str) -> None:
        """The transaction ended: its TxProfiles are removed (1.6 §3.13.1, §7.10: a TxProfile
        "SHALL cease to be valid when the transaction terminates")."""
        self._tx_start.pop(evse, None)
        self._pending.pop(evse, None)
        # One transaction per EVSE: every TxProfile there belonged to this one (1.6 ids may
        # still be unknown when a transaction ends offline).
        gone = [i for i in self.installed if i.profile.purpose is P.TX and i.profile.evse == evse]
        self.installed = [i for i in self.installed if i not in gone]
        self._changed()

    def _transaction(self, evse: int) -> str | None:
        if not 1 <= evse <= self.station.evse_count:
            return None
        return self.station.sessions.transaction_id(evse)

    # ------------------------------------------------------------------ limits

    def state(self) -> StationState:
        """The station as the composite schedule sees it: ratings and running transactions."""
        evses = {}
        for number, evse in enumerate(self.station.config.evses, start=1):
            tx = self._transaction(number)
            start = self._tx_start.get(number) if tx is not None else None
            rating = EvseRating(evse.max_power_w, evse.phases, evse.voltage_v)
            evses[number] = EvseState(rating, tx, start)
        supply = self.station.config.evses
        return StationState(
            evses, voltage_v=supply[0].voltage_v, phases=max(e.phases for e in supply)
        )

    def composite(self, evse: int, duration: int, unit: RateUnit) -> CompositeSchedule:
        """The composite schedule of ``evse`` from now (whole seconds) for ``duration``."""
        start = self.station.clock.now().replace(microsecond=0)
        return composite_schedule(self.profiles, self.state(), evse, start, duration, unit)

    def apply(self) -> None:
        """Set every EVSE's power limit from the profiles in force now (station clock)."""
        self._apply_limits()
        self._wake.set()  # the follower looks for the next boundary again
        self._follow()

    def _apply_limits(self) -> None:
        station, profiles, state = self.station, self.profiles, self.state()
        now = station.clock.now()
        numbers = range(1, station.evse_count + 1)
        caps = [limit_at(profiles, state, n, now).watts for n in numbers]
        limits = share_power(
            station_budget(profiles, state, now), caps, [self._demand(n) for n in numbers]
        )
        for number, limit in zip(numbers, limits, strict=True):
            rated = station.config.evses[number - 1].max_power_w
            station.set_power_limit(number, rated if limit is None else limit)

    def _demand(self, evse: int) -> float:
        """What the EV on ``evse`` would draw without a limit (0 when idle)."""
        meter = self.station.meter(evse)
        if meter.ev is None or not meter.enabled:
            return 0.0
        return min(meter.config.max_power_w, meter.ev.accepted_power())

    def _follow(self) -> None:
        """Start the task that re-applies the limits at period boundaries, once."""
        if self._following:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a station used outside asyncio has nothing to schedule
            return
        self._following = True
        self.station.spawn_background(self._follow_schedule)

    async def _follow_schedule(self) -> None:
        try:
            while True:
                self._wake.clear()
                now = self.station.clock.now()
                upcoming = next_change(self.profiles, self.state(), now)
                delay = None if upcoming is None else (upcoming - now).total_seconds()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
                    continue  # profiles or transactions changed: look again
                self._apply_limits()
                await self.station.notify_changed()
        finally:
            self._following = False

    # ------------------------------------------------------------------ reports

    async def send_reports(self, reports: list[Payload]) -> None:
        """K09: send ReportChargingProfiles one after the other, recording each outcome."""
        for payload in reports:
            error: str | None = None
            try:
                await self.station.call("ReportChargingProfiles", payload)
            except CallErrorResponse as exc:
                error = exc.error_code
            except CallFailedError as exc:
                error = type(exc).__name__
            self.reports.append(ReportOutcome(payload, error))
            await self.station.notify_changed()


# ---------------------------------------------------------------------- payload translation


def _periods_out(schedule: CompositeSchedule) -> list[Payload]:
    periods = []
    for period in schedule.periods:
        assert period.limit is not None, "the simulator's EVSEs are always rated"
        item: Payload = {"startPeriod": period.start_period, "limit": period.limit}
        if period.number_phases is not None:
            item["numberPhases"] = period.number_phases
        periods.append(item)
    return periods


def _rate_unit(charging: ChargingProfiles, requested: str | None) -> RateUnit | None:
    """The unit to report in: the requested one if supported, else the first supported."""
    supported = list(charging.capabilities().rate_units)
    if requested is None:
        return supported[0] if supported else None
    unit = RateUnit(requested)
    return unit if unit in supported else None


def _status(rejection: Rejection | None) -> Payload:
    if rejection is None:
        return {"status": "Accepted"}
    return {"status": "Rejected", "statusInfo": _info(rejection)}


def _info(rejection: Rejection) -> Payload:
    return {"reasonCode": rejection.reason, "additionalInfo": rejection.detail[:512]}


# ---------------------------------------------------------------------- 1.6 handlers


def set_charging_profile_16(station: SimulatedStation, payload: Payload) -> Reply:
    """1.6 §5.16: Accepted, or Rejected (shape, purpose/connector, no transaction, limits)."""
    connector = payload["connectorId"]
    if not 0 <= connector <= station.evse_count:
        # 1.6 errata 3.39: an invalid connectorId is a PropertyConstraintViolation.
        return Reply(error=PropertyConstraintViolationError("connectorId is not known"))
    raw = payload["csChargingProfiles"]
    refused = station.charging.install_16(profile_from_16(connector, raw), raw)
    return Reply({"status": "Accepted" if refused is None else "Rejected"})


def clear_charging_profile_16(station: SimulatedStation, payload: Payload) -> Reply:
    """1.6 §5.5 (errata 3.25/3.26): by id (other fields ignored) or by all given criteria;
    Unknown when nothing matched."""
    if "id" in payload:
        criteria = Criteria(ids=frozenset([payload["id"]]))
    else:
        purpose = payload.get("chargingProfilePurpose")
        criteria = Criteria(
            evse=payload.get("connectorId"),
            purpose=PURPOSES_16[purpose] if purpose else None,
            stack_level=payload.get("stackLevel"),
        )
    gone = station.charging.remove(criteria)
    return Reply({"status": "Accepted" if gone else "Unknown"})


def get_composite_schedule_16(station: SimulatedStation, payload: Payload) -> Reply:
    """1.6 §5.7: the schedule from now for ``duration``; Rejected for an unknown connector or
    an unsupported unit. Connector 0 is the expected consumption of the whole charge point."""
    connector, duration = payload["connectorId"], payload["duration"]
    unit = _rate_unit(station.charging, payload.get("chargingRateUnit"))
    if not 0 <= connector <= station.evse_count or unit is None or duration < 0:
        return Reply({"status": "Rejected"})
    schedule = station.charging.composite(connector, duration, unit)
    return Reply(
        {
            "status": "Accepted",
            "connectorId": connector,
            "scheduleStart": utc_iso(schedule.start),
            "chargingSchedule": {  # errata 3.57: no startSchedule in a composite schedule
                "duration": schedule.duration,
                "chargingRateUnit": unit.value,
                "chargingSchedulePeriod": _periods_out(schedule),
            },
        }
    )


# ---------------------------------------------------------------------- 2.0.1 / 2.1 handlers


def set_charging_profile_2(station: SimulatedStation, payload: Payload) -> Reply:
    """2.0.1 K01: Accepted, or Rejected with a reasonCode (see :meth:`install_2`)."""
    evse, raw = payload["evseId"], payload["chargingProfile"]
    model = station.device_model
    assert model is not None
    if model.get("SmartChargingCtrlr", "Enabled") != "true":
        return Reply(_status(Rejection("NotEnabled", "SmartChargingCtrlr.Enabled is false")))
    if not 0 <= evse <= station.evse_count:  # K01.FR.28
        return Reply(_status(Rejection("UnknownEvse", "no such EVSE")))
    purpose = raw["chargingProfilePurpose"]
    if purpose == "ChargingStationExternalConstraints":  # K01.FR.22
        return Reply(_status(Rejection("InvalidValue", "external constraints are not set here")))
    if PURPOSES_2[purpose] in (P.PRIORITY_CHARGING, P.LOCAL_GENERATION):  # 2.1 K01.FR.120
        return Reply(_status(Rejection("UnsupportedPurpose", f"{purpose} is not supported")))
    if raw["chargingProfileKind"] not in {k.value for k in ProfileKind}:  # 2.1 K01.FR.121
        return Reply(_status(Rejection("UnsupportedKind", "dynamic profiles are not supported")))
    profile = profile_from_2(evse, raw)
    refused = station.charging.install_2(profile, raw)
    after = None if refused is not None else station.iso15118.profile_accepted(profile)
    return Reply(_status(refused), after=after)


def clear_charging_profile_2(station: SimulatedStation, payload: Payload) -> Reply:
    """2.0.1 K10: by chargingProfileId (criteria then ignored) or by all given criteria; evseId
    0 selects the station-wide profiles; Unknown when nothing matched."""
    if "chargingProfileId" in payload:
        criteria = Criteria(ids=frozenset([payload["chargingProfileId"]]))
    else:
        given = payload.get("chargingProfileCriteria", {})
        purpose = given.get("chargingProfilePurpose")
        criteria = Criteria(
            evse=given.get("evseId"),
            purpose=PURPOSES_2[purpose] if purpose else None,
            stack_level=given.get("stackLevel"),
        )
    gone = station.charging.remove(criteria)
    return Reply({"status": "Accepted" if gone else "Unknown"})


def get_composite_schedule_2(station: SimulatedStation, payload: Payload) -> Reply:
    """2.0.1 K08: the schedule from now for ``duration``; Rejected for an unknown EVSE or an
    unsupported unit. EVSE 0 is the expected consumption of the whole station."""
    evse, duration = payload["evseId"], payload["duration"]
    unit = _rate_unit(station.charging, payload.get("chargingRateUnit"))
    if not 0 <= evse <= station.evse_count:
        return Reply(_status(Rejection("UnknownEvse", "no such EVSE")))
    if unit is None:
        return Reply(_status(Rejection("UnsupportedRateUnit", "unit not supported")))
    if duration < 0:
        return Reply(_status(Rejection("InvalidValue", "duration must not be negative")))
    schedule = station.charging.composite(evse, duration, unit)
    composite: Payload = {
        "evseId": evse,
        "duration": schedule.duration,
        "scheduleStart": utc_iso(schedule.start),
        "chargingRateUnit": unit.value,
        "chargingSchedulePeriod": _periods_out(schedule),
    }
    return Reply({"status": "Accepted", "schedule": composite})


def get_charging_profiles_2(station: SimulatedStation, payload: Payload) -> Reply:
    """2.0.1 K09: Accepted and then ReportChargingProfiles per EVSE (``tbc`` on all but the
    last, the request's requestId, K09.FR.01), or NoProfiles when none matches. Every criterion
    given must match; ``evseId`` 0 selects the station-wide profiles."""
    wanted = payload["chargingProfile"]
    purpose, ids = wanted.get("chargingProfilePurpose"), wanted.get("chargingProfileId")
    sources = wanted.get("chargingLimitSource")
    criteria = Criteria(
        ids=frozenset(ids) if ids else None,
        evse=payload.get("evseId"),
        purpose=PURPOSES_2[purpose] if purpose else None,
        stack_level=wanted.get("stackLevel"),
        sources=frozenset(sources) if sources else None,
    )
    found = [i for i in station.charging.installed if criteria.matches(i.profile, i.source)]
    if not found:
        return Reply({"status": "NoProfiles"})
    groups: dict[tuple[int, str], list[Payload]] = {}
    for item in found:  # one message per EVSE and source: both are fields of the message
        groups.setdefault((item.profile.evse, item.source), []).append(item.payload)
    reports: list[Payload] = [
        {
            "requestId": payload["requestId"],
            "chargingLimitSource": source,
            "evseId": evse,
            "chargingProfile": profiles,
            "tbc": True,
        }
        for (evse, source), profiles in sorted(groups.items())
    ]
    reports[-1]["tbc"] = False
    return Reply({"status": "Accepted"}, after=lambda: station.charging.send_reports(reports))


def _is_number(value: str) -> bool:
    try:
        return float(value) >= 0
    except ValueError:
        return False


ROUTES_16: dict[str, HandlerFn] = {
    "SetChargingProfile": set_charging_profile_16,
    "ClearChargingProfile": clear_charging_profile_16,
    "GetCompositeSchedule": get_composite_schedule_16,
}
ROUTES_2: dict[str, HandlerFn] = {
    "SetChargingProfile": set_charging_profile_2,
    "ClearChargingProfile": clear_charging_profile_2,
    "GetCompositeSchedule": get_composite_schedule_2,
    "GetChargingProfiles": get_charging_profiles_2,
}

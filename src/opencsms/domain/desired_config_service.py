"""Desired configuration kept, compared and applied (docs/configuration-management.md; the rules
are in :mod:`opencsms.domain.desired_config`).

**Applying** to a connected station (after an Accepted BootNotification, after an operator
changed what the station should run with, or on an operator's request):

* 1.6 — GetConfiguration of every key (the keys are stored, :mod:`.configuration`), then one
  ChangeConfiguration per drifting key (1.6 §5.3). A read-only key is not sent: it is recorded
  as ``Rejected``.
* 2.0.1 / 2.1 — GetVariables of the desired variables (B06), then SetVariables of the drifting
  ones (B05), both cut into messages by the station's limits (:mod:`.device_model_service`).
  A variable the station does not have (UnknownComponent, UnknownVariable,
  NotSupportedAttributeType) is recorded as such and not set.

Every attempt is recorded per key with the station's answer. A value refused for good
(:data:`~.desired_config.PERMANENT_FAILURES`) is not sent again by automatic applies until the
desired value changes: it stays in the drift with its reason instead of looping. A call that gets
no answer (timeout, connection lost) ends the apply; the next boot tries again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from opencsms.clock import Clock
from opencsms.domain.configuration import ConfigurationService, KeysPort
from opencsms.domain.desired_config import (
    MAX_PROFILE_NAME,
    ApplyResult,
    ConfigProfile,
    DesiredKind,
    DesiredSet,
    DriftEntry,
    EffectiveEntry,
    InvalidDesiredConfig,
    Scope,
    drift,
    effective,
    norm_key,
    normalize,
    settled_failure,
)
from opencsms.domain.device_model import VariableRef, same_value
from opencsms.domain.device_model_service import DeviceModelService, VariablesPort
from opencsms.errors import CallErrorResponse, CallFailedError

if TYPE_CHECKING:
    from opencsms.storage.store import Storage

__all__ = ["ApplyReport", "DesiredConfigService", "StationPort", "failure_status"]

StationPort = KeysPort | VariablesPort
"""A connected station's configuration commands: :class:`KeysPort` for 1.6, else
:class:`VariablesPort`."""

_ABSENT = frozenset({"UnknownComponent", "UnknownVariable", "NotSupportedAttributeType"})


def failure_status(exc: CallFailedError) -> str:
    """How a call that got no answer is recorded: the CALLERROR code, else Timeout / Offline /
    InvalidResponse."""
    if isinstance(exc, CallErrorResponse):
        return exc.error_code
    name = type(exc).__name__
    return {
        "CallTimeoutError": "Timeout",
        "ConnectionClosedError": "Offline",
        "InvalidResponseError": "InvalidResponse",
    }.get(name, name.removesuffix("Error"))


@dataclass(frozen=True, slots=True)
class ApplyReport:
    """What one apply did: the attempts it made, the keys it left alone because the station
    already refused their value, and the drift afterwards."""

    station_id: str
    kind: DesiredKind | None
    """None: the station has no desired configuration of its version's kind."""
    attempts: list[ApplyResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    drift: list[DriftEntry] = field(default_factory=list)


class DesiredConfigService:
    """Stores desired configuration, compares it with the stations, applies it (one per node)."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        configuration: ConfigurationService,
        device_model: DeviceModelService,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._configuration = configuration
        self._device_model = device_model
        self._profiles: list[ConfigProfile] | None = None
        self._owners: set[str] | None = None
        """Stations with entries of their own: a boot of any other station, when there are no
        profiles, costs no database read (a reconnect storm of stations without desired
        configuration stays free). Kept per node, like the profiles."""

    # ------------------------------------------------------------------ what is desired

    async def station_desired(self, station_id: str) -> DesiredSet:
        """The station's own entries (not those of its profiles)."""
        return await self._storage.desired_config.desired(Scope.STATION, station_id)

    async def set_station(
        self,
        station_id: str,
        configuration: Mapping[str, object] | None,
        variables: Mapping[str, object] | None,
    ) -> DesiredSet:
        """Replace the station's own entries of each kind given (``None``: kept)."""
        desired: dict[DesiredKind, dict[str, str]] = {}
        if configuration is not None:
            desired[DesiredKind.KEY] = normalize(DesiredKind.KEY, configuration, "configuration")
        if variables is not None:
            desired[DesiredKind.VARIABLE] = normalize(DesiredKind.VARIABLE, variables, "variables")
        await self._storage.desired_config.replace(
            Scope.STATION, station_id, desired, self._clock.now()
        )
        own = await self.station_desired(station_id)
        if self._owners is not None:
            if own:
                self._owners.add(station_id)
            else:
                self._owners.discard(station_id)
        return own

    async def set_station_values(
        self,
        station_id: str,
        kind: DesiredKind,
        values: Mapping[str, str],
        *,
        answers: Mapping[str, str] | None = None,
    ) -> None:
        """Add or change some of the station's own entries of ``kind``; ``answers``: the
        station's status to sending a key just now, recorded as its last attempt (the drift
        then shows a refusal at once)."""
        current = await self.station_desired(station_id)
        changed = {norm_key(kind, key) for key in values}
        entries = {k: v for k, v in current.of(kind).items() if norm_key(kind, k) not in changed}
        entries.update(values)
        await self.set_station(
            station_id,
            entries if kind is DesiredKind.KEY else None,
            entries if kind is DesiredKind.VARIABLE else None,
        )
        now = self._clock.now()
        attempts = [
            ApplyResult(station_id, kind, key, values[key], answer, None, now)
            for key, answer in (answers or {}).items()
            if key in values
        ]
        await self._storage.configuration.put_results(attempts)

    async def clear_station(self, station_id: str) -> None:
        await self._storage.desired_config.delete_owner(Scope.STATION, station_id)
        if self._owners is not None:
            self._owners.discard(station_id)

    def forget(self) -> None:
        """Drop what is kept in memory (another node of the cluster changed it): the next
        apply reads the stations with desired entries and the profiles again."""
        self._owners = None
        self._profiles = None

    async def has_desired(self, station_id: str) -> bool:
        """Whether anything may be desired of the station: entries of its own, or any profile
        (which one matches needs the station's boot data)."""
        if self._owners is None:
            self._owners = await self._storage.desired_config.owners(Scope.STATION)
        return station_id in self._owners or bool(await self.profiles())

    async def profiles(self) -> list[ConfigProfile]:
        """Every profile (read once, then kept until one changes on this node)."""
        if self._profiles is None:
            self._profiles = await self._storage.desired_config.profiles()
        return self._profiles

    async def profile(self, name: str) -> ConfigProfile | None:
        return next((p for p in await self.profiles() if p.name == name), None)

    async def put_profile(
        self,
        name: str,
        vendor: str,
        model: str | None,
        configuration: Mapping[str, object],
        variables: Mapping[str, object],
    ) -> ConfigProfile:
        """Create or replace a profile (raises :class:`InvalidDesiredConfig`)."""
        if not name or len(name) > MAX_PROFILE_NAME or "/" in name:
            raise InvalidDesiredConfig(
                f"a profile name has 1-{MAX_PROFILE_NAME} characters, no '/'"
            )
        if not vendor.strip():
            raise InvalidDesiredConfig("a profile needs the vendor it applies to")
        now = self._clock.now()
        existing = await self.profile(name)
        profile = ConfigProfile(
            name=name,
            vendor=vendor.strip(),
            model=model.strip() if model and model.strip() else None,
            desired=DesiredSet(
                normalize(DesiredKind.KEY, configuration, "configuration"),
                normalize(DesiredKind.VARIABLE, variables, "variables"),
            ),
            created_at=existing.created_at if existing is not None else now,
            updated_at=now,
        )
        await self._storage.desired_config.put_profile(profile)
        self._profiles = None
        return profile

    async def delete_profile(self, name: str) -> bool:
        deleted = await self._storage.desired_config.delete_profile(name)
        self._profiles = None
        return deleted

    async def effective(self, station_id: str) -> tuple[list[EffectiveEntry], list[str]]:
        """The station's effective entries and the profiles that matched it (by the vendor and
        model of its last BootNotification)."""
        station = await self._storage.stations.get(station_id)
        boot = station.boot if station is not None else None
        own = await self.station_desired(station_id)
        return effective(
            own,
            await self.profiles(),
            boot.vendor if boot is not None else None,
            boot.model if boot is not None else None,
        )

    # ------------------------------------------------------------------ drift

    async def drift(self, station_id: str, ocpp_version: str | None) -> list[DriftEntry]:
        """Every effective entry of the kinds the station's version uses (both when it never
        connected), compared with what it is known to run with."""
        entries, _ = await self.effective(station_id)
        kinds = (
            [DesiredKind.KEY]
            if ocpp_version == "1.6"
            else [DesiredKind.VARIABLE]
            if ocpp_version
            else list(DesiredKind)
        )
        out: list[DriftEntry] = []
        results = await self._results(station_id)
        for kind in kinds:
            of_kind = [e for e in entries if e.kind is kind]
            if of_kind:
                actual = await self._actual(station_id, kind, of_kind)
                out += drift(of_kind, actual, results[kind])
        return out

    async def _results(self, station_id: str) -> dict[DesiredKind, dict[str, ApplyResult]]:
        out: dict[DesiredKind, dict[str, ApplyResult]] = {kind: {} for kind in DesiredKind}
        for result in await self._storage.configuration.results(station_id):
            out[result.kind][norm_key(result.kind, result.key)] = result
        return out

    async def _actual(
        self, station_id: str, kind: DesiredKind, entries: list[EffectiveEntry]
    ) -> dict[str, str | None]:
        if kind is DesiredKind.KEY:
            return {k.key.lower(): k.value for k in await self._configuration.keys(station_id)}
        refs = [VariableRef.parse(e.key) for e in entries]
        known = await self._device_model.known(station_id, refs)
        return {ref.path.lower(): value for ref, value in known.items()}

    # ------------------------------------------------------------------ applying

    async def apply(
        self, station_id: str, port: StationPort, *, retry: bool = False
    ) -> ApplyReport:
        """Bring the connected station to its desired configuration (module docstring);
        ``retry`` also resends values it refused for good before. A failure of the first read
        (GetConfiguration / GetVariables) propagates."""
        if not await self.has_desired(station_id):
            return ApplyReport(station_id, None)
        entries, _ = await self.effective(station_id)
        if port.ocpp_version == "1.6":
            kind = DesiredKind.KEY
            of_kind = [e for e in entries if e.kind is kind]
            if not of_kind:
                return ApplyReport(station_id, None)
            results = (await self._results(station_id))[kind]
            report = await self._apply_keys(
                station_id, cast(KeysPort, port), of_kind, results, retry
            )
        else:
            kind = DesiredKind.VARIABLE
            of_kind = [e for e in entries if e.kind is kind]
            if not of_kind:
                return ApplyReport(station_id, None)
            results = (await self._results(station_id))[kind]
            report = await self._apply_variables(
                station_id, cast(VariablesPort, port), of_kind, results, retry
            )
        after = await self._actual(station_id, kind, of_kind)
        report.drift.extend(drift(of_kind, after, (await self._results(station_id))[kind]))
        return report

    def _result(
        self, station_id: str, entry: EffectiveEntry, status: str, detail: str | None
    ) -> ApplyResult:
        return ApplyResult(
            station_id, entry.kind, entry.key, entry.value, status, detail, self._clock.now()
        )

    async def _apply_keys(
        self,
        station_id: str,
        port: KeysPort,
        entries: list[EffectiveEntry],
        results: dict[str, ApplyResult],
        retry: bool,
    ) -> ApplyReport:
        known = {
            k.key.lower(): k for k in (await self._configuration.refresh(station_id, port)).keys
        }
        report = ApplyReport(station_id, DesiredKind.KEY)
        try:
            for entry in entries:
                key = entry.key.lower()
                have, last = known.get(key), results.get(key)
                if have is not None and same_value(entry.value, have.value):
                    continue
                if have is not None and have.value is None and _accepted(last, entry.value):
                    continue  # a key whose value the station hides: it took this one before
                if not retry and settled_failure(last, entry.value):
                    report.skipped.append(entry.key)
                    continue
                if have is not None and have.readonly:
                    report.attempts.append(
                        self._result(station_id, entry, "Rejected", "read-only key")
                    )
                    continue
                try:
                    status = await self._configuration.change(
                        station_id, port, have.key if have is not None else entry.key, entry.value
                    )
                except CallErrorResponse as exc:
                    report.attempts.append(
                        self._result(station_id, entry, exc.error_code, exc.description or None)
                    )
                    continue
                except CallFailedError as exc:
                    report.attempts.append(
                        self._result(station_id, entry, failure_status(exc), str(exc))
                    )
                    break
                report.attempts.append(self._result(station_id, entry, status, None))
        finally:
            await self._storage.configuration.put_results(report.attempts)
        return report

    async def _apply_variables(
        self,
        station_id: str,
        port: VariablesPort,
        entries: list[EffectiveEntry],
        results: dict[str, ApplyResult],
        retry: bool,
    ) -> ApplyReport:
        refs = {entry.key: VariableRef.parse(entry.key) for entry in entries}
        read = await self._device_model.get_variables(station_id, port, list(refs.values()))
        got = {r.ref.path.lower(): r for r in read}
        report = ApplyReport(station_id, DesiredKind.VARIABLE)
        to_set: list[EffectiveEntry] = []
        for entry in entries:
            key = refs[entry.key].path.lower()
            answer, last = got.get(key), results.get(key)
            if answer is not None and answer.status == "Accepted":
                if same_value(entry.value, answer.value):
                    continue
            elif answer is not None and answer.status in _ABSENT:
                report.attempts.append(
                    self._result(station_id, entry, answer.status, answer.reason)
                )
                continue
            elif _accepted(last, entry.value):
                continue  # not readable (write-only), and the station took this value before
            if not retry and settled_failure(last, entry.value):
                report.skipped.append(entry.key)
                continue
            to_set.append(entry)
        try:
            if to_set:
                items = [(refs[e.key], e.value) for e in to_set]
                try:
                    answered = await self._device_model.set_variables(station_id, port, items)
                except CallFailedError as exc:
                    status, detail = failure_status(exc), str(exc)
                    report.attempts.extend(
                        self._result(station_id, e, status, detail) for e in to_set
                    )
                else:
                    by_path = {r.ref.path.lower(): r for r in answered}
                    for entry in to_set:
                        result = by_path.get(refs[entry.key].path.lower())
                        if result is None:
                            report.attempts.append(
                                self._result(station_id, entry, "NoResult", "not in the answer")
                            )
                        else:
                            report.attempts.append(
                                self._result(station_id, entry, result.status, result.reason)
                            )
        finally:
            await self._storage.configuration.put_results(report.attempts)
        return report


def _accepted(result: ApplyResult | None, value: str) -> bool:
    return result is not None and result.status == "Accepted" and result.value == value

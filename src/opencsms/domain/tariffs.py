"""Tariffs: versions, assignments and which tariff a session pays (docs/tariffs.md).

A tariff has an id chosen by the operator and a list of versions: creating it makes version 1,
every edit adds the next version, and no version is ever changed or deleted, so a charge detail
record can name the exact version it was priced with. Deleting a tariff archives it (it can no
longer be assigned; its versions stay for the CDRs).

Which tariff does a session pay? The first of these assignments that names a tariff valid at the
session's start (:meth:`~opencsms.billing.Tariff.valid_at`):

1. the session's EVSE (``<station>/<evse id>``),
2. its station,
3. the group of the token that started it (id token ``group_id``),
4. the default.

The tariff is priced with its version that was current when the session started (OCPI: a CDR
keeps what was valid at the start); a session older than the tariff uses version 1. Assignments
are read as they were at the session's start too (by the CSMS's clock: when the session was
first reported): every change is kept in the assignment
history (valid from / to), so re-assigning a place later changes neither a running session's
price nor a recompute of an old one (nor, ever, an issued CDR). Assignments made before the
history existed count as valid since always (migration 0017).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from opencsms.billing import InvalidTariff, Tariff, parse_tariff, tariff_json
from opencsms.clock import Clock
from opencsms.domain.transaction_model import Transaction
from opencsms.errors import AlreadyExistsError, NotFoundError

if TYPE_CHECKING:
    from opencsms.storage.store import Storage

__all__ = [
    "Assignment",
    "AssignmentScope",
    "InvalidTariff",
    "StoredTariff",
    "TariffInUse",
    "TariffService",
    "TariffVersion",
]

_TARIFF_ID = re.compile(r"^[A-Za-z0-9._-]{1,36}$")
"""OCPI Tariff.id is CiString(36); the same characters as URL path segments keep it simple."""


class AssignmentScope(StrEnum):
    EVSE = "evse"
    STATION = "station"
    GROUP = "group"
    DEFAULT = "default"


@dataclass(frozen=True, slots=True)
class StoredTariff:
    id: str
    name: str
    current_version: int
    archived: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TariffVersion:
    tariff_id: str
    version: int
    tariff: Tariff
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Assignment:
    scope: AssignmentScope
    target: str
    """``''`` (default), a station id, ``<station id>/<evse id>`` or a token group id."""
    tariff_id: str
    updated_at: datetime


class TariffInUse(ValueError):
    """The tariff is still assigned; the message lists where."""


def evse_target(station_id: str, evse_id: int) -> str:
    return f"{station_id}/{evse_id}"


class TariffService:
    """Create, edit (new version), archive and assign tariffs; resolve a session's tariff."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        *,
        default_time_zone: str = "UTC",
        default_tax_rate: str = "0",
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._default_time_zone = default_time_zone
        self._default_tax_rate = default_tax_rate
        self._versions: dict[tuple[str, int], TariffVersion] = {}

    def parse(self, body: dict[str, Any]) -> Tariff:
        """Check a tariff body, filling in the configured time zone and tax rate defaults."""
        filled = dict(body)
        if filled.get("time_zone") is None:
            filled["time_zone"] = self._default_time_zone
        if filled.get("tax_rate") is None:
            filled["tax_rate"] = self._default_tax_rate
        return parse_tariff(filled)

    async def create(self, tariff_id: str, body: dict[str, Any]) -> TariffVersion:
        """A new tariff at version 1 (``AlreadyExistsError`` if the id is taken)."""
        if not _TARIFF_ID.match(tariff_id):
            raise InvalidTariff(
                "a tariff id is 1-36 characters of letters, digits, '.', '_' and '-'"
            )
        tariff = self.parse(body)
        now = self._clock.now()
        created = await self._storage.tariffs.create(
            tariff_id, tariff.name, tariff_json(tariff), now
        )
        if not created:
            raise AlreadyExistsError(f"tariff {tariff_id} already exists")
        return TariffVersion(tariff_id, 1, tariff, now)

    async def update(self, tariff_id: str, body: dict[str, Any]) -> TariffVersion:
        """A new version of the tariff; earlier versions stay as they are."""
        current = await self.get(tariff_id)
        tariff = self.parse(body)
        now = self._clock.now()
        version = current.current_version + 1
        stored = await self._storage.tariffs.add_version(
            tariff_id, version, tariff.name, tariff_json(tariff), now
        )
        if not stored:  # another edit took this version number first
            raise AlreadyExistsError(f"tariff {tariff_id} was edited concurrently; retry")
        return TariffVersion(tariff_id, version, tariff, now)

    async def get(self, tariff_id: str) -> StoredTariff:
        stored = await self._storage.tariffs.get(tariff_id)
        if stored is None or stored.archived:
            raise NotFoundError(f"tariff {tariff_id} not found")
        return stored

    async def all(self) -> list[StoredTariff]:
        return [t for t in await self._storage.tariffs.list() if not t.archived]

    async def version(self, tariff_id: str, version: int) -> TariffVersion:
        """One version (cached: versions never change)."""
        key = (tariff_id, version)
        cached = self._versions.get(key)
        if cached is None:
            cached = await self._storage.tariffs.version(tariff_id, version)
            if cached is None:
                raise NotFoundError(f"tariff {tariff_id} has no version {version}")
            self._versions[key] = cached
        return cached

    async def versions(self, tariff_id: str) -> list[TariffVersion]:
        await self.get(tariff_id)
        return await self._storage.tariffs.versions(tariff_id)

    async def archive(self, tariff_id: str) -> None:
        """Delete from the operator's view; refused (:class:`TariffInUse`) while assigned."""
        await self.get(tariff_id)
        used = [a for a in await self._storage.tariffs.assignments() if a.tariff_id == tariff_id]
        if used:
            places = ", ".join(f"{a.scope.value} {a.target}".strip() for a in used)
            raise TariffInUse(f"tariff {tariff_id} is assigned to: {places}")
        await self._storage.tariffs.archive(tariff_id, self._clock.now())

    # ----------------------------------------------------------------- assignments

    async def assign(self, scope: AssignmentScope, target: str, tariff_id: str) -> Assignment:
        await self.get(tariff_id)
        assignment = Assignment(scope, target, tariff_id, self._clock.now())
        await self._storage.tariffs.set_assignment(assignment)
        return assignment

    async def unassign(self, scope: AssignmentScope, target: str) -> None:
        if not await self._storage.tariffs.delete_assignment(scope, target, self._clock.now()):
            where = f"{scope.value} {target}".strip()
            raise NotFoundError(f"no tariff is assigned to {where}")

    async def assignments(self) -> list[Assignment]:
        return await self._storage.tariffs.assignments()

    async def history(
        self, scope: AssignmentScope, target: str
    ) -> list[tuple[Assignment, datetime | None]]:
        """The place's assignments, oldest first, each with when it ended (None: current)."""
        return await self._storage.tariffs.assignment_history(scope, target)

    async def resolve(self, tx: Transaction) -> TariffVersion | None:
        """The tariff version ``tx`` pays (see the module docstring), or ``None``."""
        at = tx.started_at or tx.created_at
        # Assignments are looked up at the CSMS's own time of the session's first message, not
        # the station's start time: station clocks drift, and offline queues report starts hours
        # later (rule 4); an assignment made a moment before must apply to the next session.
        in_force = await self._storage.tariffs.assignments_at(tx.created_at)
        by_place = {(a.scope, a.target): a for a in in_force}
        candidates: list[tuple[AssignmentScope, str]] = []
        if tx.evse_id is not None:
            candidates.append((AssignmentScope.EVSE, evse_target(tx.station_id, tx.evse_id)))
        candidates.append((AssignmentScope.STATION, tx.station_id))
        if tx.group_id:
            candidates.append((AssignmentScope.GROUP, tx.group_id))
        candidates.append((AssignmentScope.DEFAULT, ""))
        for place in candidates:
            assignment = by_place.get(place)
            if assignment is None:
                continue
            stored = await self._storage.tariffs.get(assignment.tariff_id)
            if stored is None or stored.archived:
                continue
            version = await self._version_at(stored, at)
            if version.tariff.valid_at(at):
                return version
        return None

    async def _version_at(self, stored: StoredTariff, at: datetime) -> TariffVersion:
        number = await self._storage.tariffs.version_at(stored.id, at) or 1
        return await self.version(stored.id, number)

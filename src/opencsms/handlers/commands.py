"""The commands the CSMS sends to a connected station, per OCPP version, in domain terms.

The domain services take ports (:class:`opencsms.domain.local_lists.LocalListPort`,
:class:`opencsms.domain.reservations.ReservationPort`); this module picks the version's
implementation for a station's live connection. Versions differ here and only here.
"""

from __future__ import annotations

from dataclasses import dataclass

from opencsms.handlers.common import StationCall
from opencsms.handlers.v16.local_auth import LocalAuth16
from opencsms.handlers.v16.reservations import Reservations16
from opencsms.handlers.v201.local_auth import LocalAuth201
from opencsms.handlers.v201.reservations import Reservations201
from opencsms.ocpp.version import OcppVersion

__all__ = ["StationCommands", "station_commands"]


@dataclass(frozen=True, slots=True)
class StationCommands:
    """Local list / cache and reservation commands to one connected station."""

    local_auth: LocalAuth16 | LocalAuth201
    reservations: Reservations16 | Reservations201


def station_commands(version: OcppVersion, call: StationCall) -> StationCommands:
    """The commands of a station speaking ``version``; ``call`` sends one CALL to it."""
    if version is OcppVersion.V16:
        return StationCommands(LocalAuth16(call), Reservations16(call))
    # 2.1 keeps the 2.0.1 shapes of every field these commands use.
    return StationCommands(LocalAuth201(call, version.value), Reservations201(call, version.value))

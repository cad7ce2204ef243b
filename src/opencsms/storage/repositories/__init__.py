"""Repositories: async, domain records in and out, writes through the group-commit writer."""

from .audit import AuditRepository
from .commands import CommandRepository
from .deviations import DeviationRepository
from .events import EventRepository
from .id_tokens import IdTokenRepository
from .local_lists import LocalListRepository
from .meter import MeterRepository
from .reservations import ReservationRepository
from .stations import StationRepository
from .status import StatusRepository
from .transactions import TransactionRepository

__all__ = [
    "AuditRepository",
    "CommandRepository",
    "DeviationRepository",
    "EventRepository",
    "IdTokenRepository",
    "LocalListRepository",
    "MeterRepository",
    "ReservationRepository",
    "StationRepository",
    "StatusRepository",
    "TransactionRepository",
]

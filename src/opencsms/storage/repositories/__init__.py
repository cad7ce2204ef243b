"""Repositories: async, domain records in and out, writes through the group-commit writer."""

from .audit import AuditRepository
from .deviations import DeviationRepository
from .events import EventRepository
from .id_tokens import IdTokenRepository
from .meter import MeterRepository
from .stations import StationRepository
from .status import StatusRepository
from .transactions import TransactionRepository

__all__ = [
    "AuditRepository",
    "DeviationRepository",
    "EventRepository",
    "IdTokenRepository",
    "MeterRepository",
    "StationRepository",
    "StatusRepository",
    "TransactionRepository",
]

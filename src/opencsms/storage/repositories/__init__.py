"""Repositories: async, domain records in and out, writes through the group-commit writer."""

from .audit import AuditRepository
from .charging_profiles import ChargingProfileRepository
from .commands import CommandRepository
from .configuration import ConfigurationRepository
from .desired_config import DesiredConfigRepository
from .deviations import DeviationRepository
from .device_model import DeviceModelRepository
from .display_messages import DisplayMessageRepository
from .events import EventRepository
from .files import FileRepository
from .id_tokens import IdTokenRepository
from .jobs import JobRepository
from .local_lists import LocalListRepository
from .meter import MeterRepository
from .monitors import MonitorRepository
from .report_requests import ReportRepository
from .reservations import ReservationRepository
from .security_events import SecurityEventRepository
from .stations import StationRepository
from .status import StatusRepository
from .transactions import TransactionRepository

__all__ = [
    "AuditRepository",
    "ChargingProfileRepository",
    "CommandRepository",
    "ConfigurationRepository",
    "DesiredConfigRepository",
    "DeviationRepository",
    "DeviceModelRepository",
    "DisplayMessageRepository",
    "EventRepository",
    "FileRepository",
    "IdTokenRepository",
    "JobRepository",
    "LocalListRepository",
    "MeterRepository",
    "MonitorRepository",
    "ReportRepository",
    "ReservationRepository",
    "SecurityEventRepository",
    "StationRepository",
    "StatusRepository",
    "TransactionRepository",
]

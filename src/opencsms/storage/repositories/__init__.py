"""Repositories: async, domain records in and out, writes through the group-commit writer."""

from .alerts import AlertRepository
from .audit import AuditRepository
from .certificates import CertificateRepository
from .charging_profiles import ChargingProfileRepository
from .commands import CommandRepository
from .configuration import ConfigurationRepository
from .desired_config import DesiredConfigRepository
from .deviations import DeviationRepository
from .device_model import DeviceModelRepository
from .display_messages import DisplayMessageRepository
from .ev_charging import EvChargingRepository
from .events import EventRepository
from .files import FileRepository
from .id_tokens import IdTokenRepository
from .jobs import JobRepository
from .load_management import LoadManagementRepository
from .local_lists import LocalListRepository
from .meter import MeterRepository
from .monitors import MonitorRepository
from .report_requests import ReportRepository
from .reservations import ReservationRepository
from .security_events import SecurityEventRepository
from .station_security import StationSecurityRepository
from .stations import StationRepository
from .status import StatusRepository
from .tariffs import TariffRepository
from .transactions import TransactionRepository
from .webhooks import WebhookRepository

__all__ = [
    "AlertRepository",
    "AuditRepository",
    "CertificateRepository",
    "ChargingProfileRepository",
    "CommandRepository",
    "ConfigurationRepository",
    "DesiredConfigRepository",
    "DeviationRepository",
    "DeviceModelRepository",
    "DisplayMessageRepository",
    "EvChargingRepository",
    "EventRepository",
    "FileRepository",
    "IdTokenRepository",
    "JobRepository",
    "LoadManagementRepository",
    "LocalListRepository",
    "MeterRepository",
    "MonitorRepository",
    "ReportRepository",
    "ReservationRepository",
    "SecurityEventRepository",
    "StationRepository",
    "StationSecurityRepository",
    "StatusRepository",
    "TariffRepository",
    "TransactionRepository",
    "WebhookRepository",
]

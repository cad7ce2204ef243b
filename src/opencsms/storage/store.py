"""The storage facade: one object that owns the engine, the writer and the repositories."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncEngine

from opencsms.clock import Clock, SystemClock

from .db import create_engine
from .migrate import migrate_engine
from .repositories import (
    AlertRepository,
    AuditRepository,
    CertificateRepository,
    ChargingProfileRepository,
    CommandRepository,
    ConfigurationRepository,
    DesiredConfigRepository,
    DeviationRepository,
    DeviceModelRepository,
    DisplayMessageRepository,
    EvChargingRepository,
    EventRepository,
    FileRepository,
    IdTokenRepository,
    JobRepository,
    LoadManagementRepository,
    LocalListRepository,
    MeterRepository,
    MonitorRepository,
    ReportRepository,
    ReservationRepository,
    SecurityEventRepository,
    StationRepository,
    StationSecurityRepository,
    StatusRepository,
    TariffRepository,
    TransactionRepository,
    WebhookRepository,
)
from .sqlite_worker import WRITER_NICE
from .writer import DEFAULT_MAX_BATCH_OPS, GroupCommitWriter

__all__ = ["Storage"]


class Storage:
    """Everything the services need from the database.

    Open with ``await Storage.open(url)`` (which migrates to the latest schema by default and
    starts the group-commit writer) and close with ``await storage.aclose()``, which commits
    everything still queued (audit frames included) before disposing of the engine.
    """

    engine: AsyncEngine
    writer: GroupCommitWriter
    stations: StationRepository
    station_security: StationSecurityRepository
    status: StatusRepository
    audit: AuditRepository
    meter: MeterRepository
    events: EventRepository
    transactions: TransactionRepository
    tariffs: TariffRepository
    id_tokens: IdTokenRepository
    deviations: DeviationRepository
    local_lists: LocalListRepository
    reservations: ReservationRepository
    charging_profiles: ChargingProfileRepository
    ev_charging: EvChargingRepository
    security_events: SecurityEventRepository
    commands: CommandRepository
    configuration: ConfigurationRepository
    desired_config: DesiredConfigRepository
    device_model: DeviceModelRepository
    monitors: MonitorRepository
    display_messages: DisplayMessageRepository
    requested_reports: ReportRepository
    jobs: JobRepository
    files: FileRepository
    certificates: CertificateRepository
    alerts: AlertRepository
    webhooks: WebhookRepository
    load_management: LoadManagementRepository

    def __init__(
        self,
        engine: AsyncEngine,
        writer: GroupCommitWriter,
        clock: Clock | None = None,
    ) -> None:
        """Wire repositories to an engine and a writer; prefer :meth:`open`."""
        self.engine = engine
        self.writer = writer
        self.stations = StationRepository(engine, writer, clock or SystemClock())
        self.station_security = StationSecurityRepository(engine, writer)
        self.status = StatusRepository(engine, writer)
        self.audit = AuditRepository(engine, writer)
        self.meter = MeterRepository(engine, writer)
        self.events = EventRepository(engine, writer)
        self.transactions = TransactionRepository(engine, writer, self.meter)
        self.tariffs = TariffRepository(engine, writer)
        self.id_tokens = IdTokenRepository(engine, writer)
        self.deviations = DeviationRepository(engine, writer)
        self.local_lists = LocalListRepository(engine, writer)
        self.reservations = ReservationRepository(engine, writer)
        self.charging_profiles = ChargingProfileRepository(engine, writer)
        self.ev_charging = EvChargingRepository(engine, writer)
        self.security_events = SecurityEventRepository(engine, writer)
        self.commands = CommandRepository(engine, writer)
        self.configuration = ConfigurationRepository(engine, writer)
        self.desired_config = DesiredConfigRepository(engine, writer)
        self.device_model = DeviceModelRepository(engine, writer)
        self.monitors = MonitorRepository(engine, writer)
        self.display_messages = DisplayMessageRepository(engine, writer)
        self.requested_reports = ReportRepository(engine, writer)
        self.jobs = JobRepository(engine, writer)
        self.files = FileRepository(engine, writer)
        self.certificates = CertificateRepository(engine, writer)
        self.alerts = AlertRepository(engine, writer)
        self.webhooks = WebhookRepository(engine, writer)
        self.load_management = LoadManagementRepository(engine, writer)

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        migrate: bool = True,
        clock: Clock | None = None,
        max_batch_ops: int = DEFAULT_MAX_BATCH_OPS,
        sqlite_process: bool = True,
        sqlite_nice: int = WRITER_NICE,
    ) -> Storage:
        """Connect to ``url``, migrate it (unless ``migrate=False``) and start the writer.

        ``clock`` stamps ``updated_at`` when :meth:`StationRepository.update` is not given one.
        """
        engine = create_engine(url)
        try:
            if migrate:
                await migrate_engine(engine)
            writer = GroupCommitWriter(
                engine,
                max_batch_ops=max_batch_ops,
                sqlite_process=sqlite_process,
                sqlite_nice=sqlite_nice,
            )
            await writer.start()
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine, writer, clock)

    async def aclose(self) -> None:
        """Flush the writer, then close every connection. Safe to call twice."""
        try:
            await self.writer.aclose()
        finally:
            await self.engine.dispose()

    async def __aenter__(self) -> Storage:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

"""The composition root: one CSMS node built from its settings.

``async with Csms(settings) as csms:`` opens the store (running migrations), seeds the stations of
the provisioning file, starts the station gateway, the operator API and the background jobs, all
owned by one ``TaskGroup``. Leaving the block shuts down in the order that loses nothing: stop
accepting stations, let every connection finish storing and answering the CALL it is handling,
close them with 1001 (each writes its last-seen time), stop the API, flush the audit queue, close
the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Coroutine
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from opencsms.api.server import ApiServer
from opencsms.auth_backoff import AuthBackoff
from opencsms.clock import Clock, SystemClock
from opencsms.cluster.config_sync import ConfigSync
from opencsms.cluster.node import ClusterNode, default_node_id
from opencsms.config import Settings, UnknownStationPolicy
from opencsms.domain.alerts import AlertService, AlertSettings
from opencsms.domain.audit import AuditTrail
from opencsms.domain.authorization import AuthorizationService
from opencsms.domain.basic_auth import PasswordRotation
from opencsms.domain.cdrs import CostNotice, CostService
from opencsms.domain.certificates import CertificatePort, CertificateService
from opencsms.domain.charging_profiles import ChargingProfileService, ProfileReconciler
from opencsms.domain.commands import CommandRequest, CommandService, StationCall
from opencsms.domain.configuration import ConfigurationService
from opencsms.domain.customer_information import CustomerInformationService
from opencsms.domain.desired_config_service import DesiredConfigService, StationPort
from opencsms.domain.desired_config_worker import DesiredConfigWorker
from opencsms.domain.device_model_service import DeviceModelService
from opencsms.domain.display_messages import DisplayMessageService
from opencsms.domain.ev_charging import EvChargingService
from opencsms.domain.event_feed import EventFeed
from opencsms.domain.files import FileService
from opencsms.domain.fleet_events import (
    BootReported,
    ConfigChanged,
    FleetEvents,
    StationConnected,
    StationDisconnected,
    TransactionChanged,
)
from opencsms.domain.fleet_state import FleetState
from opencsms.domain.jobs import JobService
from opencsms.domain.load_management import LoadManagementService
from opencsms.domain.load_management_plan import Defaults
from opencsms.domain.load_management_worker import (
    LoadManagementWorker,
    LoadSettings,
    ProfilePort,
)
from opencsms.domain.local_list_worker import LocalListWorker
from opencsms.domain.local_lists import LocalListPort, LocalListService
from opencsms.domain.model import RegistrationStatus
from opencsms.domain.monitoring import MonitoringService
from opencsms.domain.provisioning import ProvisioningService, permits_granted
from opencsms.domain.reports import ReportService
from opencsms.domain.reservations import ReservationService
from opencsms.domain.security_events import SecurityEventService
from opencsms.domain.security_profiles import SecurityProfiles
from opencsms.domain.stations import StationAccess, StationAdmin, StationSpec
from opencsms.domain.tariffs import TariffService
from opencsms.domain.token_admin import TokenAdmin
from opencsms.domain.transactions import TransactionService, TransactionStatusReport
from opencsms.domain.webhooks import WebhookService, WebhookSettings
from opencsms.errors import AlreadyExistsError, ConnectionClosedError, OpenCsmsError
from opencsms.handlers import v16, v21, v201
from opencsms.handlers.commands import StationCommands, station_commands
from opencsms.handlers.configuration import configuration_port
from opencsms.handlers.profile_payloads import external_profiles, profile_port
from opencsms.handlers.router import CallContext, Router, Services
from opencsms.handlers.v16.transactions import send_cost_data_transfer
from opencsms.handlers.v201.certificates import certificate_port
from opencsms.handlers.v201.transactions import ask_transaction_status, send_cost_updated
from opencsms.metrics import Metrics
from opencsms.ocpp.session import IncomingCall, Role, RpcSession, Strictness
from opencsms.ocpp.version import OcppVersion
from opencsms.security.setup import build_certificate_service
from opencsms.smartcharging import ChargingProfile, ProfilePurpose
from opencsms.storage.blobs import BlobStore
from opencsms.storage.fencing import Fence, StaleLeaseError
from opencsms.storage.store import Storage
from opencsms.transport.connection import StationConnection, StationLink
from opencsms.transport.gateway import Admission, StationGateway
from opencsms.transport.registry import ConnectionRegistry
from opencsms.transport.tls import CertChain, server_context
from opencsms.transport.websocket import StationWebSocket

log = logging.getLogger("opencsms")

LAST_SEEN_FLUSH_SECONDS = 5.0
AUDIT_PURGE_SECONDS = 3600.0
RESERVATION_EXPIRY_SECONDS = 30.0
CERTIFICATE_EXPIRY_CHECK_SECONDS = 3600.0
DRAIN_TIMEOUT_SECONDS = 10.0
CSMS_REQUESTER = "csms"
"""``requested_by`` of the commands the CSMS sends on its own (docs/commands.md)."""


@dataclass(frozen=True, slots=True)
class BoundPorts:
    ocpp: int
    http: int
    tls: int | None = None
    """Security profile 2 listener (wss + Basic auth), when configured."""
    mtls: int | None = None
    """Security profile 3 listener (wss + client certificates), when configured."""


class Csms:
    """One OpenCSMS node."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.registry: ConnectionRegistry[StationConnection] = ConnectionRegistry()
        self.events = FleetEvents()
        """What happens in the fleet, published after it is stored (domain/fleet_events.py)."""
        self.metrics = Metrics()
        """Hot-path counters for ``/metrics`` (docs/metrics.md)."""
        self.router = Router(
            {
                OcppVersion.V16: v16.ROUTES,
                OcppVersion.V201: v201.ROUTES,
                OcppVersion.V21: v21.ROUTES,
            }
        )
        self._exit = contextlib.AsyncExitStack()
        self._tasks: asyncio.TaskGroup | None = None
        self._jobs: list[asyncio.Task[None]] = []
        self.storage: Storage
        self.stations: StationAdmin
        self.tokens: TokenAdmin
        self.transactions: TransactionService
        self.reservations: ReservationService
        self.local_lists: LocalListService
        self.local_list_worker: LocalListWorker
        self.audit: AuditTrail
        self.commands: CommandService
        self.configuration: ConfigurationService
        self.device_model: DeviceModelService
        self.desired_config: DesiredConfigService
        self.desired_config_worker: DesiredConfigWorker
        self.monitoring: MonitoringService
        self.display_messages: DisplayMessageService
        self.customer_information: CustomerInformationService
        self.security_events: SecurityEventService
        self.certificates: CertificateService
        self.charging_profiles: ChargingProfileService
        self.tariffs: TariffService
        self.costs: CostService
        """Tariffs, transaction costs and CDRs (docs/tariffs.md)."""
        self.load_management: LoadManagementService
        """Site load groups, members, external signals (docs/load-management.md)."""
        self.load_manager: LoadManagementWorker
        """The allocation rounds that send TxProfile / TxDefaultProfile."""
        self.ev_charging: EvChargingService
        self.jobs: JobService
        self.fleet: FleetState
        """Live fleet state in memory (docs/metrics.md)."""
        self.feed: EventFeed
        """The public event feed: the live stream and webhooks (docs/alerts.md)."""
        self.alerts: AlertService
        self.webhooks: WebhookService
        self.files: FileService
        self.security: SecurityProfiles
        """Security profile and password rotation state per station (docs/security.md)."""
        self.passwords: PasswordRotation
        self.ports = BoundPorts(0, 0)
        self.cluster: ClusterNode | None = None
        """Cluster mode (``cluster_nats_url``): this node's membership (docs/scaling.md)."""
        self.api_backoff = _auth_backoff(settings)
        """Wrong operator API tokens per client address (api/auth.py, docs/security.md)."""

    # ----------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Csms:
        try:
            await self._start()
        except BaseException:
            await self._exit.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._exit.aclose()

    async def _start(self) -> None:
        settings = self.settings
        self.storage = await Storage.open(
            settings.db,
            sqlite_process=settings.sqlite_writer == "process",
            sqlite_nice=settings.sqlite_writer_nice,
        )
        self._exit.push_async_callback(self.storage.aclose)
        if settings.cluster_nats_url:
            await self._join_cluster()
        self.stations = StationAdmin(
            self.storage, self.clock, default_heartbeat_interval=settings.heartbeat_interval
        )
        # Security state first: a password rotated through the API is not overwritten by the
        # provisioning file's (docs/security.md).
        self.security = SecurityProfiles(
            self.storage, self.clock, default_profile=settings.security_profile
        )
        await self.security.load()
        self.passwords = PasswordRotation(self.security, self.stations, self.clock)
        for seed in settings.stations:
            if seed.security_profile is not None:
                await self.security.seed_profile(seed.id, seed.security_profile)
            rotated = self.security.get(seed.id).password_rotated_at is not None
            await self.stations.seed(
                StationSpec(
                    id=seed.id,
                    password=None if rotated else seed.password,
                    registration=seed.registration,
                    strictness=seed.strictness,
                    heartbeat_interval=seed.heartbeat_interval,
                )
            )
        await self.stations.load_access()  # admission without a database read per handshake
        self.local_lists = LocalListService(
            self.storage,
            self.clock,
            default_items=settings.local_list_items_per_message,
            events=self.events,
        )
        self.local_list_worker = LocalListWorker(
            self.local_lists,
            self._local_list_port,
            policy=settings.local_lists,
            debounce=settings.local_list_debounce,
            concurrency=settings.local_list_concurrency,
        )
        authorization = AuthorizationService(
            self.storage,
            self.clock,
            unknown_tokens=settings.unknown_tokens,
            master_pass_group_id=settings.master_pass_group_id,
        )

        def tokens_changed_here() -> None:
            authorization.tokens_changed()
            self.local_list_worker.tokens_changed()

        def tokens_changed() -> None:
            tokens_changed_here()
            self.config_changed("tokens")  # the other nodes drop their token caches too

        self._tokens_changed_here = tokens_changed_here

        self.tokens = TokenAdmin(self.storage, self.clock, on_change=tokens_changed)
        for token in settings.id_tokens:
            await self.tokens.seed(token.values())
        self.audit = AuditTrail(
            self.storage, self.clock, retention_days=settings.audit_retention_days
        )
        self.commands = CommandService(
            self.storage, self.clock, retention_days=settings.command_retention_days
        )
        await self._start_configuration()
        self.jobs = JobService(
            self.storage,
            self.clock,
            firmware_timeout=settings.firmware_job_timeout,
            log_timeout=settings.log_job_timeout,
            events=self.events,
        )
        blobs = BlobStore(Path(settings.files_dir))
        blobs.prepare()
        self.files = FileService(self.storage, self.clock, blobs)
        self.reservations = ReservationService(self.storage, self.clock, authorization)
        self.monitoring = MonitoringService(self.storage, self.clock)
        self.display_messages = DisplayMessageService(self.storage, self.clock)
        self.customer_information = CustomerInformationService(self.storage, self.clock)
        self.security_events = SecurityEventService(self.storage, self.events, clock=self.clock)
        self.charging_profiles = ChargingProfileService(self.storage, self.clock)
        await self._start_load_management()
        self.ev_charging = EvChargingService(self.storage, self.clock, self.events)
        self.charging_profiles.external = external_profiles(self.ev_charging)  # K08 preview
        # Subscribed before any station connects, so no closed transaction is missed.
        self._tx_profile_events = self.events.subscribe(
            ChargingProfileService.ended_transactions, types=(TransactionChanged,)
        )
        # K09: the record follows what each 2.0.1 station reports after a boot or reconnect.
        self.profile_reconciler = ProfileReconciler(
            self.charging_profiles,
            self._reconcile_call,
            debounce=self.settings.charging_profile_reconcile_debounce,
            call_16=self._restore_call_16,
            restore_skips=self._restored_by_load_manager,
        )
        self._reconcile_events = (
            self.events.subscribe(ProfileReconciler.accepts, types=(StationConnected, BootReported))
            if self.settings.charging_profile_reconcile_on_boot
            else None
        )
        self.transactions = TransactionService(
            self.storage, self.clock, authorization, self.reservations, events=self.events
        )
        self.tariffs = TariffService(
            self.storage,
            self.clock,
            default_time_zone=settings.tariff_time_zone,
            default_tax_rate=settings.tariff_tax_rate,
        )
        self.costs = CostService(
            self.storage,
            self.clock,
            self.tariffs,
            self.events,
            sender=self._send_cost,
            updates_enabled=settings.cost_updates_enabled,
            update_interval=settings.cost_updated_interval,
            datatransfer_16=bool(settings.cost_datatransfer_16),
        )
        self.certificates = build_certificate_service(
            settings, self.storage, self.clock, self.events, authorization
        )
        self.services = Services(
            provisioning=ProvisioningService(
                self.storage,
                self.clock,
                boot_retry_interval=settings.boot_retry_interval,
                access=self.stations.access,
            ),
            reports=ReportService(self.storage, self.events),
            authorization=authorization,
            transactions=self.transactions,
            reservations=self.reservations,
            device_model=self.device_model,
            jobs=self.jobs,
            clock=self.clock,
            monitoring=self.monitoring,
            display_messages=self.display_messages,
            customer_information=self.customer_information,
            security_events=self.security_events,
            charging_profiles=self.charging_profiles,
            ev_charging=self.ev_charging,
            costs=self.costs,
            certificates=self.certificates,
        )
        await self._start_monitoring()
        if self.cluster is not None:
            self.config_sync = ConfigSync(
                self.events,
                self.clock,
                stations=self.stations,
                security=self.security,
                webhooks=self.webhooks,
                tokens_changed=self._tokens_changed_here,
                station_changed=self._station_changed_elsewhere,
                desired_changed=self._desired_changed_elsewhere,
                load_changed=self._load_changed_elsewhere,
            )
            self.config_sync.attach()
            cluster = self.cluster
            # The alert checks that must run once run on the leader; stations held by other
            # nodes are not absent.
            self.alerts.is_leader = lambda: (
                cluster.leadership is not None and cluster.leadership.leading.is_set()
            )
            self.alerts.elsewhere = lambda: {s.station_id for s in cluster.remote}
        self._tasks = await self._exit.enter_async_context(asyncio.TaskGroup())
        self._exit.callback(self._cancel_jobs)
        # CertificateSigned goes out after the SignCertificate answer, as a task of the node.
        self.certificates.attach(self._tasks.create_task, self._certificate_port)
        self._start_background_jobs(self._tasks)
        if self.cluster is not None:
            self._jobs += self.cluster.run(self._tasks, self._singleton_work)
            self._jobs.append(
                self._tasks.create_task(self.config_sync.run(), name="cluster-config-sync")
            )

        http_socket = _listen(settings.host, settings.http_port, settings.backlog)
        api = ApiServer(self, http_socket)
        self._exit.push_async_callback(api.stop)

        self.gateway = StationGateway(
            admitter=self,
            on_connection=self._on_connection,
            subprotocols=settings.subprotocols,
            max_frame_size=settings.max_frame_size,
            ping_interval=settings.ping_interval,
            ping_timeout=settings.ping_timeout,
            close_timeout=settings.close_timeout,
            open_timeout=settings.open_timeout,
            compression=settings.compression,
            backlog=settings.backlog,
            backoff=_auth_backoff(settings),  # stations' failures, apart from the API's
            client_organization=settings.tls_client_organization,
            on_refused=self.security_events.csms_event,
        )
        self._exit.push_async_callback(self._shutdown_stations)
        self._exit.callback(self.shutdown_begins)  # runs first: before stations close
        self.ports = await self._start_listeners(http_socket.getsockname()[1])
        # The API answers (its health check too) only once stations can connect: a load
        # balancer that sends stations to a node whose health check passed must find it listening.
        self._tasks.create_task(api.serve(), name="api")
        log.info(
            "OCPP listening on ws://%s:%d/ocpp/{stationId} (%s)",
            settings.host,
            self.ports.ocpp,
            ", ".join(settings.subprotocols),
        )
        log.info("operator API listening on http://%s:%d/api/v1", settings.host, self.ports.http)

    async def _join_cluster(self) -> None:
        """Cluster mode: join the other nodes over NATS, sharing the PostgreSQL database."""
        settings = self.settings
        if self.storage.engine.dialect.name != "postgresql":
            raise ValueError("cluster mode (cluster_nats_url) needs a PostgreSQL database")
        assert settings.cluster_nats_url is not None
        self.cluster = ClusterNode(
            node_id=settings.node_id or default_node_id(),
            nats_url=settings.cluster_nats_url,
            engine=self.storage.engine,
            db_url=settings.db,
            events=self.events,
            clock=self.clock,
            call_timeout=settings.call_timeout,
            heartbeat_interval=settings.cluster_heartbeat_interval,
            node_timeout=settings.cluster_node_timeout,
            cluster_name=settings.cluster_name,
            record_disconnected=self.storage.stations.record_disconnected,
        )
        await self.cluster.start()
        self._exit.push_async_callback(self.cluster.stop)

    async def _start_listeners(self, http_port: int) -> BoundPorts:
        """One station listener per configured security profile (docs/security.md)."""
        settings = self.settings
        chains = [
            CertChain(cert, key)
            for cert, key in (
                (settings.tls_cert_file, settings.tls_key_file),
                (settings.tls_ecdsa_cert_file, settings.tls_ecdsa_key_file),
            )
            if cert and key
        ]
        ports = BoundPorts(ocpp=0, http=http_port)
        if settings.ocpp_ws:
            ports = replace(ports, ocpp=await self.gateway.start(settings.host, settings.ocpp_port))
        if settings.ocpp_tls_port is not None:
            port = await self.gateway.start(
                settings.host, settings.ocpp_tls_port, profile=2, ssl=server_context(chains)
            )
            ports = replace(ports, tls=port)
            log.info("OCPP profile 2 (wss + Basic auth) on port %d", port)
        if settings.ocpp_mtls_port is not None:
            if not settings.tls_client_ca_file:
                raise ValueError("ocpp_mtls_port needs tls_client_ca_file (profile 3)")
            context = server_context(chains, client_ca_file=settings.tls_client_ca_file)
            port = await self.gateway.start(
                settings.host, settings.ocpp_mtls_port, profile=3, ssl=context
            )
            ports = replace(ports, mtls=port)
            log.info("OCPP profile 3 (wss + client certificates) on port %d", port)
        return ports

    def _singleton_jobs(self) -> list[Coroutine[Any, Any, None]]:
        """The work that must run once in a cluster (on the leader; on a single node, here)."""
        jobs = [
            _every(AUDIT_PURGE_SECONDS, self.audit.purge),
            _every(AUDIT_PURGE_SECONDS, self.commands.purge),
            _every(RESERVATION_EXPIRY_SECONDS, self.reservations.expire_due),
            _every(self.settings.job_deadline_check_interval, self.jobs.expire_due),
            _every(CERTIFICATE_EXPIRY_CHECK_SECONDS, self.certificates.check_expiry),
        ]
        if self.settings.load_management_enabled:
            jobs.append(self.load_manager.run())
        return jobs

    async def _singleton_work(self) -> None:
        """The leader's term: run the singleton jobs until the leadership ends (cancelled)."""
        async with asyncio.TaskGroup() as tasks:
            for job in self._singleton_jobs():
                tasks.create_task(job)

    def _start_background_jobs(self, tasks: asyncio.TaskGroup) -> None:
        singletons = [] if self.cluster is not None else self._singleton_jobs()
        self._jobs = [
            tasks.create_task(_every(LAST_SEEN_FLUSH_SECONDS, self._flush_last_seen)),
            *(tasks.create_task(job) for job in singletons),
            tasks.create_task(self.local_list_worker.run(), name="local-lists"),
            tasks.create_task(self.desired_config_worker.run(), name="desired-config"),
            tasks.create_task(self.feed.run(), name="event-feed"),
            tasks.create_task(self.fleet.run(), name="fleet-state"),
            tasks.create_task(self.alerts.run(), name="alerts"),
            tasks.create_task(self.webhooks.run(), name="webhooks"),
            tasks.create_task(self.costs.run(), name="costs"),
            tasks.create_task(
                self.charging_profiles.forget_tx_profiles(self._tx_profile_events),
                name="tx-profiles",
            ),
        ]

        if self._reconcile_events is not None:
            self._jobs.append(
                tasks.create_task(
                    self.profile_reconciler.run(self._reconcile_events), name="profile-reconcile"
                )
            )

    async def _send_cost(self, notice: CostNotice) -> None:
        """Show a cost on the station: CostUpdated (2.0.1 I02), or for 1.6 a DataTransfer with
        the configured vendorId (docs/tariffs.md)."""
        call = self.own_call(notice.station_id)
        if notice.ocpp_version == "1.6":
            await send_cost_data_transfer(call, self.settings.cost_datatransfer_16, notice)
        else:
            await send_cost_updated(call, notice)

    def _cancel_jobs(self) -> None:
        for job in self._jobs:
            job.cancel()

    async def _shutdown_stations(self) -> None:
        await self.gateway.stop_listening()
        connections = list(self.registry)
        if connections:
            log.info("closing %d station connections", len(connections))
            async with asyncio.timeout(DRAIN_TIMEOUT_SECONDS):
                await asyncio.gather(
                    *(c.drain_and_close() for c in connections), return_exceptions=True
                )
        await self.gateway.close()

    async def _flush_last_seen(self) -> None:
        seen = {c.station_id: c.state.last_message_at for c in self.registry}
        if seen:
            await self.storage.stations.touch_last_seen(seen)

    # ------------------------------------------------------------- stations side

    async def admit(self, station_id: str) -> Admission | None:
        """The gateway's admission check: known stations, or unknown ones by policy."""
        station = await self.stations.access(station_id)
        if station is None:
            policy = self.settings.unknown_stations
            if policy is UnknownStationPolicy.REJECT:
                return None
            registration = (
                RegistrationStatus.ACCEPTED
                if policy is UnknownStationPolicy.ACCEPT
                else RegistrationStatus.PENDING
            )
            try:
                registered = await self.stations.auto_register(station_id, registration)
                station = StationAccess.of(registered)
                log.info("auto-registered station %s as %s", station_id, registration.value)
            except AlreadyExistsError:  # two connections raced; the other one registered it
                station = await self.stations.access(station_id)
                if station is None:
                    return None
        return Admission(
            station_id=station.id,
            password_hash=station.password_hash,
            registration=station.registration.value,
            strictness=station.strictness.value,
            security_profiles=self.security.accepted_profiles(station.id),
            pending_password_hash=self.security.get(station.id).pending_password_hash,
        )

    async def authenticated(self, admission: Admission) -> None:
        """The gateway let a station in: a first connection at an upgraded profile makes it final
        (A05.FR.09); one with a rotated password settles the rotation (A01)."""
        await self.security.connected(admission.station_id, admission.profile)
        await self.passwords.connected(
            admission.station_id, used_pending_password=admission.used_pending_password
        )

    async def _on_connection(
        self, websocket: StationWebSocket, admission: Admission, version: OcppVersion
    ) -> None:
        settings = self.settings
        session = RpcSession(
            version,
            role=Role.CSMS,
            call_timeout=settings.call_timeout,
            strictness=Strictness(admission.strictness),
            supported_actions=self.router.supported_actions(version),
            validate_outgoing_results=settings.validate_outgoing,
            count=self.metrics.message,
        )
        connection = StationConnection(
            station_id=admission.station_id,
            version=version,
            websocket=websocket,
            session=session,
            dispatch=self._dispatch,
            frames=self.audit,
            clock=self.clock,
            registration=admission.registration,
        )
        # Sessions cached for an earlier connection may have changed meanwhile (another node,
        # a reboot): reload them for this one.
        self.transactions.forget(connection.station_id)
        previous = self.registry.attach(connection)
        if previous is not None and self._tasks is not None:
            log.info(
                "station %s reconnected; closing its previous connection", connection.station_id
            )
            self._tasks.create_task(previous.close(1000, "replaced by a new connection"))
        log.info(
            "station %s connected (%s) from %s",
            connection.station_id,
            version.subprotocol,
            connection.state.remote_address,
        )
        fence: Fence | None = None
        if self.cluster is not None:
            # Takes the lease and sets this task's write fence (storage/fencing.py).
            fence = await self.cluster.station_connected(
                connection.station_id, self.bound_call(connection), connection.close
            )
        await self.storage.stations.record_connected(
            connection.station_id, version.value, connection.state.connected_at
        )
        self.events.publish(
            StationConnected(
                connection.station_id,
                version.value,
                connection.state.connected_at,
                connection.state.registration,
            )
        )
        if connection.state.registration == RegistrationStatus.ACCEPTED:
            # A managed station that missed token changes while away is re-synced.
            self.local_list_worker.station_connected(connection.station_id)
        try:
            await connection.run()
        finally:
            try:
                detached = self.registry.detach(connection)
                # A station that reconnected to another node is not disconnected.
                owner = fence is None or (self.cluster is not None and self.cluster.holds(fence))
                if detached and owner:
                    log.info("station %s disconnected", connection.station_id)
                    await self._record_disconnect(connection)
            finally:
                if fence is not None and self.cluster is not None:
                    await self.cluster.station_disconnected(fence)
                connection.finished.set()

    async def _record_disconnect(self, connection: StationConnection) -> None:
        try:
            # the periodic flush only sees live connections: keep this one's last frame
            await self.storage.stations.touch_last_seen(
                {connection.station_id: connection.state.last_message_at}
            )
            disconnected_at = self.clock.now()
            await self.storage.stations.record_disconnected(connection.station_id, disconnected_at)
        except StaleLeaseError:  # taken over by another node meanwhile: its record stands
            log.info("station %s: taken over while disconnecting", connection.station_id)
            return
        self.events.publish(StationDisconnected(connection.station_id, disconnected_at))

    async def _dispatch(
        self, connection: StationConnection, incoming: IncomingCall
    ) -> dict[str, Any]:
        call = incoming.call
        if incoming.deviations:
            await self.storage.deviations.record(
                connection.station_id,
                call.action,
                [(d.kind, d.path, d.detail) for d in incoming.deviations],
                self.clock.now(),
            )
        ctx = connection.context
        if ctx is None:
            version = connection.version
            ctx = connection.context = CallContext(
                connection.station_id,
                version,
                connection.state,
                self.services,
                self.router.routes(version),
            )
        started = time.perf_counter()
        try:
            result = await self.router.handler(ctx, call.action)(ctx, call.payload)
        finally:
            # the answer itself (ok or its CALLERROR code) is counted by the session
            self.metrics.handled(call.action, time.perf_counter() - started)
        if call.action == "BootNotification":
            self.events.publish(
                BootReported(connection.station_id, str(result.get("status")), self.clock.now())
            )
        if call.action == "BootNotification" and result.get("status") == "Accepted":
            # The list may be gone after a reboot: the worker checks it (after this answer).
            self.local_list_worker.station_booted(connection.station_id)
            # Desired configuration is applied after this answer too.
            self.desired_config_worker.station_booted(connection.station_id)
        if (
            call.action == "BootNotification"
            and connection.version is not OcppVersion.V16
            and result.get("status") == "Accepted"
            and self._tasks is not None
        ):
            # E14: after a reboot, ask about the sessions that were open. The task's CALL goes out
            # after this answer: the answer is queued before the task first runs.
            self._tasks.create_task(self._reconcile(connection.station_id))
        return result

    async def _reconcile(self, station_id: str) -> None:
        call = self.own_call(station_id)

        async def ask(transaction_id: str) -> TransactionStatusReport:
            return await ask_transaction_status(call, transaction_id)

        try:
            closed = await self.transactions.reconcile(station_id, ask)
        except OpenCsmsError as exc:
            log.info("station %s: could not reconcile transactions: %s", station_id, exc)
            return
        for tx in closed:
            log.info(
                "station %s: transaction %s was lost (%s); closed",
                station_id,
                tx.transaction_id,
                tx.stop_reason,
            )

    # -------------------------------------------------------- operator → station

    def registration_changed(self, station_id: str, registration: RegistrationStatus) -> None:
        """Apply an operator's new registration status to the station's live connection.

        A downgrade restricts the station at once. Any change is announced by asking the station for
        a new BootNotification (TriggerMessage, 1.6 §5.17 / 2.0.1 F06; TC_B_31_CSMS), whose answer
        then carries the new status; a Rejected station is not asked, as it must not answer the CSMS
        (1.6 §4.2).
        """
        connection = self.registry.get(station_id)
        if connection is None or connection.state.registration == registration.value:
            return
        if registration is not RegistrationStatus.ACCEPTED:
            connection.state.registration = registration.value
        if registration is not RegistrationStatus.REJECTED and self._tasks is not None:
            self._tasks.create_task(self._request_boot(station_id))

    def _desired_changed_elsewhere(self, station_id: str) -> None:
        """Cluster: a station's desired configuration (or, ``"*"``, a profile) changed through
        another node; this node's worker brings the stations it holds in line."""
        self.desired_config.forget()
        if station_id == "*":  # a profile: every station here may be concerned
            self.desired_config_worker.profiles_changed()
        elif self.registry.get(station_id) is not None:
            self.desired_config_worker.station_changed(station_id)

    async def _load_changed_elsewhere(self) -> None:
        """Cluster: load groups, members or signals changed through another node."""
        await self.load_management.load()
        self.load_manager.trigger("load groups changed on another node", urgent=True)

    def config_changed(self, kind: str, key: str | None = None) -> None:
        """Tell the other nodes of a cluster that ``kind``/``key`` changed (no-op alone)."""
        if self.cluster is not None:
            self.events.publish(ConfigChanged(kind, key, self.clock.now()))

    async def _station_changed_elsewhere(self, station_id: str) -> None:
        """Cluster: an operator changed (or removed) a station through another node; its live
        connection here follows, as if the change had been made through this node."""
        connection = self.registry.get(station_id)
        if connection is None:
            return
        access = await self.stations.access(station_id)
        if access is None:
            await connection.close(1000, "station removed by the operator")
            return
        self.registration_changed(station_id, access.registration)

    async def _request_boot(self, station_id: str) -> None:
        try:
            await self.own_call(station_id)(
                "TriggerMessage", {"requestedMessage": "BootNotification"}
            )
        except OpenCsmsError as exc:
            log.info("station %s: could not trigger a BootNotification: %s", station_id, exc)

    def _reconcile_call(self, station_id: str) -> StationCall | None:
        """The CSMS's own CALL sender for a station connected with GetChargingProfiles (2.x)."""
        connection = self.registry.get(station_id)
        if connection is None or connection.version is OcppVersion.V16:
            return None
        return self.own_call(station_id)

    def _restore_call_16(self, station_id: str) -> StationCall | None:
        """The CSMS's own CALL sender for a connected 1.6 station (its profiles are restored)."""
        connection = self.registry.get(station_id)
        if connection is None or connection.version is not OcppVersion.V16:
            return None
        return self.own_call(station_id)

    def _restored_by_load_manager(self, profile: ChargingProfile) -> bool:
        """The load manager's TxDefaultProfile: it re-sends its own after a 1.6 boot."""
        return (
            profile.purpose is ProfilePurpose.TX_DEFAULT
            and profile.id == self.settings.load_management_profile_id
        )

    def own_call(self, station_id: str) -> StationCall:
        """A CALL sender for what the CSMS sends on its own (not an operator): each CALL goes to
        the station's connection of the moment (``ConnectionClosedError`` when there is none,
        and then nothing is recorded) and is recorded in the command log as requested by
        :data:`CSMS_REQUESTER`. It notes what a Pending station may now send, like
        :meth:`bound_call`."""

        async def call(action: str, payload: dict[str, Any]) -> dict[str, Any]:
            connection = self.link(station_id)
            if connection is None:
                raise ConnectionClosedError(f"station {station_id} is not connected")
            request = CommandRequest(
                station_id,
                connection.version.value,
                action,
                payload,
                requested_by=CSMS_REQUESTER,
            )
            return (await self.commands.send(request, self.bound_call(connection))).result()

        return call

    def station_commands(self, station_id: str, *, requested_by: str = "api") -> StationCommands:
        """Local list, cache and reservation commands to the station's live connection, in its
        OCPP version (``ConnectionClosedError`` when it is not connected). The commands stay
        bound to this connection: if the station reconnects, they fail rather than reach a new
        connection that may speak another version.

        Each command is recorded in the command log as asked by ``requested_by`` (``"api"``, or
        :data:`CSMS_REQUESTER` for the automatic local list syncs)."""
        connection = self.link(station_id)
        if connection is None:
            raise ConnectionClosedError(f"station {station_id} is not connected")

        async def call(action: str, payload: dict[str, Any]) -> dict[str, Any]:
            return await connection.call(action, payload)

        async def recorded(action: str, payload: dict[str, Any]) -> dict[str, Any]:
            request = CommandRequest(
                station_id, connection.version.value, action, payload, requested_by=requested_by
            )
            return (await self.commands.send(request, call)).result()

        return station_commands(connection.version, recorded)

    def link(self, station_id: str) -> StationLink | None:
        """The way to a connected station: its connection here or, in a cluster, through the
        node that holds it; None when it is connected nowhere."""
        local = self.registry.get(station_id)
        if local is not None or self.cluster is None:
            return local
        return self.cluster.link(station_id)

    def bound_call(self, connection: StationLink) -> StationCall:
        """A CALL sender bound to ``connection`` (never to a later one of the same station) that
        notes what a Pending station may now send (B02.FR.09, like :meth:`call_station`)."""

        async def call(action: str, payload: dict[str, Any]) -> dict[str, Any]:
            result = await connection.call(action, payload)
            connection.state.permits |= permits_granted(action, payload, result)
            return result

        return call

    async def _start_monitoring(self) -> None:
        """Live fleet state, the public event feed, alerts and webhooks (docs/alerts.md,
        docs/metrics.md), loaded from the store before any station connects."""
        settings = self.settings

        def live_seen(station_id: str) -> datetime | None:
            connection = self.registry.get(station_id)
            return connection.last_heard() if connection is not None else None

        self.fleet = FleetState(self.events, self.clock, live_seen=live_seen)
        await self.fleet.seed(self.storage)
        self.feed = EventFeed(self.events, self.clock)
        self.alerts = AlertService(
            self.storage,
            self.clock,
            self.events,
            AlertSettings(
                offline_after=settings.offline_after_seconds,
                reconnect_count=settings.reconnect_alert_count,
                reconnect_window=settings.reconnect_alert_window,
                stuck_after=settings.stuck_transaction_after,
                check_interval=settings.alert_check_interval,
            ),
            links=lambda: list(self.registry),
        )
        await self.alerts.load()
        self.webhooks = WebhookService(
            self.storage,
            self.clock,
            self.feed,
            WebhookSettings(
                max_attempts=settings.webhook_max_attempts,
                timeout=settings.webhook_timeout,
                retry_base=settings.webhook_retry_base,
                retry_max=settings.webhook_retry_max,
                concurrency=settings.webhook_concurrency,
            ),
        )
        await self.webhooks.load()

    def shutdown_begins(self) -> None:
        """The node is stopping: the disconnects that follow are no outage (no offline alerts)
        and open live streams end so the API can stop. Runs on exit; call it sooner when stations
        of this process leave first (the demo fleet)."""
        self.alerts.node_stopping()
        self.feed.close_all()

    async def _start_configuration(self) -> None:
        """The configuration services and worker, and the provisioning file's desired
        configuration (profiles replaced; a station's sets replaced when the file names them)."""
        settings = self.settings
        self.configuration = ConfigurationService(self.storage, self.clock)
        self.device_model = DeviceModelService(self.storage, self.clock)
        self.desired_config = DesiredConfigService(
            self.storage, self.clock, self.configuration, self.device_model
        )
        self.desired_config_worker = DesiredConfigWorker(
            self.desired_config,
            self._configuration_port,
            lambda: [c.station_id for c in self.registry],
            on_boot=settings.apply_desired_on_boot,
            concurrency=settings.desired_config_concurrency,
        )
        for profile in settings.configuration_profiles:
            await self.desired_config.put_profile(
                profile.name,
                profile.vendor,
                profile.model,
                profile.configuration,
                profile.variables,
            )
        for seed in settings.stations:
            if seed.configuration is not None or seed.variables is not None:
                await self.desired_config.set_station(seed.id, seed.configuration, seed.variables)

    async def _start_load_management(self) -> None:
        """The load groups (read once) and the worker that allocates and sends profiles."""
        settings = self.settings
        self.load_management = LoadManagementService(self.storage, self.clock)
        await self.load_management.load()
        await self.load_management.provision(settings.load_groups)  # [[load_groups]]
        self.load_manager = LoadManagementWorker(
            self.load_management,
            self.storage,
            self.charging_profiles,
            self.events,
            self.clock,
            self._profile_port,
            LoadSettings(
                debounce=settings.load_management_debounce,
                interval=settings.load_management_interval,
                stack_level=settings.load_management_stack_level,
                profile_id=settings.load_management_profile_id,
                threshold_a=settings.load_management_threshold_a,
                concurrency=settings.load_management_concurrency,
                defaults=Defaults(
                    min_current_a=settings.load_management_min_current_a,
                    evse_max_current_a=settings.load_management_evse_max_current_a,
                    headroom_a=settings.load_management_headroom_a,
                ),
            ),
            # In-memory open sessions: no query per managed station per round (the
            # TransactionService is made later, hence the lambda).
            open_sessions=lambda station_id: self.transactions.open_sessions(station_id),
        )

        # An operator's change is applied at once, without the debounce.
        def load_changed(why: str) -> None:
            self.load_manager.trigger(why, urgent=True)
            # The allocator runs on the cluster's leader: it reloads the groups changed here.
            self.config_changed("load")

        self.load_management.on_change = load_changed

    def _profile_port(self, station_id: str) -> ProfilePort | None:
        """The load manager's way to a station: SetChargingProfile in its version, recorded
        as the CSMS's own command, if it is connected and Accepted."""
        connection = self.link(station_id)
        if connection is None or connection.state.registration != RegistrationStatus.ACCEPTED:
            return None
        return profile_port(connection.version, self.own_call(station_id))

    def _configuration_port(self, station_id: str) -> StationPort | None:
        """The desired-config worker's way to a station: its configuration commands, recorded as
        the CSMS's own, if it is connected and Accepted."""
        # This node's own stations: in a cluster each node's worker serves those it holds.
        connection = self.registry.get(station_id)
        if connection is None or connection.state.registration != RegistrationStatus.ACCEPTED:
            return None
        return configuration_port(connection.version, self.own_call(station_id))

    def _certificate_port(self, station_id: str) -> CertificatePort | None:
        """The certificate service's way to a station: its certificate CALLs in its version,
        recorded as the CSMS's own, if it is connected and Accepted."""
        connection = self.link(station_id)
        if connection is None or connection.state.registration != RegistrationStatus.ACCEPTED:
            return None
        return certificate_port(connection.version, self.own_call(station_id))

    def _local_list_port(self, station_id: str) -> LocalListPort | None:
        """The worker's way to a station: its list commands if it is connected and Accepted."""
        # This node's own stations: in a cluster each node's worker serves those it holds.
        connection = self.registry.get(station_id)
        if connection is None or connection.state.registration != RegistrationStatus.ACCEPTED:
            return None
        return self.station_commands(station_id, requested_by=CSMS_REQUESTER).local_auth

    async def call_station(
        self, station_id: str, action: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """Send a CALL to a connected station and return its CALLRESULT payload."""
        connection = self.registry.get(station_id)
        if connection is None:
            raise ConnectionClosedError(f"station {station_id} is not connected")
        return await self.bound_call(connection)(action, payload)


def _auth_backoff(settings: Settings) -> AuthBackoff:
    """Failure counters with the configured back-off (one for stations, one for the API)."""
    return AuthBackoff(
        base=settings.auth_backoff_base,
        maximum=settings.auth_backoff_max,
        free_failures=settings.auth_backoff_free_failures,
    )


async def _every(seconds: float, job: Any) -> None:
    """Run ``job`` every ``seconds``; a failing run is logged and the schedule goes on."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await job()
        except Exception:
            log.exception("background job %s failed", getattr(job, "__name__", job))


def _listen(host: str, port: int, backlog: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: without it, a response written as headers then body on
    # a keep-alive connection waits for the client's delayed ACK (Nagle), ~40 ms per request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.setblocking(False)
    return sock

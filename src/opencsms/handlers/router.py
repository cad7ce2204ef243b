"""Explicit route tables: (version, action) → handler (ARCHITECTURE rule 5).

A handler translates one OCPP payload into a domain call and the domain result back into the
response payload, nothing more. An action with no route is answered by the RPC session:
NotImplemented when OCPP has no such action, NotSupported when it exists but the CSMS does not
handle it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from opencsms.clock import Clock
from opencsms.domain.authorization import AuthorizationService
from opencsms.domain.cdrs import CostService
from opencsms.domain.certificates import CertificateService
from opencsms.domain.charging_profiles import ChargingProfileService
from opencsms.domain.customer_information import CustomerInformationService
from opencsms.domain.device_model_service import DeviceModelService
from opencsms.domain.display_messages import DisplayMessageService
from opencsms.domain.ev_charging import EvChargingService
from opencsms.domain.jobs import JobService
from opencsms.domain.monitoring import MonitoringService
from opencsms.domain.provisioning import ProvisioningService, check_allowed
from opencsms.domain.reports import ReportService
from opencsms.domain.reservations import ReservationService
from opencsms.domain.security_events import SecurityEventService
from opencsms.domain.transactions import TransactionService
from opencsms.errors import NotSupportedError
from opencsms.ocpp.version import OcppVersion
from opencsms.transport.connection import ConnectionState


@dataclass(frozen=True, slots=True)
class Services:
    """The domain services handlers may call."""

    provisioning: ProvisioningService
    reports: ReportService
    authorization: AuthorizationService
    transactions: TransactionService
    reservations: ReservationService
    device_model: DeviceModelService
    jobs: JobService
    clock: Clock
    monitoring: MonitoringService
    display_messages: DisplayMessageService
    customer_information: CustomerInformationService
    security_events: SecurityEventService
    charging_profiles: ChargingProfileService
    ev_charging: EvChargingService
    costs: CostService | None = None
    """Transaction cost (docs/tariffs.md); ``None`` in nodes built without billing."""
    certificates: CertificateService | None = None
    """Certificate signing, inventory and Plug & Charge (docs/certificates.md)."""


class CallContext:
    """Who sent a CALL and what the handler may use to answer it (one per connection)."""

    __slots__ = ("routes", "services", "state", "station_id", "version")

    def __init__(
        self,
        station_id: str,
        version: OcppVersion,
        state: ConnectionState,
        services: Services,
        routes: RouteTable,
    ) -> None:
        self.station_id = station_id
        self.version = version
        self.state = state
        self.services = services
        self.routes = routes
        """The handlers of this connection's version (:meth:`Router.routes`)."""

    @property
    def received_at(self) -> datetime:
        """When the CALL being handled arrived (CSMS clock)."""
        return self.state.last_message_at


Payload = dict[str, Any]
Handler = Callable[[CallContext, Payload], Awaitable[Payload]]


def reply(response: Mapping[str, object]) -> Payload:
    """Hand a response built as its generated TypedDict (checked by mypy) to the RPC session."""
    return cast(Payload, response)


RouteTable = Mapping[str, Handler]


class Router:
    """Finds the handler of an incoming CALL and enforces the registration gate before it runs."""

    def __init__(self, tables: Mapping[OcppVersion, RouteTable]) -> None:
        self._tables = {version: dict(table) for version, table in tables.items()}

    def supported_actions(self, version: OcppVersion) -> frozenset[str]:
        """Actions handled on ``version``; the RPC session answers NotSupported for the others."""
        return frozenset(self._tables.get(version, {}))

    def routes(self, version: OcppVersion) -> RouteTable:
        """The route table of ``version`` (one per connection's context: looked up once)."""
        return self._tables.setdefault(version, {})

    def handler(self, ctx: CallContext, action: str) -> Handler:
        """The handler of ``action`` once the registration gate lets it through; raises
        ``NotSupportedError`` or the gate's ``SecurityError``. Awaiting the handler directly
        (not a dispatch coroutine around it) saves a coroutine per station message."""
        handler = ctx.routes.get(action)
        if handler is None:
            raise NotSupportedError(f"{action} is not supported by this CSMS")
        state = ctx.state
        check_allowed(state.registration, state.permits, action)
        return handler

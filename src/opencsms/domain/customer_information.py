"""Customer information: ask a 2.0.1 station what it holds about one customer, and/or have it
clear that data (N09 Get Customer Information, N10 Clear Customer Information), for example to
answer a data subject's request under privacy law.

The request names the customer by exactly one of an idToken, a customer certificate or a
customer identifier (N09.FR.04; a station answers ``Invalid`` otherwise, errata N09.FR.09) and
asks for a report, a clear, or both (TC_N_27/30/32_CSMS). The station answers Accepted, Rejected
or Invalid, then sends its data as NotifyCustomerInformation parts (``data`` strings of at most
512 characters, ``seqNo`` from 0, ``tbc`` on all but the last; N09.FR.05, N10.FR.06 for a clear);
each part is stored before it is acknowledged (a resent part is ignored) and the report is the
parts' ``data`` joined in ``seqNo`` order.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opencsms.clock import Clock
from opencsms.domain.report_requests import (
    ReportKind,
    ReportPart,
    ReportRequest,
    ReportSignals,
    is_complete,
    missing_parts,
)
from opencsms.errors import OpenCsmsError

if TYPE_CHECKING:
    import asyncio

    from opencsms.storage.store import Storage

__all__ = [
    "CertificateRef",
    "CustomerInformation",
    "CustomerInformationService",
    "CustomerQuery",
    "InvalidCustomerQuery",
]

_KIND = ReportKind.CUSTOMER_INFORMATION


class InvalidCustomerQuery(OpenCsmsError):
    """A request that names no customer, more than one, or asks for nothing."""


@dataclass(frozen=True, slots=True)
class CertificateRef:
    """A customer's certificate by its hash data (2.0.1 CertificateHashDataType)."""

    hash_algorithm: str
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str


@dataclass(frozen=True, slots=True)
class CustomerQuery:
    """What to ask: ``report`` and/or ``clear`` the data of one customer."""

    report: bool
    clear: bool
    id_token: str | None = None
    id_token_type: str | None = None
    customer_certificate: CertificateRef | None = None
    customer_identifier: str | None = None

    def check(self) -> None:
        """Raise :class:`InvalidCustomerQuery` unless exactly one customer reference is given
        (N09.FR.04) and a report or a clear is asked for."""
        given = [
            name
            for name, value in (
                ("id_token", self.id_token),
                ("customer_certificate", self.customer_certificate),
                ("customer_identifier", self.customer_identifier),
            )
            if value is not None
        ]
        if len(given) != 1:
            raise InvalidCustomerQuery(
                "name the customer by exactly one of id_token, customer_certificate or "
                f"customer_identifier (N09.FR.04); given: {', '.join(given) or 'none'}"
            )
        if not (self.report or self.clear):
            raise InvalidCustomerQuery("ask for report, clear, or both")

    def parameters(self) -> dict[str, Any]:
        """The request as stored with the report (JSON)."""
        certificate = self.customer_certificate
        return {
            "report": self.report,
            "clear": self.clear,
            "id_token": self.id_token,
            "id_token_type": self.id_token_type,
            "customer_identifier": self.customer_identifier,
            "customer_certificate": None
            if certificate is None
            else {
                "hash_algorithm": certificate.hash_algorithm,
                "issuer_name_hash": certificate.issuer_name_hash,
                "issuer_key_hash": certificate.issuer_key_hash,
                "serial_number": certificate.serial_number,
            },
        }


@dataclass(frozen=True, slots=True)
class CustomerInformation:
    """A request and what arrived for it: ``data`` is the parts joined in ``seqNo`` order
    (``None`` before any part); ``missing`` the ``seqNo`` values not received below the
    highest one."""

    request: ReportRequest
    parts: int
    complete: bool
    missing: list[int]
    data: str | None
    generated_at: datetime | None


class CustomerInformationService:
    """Records customer information requests and assembles the reports (one per node)."""

    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock
        self.signals = ReportSignals()

    @contextlib.contextmanager
    def watch(self, station_id: str, request_id: int) -> Iterator[asyncio.Event]:
        with self.signals.watch(station_id, _KIND, request_id) as event:
            yield event

    async def requested(
        self, station_id: str, request_id: int, query: CustomerQuery
    ) -> ReportRequest:
        """Record a CustomerInformation request before it is sent."""
        query.check()
        now = self._clock.now()
        request = ReportRequest(
            station_id, _KIND, request_id, query.parameters(), False, now, None, None, now
        )
        await self._storage.requested_reports.create(request)
        return request

    async def withdrawn(self, station_id: str, request_id: int) -> None:
        """Nothing was sent: forget the request."""
        await self._storage.requested_reports.delete(station_id, _KIND, request_id)

    async def answered(self, station_id: str, request_id: int, status: str) -> None:
        """The station's answer: Accepted (parts follow when reporting or clearing), Rejected
        or Invalid (nothing follows: the request is complete)."""
        reports = self._storage.requested_reports
        await reports.set_status(station_id, _KIND, request_id, status)
        if status != "Accepted":
            await reports.set_completed(station_id, _KIND, request_id, self._clock.now())
            self.signals.completed(station_id, _KIND, request_id)

    async def part(
        self,
        station_id: str,
        request_id: int,
        seq_no: int,
        tbc: bool,
        data: str,
        generated_at: datetime | None,
        received_at: datetime,
    ) -> None:
        """NotifyCustomerInformation: store the part durably (a resend is ignored); mark the
        report complete once every part arrived."""
        reports = self._storage.requested_reports
        part = ReportPart(
            station_id, _KIND, request_id, seq_no, tbc, data, generated_at, received_at
        )
        await reports.add_part(part)
        if is_complete(await reports.parts(station_id, _KIND, request_id)):
            await reports.set_completed(station_id, _KIND, request_id, received_at)
            self.signals.completed(station_id, _KIND, request_id)

    async def get(self, station_id: str, request_id: int) -> CustomerInformation | None:
        """The request and its assembled data; ``None`` for an unknown request id."""
        reports = self._storage.requested_reports
        request = await reports.get(station_id, _KIND, request_id)
        if request is None:
            return None
        return self._assembled(request, await reports.parts(station_id, _KIND, request_id))

    async def requests(self, station_id: str, limit: int = 50) -> list[CustomerInformation]:
        """The station's requests, newest first, with their data."""
        reports = self._storage.requested_reports
        out = []
        for request in await reports.list(station_id, _KIND, limit):
            parts = await reports.parts(station_id, _KIND, request.request_id)
            out.append(self._assembled(request, parts))
        return out

    @staticmethod
    def _assembled(request: ReportRequest, parts: list[ReportPart]) -> CustomerInformation:
        return CustomerInformation(
            request=request,
            parts=len(parts),
            complete=request.completed_at is not None,
            missing=missing_parts(parts),
            data="".join(p.data for p in parts) if parts else None,
            generated_at=max((p.generated_at for p in parts if p.generated_at), default=None),
        )

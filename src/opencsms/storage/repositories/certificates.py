"""Certificates (docs/certificates.md): what the CSMS's CA signed (``issued_certificates``), every
SignCertificate and its decision (``certificate_requests``), what each station holds
(``station_certificates``) and cached OCSP answers (``ocsp_responses``)."""

from __future__ import annotations

import base64
import builtins
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.engine import Row

from opencsms.security.model import (
    CertificateRequest,
    CertificateType,
    HashData,
    InstalledCertificate,
    IssuedCertificate,
    OcspRecord,
    SigningUse,
)

from ..statements import Statement, WriteOp
from ..tables import (
    certificate_requests,
    issued_certificates,
    ocsp_responses,
    station_certificates,
)
from .base import Repository, dialect_insert, storage_errors

__all__ = ["CertificateRepository"]

_ISSUED = tuple(c.name for c in issued_certificates.columns)
_REQUESTS = tuple(c.name for c in certificate_requests.columns)
_INVENTORY = tuple(c.name for c in station_certificates.columns)
_OCSP = tuple(c.name for c in ocsp_responses.columns)


def _upsert(table: Any, columns: tuple[str, ...], key: Sequence[str]) -> Any:
    def build(dialect: str) -> Any:
        insert = dialect_insert(dialect, table).values({n: bindparam(n) for n in columns})
        return insert.on_conflict_do_update(
            index_elements=list(key),
            set_={n: insert.excluded[n] for n in columns if n not in key},
        )

    return build


_SAVE_ISSUED = Statement(
    "issued_certificates.save", _ISSUED, _upsert(issued_certificates, _ISSUED, ["serial"])
)
# A resent SignCertificate has a new request id: requests are never replaced.
_ADD_REQUEST = Statement(
    "certificate_requests.add",
    _REQUESTS,
    lambda d: (
        dialect_insert(d, certificate_requests)
        .values({n: bindparam(n) for n in _REQUESTS})
        .on_conflict_do_nothing(index_elements=["id"])
    ),
)
_DELIVERED = Statement(
    "issued_certificates.delivered",
    ("k_serial", "delivery_status", "delivered_at"),
    lambda _d: (
        update(issued_certificates)
        .where(issued_certificates.c.serial == bindparam("k_serial"))
        .values(
            delivery_status=bindparam("delivery_status"),
            delivered_at=bindparam("delivered_at"),
        )
    ),
)
_NOTIFIED = Statement(
    "issued_certificates.notified",
    ("k_serial", "expiry_notified_at"),
    lambda _d: (
        update(issued_certificates)
        .where(issued_certificates.c.serial == bindparam("k_serial"))
        .values(expiry_notified_at=bindparam("expiry_notified_at"))
    ),
)
_SAVE_INSTALLED = Statement(
    "station_certificates.save",
    _INVENTORY,
    _upsert(station_certificates, _INVENTORY, ["station_id", "id"]),
)
_DELETE_INSTALLED = Statement(
    "station_certificates.delete",
    ("k_station", "k_id"),
    lambda _d: delete(station_certificates).where(
        station_certificates.c.station_id == bindparam("k_station"),
        station_certificates.c.id == bindparam("k_id"),
    ),
    counted=True,
)
_DELETE_TYPE = Statement(
    "station_certificates.delete_type",
    ("k_station", "k_type"),
    lambda _d: delete(station_certificates).where(
        station_certificates.c.station_id == bindparam("k_station"),
        station_certificates.c.certificate_type == bindparam("k_type"),
    ),
)
_SAVE_OCSP = Statement("ocsp_responses.save", _OCSP, _upsert(ocsp_responses, _OCSP, ["cert_id"]))


def _issued(row: Row[Any]) -> IssuedCertificate:
    m = row._mapping
    return IssuedCertificate(
        serial=m["serial"],
        station_id=m["station_id"],
        use=SigningUse(m["use"]),
        subject=m["subject"],
        pem=m["pem"],
        not_before=m["not_before"],
        not_after=m["not_after"],
        issued_at=m["issued_at"],
        request_id=m["request_id"],
        delivery_status=m["delivery_status"],
        delivered_at=m["delivered_at"],
        revoked_at=m["revoked_at"],
        expiry_notified_at=m["expiry_notified_at"],
    )


def _request(row: Row[Any]) -> CertificateRequest:
    m = row._mapping
    return CertificateRequest(
        id=m["id"],
        station_id=m["station_id"],
        use=SigningUse(m["use"]),
        csr=m["csr"],
        received_at=m["received_at"],
        accepted=bool(m["accepted"]),
        reason=m["reason"],
        serial=m["serial"],
    )


def _hash_data(value: dict[str, str]) -> HashData:
    return HashData(
        value["hash_algorithm"],
        value["issuer_name_hash"],
        value["issuer_key_hash"],
        value["serial_number"],
    )


def _installed(row: Row[Any]) -> InstalledCertificate:
    m = row._mapping
    children = orjson.loads(m["children"]) if m["children"] else []
    return InstalledCertificate(
        station_id=m["station_id"],
        type=CertificateType(m["certificate_type"]),
        hash_data=_hash_data(dict(m)),
        source=m["source"],
        updated_at=m["updated_at"],
        pem=m["pem"],
        subject=m["subject"],
        not_after=m["not_after"],
        children=tuple(_hash_data(c) for c in children),
    )


class CertificateRepository(Repository):
    """Tables ``issued_certificates``, ``certificate_requests``, ``station_certificates`` and
    ``ocsp_responses``."""

    # ---------------------------------------------------------------- signing

    def _issued_params(self, cert: IssuedCertificate) -> tuple[Any, ...]:
        values: dict[str, Any] = {
            "serial": cert.serial,
            "station_id": cert.station_id,
            "use": cert.use.value,
            "subject": cert.subject,
            "pem": cert.pem,
            "not_before": self._ts(cert.not_before),
            "not_after": self._ts(cert.not_after),
            "issued_at": self._ts(cert.issued_at),
            "request_id": cert.request_id,
            "delivery_status": cert.delivery_status,
            "delivered_at": self._ts_or_none(cert.delivered_at),
            "revoked_at": self._ts_or_none(cert.revoked_at),
            "expiry_notified_at": self._ts_or_none(cert.expiry_notified_at),
        }
        return tuple(values[n] for n in _ISSUED)

    async def add_request(
        self, request: CertificateRequest, issued: IssuedCertificate | None
    ) -> None:
        """Store a SignCertificate decision and the certificate it produced, in one commit."""
        values: dict[str, Any] = {
            "id": request.id,
            "station_id": request.station_id,
            "use": request.use.value,
            "csr": request.csr,
            "received_at": self._ts(request.received_at),
            "accepted": request.accepted,
            "reason": request.reason,
            "serial": request.serial,
        }
        ops = [WriteOp(_ADD_REQUEST, tuple(values[n] for n in _REQUESTS))]
        if issued is not None:
            ops.append(WriteOp(_SAVE_ISSUED, self._issued_params(issued)))
        await self._writer.execute(*ops)

    async def set_delivery(self, serial: str, status: str, at: datetime) -> None:
        """Record the station's CertificateSigned answer (or ``Failed``)."""
        await self._writer.execute(WriteOp(_DELIVERED, (serial, status, self._ts(at))))

    async def mark_expiry_notified(self, serials: Iterable[str], at: datetime) -> None:
        ops = [WriteOp(_NOTIFIED, (s, self._ts(at))) for s in serials]
        if ops:
            await self._writer.execute(*ops)

    async def get_issued(self, serial: str) -> IssuedCertificate | None:
        query = select(issued_certificates).where(issued_certificates.c.serial == serial)
        with storage_errors():
            async with self._engine.connect() as conn:
                row = (await conn.execute(query)).first()
        return None if row is None else _issued(row)

    async def list_issued(
        self, *, station_id: str | None = None, limit: int = 100
    ) -> builtins.list[IssuedCertificate]:
        """Issued certificates, newest first (of one station, or all)."""
        c = issued_certificates.c
        query = select(issued_certificates)
        if station_id is not None:
            query = query.where(c.station_id == station_id)
        query = query.order_by(c.issued_at.desc(), c.serial).limit(limit)
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_issued(r) for r in rows]

    async def in_use_expiring(self, before: datetime) -> builtins.list[IssuedCertificate]:
        """Certificates stations accepted, not revoked nor notified yet, ending before
        ``before``, oldest end first; the caller drops those a newer certificate replaced."""
        c = issued_certificates.c
        query = (
            select(issued_certificates)
            .where(
                c.delivery_status == "Accepted",
                c.revoked_at.is_(None),
                c.expiry_notified_at.is_(None),
                c.not_after <= before,
            )
            .order_by(c.not_after)
        )
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_issued(r) for r in rows]

    async def newest_accepted(self, station_id: str, use: SigningUse) -> IssuedCertificate | None:
        """The station's most recently issued certificate of ``use`` that it accepted."""
        c = issued_certificates.c
        query = (
            select(issued_certificates)
            .where(c.station_id == station_id, c.use == use.value, c.delivery_status == "Accepted")
            .order_by(c.issued_at.desc())
            .limit(1)
        )
        with storage_errors():
            async with self._engine.connect() as conn:
                row = (await conn.execute(query)).first()
        return None if row is None else _issued(row)

    async def list_requests(
        self, station_id: str, *, limit: int = 100
    ) -> builtins.list[CertificateRequest]:
        c = certificate_requests.c
        query = (
            select(certificate_requests)
            .where(c.station_id == station_id)
            .order_by(c.received_at.desc(), c.id)
            .limit(limit)
        )
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_request(r) for r in rows]

    # -------------------------------------------------------------- inventory

    def _installed_params(self, item: InstalledCertificate) -> tuple[Any, ...]:
        h = item.hash_data.normalized()
        children = [
            {
                "hash_algorithm": x.hash_algorithm,
                "issuer_name_hash": x.issuer_name_hash,
                "issuer_key_hash": x.issuer_key_hash,
                "serial_number": x.serial_number,
            }
            for x in (child.normalized() for child in item.children)
        ]
        values: dict[str, Any] = {
            "station_id": item.station_id,
            "id": item.id,
            "certificate_type": item.type.value,
            "hash_algorithm": h.hash_algorithm,
            "issuer_name_hash": h.issuer_name_hash,
            "issuer_key_hash": h.issuer_key_hash,
            "serial_number": h.serial_number,
            "children": orjson.dumps(children).decode() if children else None,
            "pem": item.pem,
            "subject": item.subject,
            "not_after": self._ts_or_none(item.not_after),
            "source": item.source,
            "updated_at": self._ts(item.updated_at),
        }
        return tuple(values[n] for n in _INVENTORY)

    async def save_installed(self, *items: InstalledCertificate) -> None:
        """Create or replace inventory entries (by station and id), in one commit."""
        if items:
            await self._writer.execute(
                *(WriteOp(_SAVE_INSTALLED, self._installed_params(i)) for i in items)
            )

    async def replace_installed(
        self,
        station_id: str,
        types: Iterable[CertificateType],
        items: Sequence[InstalledCertificate],
    ) -> None:
        """Make ``items`` the station's whole inventory of ``types``, in one commit."""
        ops = [WriteOp(_DELETE_TYPE, (station_id, t.value)) for t in types]
        ops += [WriteOp(_SAVE_INSTALLED, self._installed_params(i)) for i in items]
        if ops:
            await self._writer.execute(*ops)

    async def delete_installed(self, station_id: str, entry_id: str) -> bool:
        """Remove one entry; whether it existed."""
        counts = await self._writer.execute_counted(
            WriteOp(_DELETE_INSTALLED, (station_id, entry_id))
        )
        return bool(counts and counts[0])

    async def list_installed(self, station_id: str) -> builtins.list[InstalledCertificate]:
        """The station's inventory, by type then id."""
        c = station_certificates.c
        query = (
            select(station_certificates)
            .where(c.station_id == station_id)
            .order_by(c.certificate_type, c.id)
        )
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_installed(r) for r in rows]

    # ------------------------------------------------------------------- OCSP

    async def get_ocsp(self, cert_id: str) -> OcspRecord | None:
        query = select(ocsp_responses).where(ocsp_responses.c.cert_id == cert_id)
        with storage_errors():
            async with self._engine.connect() as conn:
                row = (await conn.execute(query)).first()
        if row is None:
            return None
        m = row._mapping
        return OcspRecord(
            cert_id=m["cert_id"],
            status=m["status"],
            response_der=base64.b64decode(m["response"]),
            fetched_at=m["fetched_at"],
            expires_at=m["expires_at"],
            revoked_at=m["revoked_at"],
        )

    async def save_ocsp(self, record: OcspRecord) -> None:
        values: dict[str, Any] = {
            "cert_id": record.cert_id,
            "status": record.status,
            "response": base64.b64encode(record.response_der).decode("ascii"),
            "fetched_at": self._ts(record.fetched_at),
            "expires_at": self._ts(record.expires_at),
            "revoked_at": self._ts_or_none(record.revoked_at),
        }
        await self._writer.execute(WriteOp(_SAVE_OCSP, tuple(values[n] for n in _OCSP)))

"""Contract tests of the certificate repository (SQLite and PostgreSQL): requests with their
certificate in one commit, delivery and expiry marks, the per-station inventory (replace by type,
delete by id, hash data normalized) and the OCSP cache."""

from __future__ import annotations

from datetime import timedelta

from opencsms.security.model import (
    CertificateRequest,
    CertificateType,
    HashData,
    InstalledCertificate,
    IssuedCertificate,
    OcspRecord,
    SigningUse,
)
from opencsms.storage import Storage

from .conftest import T0


def issued(serial: str, station: str = "CS-1", *, days: int = 30) -> IssuedCertificate:
    return IssuedCertificate(
        serial=serial,
        station_id=station,
        use=SigningUse.CHARGING_STATION,
        subject=f"CN={station}",
        pem="-----BEGIN CERTIFICATE-----\n...",
        not_before=T0,
        not_after=T0 + timedelta(days=days),
        issued_at=T0 + timedelta(seconds=int(serial, 16)),
        request_id=f"r{serial}",
    )


def request(cert: IssuedCertificate | None, rid: str = "r1") -> CertificateRequest:
    return CertificateRequest(
        id=cert.request_id if cert else rid,
        station_id="CS-1",
        use=SigningUse.CHARGING_STATION,
        csr="csr",
        received_at=T0,
        accepted=cert is not None,
        reason=None if cert else "CN is 'X', not the station id 'CS-1'",
        serial=cert.serial if cert else None,
    )


async def test_signing_records(storage: Storage) -> None:
    repo = storage.certificates
    old, new = issued("a1", days=10), issued("b2", days=20)
    await repo.add_request(request(old), old)
    await repo.add_request(request(None, "r-refused"), None)
    await repo.add_request(request(new), new)
    requests = {r.id: r for r in await repo.list_requests("CS-1")}
    assert set(requests) == {"ra1", "r-refused", "rb2"}
    assert requests["r-refused"].reason == "CN is 'X', not the station id 'CS-1'"
    assert requests["rb2"].serial == "b2"
    assert [c.serial for c in await repo.list_issued(station_id="CS-1")] == ["b2", "a1"]
    assert await repo.in_use_expiring(T0 + timedelta(days=60)) == []  # none delivered yet
    await repo.set_delivery("a1", "Accepted", T0)
    await repo.set_delivery("b2", "Accepted", T0 + timedelta(seconds=1))
    expiring = await repo.in_use_expiring(T0 + timedelta(days=15))
    assert [c.serial for c in expiring] == ["a1"]
    newest = await repo.newest_accepted("CS-1", SigningUse.CHARGING_STATION)
    assert newest is not None
    assert newest.serial == "b2"
    await repo.mark_expiry_notified(["a1"], T0)
    assert await repo.in_use_expiring(T0 + timedelta(days=15)) == []
    stored = await repo.get_issued("a1")
    assert stored is not None
    assert (stored.delivery_status, stored.expiry_notified_at) == ("Accepted", T0)


async def test_inventory_and_ocsp_cache(storage: Storage) -> None:
    repo = storage.certificates
    root = InstalledCertificate(
        "CS-1",
        CertificateType.CSMS_ROOT,
        HashData("SHA256", "AA", "BB", "00ff"),
        "installed",
        T0,
        pem="pem",
        subject="CN=Root",
        not_after=T0 + timedelta(days=3650),
    )
    chain = InstalledCertificate(
        "CS-1",
        CertificateType.V2G_CHAIN,
        HashData("SHA256", "cc", "dd", "1"),
        "reported",
        T0,
        children=(HashData("SHA256", "ee", "ff", "2"),),
    )
    await repo.save_installed(root, chain)
    listed = await repo.list_installed("CS-1")
    assert [e.type for e in listed] == [CertificateType.CSMS_ROOT, CertificateType.V2G_CHAIN]
    assert listed[0].hash_data == HashData("SHA256", "aa", "bb", "ff")  # normalized
    assert listed[0].id == root.id
    assert listed[1].children == chain.children
    # A report of the V2G types replaces them and leaves the CSMS root alone.
    await repo.replace_installed("CS-1", [CertificateType.V2G_CHAIN], [])
    assert [e.type for e in await repo.list_installed("CS-1")] == [CertificateType.CSMS_ROOT]
    assert await repo.delete_installed("CS-1", root.id) is True
    assert await repo.delete_installed("CS-1", root.id) is False
    record = OcspRecord("k1", "revoked", b"\x30\x03der", T0, T0 + timedelta(hours=1), T0)
    await repo.save_ocsp(record)
    assert await repo.get_ocsp("k1") == record
    assert await repo.get_ocsp("k2") is None

"""The OCSP client against a local responder: statuses, the cache, signature checks, failures;
and the contract verifier's verdicts (C07.FR.15-17) built on it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.x509 import ocsp

from opencsms.clock import SystemClock
from opencsms.security.contracts import ContractStatus, ContractVerifier, OcspQuery
from opencsms.security.ocsp import OcspClient, OcspError, hash_data_of
from tests.security.pki import PncPki, local_responder


async def test_good_and_revoked_are_read_and_cached() -> None:
    async with local_responder() as responder:
        pki = PncPki(f"{responder.url}/ocsp")
        good, revoked = pki.contract("DE-ABC-C12345678-9"), pki.contract("DE-ABC-C00000001-1")
        responder.add(good, pki.sub)
        responder.add(revoked, pki.sub, revoked=True)
        client = OcspClient(SystemClock())
        url = f"{responder.url}/ocsp"
        first = await client.check(hash_data_of(good, pki.sub.cert), url, issuer=pki.sub.cert)
        assert (first.status, first.verified, first.cached) == ("good", True, False)
        assert ocsp.load_der_ocsp_response(first.response_der).serial_number == good.serial_number
        again = await client.check(hash_data_of(good, pki.sub.cert), url)
        assert (again.status, again.cached) == ("good", True)
        assert responder.requests == 1  # the second answer came from the cache
        result = await client.check(hash_data_of(revoked, pki.sub.cert, "SHA384"), url)
        assert result.status == "revoked"
        assert result.revoked_at is not None
        assert responder.requests == 2


async def test_a_response_not_signed_by_the_issuer_is_refused() -> None:
    async with local_responder() as responder:
        pki, other = PncPki(f"{responder.url}/ocsp"), PncPki("http://unused/")
        cert = pki.contract("DE-ABC-C12345678-9")
        responder.add(cert, pki.sub)
        client = OcspClient(SystemClock())
        with pytest.raises(OcspError, match="not signed by the issuer"):
            await client.check(
                hash_data_of(cert, pki.sub.cert), f"{responder.url}/ocsp", issuer=other.sub.cert
            )


async def test_unreachable_unknown_and_bad_urls_are_errors() -> None:
    async with local_responder() as responder:
        pki = PncPki(f"{responder.url}/ocsp")
        stranger = pki.contract("DE-ABC-C99999999-9")  # never told to the responder
        client = OcspClient(SystemClock(), timeout=2.0)
        data = hash_data_of(stranger, pki.sub.cert)
        with pytest.raises(OcspError, match="UNAUTHORIZED"):
            await client.check(data, f"{responder.url}/ocsp")
        closed_url = responder.url
    with pytest.raises(OcspError, match="unreachable"):
        await client.check(data, f"{closed_url}/ocsp")
    with pytest.raises(OcspError, match="not an HTTP"):
        await client.check(data, "ldap://example.com/")


async def test_contract_verifier_verdicts() -> None:
    async with local_responder() as responder:
        url = f"{responder.url}/ocsp"
        pki = PncPki(url)
        good = pki.contract("DE-ABC-C12345678-9")
        revoked = pki.contract("DE-ABC-C00000001-1")
        expired = pki.contract("DE-ABC-C00000002-2", expired=True)
        for cert in (good, expired):
            responder.add(cert, pki.sub)
        responder.add(revoked, pki.sub, revoked=True)
        responder.add(pki.sub.cert, pki.root)
        verifier = ContractVerifier(OcspClient(SystemClock()), [pki.root.cert])
        now = datetime.now(UTC)
        check = await verifier.check_chain(pki.chain_pem(good), now)
        assert (check.status, check.emaid) == (ContractStatus.ACCEPTED, "DE-ABC-C12345678-9")
        assert (await verifier.check_chain(pki.chain_pem(revoked), now)).status is (
            ContractStatus.REVOKED
        )
        assert (await verifier.check_chain(pki.chain_pem(expired), now)).status is (
            ContractStatus.EXPIRED
        )
        untrusted = ContractVerifier(OcspClient(SystemClock()), [PncPki(url).root.cert])
        assert (await untrusted.check_chain(pki.chain_pem(good), now)).status is (
            ContractStatus.CHAIN_ERROR
        )
        # Hash data: the station validated the chain; the CSMS checks revocation only.
        queries = [
            OcspQuery(hash_data_of(revoked, pki.sub.cert), url),
            OcspQuery(hash_data_of(pki.sub.cert, pki.root.cert), url),
        ]
        assert (await verifier.check_hash_data(queries)).status is ContractStatus.REVOKED
        queries[0] = OcspQuery(hash_data_of(good, pki.sub.cert), url)
        assert (await verifier.check_hash_data(queries)).status is ContractStatus.ACCEPTED
        # A responder that does not know the certificate: cannot be verified (C07.FR.17) ...
        stranger = OcspQuery(hash_data_of(pki.contract("DE-ABC-C3-3"), pki.sub.cert), url)
        assert (await verifier.check_hash_data([stranger])).status is (ContractStatus.CHAIN_ERROR)
        # ... unless the operator prefers charging over certainty.
        lenient = ContractVerifier(OcspClient(SystemClock()), [pki.root.cert], soft_fail=True)
        assert (await lenient.check_hash_data([stranger])).status is ContractStatus.ACCEPTED

"""Security profiles 1-3 over real sockets and real TLS (1.6 security whitepaper A00, A05).

One CSMS with three listeners (ws, wss + Basic, wss + client certificates) and stations
provisioned at each profile; every refusal is checked at the level where it happens: the TLS
handshake (versions, client certificate chain) or the HTTP upgrade (401, 403).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import load_der_x509_certificate
from websockets.exceptions import InvalidMessage, InvalidStatus

from opencsms.app import Csms
from opencsms.config import StationSeed
from tests.transport.tls_pki import TestPki, make_pki, tls_station
from tests.wire import api_client, basic_auth, running_csms, settings_for

PW1 = "profile-one-password-0001"
PW2 = "profile-two-password-0002"
BOOT_16 = {"chargePointVendor": "ACME", "chargePointModel": "Wallbox 1"}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
async def csms(tmp_path: Path, pki: TestPki) -> AsyncIterator[Csms]:
    settings = settings_for(
        tmp_path,
        ocpp_tls_port=0,
        ocpp_mtls_port=0,
        tls_cert_file=str(pki.server_rsa.cert_file),
        tls_key_file=str(pki.server_rsa.key_file),
        tls_ecdsa_cert_file=str(pki.server_ec.cert_file),
        tls_ecdsa_key_file=str(pki.server_ec.key_file),
        tls_client_ca_file=str(pki.root.cert_file),
        stations=(
            StationSeed(id="P1", password=PW1, security_profile=1),
            StationSeed(id="P2", password=PW2, security_profile=2),
            StationSeed(id="P3", security_profile=3),
        ),
    )
    async with running_csms(settings) as node:
        yield node


async def _boots(port: int, station_id: str, context: ssl.SSLContext | None, **kw: object) -> None:
    async with tls_station(port, station_id, context, **kw) as station:  # type: ignore[arg-type]
        reply = await station.result("BootNotification", BOOT_16)
        assert reply["status"] == "Accepted"


async def _refused_status(
    port: int, station_id: str, context: ssl.SSLContext | None, **kw: object
) -> int:
    with pytest.raises(InvalidStatus) as refused:
        async with tls_station(port, station_id, context, **kw):  # type: ignore[arg-type]
            pass
    return refused.value.response.status_code


async def _handshake_fails(port: int, station_id: str, context: ssl.SSLContext) -> None:
    """The TLS handshake (or, with TLS 1.3, the first read after it) fails: no HTTP answer."""
    # TLS 1.3: the client finishes its side before the server checks the certificate, then
    # finds the connection closed instead of an HTTP answer (InvalidMessage).
    with pytest.raises((ssl.SSLError, ConnectionError, InvalidMessage)):
        async with tls_station(port, station_id, context):
            pass


# ------------------------------------------------------------------------ profile 1


async def test_profile_1_accepts_the_station_and_refuses_wrong_credentials(csms: Csms) -> None:
    port = csms.ports.ocpp
    await _boots(port, "P1", None, headers=basic_auth("P1", PW1))
    assert await _refused_status(port, "P1", None, headers=basic_auth("P1", PW1 + "x")) == 401
    assert await _refused_status(port, "P1", None, headers=basic_auth("P2", PW1)) == 401
    assert await _refused_status(port, "P1", None) == 401


# ------------------------------------------------------------------------ profile 2


async def test_profile_2_accepts_basic_auth_over_tls_and_refuses_a_wrong_password(
    csms: Csms, pki: TestPki
) -> None:
    assert csms.ports.tls is not None
    context = pki.client_context()
    await _boots(csms.ports.tls, "P2", context, headers=basic_auth("P2", PW2))
    bad = basic_auth("P2", "not-the-password-000")
    assert await _refused_status(csms.ports.tls, "P2", context, headers=bad) == 401
    assert (
        await _refused_status(csms.ports.tls, "P2", context, headers=basic_auth("P1", PW2)) == 401
    )


@pytest.mark.parametrize(
    ("ciphers", "key_type"),
    [
        ("ECDHE-ECDSA-AES128-GCM-SHA256", ec.EllipticCurvePublicKey),
        ("ECDHE-ECDSA-AES256-GCM-SHA384", ec.EllipticCurvePublicKey),
        ("AES128-GCM-SHA256", rsa.RSAPublicKey),  # TLS_RSA_WITH_AES_128_GCM_SHA256
        ("AES256-GCM-SHA384", rsa.RSAPublicKey),  # TLS_RSA_WITH_AES_256_GCM_SHA384
    ],
)
async def test_the_four_required_tls12_suites_with_rsa_and_ecdsa_certificates(
    csms: Csms, pki: TestPki, ciphers: str, key_type: type
) -> None:
    """A00.FR.317: the CSMS supports the four suites, ECDSA suites served with the ECDSA chain
    and TLS_RSA suites with the RSA chain; no TLS compression (A00.FR.320)."""
    assert csms.ports.tls is not None
    context = pki.client_context(max_version=ssl.TLSVersion.TLSv1_2, ciphers=ciphers)
    async with tls_station(csms.ports.tls, "P2", context, headers=basic_auth("P2", PW2)) as station:
        tls = station.ws.transport.get_extra_info("ssl_object")
        assert tls.version() == "TLSv1.2"
        assert tls.cipher()[0] == ciphers
        assert tls.compression() is None
        server_cert = load_der_x509_certificate(tls.getpeercert(binary_form=True))
        assert isinstance(server_cert.public_key(), key_type)
        assert (await station.result("BootNotification", BOOT_16))["status"] == "Accepted"


async def test_tls13_is_accepted(csms: Csms, pki: TestPki) -> None:
    assert csms.ports.tls is not None
    async with tls_station(
        csms.ports.tls, "P2", pki.client_context(), headers=basic_auth("P2", PW2)
    ) as station:
        assert station.ws.transport.get_extra_info("ssl_object").version() == "TLSv1.3"


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
async def test_tls_below_1_2_is_refused_in_the_handshake(
    csms: Csms, pki: TestPki, version: ssl.TLSVersion
) -> None:
    """A00.FR.312-314 / 416-418: only TLS 1.2 or above; the CSMS terminates the connection."""
    assert csms.ports.tls is not None
    assert csms.ports.mtls is not None
    for port in (csms.ports.tls, csms.ports.mtls):
        # A protocol_version alert, or (OpenSSL, TLS 1.0 hello) the connection is just reset.
        with pytest.raises((ssl.SSLError, ConnectionResetError)) as failed:
            async with tls_station(port, "P2", pki.client_context(max_version=version)):
                pass
        if isinstance(failed.value, ssl.SSLError):
            assert "version" in str(failed.value).lower()


# ------------------------------------------------------------------------ profile 3


async def test_profile_3_accepts_a_certificate_of_the_station_from_the_cpo_ca(
    csms: Csms, pki: TestPki
) -> None:
    assert csms.ports.mtls is not None
    await _boots(csms.ports.mtls, "P3", pki.client_context(pki.station("P3")))


async def test_profile_3_refuses_no_certificate_and_another_ca_in_the_handshake(
    csms: Csms, pki: TestPki
) -> None:
    """A00.FR.403/407: the certification path is checked; without one the connection ends."""
    assert csms.ports.mtls is not None
    await _handshake_fails(csms.ports.mtls, "P3", pki.client_context())
    await _handshake_fails(
        csms.ports.mtls, "P3", pki.client_context(pki.station("P3", other_ca=True))
    )


async def test_profile_3_refuses_a_certificate_whose_cn_is_another_station(
    csms: Csms, pki: TestPki
) -> None:
    """A00.FR.405: the CN must be the station's identity; a valid certificate of P9 is not P3's."""
    assert csms.ports.mtls is not None
    context = pki.client_context(pki.station("P3", cn="P9"))
    assert await _refused_status(csms.ports.mtls, "P3", context) == 403


async def test_profile_3_checks_the_organization_when_configured(
    tmp_path: Path, pki: TestPki
) -> None:
    """A00.FR.404: the O RDN must be the CPO's name."""
    settings = settings_for(
        tmp_path,
        ocpp_mtls_port=0,
        tls_cert_file=str(pki.server_ec.cert_file),
        tls_key_file=str(pki.server_ec.key_file),
        tls_client_ca_file=str(pki.root.cert_file),
        tls_client_organization="Another CPO",
        stations=(StationSeed(id="P3", security_profile=3),),
    )
    async with running_csms(settings) as node:
        assert node.ports.mtls is not None
        context = pki.client_context(pki.station("P3"))  # O = "Test CPO"
        assert await _refused_status(node.ports.mtls, "P3", context) == 403


# ------------------------------------------------------------------------ one profile each


async def test_a_station_is_refused_on_the_listener_of_another_profile(
    csms: Csms, pki: TestPki
) -> None:
    """A00.FR.002: connecting with a profile other than the station's is refused."""
    assert csms.ports.tls is not None
    assert csms.ports.mtls is not None
    tls = pki.client_context()
    # profile 1 station over TLS, profile 2 station over plain ws
    assert await _refused_status(csms.ports.tls, "P1", tls, headers=basic_auth("P1", PW1)) == 403
    assert await _refused_status(csms.ports.ocpp, "P2", None, headers=basic_auth("P2", PW2)) == 403
    # profile 3 station with Basic auth on the profile 2 listener, and on plain ws
    assert await _refused_status(csms.ports.tls, "P3", tls) == 403
    assert await _refused_status(csms.ports.ocpp, "P3", None) == 403
    # profile 2 station on the mTLS listener with a valid certificate for its id
    mtls = pki.client_context(pki.station("P2"))
    assert await _refused_status(csms.ports.mtls, "P2", mtls) == 403


async def test_a_profile_upgrade_is_pending_until_the_station_connects_with_it(
    csms: Csms, pki: TestPki
) -> None:
    """A05: raised through the API, the station may still fall back (A05.FR.08) until it first
    connects at the new profile; from then on the old one is refused (A05.FR.09). Lowering
    needs allow_downgrade (A00.FR.005)."""
    assert csms.ports.tls is not None
    async with api_client(csms) as api:
        raised = await api.put("/api/v1/stations/P1/security-profile", json={"security_profile": 2})
        assert raised.status_code == 200, raised.text
        assert raised.json()["security_profile"] == 1
        assert raised.json()["pending_security_profile"] == 2
        await _boots(csms.ports.ocpp, "P1", None, headers=basic_auth("P1", PW1))  # fallback
        await _boots(csms.ports.tls, "P1", pki.client_context(), headers=basic_auth("P1", PW1))
        state = (await api.get("/api/v1/stations/P1/security")).json()
        assert state["security_profile"] == 2
        assert state["pending_security_profile"] is None
        ws = await _refused_status(csms.ports.ocpp, "P1", None, headers=basic_auth("P1", PW1))
        assert ws == 403

        lowered = await api.put(
            "/api/v1/stations/P1/security-profile", json={"security_profile": 1}
        )
        assert lowered.status_code == 400
        assert "allow_downgrade" in lowered.json()["detail"]
        lowered = await api.put(
            "/api/v1/stations/P1/security-profile",
            json={"security_profile": 1, "allow_downgrade": True},
        )
        assert lowered.status_code == 200
        assert lowered.json()["security_profile"] == 1
        await _boots(csms.ports.ocpp, "P1", None, headers=basic_auth("P1", PW1))

        stored = await csms.storage.station_security.get("P1")
        assert stored is not None
        assert stored.security_profile == 1
        assert (await api.get("/api/v1/stations/NOBODY/security")).status_code == 404

"""Build the node's certificate service from its settings (docs/certificates.md): the CA from
``ca_dir``, the Plug & Charge trust bundle, the OCSP client (cached in the store) and the
contract certificate provider."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from opencsms.domain.certificates import CertificateService, CertificateSettings
from opencsms.security.ca import CaError, CertificateAuthority
from opencsms.security.contract_provider import (
    ContractCertificateProvider,
    HttpContractProvider,
    NoContractProvider,
)
from opencsms.security.contracts import ContractVerifier, load_trust
from opencsms.security.ocsp import OcspClient

if TYPE_CHECKING:
    from opencsms.clock import Clock
    from opencsms.config import Settings
    from opencsms.domain.authorization import AuthorizationService
    from opencsms.domain.fleet_events import FleetEvents
    from opencsms.storage.store import Storage

__all__ = ["build_certificate_service"]

log = logging.getLogger("opencsms.certificates")


def build_certificate_service(
    settings: Settings,
    storage: Storage,
    clock: Clock,
    events: FleetEvents,
    authorization: AuthorizationService,
) -> CertificateService:
    """The service, or :class:`CaError` when a configured file cannot be used (the node does not
    start with a CA or trust bundle it cannot read)."""
    ca = None
    if settings.ca_dir is not None:
        ca = CertificateAuthority.load(settings.ca_dir)
        left = ca.cert.not_valid_after_utc - clock.now()
        if left < timedelta(days=settings.certificate_expiry_warning_days):
            log.warning("the CA certificate in %s ends in %s", settings.ca_dir, left)
    if settings.certificate_auto_renew and (
        settings.certificate_validity_days <= settings.certificate_expiry_warning_days
    ):
        log.warning(
            "certificate_validity_days (%d) is not longer than certificate_expiry_warning_days "
            "(%d): every new certificate is renewed at once",
            settings.certificate_validity_days,
            settings.certificate_expiry_warning_days,
        )
    trust = []
    if settings.pnc_trust_file is not None:
        try:
            trust = load_trust(Path(settings.pnc_trust_file).read_text(encoding="ascii"))
        except (OSError, ValueError) as exc:
            raise CaError(f"cannot read pnc_trust_file {settings.pnc_trust_file}: {exc}") from None
    ocsp = OcspClient(
        clock,
        store=storage.certificates,
        timeout=settings.pnc_ocsp_timeout,
        max_age=settings.pnc_ocsp_cache_seconds,
    )
    provider: ContractCertificateProvider = NoContractProvider()
    if settings.contract_provider_url is not None:
        provider = HttpContractProvider(
            settings.contract_provider_url, timeout=settings.contract_provider_timeout
        )
    return CertificateService(
        storage,
        clock,
        events,
        ca=ca,
        settings=CertificateSettings(
            organization=settings.certificate_organization,
            validity_days=settings.certificate_validity_days,
            sign_v2g=settings.certificate_sign_v2g,
            warning_days=settings.certificate_expiry_warning_days,
            auto_renew=settings.certificate_auto_renew,
        ),
        authorization=authorization,
        ocsp=ocsp,
        verifier=ContractVerifier(ocsp, trust, soft_fail=settings.pnc_ocsp_soft_fail),
        provider=provider,
    )

"""Where Get15118EVCertificate requests go (2.0.1 M01 install / M02 update).

An EV asks for a contract certificate through the station (ISO 15118-2 CertificateInstallationReq
or CertificateUpdateReq, EXI-encoded, Base64 in ``exiRequest``). The CSMS does not decode EXI: it
hands the request to a contract certificate provider (a Certificate Provisioning Service or the
eMSP's backend, e.g. a Hubject-like PKI) and returns its answer unchanged.

:class:`ContractCertificateProvider` is the plug-in interface. :class:`HttpContractProvider`
POSTs JSON to a configured URL::

    {"stationId": "...", "iso15118SchemaVersion": "urn:iso:15118:2:2013:MsgDef",
     "action": "Install", "exiRequest": "<base64>"}

and expects ``{"status": "Accepted" | "Failed", "exiResponse": "<base64>"}``. Any other outcome
(timeout, HTTP error, malformed body) is answered ``Failed`` to the station, with the reason in
the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import httpx

__all__ = [
    "ContractCertificateProvider",
    "EvCertificateAnswer",
    "EvCertificateRequest",
    "HttpContractProvider",
    "NoContractProvider",
]

log = logging.getLogger("opencsms.pnc")

MAX_EXI_RESPONSE = 7500
"""Get15118EVCertificateResponse.exiResponse maxLength."""


@dataclass(frozen=True, slots=True)
class EvCertificateRequest:
    station_id: str
    schema_version: str
    action: str
    """``Install`` (M01) or ``Update`` (M02)."""
    exi_request: str


@dataclass(frozen=True, slots=True)
class EvCertificateAnswer:
    accepted: bool
    exi_response: str
    detail: str | None = None
    """Why it failed (for the log and the statusInfo)."""


class ContractCertificateProvider(Protocol):
    """The plug-in interface: answer one EV certificate request."""

    async def get_ev_certificate(self, request: EvCertificateRequest) -> EvCertificateAnswer: ...


class NoContractProvider:
    """No provider configured: every request fails (the station tells the EV)."""

    async def get_ev_certificate(self, request: EvCertificateRequest) -> EvCertificateAnswer:
        return EvCertificateAnswer(False, "", "no contract certificate provider is configured")


class HttpContractProvider:
    """The provider behind an HTTP endpoint (see the module docstring)."""

    def __init__(
        self, url: str, *, timeout: float = 10.0, headers: dict[str, str] | None = None
    ) -> None:
        self._url = url
        self._timeout = timeout
        self._headers = headers or {}

    async def get_ev_certificate(self, request: EvCertificateRequest) -> EvCertificateAnswer:
        body = {
            "stationId": request.station_id,
            "iso15118SchemaVersion": request.schema_version,
            "action": request.action,
            "exiRequest": request.exi_request,
        }
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                answer = await client.post(self._url, json=body, headers=self._headers)
            answer.raise_for_status()
            data = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            return self._failed(request, f"provider {self._url} failed: {exc!r}")
        if not isinstance(data, dict):
            return self._failed(request, "the provider's answer is not a JSON object")
        status, exi = data.get("status"), data.get("exiResponse", "")
        if status not in ("Accepted", "Failed") or not isinstance(exi, str):
            return self._failed(request, f"the provider answered status {status!r}")
        if len(exi) > MAX_EXI_RESPONSE:
            return self._failed(request, f"exiResponse of {len(exi)} characters is too long")
        return EvCertificateAnswer(status == "Accepted", exi)

    @staticmethod
    def _failed(request: EvCertificateRequest, detail: str) -> EvCertificateAnswer:
        log.warning("station %s: Get15118EVCertificate: %s", request.station_id, detail)
        return EvCertificateAnswer(False, "", detail)

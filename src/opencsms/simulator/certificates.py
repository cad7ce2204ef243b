"""Certificates on a simulated station: key + CSR for SignCertificate, installed certificates.

(Filled in by the certificate work.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opencsms.simulator.connection import AfterAnswer, HandlerFn

if TYPE_CHECKING:
    from opencsms.simulator.station import SimulatedStation

__all__ = ["ROUTES_2", "ROUTES_16", "CertificateStore"]


class CertificateStore:
    """Keys and certificates held by one station."""

    def __init__(self, station: SimulatedStation) -> None:
        self.station = station

    def trigger(self, requested: str) -> AfterAnswer | None:
        """The follow-up for TriggerMessage ``requested`` if it is ours, else ``None``."""
        return None


ROUTES_16: dict[str, HandlerFn] = {}
ROUTES_2: dict[str, HandlerFn] = {}

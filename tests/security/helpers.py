"""Helpers for certificate tests: a CA directory, waiting for a stored state, API shortcuts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opencsms.app import Csms
from opencsms.security.ca import CertificateAuthority
from tests.wire import api_client

ORGANIZATION = "OpenCSMS"
"""The simulator's default CpoName / SecurityCtrlr.OrganizationName."""


def make_ca(directory: Path, *, ecdsa: bool = True) -> CertificateAuthority:
    """A fresh CA in ``directory`` (ECDSA unless told: RSA 3072 key generation is slow)."""
    return CertificateAuthority.init(
        directory, organization=ORGANIZATION, now=datetime.now(UTC), ecdsa=ecdsa
    )


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Return once ``check()`` holds (re-read every 20 ms); TimeoutError after ``timeout``."""
    async with asyncio.timeout(timeout):
        # A stored state (read through the API) has no event to wait on: re-read it.
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def api_get(csms: Csms, path: str, **params: Any) -> Any:
    async with api_client(csms) as api:
        response = await api.get(f"/api/v1{path}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def api_post(csms: Csms, path: str, body: Any = None, expect: int = 200) -> Any:
    async with api_client(csms) as api:
        response = await api.post(f"/api/v1{path}", json=body)
    assert response.status_code == expect, response.text
    return response.json()

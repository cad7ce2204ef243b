"""The system under test: an OpenCSMS node, reached only as an operator and a station reach it.

The fixture starts a node on loopback (the deployment the OCTT would be pointed at); after
that a test talks to it over the OCPP WebSocket (``octt.py``) and the public REST API
(``Sut.api``), which is how the "Manual Action" steps of a test case are performed. The
configuration a test case's "Before" asks of the CSMS is made through the same API.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from tests.conformance import octt
from tests.wire import ADMIN_TOKEN, running_csms, settings_for


@dataclass(frozen=True)
class Configured:
    """The values the OCTT is configured with (the ``<Configured ...>`` of Part 6)."""

    evse_id: int = 1
    connector_id: int = 1
    valid_id_token: str = "OCTTVALID01"
    valid_id_token_type: str = "ISO14443"
    invalid_id_token: str = "OCTTINVALID1"
    blocked_id_token: str = "OCTTBLOCKED1"
    expired_id_token: str = "OCTTEXPIRED1"
    group_id_token: str = "OCTTGROUP01"
    master_pass_id_token: str = "OCTTMASTER01"
    vendor_name: str = "OCTT-Vendor"
    model: str = "OCTT-Model"
    serial_number: str = "OCTT-SN-0001"


CONFIGURED = Configured()


class Api:
    """The operator REST API of the CSMS under test (bearer token, JSON)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def request(
        self, method: str, path: str, *, expect: int | tuple[int, ...] = (200, 201, 204), **kw: Any
    ) -> Any:
        """Call ``/api/v1{path}``; fail unless the status is one of ``expect``."""
        response = await self.client.request(method, f"/api/v1{path}", **kw)
        allowed = (expect,) if isinstance(expect, int) else expect
        assert response.status_code in allowed, (
            f"{method} {path} → {response.status_code}: {response.text}"
        )
        if response.status_code == 204 or not response.content:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text

    async def get(self, path: str, **kw: Any) -> Any:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return await self.request("POST", path, json=body, **kw)

    async def patch(self, path: str, body: Any, **kw: Any) -> Any:
        return await self.request("PATCH", path, json=body, **kw)

    async def put(self, path: str, body: Any, **kw: Any) -> Any:
        return await self.request("PUT", path, json=body, **kw)

    async def delete(self, path: str, **kw: Any) -> Any:
        return await self.request("DELETE", path, **kw)

    async def call(self, station_id: str, action: str, payload: dict[str, Any]) -> Any:
        """The generic command endpoint: send ``action`` to the station, return the answer."""
        return await self.post(f"/stations/{station_id}/calls/{action}", payload)


@dataclass
class Sut:
    """A running CSMS: its station URL, its ports and its API."""

    csms: Any
    api: Api

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.csms.ports.ocpp}/ocpp"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.csms.ports.http}"

    async def provision(
        self,
        station_id: str,
        *,
        password: str | None = None,
        registration: str = "Accepted",
        **fields: Any,
    ) -> dict[str, Any]:
        """Register a station through the API (the CSMS's "Configuration State")."""
        body: dict[str, Any] = {"id": station_id, "registration": registration, **fields}
        if password is not None:
            body["password"] = password
        station: dict[str, Any] = await self.api.post("/stations", body, expect=201)
        return station

    async def add_token(self, id_token: str, **fields: Any) -> dict[str, Any]:
        body = {"id_token": id_token, "type": CONFIGURED.valid_id_token_type, **fields}
        token: dict[str, Any] = await self.api.post("/id-tokens", body, expect=201)
        return token

    @contextlib.asynccontextmanager
    async def station(
        self, station_id: str, protocol: str = "ocpp2.0.1", **kwargs: Any
    ) -> AsyncIterator[octt.Station]:
        """The OCTT's station connected to this CSMS."""
        async with octt.connect_station(self.ws_url, station_id, protocol, **kwargs) as s:
            yield s


def new_password() -> str:
    """A Basic-auth password as the OCTT configures one (16-40 identifierString characters)."""
    return secrets.token_hex(12)


@contextlib.asynccontextmanager
async def start_sut(tmp_path: Any, **overrides: Any) -> AsyncIterator[Sut]:
    """A CSMS node on loopback with the default configuration plus ``overrides``."""
    async with running_csms(settings_for(tmp_path, **overrides)) as csms:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{csms.ports.http}", headers=headers, timeout=30
        ) as client:
            yield Sut(csms, Api(client))

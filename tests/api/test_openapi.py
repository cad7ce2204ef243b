"""The OpenAPI document served by a running CSMS describes every route of the API: its method, what
it does, its request body, its success answer and its error answers.

The routes are read from the application itself (not from a list kept here), so a route added
without documentation fails this test. Which routes need authentication is found out over the
wire: each is called without a token, and a 401 must then be documented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from opencsms.api.app import api_application
from opencsms.app import Csms
from tests.wire import api_client

DOCUMENTED_PREFIXES = ("/api/v1/", "/files/")
"""Routes under these prefixes are in the document (the operator API and the files stations
download or upload); a route hidden with ``include_in_schema=False`` must say why (below)."""

HIDDEN_ON_PURPOSE: dict[str, str] = {}
"""Path → why it is not in the OpenAPI document."""

ERROR_DETAIL = re.compile(r"^[45]\d\d$")


@dataclass(frozen=True)
class Route:
    """What the checks need of one API route."""

    path: str
    methods: frozenset[str]
    include_in_schema: bool
    takes_body: bool
    has_path_parameters: bool

    @classmethod
    def of(cls, path: str, methods: set[str] | None, shown: bool, route: APIRoute) -> Route:
        return cls(
            path=path,
            methods=frozenset(methods or ()),
            include_in_schema=shown,
            takes_body=route.body_field is not None or "requestBody" in (route.openapi_extra or {}),
            has_path_parameters="{" in path,
        )


def api_routes(csms: Csms) -> list[Route]:
    """The API routes of the process's FastAPI application (the one every node serves; the
    document checked is the one the running node serves), with their full paths."""
    app = api_application()
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before lazily included routers: app.routes is flat
        routes = [
            Route.of(r.path, r.methods, r.include_in_schema, r)
            for r in app.routes
            if isinstance(r, APIRoute)
        ]
    else:  # included routers are resolved into their routes with the prefix applied
        routes = [
            Route.of(str(c.path), c.methods, bool(c.include_in_schema), c.original_route)
            for c in iter_route_contexts(app.routes)
            if isinstance(c.original_route, APIRoute)
        ]
    assert len(routes) > 30, [r.path for r in routes]
    return routes


def documented(route: Route) -> bool:
    return route.path.startswith(DOCUMENTED_PREFIXES)


async def test_every_route_is_in_the_document(csms: Csms) -> None:
    async with api_client(csms, token=None) as anonymous:
        response = await anonymous.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    missing = []
    for route in api_routes(csms):
        if not documented(route):
            continue
        if not route.include_in_schema:
            assert route.path in HIDDEN_ON_PURPOSE, f"{route.path} is hidden without a reason"
            continue
        for method in route.methods:
            if method.lower() not in paths.get(route.path, {}):
                missing.append(f"{method} {route.path}")
    assert not missing, "\n".join(missing)


async def test_every_operation_is_described(csms: Csms) -> None:
    spec = await _spec(csms)
    problems: list[str] = []
    async with api_client(csms, token=None) as anonymous:
        for route in api_routes(csms):
            if not documented(route) or not route.include_in_schema:
                continue
            for method in sorted(route.methods):
                operation = spec["paths"][route.path][method.lower()]
                where = f"{method} {route.path}"
                needs_auth = await _refused_without_token(anonymous, method, route.path)
                problems += [f"{where}: {p}" for p in _problems(operation, route, needs_auth)]
    assert not problems, "\n".join(problems)


async def test_error_answers_name_their_schema(csms: Csms) -> None:
    """A documented 4xx/5xx JSON answer says what its body is (``detail`` at least)."""
    spec = await _spec(csms)
    missing = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for code, answer in operation["responses"].items():
                if not ERROR_DETAIL.match(code):
                    continue
                content = answer.get("content", {}).get("application/json")
                if content is None or "schema" not in content:
                    missing.append(f"{method.upper()} {path} {code}")
    assert not missing, "\n".join(missing)


async def test_the_document_is_complete_for_a_known_route(csms: Csms) -> None:
    """One route checked by hand, so the generic checks above are known to look at the right
    places: the generic command endpoint."""
    operation = (await _spec(csms))["paths"]["/api/v1/stations/{station_id}/calls/{action}"]["post"]
    assert operation["description"].startswith("Send any CSMS → station action")
    assert operation["requestBody"]["required"] is True
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CommandOut"
    }
    assert {"400", "401", "404", "409", "422", "502", "504"} <= set(operation["responses"])


async def _spec(csms: Csms) -> dict[str, Any]:
    async with api_client(csms, token=None) as anonymous:
        response = await anonymous.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    return spec


async def _refused_without_token(client: httpx.AsyncClient, method: str, path: str) -> bool:
    """Whether the route answers 401 to a request without a token (path parameters filled with
    a value that names nothing; the token is checked before anything else)."""
    concrete = re.sub(r"\{[^}]+\}", "0", path)
    response = await client.request(method, concrete)
    return response.status_code == 401


def _problems(operation: dict[str, Any], route: Route, needs_auth: bool) -> list[str]:
    found = []
    if not (operation.get("description") or "").strip():
        found.append("no description (give the endpoint a docstring)")
    if not operation.get("summary"):
        found.append("no summary")
    responses: dict[str, Any] = operation["responses"]
    success = {code: r for code, r in responses.items() if code.startswith("2")}
    if not success:
        found.append("no 2xx answer")
    for code, answer in success.items():
        if code != "204" and not answer.get("content"):
            found.append(f"{code} without content")
        json_content = answer.get("content", {}).get("application/json")
        if json_content is not None and not json_content.get("schema"):
            found.append(f"{code} JSON answer without a schema")
    if route.takes_body:
        if "requestBody" not in operation:
            found.append("its request body is not documented")
        if not {"400", "422"} & set(responses):
            found.append("takes a body but documents neither 400 nor 422")
    if route.has_path_parameters and "404" not in responses:
        found.append("has path parameters but documents no 404")
    if needs_auth and "401" not in responses:
        found.append("answers 401 without a token but does not document it")
    for code, answer in responses.items():
        if ERROR_DETAIL.match(code) and not (answer.get("description") or "").strip():
            found.append(f"{code} without a description")
    return found


@pytest.mark.parametrize("path", ["/api/v1/health", "/api/v1/openapi.json"])
async def test_public_routes_need_no_token(csms: Csms, path: str) -> None:
    async with api_client(csms, token=None) as anonymous:
        response = await anonymous.get(path)
    assert response.status_code == 200

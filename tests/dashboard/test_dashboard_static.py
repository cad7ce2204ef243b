"""The dashboard's files over HTTP from a running CSMS: where they are, their types, caching and
security headers, and nothing outside the dashboard's folder."""

from __future__ import annotations

import re

import pytest

from opencsms.api.dashboard import assets
from opencsms.app import Csms
from tests.wire import api_client

PAGES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}


async def test_root_and_folder_without_slash_lead_to_the_dashboard(csms: Csms) -> None:
    async with api_client(csms, token=None) as http:
        for path in ("/", "/dashboard"):
            response = await http.get(path)
            assert response.status_code == 307, path
            assert response.headers["location"] == "/dashboard/"


async def test_index_needs_no_token_and_loads_its_module(csms: Csms) -> None:
    async with api_client(csms, token=None) as http:
        response = await http.get("/dashboard/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="app.js"></script>' in response.text
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "connect-src 'self'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(("name", "content_type"), PAGES.items())
async def test_each_file_has_its_type_and_is_revalidated(
    csms: Csms, name: str, content_type: str
) -> None:
    async with api_client(csms, token=None) as http:
        response = await http.get(f"/dashboard/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"] == content_type
        assert response.headers["cache-control"] == "no-cache"
        etag = response.headers["etag"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
        again = await http.get(f"/dashboard/{name}", headers={"If-None-Match": f"W/{etag}"})
        assert again.status_code == 304
        assert again.content == b""
        head = await http.head(f"/dashboard/{name}")
        assert head.status_code == 200
        assert head.headers["content-length"] == str(len(response.content))


async def test_every_module_the_pages_import_is_served(csms: Csms) -> None:
    """Each ``import ... from "./x.js"`` of each module resolves to a served file."""
    served = assets()
    imported = set()
    for name, asset in served.items():
        if name.endswith(".js"):
            imported |= set(re.findall(r'from "\./([a-z0-9_-]+\.js)"', asset.body.decode()))
    assert imported, "the modules import each other"
    async with api_client(csms, token=None) as http:
        for name in sorted(imported):
            response = await http.get(f"/dashboard/{name}")
            assert response.status_code == 200, name


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/nothing.js",
        "/dashboard/..%2Fdashboard.py",
        "/dashboard/.hidden.js",
        "/dashboard/app.JS",
        "/dashboard/dashboard.py",
    ],
)
async def test_unknown_files_are_404(csms: Csms, path: str) -> None:
    async with api_client(csms, token=None) as http:
        response = await http.get(path)
    assert response.status_code == 404
    assert "dashboard.py" not in response.text or "no dashboard file" in response.text


async def test_the_api_still_needs_the_token(csms: Csms) -> None:
    async with api_client(csms, token=None) as http:
        response = await http.get("/api/v1/stations")
    assert response.status_code == 401

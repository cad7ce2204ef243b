"""The operator dashboard: static pages served at ``/dashboard/`` (docs/dashboard.md).

The pages are plain HTML, CSS and JavaScript modules shipped inside the package
(``opencsms/api/dashboard/``): no build step, no framework, nothing fetched from the internet. They
talk to the operator API with the token the operator types in, kept in the browser tab's
``sessionStorage``; serving them needs no token, since they hold no data.

Files are read once per process and answered with an ``ETag``. ``Cache-Control: no-cache`` makes
the browser revalidate every time (a 304 costs a few bytes), so an upgraded CSMS is never shown
with the previous version's scripts — the file names carry no content hash that would allow long
caching. A strict Content-Security-Policy admits only this origin's scripts, styles and
connections: a station id or frame shown on a page can never run as code, and the
``no-referrer`` policy keeps the token in an event-stream URL out of any Referer header.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import re
from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import RedirectResponse

__all__ = ["DASHBOARD_PATH", "Asset", "assets", "dashboard_router"]

DASHBOARD_PATH = "/dashboard/"
"""Where the dashboard is served (``/`` and ``/dashboard`` redirect here)."""

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}

# Only flat file names with a known extension: no path separators, no dot files, so a request
# can never reach outside the dashboard's folder.
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(html|js|css|svg|png)$")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True, slots=True)
class Asset:
    """One file of the dashboard as served."""

    body: bytes
    content_type: str
    etag: str


@functools.cache
def assets() -> dict[str, Asset]:
    """Every file of the dashboard by name, read once per process from the installed package."""
    folder = importlib.resources.files("opencsms.api") / "dashboard"
    found: dict[str, Asset] = {}
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match is None or not entry.is_file():
            continue
        body = entry.read_bytes()
        digest = hashlib.sha256(body).hexdigest()[:32]
        found[entry.name] = Asset(body, CONTENT_TYPES["." + match.group(1)], f'"{digest}"')
    if "index.html" not in found:
        raise RuntimeError(f"the dashboard's index.html is missing from {folder}")
    return found


def _serve(asset: Asset, request: Request) -> Response:
    headers = {"ETag": asset.etag, "Cache-Control": "no-cache", **SECURITY_HEADERS}
    if asset.etag in _etags(request.headers.get("If-None-Match", "")):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    body = b"" if request.method == "HEAD" else asset.body
    response = Response(body, media_type=asset.content_type, headers=headers)
    if request.method == "HEAD":
        response.headers["Content-Length"] = str(len(asset.body))
    return response


def _etags(header: str) -> set[str]:
    # RFC 9110 §13.1.2: a list of entity tags, weak ones compared weakly for GET.
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def dashboard_router() -> APIRouter:
    """The dashboard's routes (outside the OpenAPI document: pages, not API)."""
    router = APIRouter(include_in_schema=False)

    @router.api_route("/", methods=["GET", "HEAD"])
    async def root() -> RedirectResponse:
        """The root of the HTTP port leads to the dashboard."""
        return RedirectResponse(DASHBOARD_PATH, status_code=status.HTTP_307_TEMPORARY_REDIRECT)

    @router.api_route("/dashboard", methods=["GET", "HEAD"])
    async def without_slash() -> RedirectResponse:
        # The pages load their modules by relative URL: they must be served from the folder.
        return RedirectResponse(DASHBOARD_PATH, status_code=status.HTTP_307_TEMPORARY_REDIRECT)

    @router.api_route(DASHBOARD_PATH, methods=["GET", "HEAD"])
    async def index(request: Request) -> Response:
        """The single page; its routes live in the URL's fragment (``#/stations/CS-1``)."""
        return _serve(assets()["index.html"], request)

    @router.api_route(DASHBOARD_PATH + "{name}", methods=["GET", "HEAD"])
    async def asset(name: str, request: Request) -> Response:
        """A script, style sheet or image of the dashboard."""
        found = assets().get(name)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no dashboard file {name!r}")
        return _serve(found, request)

    return router

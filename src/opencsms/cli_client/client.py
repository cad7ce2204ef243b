"""A small typed client of the operator API (docs/api.md), for the operator CLI.

Every HTTP or network failure leaves this module as one of two exceptions, so the commands above it
have a single boundary to translate into messages and exit codes (the httpx model): an
:class:`ApiError` when the API answered with an error status, an :class:`ApiUnreachable` when no
answer came at all.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx
import orjson

API_PREFIX = "/api/v1"
PAGE_SIZE = 1000
"""The largest ``limit`` the API accepts; ``--all`` walks the pages in steps of this size."""

Params = Mapping[str, str | int | float | bool | None]


class ApiError(Exception):
    """The API answered ``status`` (4xx/5xx) with ``detail``, a sentence for the operator."""

    def __init__(self, status: int, detail: str, body: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.body = body
        """The parsed JSON error body (or the text when it was not JSON), printed by ``--json``."""


class ApiUnreachable(Exception):
    """No HTTP answer: connection refused, unknown host, timeout, or a URL that cannot work."""

    def __init__(self, message: str, *, bad_url: bool = False) -> None:
        super().__init__(message)
        self.bad_url = bad_url


def base_url(url: str) -> str:
    """The server's root URL: a trailing ``/`` or ``/api/v1`` that an operator copied from the
    API docs is dropped, so both ``http://host:8080`` and ``http://host:8080/api/v1/`` work."""
    root = url.strip().rstrip("/")
    if root.endswith(API_PREFIX):
        root = root[: -len(API_PREFIX)]
    return root


def detail_of(body: Any, fallback: str) -> str:
    """The ``detail`` of an error body as one line of text.

    The API's own errors carry a sentence; FastAPI's validation errors (422) carry a list of
    ``{"loc", "msg"}`` entries, rendered here as ``body.expires_at: Input should ...``.
    """
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and "detail" not in body:
        return f"nothing imported: {len(body['errors'])} wrong line(s)"  # the CSV import's 422
    if not isinstance(body, dict) or "detail" not in body:
        return fallback
    detail = body["detail"]
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for entry in detail:
            if isinstance(entry, dict):
                where = ".".join(str(p) for p in entry.get("loc", ()))
                message = str(entry.get("msg", entry))
                parts.append(f"{where}: {message}" if where else message)
            else:
                parts.append(str(entry))
        return "; ".join(parts)
    return str(detail)


class ApiClient:
    """Blocking calls to one OpenCSMS node's operator API; use as a context manager."""

    def __init__(self, url: str, token: str | None, *, timeout: float) -> None:
        self.url = base_url(url)
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            self._http = httpx.Client(
                base_url=self.url + API_PREFIX,
                headers=headers,
                timeout=timeout,
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise ApiUnreachable(f"bad --url {url!r}: {exc}", bad_url=True) from None

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._http.close()

    def get(self, path: str, params: Params | None = None) -> Any:
        """GET ``path`` (relative to ``/api/v1``) and return the parsed JSON."""
        return _json(self.request("GET", path, params=params))

    def post(self, path: str, body: Any = None, *, csv: str | None = None) -> Any:
        """POST a JSON body (or CSV text) and return the parsed JSON answer."""
        if csv is not None:
            headers = {"Content-Type": "text/csv; charset=utf-8"}
            return _json(self.request("POST", path, content=csv.encode(), headers=headers))
        return _json(self.request("POST", path, json=body if body is not None else {}))

    def patch(self, path: str, body: Mapping[str, Any]) -> Any:
        """PATCH with the fields to change; returns the changed resource."""
        return _json(self.request("PATCH", path, json=dict(body)))

    def delete(self, path: str) -> None:
        """DELETE a resource (204)."""
        self.request("DELETE", path)

    def offset_pages(
        self, path: str, params: Params, *, limit: int, everything: bool, offset: int = 0
    ) -> dict[str, Any]:
        """A page of an offset-paged list (``{"items", "total", "offset", "limit"}``).

        With ``everything`` the pages are walked to the end and returned as one page of the same
        shape, as the API would answer it if it had no page limit.
        """
        if not everything:
            page: dict[str, Any] = self.get(path, {**params, "offset": offset, "limit": limit})
            return page
        items: list[Any] = []
        total = 0
        for page in self._walk_offsets(path, params, offset):
            items.extend(page["items"])
            total = page["total"]
        return {"items": items, "total": total, "offset": offset, "limit": len(items)}

    def keyset_pages(
        self, path: str, params: Params, *, limit: int, everything: bool, before: int | None
    ) -> dict[str, Any]:
        """A page of a keyset-paged list (``{"items", "next_before"}``), or with ``everything``
        every older item as one page whose ``next_before`` is null."""
        if not everything:
            page: dict[str, Any] = self.get(path, {**params, "before": before, "limit": limit})
            return page
        items: list[Any] = []
        cursor = before
        while True:
            page = self.get(path, {**params, "before": cursor, "limit": PAGE_SIZE})
            items.extend(page["items"])
            cursor = page.get("next_before")
            if cursor is None:
                return {"items": items, "next_before": None}

    def _walk_offsets(self, path: str, params: Params, offset: int) -> Iterator[dict[str, Any]]:
        while True:
            page: dict[str, Any] = self.get(path, {**params, "offset": offset, "limit": PAGE_SIZE})
            yield page
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                return

    def download(self, path: str, params: Params, write: Callable[[str], object]) -> None:
        """GET a streamed export and hand it to ``write`` piece by piece (no whole copy in
        memory: an export of every session can be large)."""
        response = self.request("GET", path, params=params, stream=True)
        try:
            with self._translated():
                for text in response.iter_text():
                    write(text)
        finally:
            response.close()

    def request(
        self, method: str, path: str, *, stream: bool = False, **kwargs: Any
    ) -> httpx.Response:
        """Send one request; an error status becomes :class:`ApiError`."""
        if kwargs.get("params") is not None:
            kwargs["params"] = {k: _param(v) for k, v in kwargs["params"].items() if v is not None}
        with self._translated():
            request = self._http.build_request(method, path, **kwargs)
            response = self._http.send(request, stream=stream)
            if response.is_error:
                response.read()
        if response.is_error:
            body = _json_or_text(response)
            fallback = f"HTTP {response.status_code} {response.reason_phrase}"
            if not isinstance(body, dict):  # not the API's JSON error: likely the wrong server
                fallback += f" from {response.request.url}: is --url an OpenCSMS API?"
            raise ApiError(response.status_code, detail_of(body, fallback), body)
        return response

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        """The only place that turns httpx failures into :class:`ApiUnreachable`."""
        try:
            yield
        except httpx.TimeoutException:
            timeout = self._http.timeout.read
            raise ApiUnreachable(
                f"no answer from the API at {self.url} within {timeout:g} s (--timeout)"
            ) from None
        except httpx.ConnectError as exc:
            raise ApiUnreachable(
                f"cannot reach the OpenCSMS API at {self.url}: {_reason(exc)} "
                "(is `opencsms serve` running there? set --url or OPENCSMS_API_URL)"
            ) from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise ApiUnreachable(f"bad --url {self.url!r}: {exc}", bad_url=True) from None
        except httpx.HTTPError as exc:
            raise ApiUnreachable(f"the API at {self.url} failed: {_reason(exc)}") from None


def _param(value: str | int | float | bool) -> str | int | float:
    # httpx would send True as "True"; FastAPI reads booleans as "true"/"false"
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _json(response: httpx.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise ApiUnreachable(
            f"{response.request.url} did not answer JSON: is --url an OpenCSMS API?"
        ) from None


def _json_or_text(response: httpx.Response) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.text


def _reason(exc: Exception) -> str:
    # httpx wraps the OS error; its text ("[Errno 111] Connection refused") is what helps
    text = str(exc) or type(exc).__name__
    return text.split("] ", 1)[-1] if text.startswith("[Errno") else text

"""File transfers of a simulated station: firmware downloads and log uploads over HTTP(S).

OCPP leaves the transport to the URL's scheme (1.6 §8: FTP, FTPS, HTTP, HTTPS; 2.0.1
OCPPCommCtrlr.FileTransferProtocols adds SFTP). The simulator speaks HTTP and HTTPS only and
says so in SupportedFileTransferProtocols / FileTransferProtocols; any other scheme fails at
once with :class:`UnsupportedProtocolError`.

Uploads are an HTTP ``PUT`` of the file's bytes. 1.6 §6.25 calls GetDiagnostics ``location`` a
directory, 2.0.1 N01 ``remoteLocation`` "the location where the log should be stored"; the
spec fixes no HTTP method. PUT of the file to a URL is what ``curl -T`` (the tool most
station firmwares shell out to) does, with its rule: a location ending in ``/`` is a
directory and gets the file name appended; any other location is the file's own URL (e.g. a
pre-signed object-store URL).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import httpx

__all__ = [
    "SUPPORTED_PROTOCOLS",
    "TransferError",
    "UnsupportedProtocolError",
    "check_scheme",
    "download",
    "upload",
    "upload_target",
]

SUPPORTED_PROTOCOLS = ("HTTP", "HTTPS")
"""What this station can transfer with (1.6 errata 3.88 SupportedFileTransferProtocols)."""


class TransferError(Exception):
    """A download or upload failed; the message says why (it goes into the station's log).

    ``status_code`` is the HTTP status when the server answered (e.g. 403), else ``None``."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class UnsupportedProtocolError(TransferError):
    """The URL's scheme is not one of :data:`SUPPORTED_PROTOCOLS` (e.g. ``ftp``)."""


def check_scheme(url: str) -> None:
    """Raise :class:`UnsupportedProtocolError` unless ``url`` is HTTP(S)."""
    scheme = urlsplit(url).scheme.upper()
    if scheme not in SUPPORTED_PROTOCOLS:
        raise UnsupportedProtocolError(f"{scheme or 'no'} scheme: only HTTP and HTTPS supported")


def upload_target(location: str, file_name: str) -> str:
    """The URL a file is PUT to: ``location`` + file name when it ends in ``/``, else itself."""
    return location + quote(file_name) if location.endswith("/") else location


async def download(url: str, time_limit: float) -> bytes:
    """GET ``url`` (redirects followed) and return the body; ``TransferError`` unless 2xx.

    ``time_limit`` bounds each network step (connect, read) in seconds."""
    check_scheme(url)
    try:
        async with httpx.AsyncClient(timeout=time_limit, follow_redirects=True) as client:
            response = await client.get(url)
    except httpx.HTTPError as exc:
        raise TransferError(f"GET {url}: {type(exc).__name__}: {exc}") from exc
    if not response.is_success:
        raise TransferError(f"GET {url}: HTTP {response.status_code}", response.status_code)
    return response.content


async def upload(location: str, file_name: str, content: bytes, time_limit: float) -> str:
    """PUT ``content`` as ``file_name`` to ``location`` (see the module docstring); returns
    the URL used. ``TransferError`` unless the server answers 2xx."""
    check_scheme(location)
    url = upload_target(location, file_name)
    headers = {"Content-Type": "text/plain; charset=utf-8"}
    try:
        async with httpx.AsyncClient(timeout=time_limit, follow_redirects=False) as client:
            response = await client.put(url, content=content, headers=headers)
    except httpx.HTTPError as exc:
        raise TransferError(f"PUT {url}: {type(exc).__name__}: {exc}") from exc
    if not response.is_success:
        raise TransferError(f"PUT {url}: HTTP {response.status_code}", response.status_code)
    return url

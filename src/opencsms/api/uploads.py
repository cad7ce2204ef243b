"""Receiving file bodies over HTTP: a raw body (``curl -T``, an HTTP PUT) or a
``multipart/form-data`` form with one file (``curl -F file=@log.txt``, what many station
firmwares send), streamed to a temporary file with a size limit.

The multipart form is read from the temporary file through ``mmap``, so a large firmware image is
never held in memory; only the part's position is returned and the blob store copies that range.
The parser takes what RFC 7578 forms contain: parts separated by ``--boundary`` lines, each with
headers and a body; the first part that has a file name (else the one named ``file``) is the
file.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

from fastapi import HTTPException, Request, status

__all__ = ["FilePart", "MultipartError", "is_multipart", "multipart_file", "receive_body"]


class MultipartError(ValueError):
    """The body is not a multipart form with a file in it; the message says why."""


@dataclass(frozen=True, slots=True)
class FilePart:
    """Where the file of a multipart form is in the received body."""

    file_name: str | None
    offset: int
    length: int
    content_type: str | None


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE, f"the file is larger than the limit of {limit} bytes"
    )


async def receive_body(request: Request, target: Path, limit: int) -> int:
    """Write the request body to ``target``; its size. 413 as soon as it exceeds ``limit``
    (at once when the Content-Length says so, before reading anything)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    size = 0
    with target.open("wb") as out:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            out.write(chunk)
    return size


def is_multipart(content_type: str | None) -> bool:
    """Whether a Content-Type is ``multipart/form-data``."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "multipart/form-data"


def _header_params(name: str, value: str) -> Message:
    message = Message()
    message[name] = value
    return message


def multipart_file(path: Path, content_type: str) -> FilePart:
    """The file part of the multipart form stored at ``path`` (see the module docstring)."""
    boundary = _header_params("Content-Type", content_type).get_boundary()
    if not boundary:
        raise MultipartError("multipart/form-data without a boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    if path.stat().st_size == 0:
        raise MultipartError("the form is empty")
    with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as body:
        parts = _parts(body, delimiter)
    chosen = next((p for p in parts if p[0].get_filename()), None)
    if chosen is None:
        chosen = next((p for p in parts if _field_name(p[0]) == "file"), None)
    if chosen is None:
        raise MultipartError("the form has no file part")
    headers, offset, length = chosen
    part_type = headers.get("content-type")
    return FilePart(headers.get_filename(), offset, length, part_type)


def _field_name(headers: Message) -> str | None:
    name = headers.get_param("name", header="content-disposition")
    return name if isinstance(name, str) else None


def _parts(body: mmap.mmap, delimiter: bytes) -> list[tuple[Message, int, int]]:
    found: list[tuple[Message, int, int]] = []
    position = body.find(delimiter)
    if position < 0:
        raise MultipartError("the boundary does not occur in the body")
    while True:
        position += len(delimiter)
        if body[position : position + 2] == b"--":
            return found  # the closing delimiter
        if body[position : position + 2] == b"\r\n":
            position += 2
        headers_end = body.find(b"\r\n\r\n", position)
        if headers_end < 0:
            raise MultipartError("a part's headers do not end")
        headers = Message()
        for line in body[position:headers_end].decode("latin-1").split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip()] = value.strip()
        start = headers_end + 4
        end = body.find(b"\r\n" + delimiter, start)
        if end < 0:
            raise MultipartError("a part does not end with the boundary")
        found.append((headers, start, end - start))
        position = end + 2

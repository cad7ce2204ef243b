"""Files the CSMS hosts (docs/jobs.md).

Operator side (under ``/api/v1``, bearer token): upload firmware images (``POST /firmware``),
list them, list the logs stations uploaded (``GET /files``), download and delete any file.

Station side (under ``/files``, no bearer token — a station cannot send one): stations download
the image of their firmware job (``GET /files/firmware/{token}/{name}``) and upload the log of
their log job (``PUT /files/upload/{token}/{name}``, or ``POST`` with a multipart form). The
``token`` is the job's unguessable capability; an unknown one is 404, one whose job has ended
(and may not move on) is 403. An upload is answered 201 only once its bytes and record are
stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field

from opencsms.api.responses import errors
from opencsms.api.uploads import MultipartError, is_multipart, multipart_file, receive_body
from opencsms.domain.files import FileInUseError, InvalidFileNameError
from opencsms.domain.job_model import HostedFile, Job, JobKind, accepts_reports
from opencsms.errors import NotFoundError

if TYPE_CHECKING:
    from opencsms.app import Csms

__all__ = [
    "FileOut",
    "file_out",
    "files_base_url",
    "files_router",
    "firmware_url",
    "station_files_router",
    "upload_url",
]

WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})


class FileOut(BaseModel):
    """One hosted file."""

    id: int
    kind: Literal["firmware", "log"]
    name: str
    size: int = Field(description="Bytes")
    sha256: str = Field(description="Hex SHA-256 of the content")
    content_type: str | None
    station_id: str | None = Field(description="The station that uploaded it (logs)")
    job_id: int | None = Field(description="The log job it was uploaded for")
    created_at: datetime
    download: str = Field(description="API path of the content")


class FilePage(BaseModel):
    items: list[FileOut]
    total: int
    offset: int
    limit: int


class UploadOut(BaseModel):
    """What a station is told about its upload."""

    id: int
    name: str
    size: int
    sha256: str


def file_out(hosted: HostedFile) -> FileOut:
    return FileOut(
        id=hosted.id,
        kind=hosted.kind.value,
        name=hosted.name,
        size=hosted.size,
        sha256=hosted.sha256,
        content_type=hosted.content_type,
        station_id=hosted.station_id,
        job_id=hosted.job_id,
        created_at=hosted.created_at,
        download=f"/api/v1/files/{hosted.id}/content",
    )


def files_base_url(csms: Csms) -> str:
    """The URL stations reach this node's ``/files`` at: the ``files_base_url`` setting, else
    ``http://<host>:<http port>`` (127.0.0.1 for a wildcard host: set the setting when stations
    are not on this machine)."""
    configured = csms.settings.files_base_url
    if configured:
        return configured.rstrip("/")
    host = csms.settings.host
    if host in WILDCARD_HOSTS:
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{csms.ports.http}"


def upload_url(base: str, token: str) -> str:
    """The location a station uploads a log to: a directory (ends in ``/``, 1.6 §6.25), to which
    it appends its file name."""
    return f"{base}/files/upload/{token}/"


def firmware_url(base: str, token: str, name: str) -> str:
    return f"{base}/files/firmware/{token}/{quote(name)}"


_Responses = dict[int | str, dict[str, Any]]

_BINARY: dict[str, Any] = {"schema": {"type": "string", "format": "binary"}}
_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/octet-stream": _BINARY,
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
        "description": "The file's bytes as the body, or a multipart form with one file part",
    }
}
_CONTENT: _Responses = {
    200: {"description": "The file's bytes", "content": {"application/octet-stream": _BINARY}}
}


async def _store(
    csms: Csms,
    request: Request,
    kind: JobKind,
    name: str | None,
    limit: int,
    *,
    station_id: str | None = None,
    job_id: int | None = None,
) -> HostedFile:
    """Receive the body and store it as a file (400 bad form or name, 413 too large)."""
    with csms.files.blobs.temporary() as received:
        await receive_body(request, received, limit)
        content_type = request.headers.get("content-type")
        offset, length = 0, None
        if is_multipart(content_type):
            assert content_type is not None
            try:
                part = multipart_file(received, content_type)
            except MultipartError as exc:
                raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
            name = name or part.file_name
            offset, length, content_type = part.offset, part.length, part.content_type
        if not name:
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST,
                "no file name: give it in the URL, or as the filename of a multipart part",
            )
        try:
            return await csms.files.add(
                kind,
                name,
                received,
                offset=offset,
                length=length,
                station_id=station_id,
                job_id=job_id,
                content_type=content_type,
            )
        except InvalidFileNameError as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None


def _not_found(exc: NotFoundError) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))


def files_router(csms: Csms) -> APIRouter:
    """The operator's endpoints (mounted under /api/v1 with the bearer token)."""
    router = APIRouter(tags=["files"])

    @router.post(
        "/firmware",
        status_code=status.HTTP_201_CREATED,
        response_model=FileOut,
        openapi_extra=_BODY,
        responses=errors(
            {
                400: "No file name, a bad one, or a malformed multipart form",
                413: "Larger than firmware_max_bytes",
            }
        ),
    )
    async def upload_firmware(
        request: Request,
        file_name: Annotated[
            str | None,
            Query(description="The image's file name (default: the multipart part's filename)"),
        ] = None,
    ) -> FileOut:
        """Upload a firmware image for firmware jobs to serve to stations."""
        limit = csms.settings.firmware_max_bytes
        return file_out(await _store(csms, request, JobKind.FIRMWARE, file_name, limit))

    @router.get("/firmware", response_model=FilePage)
    async def list_firmware(
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> FilePage:
        """The uploaded firmware images, newest first."""
        items, total = await csms.files.list(kind=JobKind.FIRMWARE, offset=offset, limit=limit)
        return FilePage(items=[file_out(f) for f in items], total=total, offset=offset, limit=limit)

    @router.get("/files", response_model=FilePage)
    async def list_files(
        station_id: Annotated[str | None, Query(description="Only this station's uploads")] = None,
        job_id: Annotated[int | None, Query(description="Only this job's uploads")] = None,
        kind: Annotated[Literal["firmware", "log"] | None, Query()] = None,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> FilePage:
        """Hosted files, newest first: the logs stations uploaded, and firmware images."""
        items, total = await csms.files.list(
            kind=None if kind is None else JobKind(kind),
            station_id=station_id,
            job_id=job_id,
            offset=offset,
            limit=limit,
        )
        return FilePage(items=[file_out(f) for f in items], total=total, offset=offset, limit=limit)

    @router.get("/files/{file_id}", response_model=FileOut, responses=errors({404: "No such file"}))
    async def get_file(file_id: int) -> FileOut:
        """One file's record."""
        try:
            return file_out(await csms.files.get(file_id))
        except NotFoundError as exc:
            raise _not_found(exc) from None

    @router.get(
        "/files/{file_id}/content",
        response_class=FileResponse,
        responses={**_CONTENT, **errors({404: "No such file"})},
    )
    async def download_file(file_id: int) -> FileResponse:
        """Download a file's bytes (Range requests supported)."""
        try:
            hosted = await csms.files.get(file_id)
            path = csms.files.path(hosted)
        except NotFoundError as exc:
            raise _not_found(exc) from None
        media = hosted.content_type or "application/octet-stream"
        return FileResponse(path, media_type=media, filename=hosted.name)

    @router.delete(
        "/files/{file_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses=errors({404: "No such file", 409: "A firmware image an open job is installing"}),
    )
    async def delete_file(file_id: int) -> Response:
        """Delete a file (its bytes too, unless another file has the same content)."""
        try:
            await csms.files.delete(file_id)
        except NotFoundError as exc:
            raise _not_found(exc) from None
        except FileInUseError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router


def station_files_router(csms: Csms) -> APIRouter:
    """The station-facing endpoints (no bearer token: the URL's token is the capability)."""
    router = APIRouter(prefix="/files", tags=["station files"])
    closed = errors({403: "The job of this token has ended"})
    unknown = errors({404: "Unknown token (or file name)"})

    async def job_of(token: str, kind: JobKind) -> Job:
        job = await csms.jobs.by_token(token)
        if job is None or job.kind is not kind:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown file URL")
        if not accepts_reports(job):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"job {job.id} is {job.state}: this URL is closed"
            )
        return job

    async def upload(request: Request, token: str, name: str | None) -> UploadOut:
        job = await job_of(token, JobKind.LOG)
        hosted = await _store(
            csms,
            request,
            JobKind.LOG,
            name,
            csms.settings.upload_max_bytes,
            station_id=job.station_id,
            job_id=job.id,
        )
        await csms.jobs.file_received(job, hosted)
        return UploadOut(id=hosted.id, name=hosted.name, size=hosted.size, sha256=hosted.sha256)

    upload_responses: _Responses = {
        **errors({400: "No file name, a bad one, or a malformed multipart form"}),
        **closed,
        **unknown,
        **errors({413: "Larger than upload_max_bytes"}),
    }

    @router.put(
        "/upload/{token}/{file_name}",
        status_code=status.HTTP_201_CREATED,
        response_model=UploadOut,
        openapi_extra=_BODY,
        responses=upload_responses,
    )
    async def put_upload(request: Request, token: str, file_name: str) -> UploadOut:
        """A station uploads its log (``curl -T``): the body is the file. Uploading the same
        name again for the job replaces it."""
        return await upload(request, token, file_name)

    @router.post(
        "/upload/{token}/{file_name}",
        status_code=status.HTTP_201_CREATED,
        response_model=UploadOut,
        openapi_extra=_BODY,
        responses=upload_responses,
    )
    async def post_upload_named(request: Request, token: str, file_name: str) -> UploadOut:
        """A station uploads its log with POST: a multipart form or the raw file."""
        return await upload(request, token, file_name)

    @router.post(
        "/upload/{token}",
        status_code=status.HTTP_201_CREATED,
        response_model=UploadOut,
        openapi_extra=_BODY,
        responses=upload_responses,
    )
    @router.post(
        "/upload/{token}/",
        status_code=status.HTTP_201_CREATED,
        response_model=UploadOut,
        openapi_extra=_BODY,
        responses=upload_responses,
    )
    async def post_upload(request: Request, token: str) -> UploadOut:
        """A station uploads its log as a multipart form (``curl -F file=@log.txt``) to the
        location itself; the part's filename names it."""
        return await upload(request, token, None)

    @router.get(
        "/firmware/{token}/{file_name}",
        response_class=FileResponse,
        responses={**_CONTENT, **closed, **unknown},
    )
    async def download_firmware(token: str, file_name: str) -> FileResponse:
        """A station downloads the firmware image of its job (Range requests supported)."""
        job = await job_of(token, JobKind.FIRMWARE)
        try:
            if job.image_id is None:
                raise NotFoundError("the job installs an image from another server")
            image = await csms.files.get(job.image_id, JobKind.FIRMWARE)
            path = csms.files.path(image)
        except NotFoundError as exc:
            raise _not_found(exc) from None
        if image.name != file_name:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown file URL")
        media = image.content_type or "application/octet-stream"
        return FileResponse(path, media_type=media, filename=image.name)

    return router

"""The files the CSMS hosts: firmware images operators upload (served to stations by firmware
jobs) and logs stations upload for log jobs (docs/jobs.md).

The bytes go to the content-addressed blob store (:mod:`opencsms.storage.blobs`), the metadata
to the ``files`` table; a file is recorded only once its bytes are durably on disk, so a station's
upload is acknowledged (HTTP 2xx) only after both. Removing a file removes its bytes unless
another record holds the same content.
"""

from __future__ import annotations

from pathlib import Path

from opencsms.clock import Clock
from opencsms.domain.job_model import HostedFile, JobKind
from opencsms.errors import NotFoundError, OpenCsmsError
from opencsms.storage.blobs import Blob, BlobStore
from opencsms.storage.store import Storage

__all__ = [
    "MAX_FILE_NAME_LENGTH",
    "FileInUseError",
    "FileService",
    "InvalidFileNameError",
    "check_file_name",
]

MAX_FILE_NAME_LENGTH = 255
"""2.0.1 GetLogResponse ``filename`` is string[0..255]; 1.6 GetDiagnostics ``fileName`` [0..255]."""


class InvalidFileNameError(OpenCsmsError):
    """A file name that is empty, too long, or a path (the API answers 400)."""


class FileInUseError(OpenCsmsError):
    """The firmware image is being installed by an open job (the API answers 409)."""


def check_file_name(name: str) -> str:
    """``name`` if it is a plain file name: not empty, no ``/`` ``\\`` or control characters,
    not ``.`` or ``..``, at most 255 characters. The name only labels the record (the bytes are
    stored by their hash), but it goes into URLs and Content-Disposition headers."""
    if not name or name in (".", ".."):
        raise InvalidFileNameError("a file name is required")
    if len(name) > MAX_FILE_NAME_LENGTH:
        raise InvalidFileNameError(f"file name longer than {MAX_FILE_NAME_LENGTH} characters")
    if any(c in "/\\" or ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidFileNameError("a file name must not contain '/', '\\' or control characters")
    return name


class FileService:
    """Stores, lists and removes hosted files (one instance per node)."""

    def __init__(self, storage: Storage, clock: Clock, blobs: BlobStore) -> None:
        self._storage = storage
        self._clock = clock
        self.blobs = blobs

    async def add(
        self,
        kind: JobKind,
        name: str,
        source: Path,
        *,
        offset: int = 0,
        length: int | None = None,
        station_id: str | None = None,
        job_id: int | None = None,
        content_type: str | None = None,
    ) -> HostedFile:
        """Store ``length`` bytes of ``source`` from ``offset`` (a received body) as ``name``.

        With ``job_id``, a file of the same name the job has already is replaced (its old bytes
        are removed unless still referenced)."""
        check_file_name(name)
        previous = None if job_id is None else await self._storage.files.by_job_name(job_id, name)
        stored: list[HostedFile] = []

        async def record(blob: Blob) -> None:
            item = HostedFile(
                id=0,
                kind=kind,
                name=name,
                size=blob.size,
                sha256=blob.sha256,
                created_at=self._clock.now(),
                station_id=station_id,
                job_id=job_id,
                content_type=content_type,
            )
            stored.append(await self._storage.files.add(item))

        await self.blobs.put(source, offset, length, then=record)
        if previous is not None and previous.sha256 != stored[0].sha256:
            await self.blobs.remove_unreferenced(previous.sha256, self._storage.files.references)
        return stored[0]

    async def get(self, file_id: int, kind: JobKind | None = None) -> HostedFile:
        """The file ``file_id`` (of ``kind``, when given); NotFoundError otherwise."""
        found = await self._storage.files.get(file_id)
        if found is None or (kind is not None and found.kind is not kind):
            what = "firmware image" if kind is JobKind.FIRMWARE else "file"
            raise NotFoundError(f"{what} {file_id} not found")
        return found

    async def list(
        self,
        *,
        kind: JobKind | None = None,
        station_id: str | None = None,
        job_id: int | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[HostedFile], int]:
        """Files newest first, and how many match in all."""
        kind_name = None if kind is None else kind.value
        repo = self._storage.files
        items = await repo.list(
            kind=kind_name, station_id=station_id, job_id=job_id, offset=offset, limit=limit
        )
        total = await repo.count(kind=kind_name, station_id=station_id, job_id=job_id)
        return items, total

    def path(self, hosted: HostedFile) -> Path:
        """Where the file's bytes are (NotFoundError if they went missing on disk)."""
        path = self.blobs.path_of(hosted.sha256)
        if not path.is_file():
            raise NotFoundError(f"the content of file {hosted.id} is missing from the store")
        return path

    async def delete(self, file_id: int) -> HostedFile:
        """Remove a file and, unless another record shares them, its bytes. A firmware image an
        open job installs is refused (:class:`FileInUseError`)."""
        hosted = await self.get(file_id)
        if hosted.kind is JobKind.FIRMWARE:
            users = await self._storage.jobs.open_with_image(file_id)
            if users:
                ids = ", ".join(str(job.id) for job in users)
                raise FileInUseError(f"firmware image {file_id} is used by open job(s) {ids}")
        await self._storage.files.delete(file_id)
        await self.blobs.remove_unreferenced(hosted.sha256, self._storage.files.references)
        return hosted

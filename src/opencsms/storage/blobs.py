"""The bytes of hosted files, on disk, named by their SHA-256 (content-addressed).

Layout under the ``files_dir`` setting::

    blobs/ab/abcdef…   one file per distinct content (the first two hex digits shard the folder)
    tmp/               bodies being received; moved into blobs/ once complete

Naming content by its hash makes a resent upload idempotent (the same bytes land on the same
name) and lets two records share one copy; a blob is removed when no ``files`` row names it any
more. A blob is written to ``tmp/``, fsynced and renamed into place, so a reader never sees a
partial file and a crash leaves at most a stray temporary file. The database holds only the
metadata (storage/repositories/files.py); blocking file work runs in a thread.

One node owns its directory: the lock that keeps "remove an unreferenced blob" from racing "store
the same content again" is in this process. Several nodes sharing a directory (NFS) would need the
reference check under a database lock instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Blob", "BlobStore"]

_CHUNK = 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class Blob:
    """Stored content: its SHA-256 (hex) and size in bytes."""

    sha256: str
    size: int


class BlobStore:
    """Content-addressed files under ``root`` (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._blobs = root / "blobs"
        self._tmp = root / "tmp"
        self.lock = asyncio.Lock()
        """Held while a blob is stored or removed (and while its references are counted)."""

    def prepare(self) -> None:
        """Remove temporary files a crash left behind. The folders themselves are created on
        first use: a node that never hosts a file leaves no trace on disk."""
        if not self._tmp.is_dir():
            return
        for stray in self._tmp.iterdir():
            with contextlib.suppress(OSError):
                stray.unlink()

    def path_of(self, sha256: str) -> Path:
        """Where the content ``sha256`` is kept."""
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self._blobs / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    @contextlib.contextmanager
    def temporary(self) -> Iterator[Path]:
        """A fresh path in ``tmp/`` for a body being received; removed on leaving the block
        unless :meth:`put` moved it into the store."""
        self._tmp.mkdir(parents=True, exist_ok=True)
        path = self._tmp / uuid.uuid4().hex
        try:
            yield path
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    async def put(
        self,
        source: Path,
        offset: int = 0,
        length: int | None = None,
        *,
        then: Callable[[Blob], Awaitable[None]] | None = None,
    ) -> Blob:
        """Store ``length`` bytes of ``source`` from ``offset`` (all of it by default; the whole
        file is then moved, not copied).

        ``then`` runs under the store's lock once the blob is in place (record it in the
        database there, so a concurrent removal cannot take the content away in between). The
        hashing and copying happen before, outside the lock."""
        blob, staged = await asyncio.to_thread(self._stage, source, offset, length)
        try:
            async with self.lock:
                await asyncio.to_thread(self._commit, blob, staged)
                if then is not None:
                    await then(blob)
        finally:
            if staged != source:
                with contextlib.suppress(FileNotFoundError):
                    staged.unlink()
        return blob

    async def remove_unreferenced(
        self, sha256: str, references: Callable[[str], Awaitable[int]]
    ) -> bool:
        """Remove the content ``sha256`` if ``references(sha256)`` counts no row naming it."""
        async with self.lock:
            if await references(sha256) > 0:
                return False
            path = self.path_of(sha256)
            try:
                await asyncio.to_thread(path.unlink)
            except FileNotFoundError:
                return False
            return True

    def _stage(self, source: Path, offset: int, length: int | None) -> tuple[Blob, Path]:
        """Hash the bytes and get them into a file of their own, fsynced: ``source`` itself
        when it is all of it, else a copy of the range in ``tmp/``."""
        if offset == 0 and length is None:
            blob = Blob(_sha256(source, 0, None), source.stat().st_size)
            _fsync(source)
            return blob, source
        self._tmp.mkdir(parents=True, exist_ok=True)
        staged = self._tmp / uuid.uuid4().hex
        try:
            size = _copy_range(source, staged, offset, length)
            return Blob(_sha256(staged, 0, None), size), staged
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                staged.unlink()
            raise

    def _commit(self, blob: Blob, staged: Path) -> None:
        target = self.path_of(blob.sha256)
        if target.is_file():
            return  # the same content is stored already
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)
        _fsync_dir(target.parent)


def _sha256(path: Path, offset: int, length: int | None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as reader:
        reader.seek(offset)
        remaining = length
        while remaining is None or remaining > 0:
            chunk = reader.read(_CHUNK if remaining is None else min(_CHUNK, remaining))
            if not chunk:
                break
            digest.update(chunk)
            if remaining is not None:
                remaining -= len(chunk)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not possible on every platform; the rename is done
        _fsync(path)


def _copy_range(source: Path, target: Path, offset: int, length: int | None) -> int:
    """Copy ``length`` bytes of ``source`` from ``offset`` to ``target``, fsynced; the size."""
    copied = 0
    with source.open("rb") as reader, target.open("wb") as writer:
        reader.seek(offset)
        while length is None or copied < length:
            want = _CHUNK if length is None else min(_CHUNK, length - copied)
            chunk = reader.read(want)
            if not chunk:
                break
            writer.write(chunk)
            copied += len(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    return copied

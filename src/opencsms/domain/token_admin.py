"""Operator-side management of id tokens: create, change, delete, seed from the provisioning
file, and bulk CSV import/export.

CSV format (one header row, then one token per row; columns in any order, only ``id_token``
required)::

    id_token,type,status,expires_at,group_id,allowed_locations,max_concurrent
    04A2B3C4D5,ISO14443,Accepted,2027-01-01T00:00:00Z,FLEET-1,CS-1;CS-2/1,2

``expires_at`` is ISO 8601 with a zone (empty: never), ``allowed_locations`` is a ``;``-separated
list of ``STATION`` or ``STATION/EVSE`` (empty: everywhere), ``max_concurrent`` empty means no
limit. An import is **all or nothing**: every row is checked first; if any row is wrong nothing is
written and the report lists every wrong line; otherwise all rows are written in one commit
(created or replaced, ``created_at`` of replaced tokens kept).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from opencsms.clock import Clock
from opencsms.domain.tokens import IdToken, InvalidTokenError, build_token, token_key
from opencsms.errors import NotFoundError
from opencsms.storage.store import Storage

__all__ = ["CSV_COLUMNS", "ImportReport", "TokenAdmin", "tokens_to_csv"]

CSV_COLUMNS = (
    "id_token",
    "type",
    "status",
    "expires_at",
    "group_id",
    "allowed_locations",
    "max_concurrent",
)


@dataclass(slots=True)
class ImportReport:
    """What a CSV import did: counts, and per wrong line (1 = the header) what is wrong."""

    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class TokenAdmin:
    """Creates and changes id tokens on the operator's behalf.

    ``on_change`` is called after every write that may have changed a token (the local lists
    follow the tokens: :mod:`opencsms.domain.local_list_worker`).
    """

    def __init__(
        self, storage: Storage, clock: Clock, *, on_change: Callable[[], None] | None = None
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._on_change = on_change

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    async def create(self, values: dict[str, Any]) -> IdToken:
        """Create a token (``AlreadyExistsError``, :class:`InvalidTokenError`)."""
        token = build_token(values, now=self._clock.now(), existing=None)
        await self._storage.id_tokens.create(token)
        self._changed()
        return token

    async def update(self, id_token: str, changes: dict[str, Any]) -> IdToken:
        """Apply ``changes`` (``NotFoundError``, :class:`InvalidTokenError`)."""
        existing = await self._storage.id_tokens.get(id_token)
        if existing is None:
            raise NotFoundError(f"id token {id_token!r} not found")
        token = build_token(changes, now=self._clock.now(), existing=existing)
        await self._storage.id_tokens.put(token)
        self._changed()
        return token

    async def delete(self, id_token: str) -> bool:
        deleted = await self._storage.id_tokens.delete(id_token)
        if deleted:
            self._changed()
        return deleted

    async def seed(self, values: dict[str, Any]) -> IdToken:
        """Make a provisioning-file entry true: create the token or replace what it names."""
        existing = await self._storage.id_tokens.get(str(values.get("id_token", "")))
        token = build_token(values, now=self._clock.now(), existing=existing)
        await self._storage.id_tokens.put(token)
        self._changed()
        return token

    async def import_csv(self, text: str) -> ImportReport:
        """Import tokens from CSV, all or nothing (see the module docstring)."""
        report = ImportReport()
        reader = csv.DictReader(io.StringIO(text))
        header = reader.fieldnames or []
        unknown = set(header) - set(CSV_COLUMNS)
        if "id_token" not in header or unknown:
            detail = f"unknown columns {', '.join(sorted(unknown))}" if unknown else ""
            report.errors.append((1, detail or "the header must name an id_token column"))
            return report
        rows: list[tuple[int, dict[str, Any]]] = []
        seen: dict[str, int] = {}
        for row in reader:
            line = reader.line_num
            try:
                values = _row_values(row)
            except InvalidTokenError as exc:
                report.errors.append((line, str(exc)))
                continue
            key = token_key(str(values.get("id_token", "")))
            if key in seen:
                report.errors.append((line, f"id_token repeats line {seen[key]}"))
                continue
            seen[key] = line
            rows.append((line, values))
        existing = await self._storage.id_tokens.get_many(seen)
        now = self._clock.now()
        tokens: list[IdToken] = []
        for line, values in rows:
            key = token_key(values["id_token"])
            # A row replaces the stored token whole: columns left empty take their defaults.
            base = existing.get(key)
            try:
                token = build_token(values, now=now, existing=None)
            except InvalidTokenError as exc:
                report.errors.append((line, str(exc)))
                continue
            if base is not None:
                token = replace(token, created_at=base.created_at)
                report.updated += 1
            else:
                report.created += 1
            tokens.append(token)
        if report.errors:
            report.errors.sort()
            report.created = report.updated = 0
            return report
        await self._storage.id_tokens.put(*tokens)
        self._changed()
        return report

    async def export_csv(self) -> str:
        """Every token as CSV (the import format)."""
        tokens: list[IdToken] = []
        offset = 0
        while True:
            page = await self._storage.id_tokens.list(offset=offset, limit=1000)
            tokens += page
            if len(page) < 1000:
                break
            offset += 1000
        return tokens_to_csv(tokens)


def _row_values(row: dict[str | Any, str | Any]) -> dict[str, Any]:
    if None in row:
        raise InvalidTokenError("more fields than the header names")
    values: dict[str, Any] = {}
    for name in CSV_COLUMNS:
        text = (row.get(name) or "").strip()
        if not text:
            continue
        if name == "expires_at":
            try:
                values[name] = datetime.fromisoformat(text)
            except ValueError:
                raise InvalidTokenError(
                    f"expires_at {text!r} is not an ISO 8601 date-time"
                ) from None
        elif name == "allowed_locations":
            values[name] = tuple(p.strip() for p in text.split(";") if p.strip())
        elif name == "max_concurrent":
            if not text.isdigit():
                raise InvalidTokenError(f"max_concurrent {text!r} is not a whole number")
            values[name] = int(text)
        else:
            values[name] = text
    if "id_token" not in values:
        raise InvalidTokenError("id_token is empty")
    return values


def tokens_to_csv(tokens: list[IdToken]) -> str:
    """Render tokens in the import format."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for t in tokens:
        writer.writerow(
            (
                t.id_token,
                t.type or "",
                t.status.value,
                t.expires_at.isoformat() if t.expires_at else "",
                t.group_id or "",
                ";".join(t.allowed_locations) if t.allowed_locations is not None else "",
                t.max_concurrent if t.max_concurrent is not None else "",
            )
        )
    return out.getvalue()

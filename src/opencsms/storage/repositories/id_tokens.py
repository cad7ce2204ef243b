"""Id tokens (table ``id_tokens``), keyed case-insensitively."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.engine import Row

from opencsms.domain.tokens import IdToken, TokenStatus, token_key
from opencsms.errors import AlreadyExistsError

from ..statements import Statement, WriteOp
from ..tables import id_tokens
from .base import Repository, dialect_insert, storage_errors

__all__ = ["IdTokenRepository"]

_COLUMNS = tuple(c.name for c in id_tokens.columns)
_MUTABLE = tuple(name for name in _COLUMNS if name not in ("key", "created_at"))

_INSERT = Statement(
    "id_tokens.insert",
    _COLUMNS,
    lambda d: (
        dialect_insert(d, id_tokens)
        .values({name: bindparam(name) for name in _COLUMNS})
        .on_conflict_do_nothing(index_elements=["key"])
    ),
    counted=True,
)


def _build_upsert(dialect: str) -> Any:
    insert = dialect_insert(dialect, id_tokens).values({name: bindparam(name) for name in _COLUMNS})
    return insert.on_conflict_do_update(
        index_elements=["key"], set_={name: insert.excluded[name] for name in _MUTABLE}
    )


_UPSERT = Statement("id_tokens.upsert", _COLUMNS, _build_upsert)

_DELETE = Statement(
    "id_tokens.delete",
    ("b_key",),
    lambda _d: delete(id_tokens).where(id_tokens.c.key == bindparam("b_key")),
    counted=True,
)


def _from_row(row: Row[Any]) -> IdToken:
    m = row._mapping
    locations = m["allowed_locations"]
    return IdToken(
        id_token=m["id_token"],
        type=m["type"],
        status=TokenStatus(m["status"]),
        expires_at=m["expires_at"],
        group_id=m["group_id"],
        allowed_locations=tuple(orjson.loads(locations)) if locations is not None else None,
        max_concurrent=m["max_concurrent"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


class IdTokenRepository(Repository):
    """Table ``id_tokens``. Writes go through the group-commit writer like every other write."""

    def _params(self, token: IdToken) -> tuple[Any, ...]:
        values: dict[str, Any] = {
            "key": token.key,
            "id_token": token.id_token,
            "type": token.type,
            "status": str(token.status),
            "expires_at": self._ts_or_none(token.expires_at),
            "group_id": token.group_id,
            "allowed_locations": (
                orjson.dumps(list(token.allowed_locations)).decode()
                if token.allowed_locations is not None
                else None
            ),
            "max_concurrent": token.max_concurrent,
            "created_at": self._ts(token.created_at),
            "updated_at": self._ts(token.updated_at),
        }
        return tuple(values[name] for name in _COLUMNS)

    async def get(self, id_token: str) -> IdToken | None:
        """The token (matched case-insensitively), or ``None``."""
        query = select(id_tokens).where(id_tokens.c.key == token_key(id_token))
        with storage_errors():
            async with self._engine.connect() as conn:
                row = (await conn.execute(query)).first()
        return None if row is None else _from_row(row)

    async def get_many(self, keys: Iterable[str]) -> dict[str, IdToken]:
        """The stored tokens among ``keys`` (lower-case keys), by key."""
        wanted = sorted(set(keys))
        found: dict[str, IdToken] = {}
        with storage_errors():
            async with self._engine.connect() as conn:
                for start in range(0, len(wanted), 500):  # stay below bind-parameter limits
                    chunk = wanted[start : start + 500]
                    rows = await conn.execute(select(id_tokens).where(id_tokens.c.key.in_(chunk)))
                    for row in rows:
                        token = _from_row(row)
                        found[token.key] = token
        return found

    async def list(
        self, offset: int = 0, limit: int = 100, group_id: str | None = None
    ) -> builtins.list[IdToken]:
        """Tokens ordered by key, optionally of one group."""
        query = select(id_tokens).order_by(id_tokens.c.key).offset(offset).limit(limit)
        if group_id is not None:
            query = query.where(id_tokens.c.group_id == group_id)
        with storage_errors():
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_from_row(row) for row in rows]

    async def count(self, group_id: str | None = None) -> int:
        query = select(func.count()).select_from(id_tokens)
        if group_id is not None:
            query = query.where(id_tokens.c.group_id == group_id)
        with storage_errors():
            async with self._engine.connect() as conn:
                value = await conn.scalar(query)
        return int(value or 0)

    async def create(self, token: IdToken) -> None:
        """Insert ``token``; :class:`~opencsms.errors.AlreadyExistsError` if its key exists."""
        (inserted,) = await self._writer.execute_counted(WriteOp(_INSERT, self._params(token)))
        if inserted == 0:
            raise AlreadyExistsError(f"id token {token.id_token!r} already exists")

    async def put(self, *tokens: IdToken) -> None:
        """Create or replace every token, all in one transaction (``created_at`` of an existing
        token is kept)."""
        if tokens:
            await self._writer.execute(*(WriteOp(_UPSERT, self._params(t)) for t in tokens))

    async def delete(self, id_token: str) -> bool:
        """Delete the token; ``False`` if there was none."""
        (deleted,) = await self._writer.execute_counted(WriteOp(_DELETE, (token_key(id_token),)))
        return deleted > 0

"""Contract tests of the id token repository (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from opencsms.domain.tokens import IdToken, TokenStatus
from opencsms.errors import AlreadyExistsError
from opencsms.storage import Storage

from .conftest import T0


def token(id_token: str = "Card-1", **fields: object) -> IdToken:
    values: dict[str, object] = {"id_token": id_token, "created_at": T0, "updated_at": T0}
    values.update(fields)
    return IdToken(**values)  # type: ignore[arg-type]


async def test_create_get_case_insensitive_and_round_trip(storage: Storage) -> None:
    full = token(
        type="ISO14443",
        status=TokenStatus.BLOCKED,
        expires_at=T0 + timedelta(days=30),
        group_id="FLEET",
        allowed_locations=("CS-1", "CS-2/3"),
        max_concurrent=2,
    )
    await storage.id_tokens.create(full)
    assert await storage.id_tokens.get("CARD-1") == full
    assert await storage.id_tokens.get("card-1") == full
    assert await storage.id_tokens.get("card-2") is None
    with pytest.raises(AlreadyExistsError):
        await storage.id_tokens.create(token("CARD-1"))


async def test_put_replaces_but_keeps_created_at_and_delete(storage: Storage) -> None:
    await storage.id_tokens.create(token())
    later = T0 + timedelta(hours=1)
    changed = token(status=TokenStatus.EXPIRED, created_at=later, updated_at=later)
    await storage.id_tokens.put(changed, token("Other", group_id="FLEET"))
    stored = await storage.id_tokens.get("card-1")
    assert stored == replace(changed, created_at=T0)
    assert await storage.id_tokens.delete("CARD-1") is True
    assert await storage.id_tokens.delete("CARD-1") is False
    assert await storage.id_tokens.get("card-1") is None


async def test_list_count_and_get_many(storage: Storage) -> None:
    await storage.id_tokens.put(
        token("b"), token("A", group_id="G"), token("c", group_id="G"), token("D")
    )
    assert [t.id_token for t in await storage.id_tokens.list()] == ["A", "b", "c", "D"]
    assert [t.id_token for t in await storage.id_tokens.list(offset=1, limit=2)] == ["b", "c"]
    assert [t.id_token for t in await storage.id_tokens.list(group_id="G")] == ["A", "c"]
    assert (await storage.id_tokens.count(), await storage.id_tokens.count(group_id="G")) == (4, 2)
    assert sorted(await storage.id_tokens.get_many(["a", "d", "zz"])) == ["a", "d"]

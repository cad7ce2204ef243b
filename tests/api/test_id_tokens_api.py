"""``/api/v1/id-tokens`` over real HTTP: CRUD, validation, CSV import (all or nothing), export."""

from __future__ import annotations

import csv
import io

from opencsms.app import Csms
from tests.wire import api_client


async def test_token_lifecycle(csms: Csms) -> None:
    body = {
        "id_token": "04A2B3C4",
        "type": "ISO14443",
        "status": "Accepted",
        "expires_at": "2030-01-01T00:00:00+01:00",
        "group_id": "FLEET-1",
    }
    async with api_client(csms) as api:
        created = await api.post("/api/v1/id-tokens", json=body)
        assert created.status_code == 201, created.text
        token = created.json()
        assert token["expires_at"] == "2029-12-31T23:00:00Z"
        assert (token["allowed_locations"], token["max_concurrent"]) == (None, None)
        duplicate = await api.post("/api/v1/id-tokens", json={**body, "id_token": "04a2b3c4"})
        assert duplicate.status_code == 409
        assert (await api.get("/api/v1/id-tokens/04a2b3c4")).json()["group_id"] == "FLEET-1"
        patched = await api.patch(
            "/api/v1/id-tokens/04A2B3C4",
            json={"status": "Blocked", "group_id": None, "allowed_locations": ["CS1/2"]},
        )
        assert patched.status_code == 200, patched.text
        assert (patched.json()["status"], patched.json()["group_id"]) == ("Blocked", None)
        assert patched.json()["allowed_locations"] == ["CS1/2"]
        assert patched.json()["created_at"] == token["created_at"]
        listed = (await api.get("/api/v1/id-tokens")).json()
        assert (listed["total"], [t["id_token"] for t in listed["items"]]) == (1, ["04A2B3C4"])
        assert (await api.delete("/api/v1/id-tokens/04A2B3C4")).status_code == 204
        assert (await api.delete("/api/v1/id-tokens/04A2B3C4")).status_code == 404
        assert (await api.get("/api/v1/id-tokens/04A2B3C4")).status_code == 404
        assert (await api.patch("/api/v1/id-tokens/X", json={})).status_code == 404


async def test_invalid_tokens_get_422(csms: Csms) -> None:
    async with api_client(csms) as api:
        for body in (
            {"id_token": "T", "expires_at": "2030-01-01T00:00:00"},  # no zone
            {"id_token": "T", "status": "Sometimes"},
            {"id_token": "T", "type": "Card"},
            {"id_token": "T", "allowed_locations": ["CS1/one"]},
            {"id_token": "T", "max_concurrent": 0},
            {"id_token": "x" * 37},
            {"id_token": "T", "extra": 1},
        ):
            response = await api.post("/api/v1/id-tokens", json=body)
            assert response.status_code == 422, (body, response.text)
        assert (await api.get("/api/v1/id-tokens")).json()["total"] == 0


CSV_OK = """id_token,type,status,expires_at,group_id,allowed_locations,max_concurrent
TAG-1,ISO14443,Accepted,2030-01-01T00:00:00Z,FLEET,CS1;CS2/1,2
TAG-2,,Blocked,,,,
"""


async def test_csv_import_and_export_round_trip(csms: Csms) -> None:
    await csms.tokens.create({"id_token": "tag-2", "group_id": "OLD"})
    async with api_client(csms) as api:
        imported = await api.post(
            "/api/v1/id-tokens/import", content=CSV_OK, headers={"Content-Type": "text/csv"}
        )
        assert imported.status_code == 200, imported.text
        assert imported.json() == {"created": 1, "updated": 1, "errors": []}
        tag2 = (await api.get("/api/v1/id-tokens/TAG-2")).json()
        assert (tag2["status"], tag2["group_id"]) == ("Blocked", None)  # replaced whole
        exported = await api.get("/api/v1/id-tokens/export")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["id_token"], r["allowed_locations"], r["max_concurrent"]) for r in rows] == [
        ("TAG-1", "CS1;CS2/1", "2"),
        ("TAG-2", "", ""),
    ]
    assert rows[0]["expires_at"].startswith("2030-01-01T00:00:00")


async def test_csv_import_is_all_or_nothing(csms: Csms) -> None:
    text = (
        "id_token,status,max_concurrent\n"
        "GOOD,Accepted,1\n"
        "BAD,Perhaps,\n"
        "good,Accepted,\n"
        ",Accepted,\n"
        "WORSE,Accepted,many\n"
    )
    async with api_client(csms) as api:
        response = await api.post(
            "/api/v1/id-tokens/import", content=text, headers={"Content-Type": "text/csv"}
        )
        assert response.status_code == 422
        report = response.json()
        assert (report["created"], report["updated"]) == (0, 0)
        assert [e["line"] for e in report["errors"]] == [3, 4, 5, 6]
        assert "status" in report["errors"][0]["error"]
        assert "repeats line 2" in report["errors"][1]["error"]
        assert (await api.get("/api/v1/id-tokens")).json()["total"] == 0
        header = await api.post("/api/v1/id-tokens/import", content="token,status\nA,Accepted\n")
        assert header.status_code == 422
        assert header.json()["errors"][0]["line"] == 1

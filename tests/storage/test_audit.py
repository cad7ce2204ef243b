"""Contract tests of the audit log: enqueue-only appends, flush on close, keyset paging, purge."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from opencsms.domain.model import FrameDirection, FrameRecord
from opencsms.storage import Storage

from .conftest import T0


def frame(
    n: int, station_id: str = "CP-1", direction: FrameDirection = "in", *, minutes: int = 0
) -> FrameRecord:
    return FrameRecord(
        station_id=station_id,
        at=T0 + timedelta(minutes=minutes, microseconds=n),
        direction=direction,
        message_type=2,
        action="Heartbeat",
        message_id=f"m{n}",
        payload=f'[2,"m{n}","Heartbeat",{{}}]',
    )


async def test_aclose_flushes_enqueued_frames(db_url: str, storage: Storage) -> None:
    for n in range(50):
        storage.audit.append(frame(n))
    assert storage.writer.pending_ops > 0 or storage.writer.stats.ops > 0
    await storage.aclose()
    reopened = await Storage.open(db_url, migrate=False)
    try:
        page = await reopened.audit.page("CP-1", None, 100)
        assert [f.message_id for f in page] == [f"m{n}" for n in reversed(range(50))]
    finally:
        await reopened.aclose()


async def test_appended_frame_is_durable_when_a_later_write_returns(storage: Storage) -> None:
    storage.audit.append(frame(1))
    await storage.meter.add([])  # nothing to write: no commit, no waiting
    await storage.stations.touch_last_seen({"CP-1": T0})  # an awaited write after the append
    (only,) = await storage.audit.page("CP-1", None, 10)
    assert only.message_id == "m1"


async def test_keyset_paging_newest_first(storage: Storage) -> None:
    for n in range(7):
        storage.audit.append(frame(n, direction="in" if n % 2 else "out"))
        storage.audit.append(frame(100 + n, station_id="CP-2"))
    await storage.stations.touch_last_seen({"x": T0})  # waits for the queued frames too
    first = await storage.audit.page("CP-1", None, 3)
    assert [f.message_id for f in first] == ["m6", "m5", "m4"]
    assert first[0].id is not None
    assert first[0] == replace(frame(6, direction="out"), id=first[0].id)
    cursor = first[-1].id
    second = await storage.audit.page("CP-1", cursor, 3)
    assert [f.message_id for f in second] == ["m3", "m2", "m1"]
    third = await storage.audit.page("CP-1", second[-1].id, 3)
    assert [f.message_id for f in third] == ["m0"]
    ids = [f.id for f in first + second + third]
    assert ids == sorted(ids, reverse=True)  # type: ignore[type-var]


async def test_purge_older_than(storage: Storage) -> None:
    for n in range(25):
        storage.audit.append(frame(n, minutes=n))
    await storage.stations.touch_last_seen({"x": T0})
    deleted = await storage.audit.purge_older_than(T0 + timedelta(minutes=10))
    assert deleted == 10
    remaining = await storage.audit.page("CP-1", None, 100)
    assert [f.message_id for f in remaining][-1] == "m10"
    assert len(remaining) == 15
    assert await storage.audit.purge_older_than(T0) == 0
    assert await storage.audit.purge_older_than(T0 + timedelta(days=1)) == 15
    assert await storage.audit.page("CP-1", None, 100) == []
    storage.audit.append(frame(99))
    await storage.stations.touch_last_seen({"x": T0})
    (again,) = await storage.audit.page("CP-1", None, 100)
    assert again.id is not None
    assert again.id > 25  # ids are never reused after a purge

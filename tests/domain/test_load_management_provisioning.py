"""Load groups from the provisioning file (``[[load_groups]]``): created on the first start,
upserted on the next, members placed, bad entries refused with the entry named."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from opencsms.config import ConfigError, Settings, load_settings_file
from opencsms.domain.load_management_model import InvalidGroupError
from tests.wire import api_client, running_csms, settings_for

SITE = """
[[stations]]
id = "PV-1"

[[stations]]
id = "PV-2"

[[load_groups]]
id = "site"
name = "Depot"
max_current_a = {site_a}
max_power_w = 60000

[[load_groups]]
id = "feeder-1"
parent_id = "site"
max_current_a = 63
schedule = [{{daily = "07:00", max_current_a = 32}}, {{daily = "22:00", max_current_a = 63}}]
members = [
  {{station_id = "PV-1", max_current_a = 32}},
  {{station_id = "PV-2", evse_id = 1, phases = 1, phase = 2}},
]
"""


def provisioned(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "csms.toml"
    path.write_text(text, encoding="utf-8")
    seeded = load_settings_file(path)
    return replace(settings_for(tmp_path), stations=seeded.stations, load_groups=seeded.load_groups)


async def test_groups_and_members_are_created_then_upserted(tmp_path: Path) -> None:
    async with running_csms(provisioned(tmp_path, SITE.format(site_a=100))) as csms:
        async with api_client(csms) as api:
            groups = {g["id"]: g for g in (await api.get("/api/v1/load-groups")).json()}
        assert (groups["site"]["name"], groups["site"]["max_current_a"]) == ("Depot", 100.0)
        assert groups["site"]["max_power_w"] == 60000.0
        assert groups["feeder-1"]["parent_id"] == "site"
        assert groups["feeder-1"]["schedule"][0] == {"daily": "07:00", "max_current_a": 32}
        members = csms.load_management.members_of("feeder-1")
        assert sorted((m.station_id, m.evse_id, m.phase) for m in members) == [
            ("PV-1", 0, None),
            ("PV-2", 1, 2),
        ]
        assert csms.load_management.managed("PV-1")
        # An operator's change through the API to what the file does not say is kept.
        async with api_client(csms) as api:
            changed = await api.patch("/api/v1/load-groups/site", json={"voltage_v": 240})
            assert changed.status_code == 200, changed.text

    # Next start, same database, the site limit changed in the file: updated, not duplicated.
    async with running_csms(provisioned(tmp_path, SITE.format(site_a=80))) as csms:
        site = csms.load_management.group("site")
        assert (site.max_current_a, site.voltage_v) == (80.0, 240.0)
        assert sorted(csms.load_management.groups) == ["feeder-1", "site"]


async def test_a_bad_entry_is_refused_naming_it(tmp_path: Path) -> None:
    bad = SITE.format(site_a=100).replace('parent_id = "site"', 'parent_id = "nowhere"')
    with pytest.raises(InvalidGroupError, match=r"load_groups\[1\] \(feeder-1\)"):
        async with running_csms(provisioned(tmp_path, bad)):
            pass
    unknown = SITE.format(site_a=100).replace('station_id = "PV-1"', 'station_id = "PV-9"')
    with pytest.raises(InvalidGroupError, match="PV-9"):
        async with running_csms(provisioned(tmp_path, unknown)):
            pass
    (tmp_path / "shape.toml").write_text('load_groups = ["site"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="load_groups"):
        load_settings_file(tmp_path / "shape.toml")


async def test_managed_follows_every_member_change(tmp_path: Path) -> None:
    # managed() answers every stored meter value from a set derived from the members: each kind
    # of change must reach it (joining, leaving, the group deleted, an EVSE joining alone).
    async with running_csms(provisioned(tmp_path, SITE.format(site_a=100))) as csms:
        lm = csms.load_management
        assert lm.managed("PV-1")
        assert lm.managed("PV-2")  # one EVSE of it is a member
        async with api_client(csms) as api:
            left = await api.delete("/api/v1/load-groups/feeder-1/members/PV-1")
            assert left.status_code == 204, left.text
            assert not lm.managed("PV-1")
            joined = await api.put("/api/v1/load-groups/site/members/PV-1", params={"evse_id": 2})
            assert joined.status_code == 200, joined.text
            assert lm.managed("PV-1")
            for station, evse in (("PV-1", 2), ("PV-2", 1)):
                gone = await api.delete(
                    f"/api/v1/load-groups/{'site' if station == 'PV-1' else 'feeder-1'}"
                    f"/members/{station}",
                    params={"evse_id": evse},
                )
                assert gone.status_code == 204, gone.text
            assert not lm.managed("PV-1")
            assert not lm.managed("PV-2")
            back = await api.put("/api/v1/load-groups/feeder-1/members/PV-2")
            assert back.status_code == 200, back.text
            assert lm.managed("PV-2")
            deleted = await api.delete("/api/v1/load-groups/feeder-1")
            assert deleted.status_code == 204, deleted.text
            assert not lm.managed("PV-2")

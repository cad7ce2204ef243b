"""``/api/v1/load-groups`` over real HTTP: CRUD with validation (unknown parent, cycles,
negative limits, deleting a group with children), members, external signal, schedule,
decisions paging; and the groups survive a restart (stored)."""

from __future__ import annotations

from pathlib import Path

from opencsms.app import Csms
from opencsms.domain.stations import StationSpec
from tests.domain.load_management_wire import lm_settings
from tests.wire import api_client, running_csms


async def test_group_crud_and_validation(csms: Csms) -> None:
    async with api_client(csms) as api:
        base = "/api/v1/load-groups"
        site = await api.post(base, json={"id": "site", "name": "Depot", "max_current_a": 100})
        assert site.status_code == 201, site.text
        assert (await api.post(base, json={"id": "site"})).status_code == 409
        feeder = await api.post(
            base, json={"id": "feeder-1", "parent_id": "site", "max_power_w": 22000}
        )
        assert feeder.status_code == 201, feeder.text

        unknown = await api.post(base, json={"id": "x", "parent_id": "nowhere"})
        assert unknown.status_code == 400
        assert "unknown parent group 'nowhere'" in unknown.json()["detail"]
        negative = await api.post(base, json={"id": "neg", "max_current_a": -1})
        assert negative.status_code == 400
        assert "max_current_a must be 0 or more" in negative.json()["detail"]
        cycle = await api.patch(f"{base}/site", json={"parent_id": "feeder-1"})
        assert cycle.status_code == 400
        assert "cycle" in cycle.json()["detail"]
        bad_schedule = await api.patch(
            f"{base}/feeder-1", json={"schedule": [{"daily": "25:00", "max_current_a": 16}]}
        )
        assert bad_schedule.status_code == 400
        assert "invalid schedule" in bad_schedule.json()["detail"]
        good = await api.patch(
            f"{base}/feeder-1",
            json={"schedule": [{"daily": "07:00", "max_current_a": 16}], "max_power_w": None},
        )
        assert good.status_code == 200, good.text
        assert good.json()["max_power_w"] is None
        assert good.json()["schedule"] == [{"daily": "07:00", "max_current_a": 16}]

        in_use = await api.delete(f"{base}/site")
        assert in_use.status_code == 409
        assert "feeder-1" in in_use.json()["detail"]
        assert (await api.get(f"{base}/site")).json()["children"] == ["feeder-1"]
        assert (await api.get(f"{base}/nope")).status_code == 404

        # Members: a known station only; EVSE members with their rating and wiring.
        await csms.stations.create(StationSpec(id="CP-M"))
        member = await api.put(
            f"{base}/feeder-1/members/CP-M",
            params={"evse_id": 2},
            json={"max_current_a": 16, "phases": 1, "phase": 2},
        )
        assert member.status_code == 200, member.text
        assert member.json() == member.json() | {"evse_id": 2, "phase": 2, "group_id": "feeder-1"}
        assert (await api.put(f"{base}/feeder-1/members/NOPE")).status_code == 404
        wiring = await api.put(f"{base}/feeder-1/members/CP-M", json={"phase": 4})
        assert wiring.status_code == 400
        listed = (await api.get(f"{base}/feeder-1")).json()["members"]
        assert [(m["station_id"], m["evse_id"]) for m in listed] == [("CP-M", 2)]
        gone = await api.delete(f"{base}/feeder-1/members/CP-M", params={"evse_id": 2})
        assert gone.status_code == 204
        again = await api.delete(f"{base}/feeder-1/members/CP-M", params={"evse_id": 2})
        assert again.status_code == 404

        # External signal: needs a limit, until in the future; cleared with DELETE.
        assert (await api.put(f"{base}/site/external-limit", json={})).status_code == 400
        past = await api.put(
            f"{base}/site/external-limit",
            json={"max_current_a": 50, "until": "2000-01-01T00:00:00Z"},
        )
        assert past.status_code == 400
        signal = await api.put(f"{base}/site/external-limit", json={"max_current_a": 50})
        assert signal.status_code == 200, signal.text
        assert signal.json()["external_limit"]["max_current_a"] == 50
        allocation = (await api.get(f"{base}/site/allocation")).json()
        assert allocation["groups"][1] == allocation["groups"][1] | {
            "id": "site",
            "max_current_a": 50.0,
        }
        cleared = await api.delete(f"{base}/site/external-limit")
        assert cleared.json()["external_limit"] is None

        # CP-M joined while offline: its TxDefault could not be sent, and that is recorded.
        page = (await api.get(f"{base}/site/decisions", params={"limit": 5})).json()
        assert page["total"] >= 1
        assert page["items"][-1]["trigger"] == "CP-M joined feeder-1"
        assert [
            (e["station_id"], e["kind"], e["status"], e["detail"])
            for e in page["items"][-1]["sessions"]
        ] == [("CP-M", "TxDefault", "Failed", "station not connected")]
        assert (await api.delete(f"{base}/feeder-1")).status_code == 204
        assert (await api.delete(f"{base}/site")).status_code == 204
        assert (await api.get(base)).json() == []


async def test_groups_survive_a_restart(tmp_path: Path) -> None:
    settings = lm_settings(tmp_path)
    async with running_csms(settings) as csms, api_client(csms) as api:
        await csms.stations.create(StationSpec(id="CP-R"))
        await api.post(
            "/api/v1/load-groups",
            json={"id": "site", "max_current_a": 63, "priorities": {"VIP": 5}},
        )
        await api.put("/api/v1/load-groups/site/members/CP-R", json={"max_current_a": 16})
        await api.put("/api/v1/load-groups/site/external-limit", json={"max_power_w": 30000})
    async with running_csms(settings) as csms, api_client(csms) as api:
        group = (await api.get("/api/v1/load-groups/site")).json()
        assert group["max_current_a"] == 63
        assert group["priorities"] == {"VIP": 5}
        assert group["external_limit"]["max_power_w"] == 30000
        assert [(m["station_id"], m["max_current_a"]) for m in group["members"]] == [("CP-R", 16.0)]

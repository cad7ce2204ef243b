"""Unit tests of the pieces without sockets: EV/meter model, back-off, payloads, key stores."""

from __future__ import annotations

import random

import pytest

from opencsms.ocpp.schemas import default_registry
from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import BackOffConfig, EvModel, EvseConfig, EvseMeter, StationConfig
from opencsms.simulator.config_keys import DeviceModel, KeyStore
from opencsms.simulator.connection import RetryBackOff
from opencsms.simulator.messages import meter_values
from tests.simulator.helpers import T0


def test_power_follows_limit_and_energy_integrates() -> None:
    meter = EvseMeter(EvseConfig(max_power_w=22_000), now=0.0)
    meter.plug(EvModel(max_power_w=11_000, battery_wh=50_000, soc=50.0), now=0.0)
    assert meter.power_w == 11_000  # the EV is the limit
    meter.set_limit(3_680, now=1800)  # half an hour at 11 kW booked first
    sample = meter.sample(now=3600)
    assert sample.energy_wh == pytest.approx(5_500 + 1_840)
    assert sample.power_w == 3_680
    assert sample.soc == pytest.approx(50 + 7_340 / 50_000 * 100)


def test_soc_never_exceeds_100_and_power_tapers() -> None:
    meter = EvseMeter(EvseConfig(), now=0.0)
    meter.plug(EvModel(soc=90.0, battery_wh=10_000), now=0.0)
    assert meter.power_w == pytest.approx(11_000 * 0.5)
    sample = meter.sample(now=10 * 3600)
    assert sample.soc == 100.0
    assert sample.power_w == 0.0
    assert sample.energy_wh == pytest.approx(1_000)


def test_backoff_doubles_and_caps_with_random_part() -> None:
    backoff = RetryBackOff(BackOffConfig(2.0, 0.0, 3))
    assert [backoff.delay(n) for n in range(6)] == [2, 4, 8, 16, 16, 16]
    jitter = RetryBackOff(BackOffConfig(2.0, 1.0, 3), random.Random(1))
    assert all(2.0 <= jitter.delay(0) <= 3.0 for _ in range(20))


@pytest.mark.parametrize("version", list(OcppVersion))
@pytest.mark.parametrize("phases", [1, 3])
def test_meter_values_payload_is_schema_valid(version: OcppVersion, phases: int) -> None:
    meter = EvseMeter(EvseConfig(phases=phases), now=0.0)
    meter.plug(EvModel(), now=0.0)
    cfg = StationConfig(id="X", version=version)
    payload = meter_values(version, 1, meter.sample(60.0), cfg.measurands, T0)
    assert default_registry().validate_request(version, "MeterValues", payload) == ()
    currents = [s for s in payload["meterValue"][0]["sampledValue"] if "Current" in s["measurand"]]
    assert len(currents) == phases


def test_key_store_and_device_model_reject_read_only() -> None:
    cfg = StationConfig(id="X", evses=(EvseConfig(), EvseConfig()))
    keys = KeyStore(cfg)
    assert keys.change_configuration("NumberOfConnectors", "3") == "Rejected"
    assert keys.change_configuration("HeartbeatInterval", "abc") == "Rejected"
    assert keys.get("NumberOfConnectors") == "2"
    model = DeviceModel(cfg)
    comp = {"name": "OCPPCommCtrlr"}
    assert model.set_variable(comp, {"name": "HeartbeatInterval"}, "Target", "5") == (
        "NotSupportedAttributeType"
    )
    assert (
        model.get_variable({"name": "OCPPCommCtrlr", "instance": "x"}, {"name": "A"}, "Actual")[0]
        == "UnknownComponent"
    )

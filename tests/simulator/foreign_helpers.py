"""Builders and checks for running the simulator against foreign CSMSs (``tests/peers``)."""

from __future__ import annotations

from typing import Any

from opencsms.ocpp.version import OcppVersion
from opencsms.simulator import BackOffConfig, StationConfig
from tests.peers.recording import CsmsPeer, PeerRequest

__all__ = [
    "assert_spoke_cleanly",
    "energy_registers",
    "foreign_config",
    "transaction_id_of",
]


def foreign_config(
    url: str, station_id: str, version: OcppVersion = OcppVersion.V201, **changes: Any
) -> StationConfig:
    """A station of ``version`` for the CSMS at ``url``, reconnecting fast, short timeouts
    (``tests.simulator.helpers.sim_config`` takes an OpenCSMS ``Csms`` instead of a URL)."""
    values: dict[str, Any] = {
        "id": station_id,
        "version": version,
        "csms_url": url,
        "call_timeout": 5.0,
        "open_timeout": 5.0,
        "backoff": BackOffConfig(wait_minimum=0.5, random_range=0.0, repeat_times=2),
    }
    values.update(changes)
    return StationConfig(**values)


def assert_spoke_cleanly(peer: CsmsPeer) -> None:
    """The peer answered every request with a CALLRESULT and its validator never objected."""
    refused = [
        f"{r.station} {r.action} → {r.error} {r.error_description}: {r.payload}"
        for r in peer.recorder.errors()
    ]
    assert not refused, f"{peer.name} refused: {refused}"
    assert not peer.recorder.problems, f"{peer.name} problems: {peer.recorder.problems}"


def transaction_id_of(request: PeerRequest) -> str | None:
    """The transaction a 1.6 MeterValues/StopTransaction or 2.x TransactionEvent belongs to."""
    if request.action == "TransactionEvent":
        return str(request.payload["transactionInfo"]["transactionId"])
    tx = request.payload.get("transactionId")
    return None if tx is None else str(tx)


def energy_registers(request: PeerRequest) -> list[float]:
    """Every Energy.Active.Import.Register value in the request's meter values, in order.

    1.6 values are decimal strings (1.6 §7.43); 2.x values are numbers (2.0.1 SampledValueType).
    A sampled value without a measurand is the register (both versions' default).
    """
    meter_values = request.payload.get("meterValue") or request.payload.get("transactionData") or []
    return [
        float(sample["value"])
        for meter_value in meter_values
        for sample in meter_value["sampledValue"]
        if sample.get("measurand", "Energy.Active.Import.Register")
        == "Energy.Active.Import.Register"
    ]

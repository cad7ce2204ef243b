"""Simulated charging stations on the OpenCSMS protocol core (the station side of RpcSession).

``async with SimulatedStation(StationConfig(id="CS1", csms_url=...)) as st:`` connects, boots and
keeps the station alive; see ``docs/simulator.md``.
"""

from opencsms.simulator.config import (
    DEFAULT_MEASURANDS,
    BackOffConfig,
    EvseConfig,
    Iso15118Config,
    StationConfig,
)
from opencsms.simulator.ev import EvModel, EvseMeter, MeterSample
from opencsms.simulator.station import QueuedMessage, ReceivedCall, SimulatedStation

__all__ = [
    "DEFAULT_MEASURANDS",
    "BackOffConfig",
    "EvModel",
    "EvseConfig",
    "EvseMeter",
    "Iso15118Config",
    "MeterSample",
    "QueuedMessage",
    "ReceivedCall",
    "SimulatedStation",
    "StationConfig",
]

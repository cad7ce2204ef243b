"""The configuration commands of a connected station in its OCPP version: 1.6 keys
(:class:`~opencsms.handlers.v16.configuration.Configuration16`) or the 2.0.1 device model
(:class:`~opencsms.handlers.v201.device_model.DeviceModel201`, 2.1 too).
"""

from __future__ import annotations

from opencsms.domain.desired_config_service import StationPort
from opencsms.handlers.common import StationCall
from opencsms.handlers.v16.configuration import Configuration16
from opencsms.handlers.v201.device_model import DeviceModel201
from opencsms.ocpp.version import OcppVersion

__all__ = ["configuration_port"]


def configuration_port(version: OcppVersion, call: StationCall) -> StationPort:
    """The port of a station speaking ``version``; ``call`` sends one CALL to it."""
    if version is OcppVersion.V16:
        return Configuration16(call)
    return DeviceModel201(call, version.value)

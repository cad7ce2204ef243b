"""OCPP 1.6 configuration, CSMS → charge point: GetConfiguration (§5.8) and ChangeConfiguration
(§5.3).

:class:`Configuration16` implements :class:`opencsms.domain.configuration.KeysPort`: it renders
the domain's requests as 1.6 payloads and reads the answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from opencsms.domain.configuration import KeyReport, ReportedKey
from opencsms.handlers.common import StationCall
from opencsms.ocpp.types import v16

__all__ = ["Configuration16", "change_configuration_request", "get_configuration_request"]


def get_configuration_request(keys: Sequence[str] | None) -> v16.GetConfigurationRequest:
    """§5.8: no ``key`` list asks for every key."""
    request: v16.GetConfigurationRequest = {}
    if keys:
        request["key"] = list(keys)
    return request


def change_configuration_request(key: str, value: str) -> v16.ChangeConfigurationRequest:
    return {"key": key, "value": value}


def key_report(response: v16.GetConfigurationResponse) -> KeyReport:
    """The answer in domain terms (§7.31 KeyValue: ``value`` may be left out)."""
    keys = tuple(
        ReportedKey(item["key"], item["readonly"], item.get("value"))
        for item in response.get("configurationKey", [])
    )
    return KeyReport(keys, tuple(response.get("unknownKey", [])))


class Configuration16:
    """Configuration commands to one 1.6 station."""

    def __init__(self, call: StationCall) -> None:
        self._call = call

    @property
    def ocpp_version(self) -> str:
        return "1.6"

    async def get_configuration(self, keys: Sequence[str] | None) -> KeyReport:
        payload = cast(dict[str, Any], get_configuration_request(keys))
        response = await self._call("GetConfiguration", payload)
        return key_report(cast(v16.GetConfigurationResponse, response))

    async def change_configuration(self, key: str, value: str) -> str:
        """Accepted, Rejected, RebootRequired or NotSupported (§7.8 ConfigurationStatus)."""
        payload = cast(dict[str, Any], change_configuration_request(key, value))
        response = cast(
            v16.ChangeConfigurationResponse, await self._call("ChangeConfiguration", payload)
        )
        return response["status"]

"""The security CALLs of a connected station, in its OCPP version.

The Basic-auth password (A01; the flow is :mod:`opencsms.domain.basic_auth`):

* 1.6: ``ChangeConfiguration`` of ``AuthorizationKey`` (security whitepaper A01.FR.02, §7.2);
* 2.0.1 and 2.1: ``SetVariables`` of ``SecurityCtrlr.BasicAuthPassword`` (part 2 appendix §3.1.15:
  the password as a UTF-8 string, not base64 or octets).

The security profile upgrade (A05; the flow is :mod:`opencsms.security.profile_upgrade`):

* 1.6: ``ChangeConfiguration`` of ``SecurityProfile`` (whitepaper §7.x, A05.FR.05);
* 2.0.1 and 2.1: ``SetNetworkProfile`` (B09), ``SetVariables`` of
  ``OCPPCommCtrlr.NetworkConfigurationPriority`` (B10) and ``Reset`` OnIdle.
"""

from __future__ import annotations

from typing import Any

from opencsms.domain.basic_auth import PasswordPort
from opencsms.domain.device_model import VariableRef
from opencsms.handlers.common import StationCall
from opencsms.handlers.v16.configuration import Configuration16
from opencsms.handlers.v201.device_model import DeviceModel201
from opencsms.ocpp.version import OcppVersion
from opencsms.security.profile_upgrade import NetworkProfile, UpgradePort

__all__ = ["BASIC_AUTH_PASSWORD", "NETWORK_PRIORITY", "password_port", "upgrade_port"]

BASIC_AUTH_PASSWORD = VariableRef("SecurityCtrlr", "BasicAuthPassword")
NETWORK_PRIORITY = VariableRef("OCPPCommCtrlr", "NetworkConfigurationPriority")


class _Password16:
    def __init__(self, call: StationCall) -> None:
        self._keys = Configuration16(call)

    @property
    def ocpp_version(self) -> str:
        return "1.6"

    async def send_password(self, password: str) -> str:
        # Accepted, Rejected, RebootRequired or NotSupported (1.6 §7.8).
        return await self._keys.change_configuration("AuthorizationKey", password)


class _Password201:
    def __init__(self, call: StationCall, version: str) -> None:
        self._model = DeviceModel201(call, version)

    @property
    def ocpp_version(self) -> str:
        return self._model.ocpp_version

    async def send_password(self, password: str) -> str:
        # Accepted, Rejected, UnknownComponent, UnknownVariable, NotSupportedAttributeType or
        # RebootRequired (2.0.1 SetVariableStatusEnumType).
        results = await self._model.set_variables([(BASIC_AUTH_PASSWORD, password)])
        return results[0].status if results else "Rejected"


def password_port(version: OcppVersion, call: StationCall) -> PasswordPort:
    """The port of a station speaking ``version``; ``call`` sends one CALL to it."""
    if version is OcppVersion.V16:
        return _Password16(call)
    return _Password201(call, version.value)


class _Upgrade16:
    def __init__(self, call: StationCall) -> None:
        self._keys = Configuration16(call)

    @property
    def ocpp_version(self) -> str:
        return "1.6"

    async def set_security_profile_key(self, profile: int) -> str:
        return await self._keys.change_configuration("SecurityProfile", str(profile))

    async def network_priority(self) -> list[int] | None:
        raise NotImplementedError("1.6 has no network profiles")

    async def set_network_profile(self, slot: int, profile: NetworkProfile) -> str:
        raise NotImplementedError("1.6 has no network profiles")

    async def set_network_priority(self, slots: list[int]) -> str:
        raise NotImplementedError("1.6 has no network profiles")

    async def reset(self) -> str:
        raise NotImplementedError("the 1.6 station reconnects by itself (A05.FR.06)")


class _Upgrade201:
    def __init__(self, call: StationCall, version: str) -> None:
        self._call = call
        self._version = version
        self._model = DeviceModel201(call, version)

    @property
    def ocpp_version(self) -> str:
        return self._version

    async def set_security_profile_key(self, profile: int) -> str:
        raise NotImplementedError("2.0.1 upgrades through SetNetworkProfile (A05)")

    async def network_priority(self) -> list[int] | None:
        results = await self._model.get_variables([NETWORK_PRIORITY])
        if not results or results[0].status != "Accepted" or results[0].value is None:
            return None
        try:
            return [int(part) for part in results[0].value.split(",") if part.strip()]
        except ValueError:
            return None

    async def set_network_profile(self, slot: int, profile: NetworkProfile) -> str:
        payload: dict[str, Any] = {
            "configurationSlot": slot,
            "connectionData": {
                "ocppVersion": "OCPP20",
                "ocppTransport": "JSON",
                "ocppCsmsUrl": profile.csms_url,
                "messageTimeout": profile.message_timeout,
                "securityProfile": profile.security_profile,
                "ocppInterface": profile.ocpp_interface,
            },
        }
        answer = await self._call("SetNetworkProfile", payload)
        return str(answer.get("status", "Rejected"))

    async def set_network_priority(self, slots: list[int]) -> str:
        value = ",".join(str(slot) for slot in slots)
        results = await self._model.set_variables([(NETWORK_PRIORITY, value)])
        return results[0].status if results else "Rejected"

    async def reset(self) -> str:
        answer = await self._call("Reset", {"type": "OnIdle"})
        return str(answer.get("status", "Rejected"))


def upgrade_port(version: OcppVersion, call: StationCall) -> UpgradePort:
    """The security profile upgrade CALLs of a station speaking ``version``."""
    if version is OcppVersion.V16:
        return _Upgrade16(call)
    return _Upgrade201(call, version.value)

"""The Basic-auth password of a connected station, set in its OCPP version (A01; the flow is
:mod:`opencsms.domain.basic_auth`):

* 1.6: ``ChangeConfiguration`` of ``AuthorizationKey`` (security whitepaper A01.FR.02, §7.2);
* 2.0.1 and 2.1: ``SetVariables`` of ``SecurityCtrlr.BasicAuthPassword`` (part 2 appendix §3.1.15:
  the password as a UTF-8 string, not base64 or octets).
"""

from __future__ import annotations

from opencsms.domain.basic_auth import PasswordPort
from opencsms.domain.device_model import VariableRef
from opencsms.handlers.common import StationCall
from opencsms.handlers.v16.configuration import Configuration16
from opencsms.handlers.v201.device_model import DeviceModel201
from opencsms.ocpp.version import OcppVersion

__all__ = ["BASIC_AUTH_PASSWORD", "password_port"]

BASIC_AUTH_PASSWORD = VariableRef("SecurityCtrlr", "BasicAuthPassword")


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

"""OCPP 1.6 Local Auth List Management profile and the authorization cache, CSMS → charge point:
GetLocalListVersion (§5.10), SendLocalList (§5.15), ClearCache (§5.4), and the
``SendLocalListMaxLength`` configuration key (§9.2.5) read through GetConfiguration (§5.8).

:class:`LocalAuth16` implements :class:`opencsms.domain.local_lists.LocalListPort` for a 1.6
station: it renders the domain's version-neutral updates as 1.6 payloads and reads the answers.
"""

from __future__ import annotations

from typing import Any, cast

from opencsms.clock import utc_iso
from opencsms.domain.local_list_model import (
    MAX_ID_TAG_LENGTH_16,
    ListChange,
    ListUpdate,
    UpdateStatus,
)
from opencsms.domain.tokens import TokenStatus
from opencsms.errors import CallErrorResponse
from opencsms.handlers.common import StationCall
from opencsms.ocpp.types import v16

__all__ = ["LocalAuth16"]

_STATUS_16: dict[TokenStatus, v16.AuthorizeResponseIdTagInfoStatus] = {
    TokenStatus.ACCEPTED: "Accepted",
    TokenStatus.BLOCKED: "Blocked",
    TokenStatus.EXPIRED: "Expired",
    TokenStatus.INVALID: "Invalid",
    TokenStatus.NO_CREDIT: "Blocked",  # 1.6 §7.2 has no NoCredit: the token is blocked
}


def authorization_data(change: ListChange) -> v16.SendLocalListRequestLocalAuthorizationList:
    """1.6 §7.1 AuthorizationData: with idTagInfo for an entry, without for a removal."""
    item: v16.SendLocalListRequestLocalAuthorizationList = {"idTag": change.id_token}
    entry = change.entry
    if entry is not None:
        info: v16.AuthorizeResponseIdTagInfo = {"status": _STATUS_16[entry.status]}
        if entry.expires_at is not None:
            info["expiryDate"] = utc_iso(entry.expires_at)
        # parentIdTag is a CiString20 too: a longer group cannot be sent to a 1.6 station.
        if entry.group_id is not None and len(entry.group_id) <= MAX_ID_TAG_LENGTH_16:
            info["parentIdTag"] = entry.group_id
        item["idTagInfo"] = info
    return item


def send_local_list_request(update: ListUpdate) -> v16.SendLocalListRequest:
    """SendLocalList.req of one update (an empty Full update clears the list: §6.41)."""
    request: v16.SendLocalListRequest = {
        "listVersion": update.version,
        "updateType": "Full" if update.full else "Differential",
    }
    if update.changes:
        request["localAuthorizationList"] = [authorization_data(c) for c in update.changes]
    return request


class LocalAuth16:
    """Local list and cache commands to one 1.6 charge point."""

    def __init__(self, call: StationCall) -> None:
        self._call = call

    @property
    def ocpp_version(self) -> str:
        return "1.6"

    async def get_list_version(self) -> int:
        """§5.10: 0 = empty list, -1 = local lists not supported."""
        result = cast(v16.GetLocalListVersionResponse, await self._call("GetLocalListVersion", {}))
        return result["listVersion"]

    async def max_list_items(self) -> int | None:
        """§9.2.5 SendLocalListMaxLength, or None when the charge point does not report it."""
        request: v16.GetConfigurationRequest = {"key": ["SendLocalListMaxLength"]}
        try:
            result = cast(
                v16.GetConfigurationResponse,
                await self._call("GetConfiguration", cast(dict[str, Any], request)),
            )
        except CallErrorResponse:  # a charge point without GetConfiguration: use the default
            return None
        for key in result.get("configurationKey", []):
            value = key.get("value", "")
            if key["key"] == "SendLocalListMaxLength" and value.strip().isdigit():
                return int(value) or None
        return None

    async def send_list(self, update: ListUpdate) -> UpdateStatus:
        payload = cast(dict[str, Any], send_local_list_request(update))
        result = cast(v16.SendLocalListResponse, await self._call("SendLocalList", payload))
        return UpdateStatus(result["status"])

    async def clear_cache(self) -> str:
        """§5.4 ClearCache: Accepted or Rejected."""
        result = cast(v16.ClearCacheResponse, await self._call("ClearCache", {}))
        return result["status"]

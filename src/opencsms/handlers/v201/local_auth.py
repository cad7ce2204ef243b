"""OCPP 2.0.1 block D (Local Authorization List Management) and the authorization cache, CSMS →
station: D01 Send Local List, D02 Get Local List Version, C11 Clear Authorization Data in
Authorization Cache, and ``LocalAuthListCtrlr.ItemsPerMessage`` read through GetVariables (B06).

:class:`LocalAuth201` implements :class:`opencsms.domain.local_lists.LocalListPort` for 2.0.1
(and 2.1, whose messages keep these shapes).
"""

from __future__ import annotations

from typing import Any, cast

from opencsms.clock import utc_iso
from opencsms.domain.local_list_model import ListChange, ListUpdate, UpdateStatus
from opencsms.domain.tokens import DEFAULT_TOKEN_TYPE
from opencsms.errors import CallErrorResponse
from opencsms.handlers.common import StationCall
from opencsms.ocpp.types import v201

__all__ = ["LocalAuth201"]


def authorization_data(change: ListChange) -> v201.AuthorizationData:
    """AuthorizationData: the idToken (its stored type, or ISO14443 for a token stored without
    one), and idTokenInfo unless the entry is removed (D01: "If no idTokenInfo is given, the
    entry SHALL be removed")."""
    entry = change.entry
    token_type = entry.type if entry is not None and entry.type else DEFAULT_TOKEN_TYPE
    item: v201.AuthorizationData = {
        "idToken": {"idToken": change.id_token, "type": cast(v201.IdTokenEnumType, token_type)}
    }
    if entry is not None:
        info: v201.IdTokenInfoType = {"status": entry.status.value}
        if entry.expires_at is not None:
            info["cacheExpiryDateTime"] = utc_iso(entry.expires_at)
        if entry.group_id is not None:
            # The group is a CSMS-side identifier, not a card (as in Authorize answers).
            info["groupIdToken"] = {"idToken": entry.group_id, "type": "Central"}
        item["idTokenInfo"] = info
    return item


def send_local_list_request(update: ListUpdate) -> v201.SendLocalListRequest:
    """SendLocalListRequest of one update. The schema wants at least one entry when the list is
    present, so an empty Full update (clear the list) leaves it out."""
    request: v201.SendLocalListRequest = {
        "versionNumber": update.version,
        "updateType": "Full" if update.full else "Differential",
    }
    if update.changes:
        request["localAuthorizationList"] = [authorization_data(c) for c in update.changes]
    return request


class LocalAuth201:
    """Local list and cache commands to one 2.0.1 (or 2.1) station."""

    def __init__(self, call: StationCall, ocpp_version: str = "2.0.1") -> None:
        self._call = call
        self._version = ocpp_version

    @property
    def ocpp_version(self) -> str:
        return self._version

    async def get_list_version(self) -> int:
        """D02: the version of the station's list (0: none / empty)."""
        result = cast(v201.GetLocalListVersionResponse, await self._call("GetLocalListVersion", {}))
        return result["versionNumber"]

    async def max_list_items(self) -> int | None:
        """LocalAuthListCtrlr.ItemsPerMessage, or None when the station does not report it."""
        request: v201.GetVariablesRequest = {
            "getVariableData": [
                {
                    "component": {"name": "LocalAuthListCtrlr"},
                    "variable": {"name": "ItemsPerMessage"},
                }
            ]
        }
        try:
            result = cast(
                v201.GetVariablesResponse,
                await self._call("GetVariables", cast(dict[str, Any], request)),
            )
        except CallErrorResponse:
            return None
        for item in result["getVariableResult"]:
            value = item.get("attributeValue", "")
            if item["attributeStatus"] == "Accepted" and value.strip().isdigit():
                return int(value) or None
        return None

    async def send_list(self, update: ListUpdate) -> UpdateStatus:
        payload = cast(dict[str, Any], send_local_list_request(update))
        result = cast(v201.SendLocalListResponse, await self._call("SendLocalList", payload))
        return UpdateStatus(result["status"])

    async def clear_cache(self) -> str:
        """C11: Accepted or Rejected."""
        result = cast(v201.ClearCacheResponse, await self._call("ClearCache", {}))
        return result["status"]

"""OCPP 2.0.1 display messages (functional block O) in domain terms: SetDisplayMessage (O01,
O02, O06), GetDisplayMessages (O03, O04) and ClearDisplayMessage (O05) built from domain
values, and the NotifyDisplayMessages handler (O03/O04). 2.1 keeps these shapes and adds
``messageExtra`` (more contents of one message), sent and read here for 2.1 stations only.
"""

from __future__ import annotations

from typing import Any, cast

from opencsms.clock import utc_iso
from opencsms.domain.display_messages import DisplayMessage, DisplayQuery, MessageContent
from opencsms.handlers.common import parse_timestamp
from opencsms.handlers.operator_commands import UnsupportedCommand
from opencsms.handlers.router import CallContext, Payload, reply
from opencsms.handlers.v201.monitoring import component_of, component_payload
from opencsms.ocpp.types import v201
from opencsms.ocpp.version import OcppVersion

__all__ = [
    "clear_display_message_request",
    "get_display_messages_request",
    "message_of",
    "notify_display_messages",
    "set_display_message_request",
]


def _content_payload(content: MessageContent) -> v201.MessageContentType:
    out: v201.MessageContentType = {
        "format": cast(v201.MessageFormatEnumType, content.format),
        "content": content.content,
    }
    if content.language is not None:
        out["language"] = content.language
    return out


def _content_of(content: v201.MessageContentType) -> MessageContent:
    return MessageContent(content["format"], content["content"], content.get("language"))


def set_display_message_request(version: OcppVersion, message: DisplayMessage) -> Payload:
    """SetDisplayMessageRequest (O01; with ``transactionId`` O02; an id the station holds
    replaces its message, O06). ``extra`` contents need 2.1 (``messageExtra``)."""
    info: v201.MessageInfoType = {
        "id": message.id,
        "priority": cast(v201.MessagePriorityEnumType, message.priority),
        "message": _content_payload(message.message),
    }
    if message.state is not None:
        info["state"] = cast(v201.MessageStateEnumType, message.state)
    if message.start_at is not None:
        info["startDateTime"] = utc_iso(message.start_at)
    if message.end_at is not None:
        info["endDateTime"] = utc_iso(message.end_at)
    if message.transaction_id is not None:
        info["transactionId"] = message.transaction_id
    if message.display is not None:
        info["display"] = component_payload(message.display)
    if message.extra:
        if version is not OcppVersion.V21:
            raise UnsupportedCommand(
                f"extra message contents (messageExtra) need OCPP 2.1; the station speaks "
                f"{version.value}"
            )
        cast(dict[str, Any], info)["messageExtra"] = [_content_payload(e) for e in message.extra]
    request: v201.SetDisplayMessageRequest = {"message": info}
    return reply(request)


def get_display_messages_request(request_id: int, query: DisplayQuery) -> Payload:
    """GetDisplayMessagesRequest: all messages (O03) or those matching the filters (O04)."""
    request: v201.GetDisplayMessagesRequest = {"requestId": request_id}
    if query.ids:
        request["id"] = list(query.ids)
    if query.priority is not None:
        request["priority"] = cast(v201.MessagePriorityEnumType, query.priority)
    if query.state is not None:
        request["state"] = cast(v201.MessageStateEnumType, query.state)
    return reply(request)


def clear_display_message_request(message_id: int) -> Payload:
    request: v201.ClearDisplayMessageRequest = {"id": message_id}
    return reply(request)


def message_of(info: v201.MessageInfoType) -> DisplayMessage:
    """A MessageInfoType (2.0.1, or 2.1 with messageExtra) as a domain message."""
    start, end = info.get("startDateTime"), info.get("endDateTime")
    display = info.get("display")
    extra = cast(dict[str, Any], info).get("messageExtra") or []
    return DisplayMessage(
        id=info["id"],
        priority=info["priority"],
        message=_content_of(info["message"]),
        state=info.get("state"),
        start_at=parse_timestamp(start) if start else None,
        end_at=parse_timestamp(end) if end else None,
        transaction_id=info.get("transactionId"),
        display=component_of(display) if display is not None else None,
        extra=tuple(_content_of(e) for e in extra),
    )


async def notify_display_messages(ctx: CallContext, payload: Payload) -> Payload:
    """O03/O04 NotifyDisplayMessages: store the messages listed before answering; the part
    without ``tbc`` ends the report (this message has no seqNo: parts arrive in order, one
    CALL at a time)."""
    request = cast(v201.NotifyDisplayMessagesRequest, payload)
    messages = [message_of(info) for info in request.get("messageInfo", [])]
    await ctx.services.display_messages.report_part(
        ctx.station_id,
        request["requestId"],
        request.get("tbc", False),
        messages,
        ctx.received_at,
    )
    response: v201.NotifyDisplayMessagesResponse = {}
    return reply(response)

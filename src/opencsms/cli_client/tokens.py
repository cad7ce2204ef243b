"""``opencsms tokens``: the id tokens stations authorize against (``/api/v1/id-tokens``,
docs/id-tokens.md): list, show, add, set, block, unblock, remove, import and export CSV."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer

from opencsms.cli_client.session import (
    DEFAULT_TIMEOUT,
    DEFAULT_URL,
    JsonOption,
    TimeoutOption,
    TokenOption,
    UrlOption,
    changes,
    confirm_or_abort,
    session,
)
from opencsms.cli_client.tables import Column, fields, page_footer, table, when, with_footer

tokens_app = typer.Typer(help="Id tokens (RFID cards, app tokens): list, add, block, import ...")


class TokenStatus(StrEnum):
    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    NO_CREDIT = "NoCredit"


class TokenType(StrEnum):
    CENTRAL = "Central"
    EMAID = "eMAID"
    ISO14443 = "ISO14443"
    ISO15693 = "ISO15693"
    KEY_CODE = "KeyCode"
    LOCAL = "Local"
    MAC_ADDRESS = "MacAddress"
    NO_AUTHORIZATION = "NoAuthorization"


class Clearable(StrEnum):
    """Optional fields ``tokens set --clear`` may empty (the API's ``null``)."""

    TYPE = "type"
    EXPIRES_AT = "expires_at"
    GROUP_ID = "group_id"
    ALLOWED_LOCATIONS = "allowed_locations"
    MAX_CONCURRENT = "max_concurrent"


IdTokenArg = Annotated[str, typer.Argument(help="The id token (case-insensitive)")]
TypeOption = Annotated[
    TokenType | None,
    typer.Option("--type", help="2.0.1 idToken type; none: any type", show_default=False),
]
ExpiresOption = Annotated[
    str | None,
    typer.Option(
        "--expires-at", help="Date-time with a zone, e.g. 2029-12-31T23:00:00Z", show_default=False
    ),
]
GroupOption = Annotated[
    str | None,
    typer.Option("--group", help="Group id (the 1.6 parentIdTag)", show_default=False),
]
LocationOption = Annotated[
    list[str] | None,
    typer.Option(
        "--location",
        help="Where it may charge: STATION or STATION/EVSE (repeat); none: everywhere",
        show_default=False,
    ),
]
MaxConcurrentOption = Annotated[
    int | None,
    typer.Option(min=1, help="Open sessions at once; none: no limit", show_default=False),
]

LIST_COLUMNS: list[Column] = [
    ("token", lambda t: t["id_token"]),
    ("type", lambda t: t["type"]),
    ("status", lambda t: t["status"]),
    ("group", lambda t: t["group_id"]),
    ("expires", lambda t: when(t["expires_at"])),
    ("max sessions", lambda t: t["max_concurrent"]),
    ("locations", lambda t: t["allowed_locations"]),
]


def token_path(id_token: str) -> str:
    return f"/id-tokens/{quote(id_token, safe='')}"


def render_token(token: dict[str, Any]) -> str:
    locations = token["allowed_locations"]
    return fields(
        [
            ("token", token["id_token"]),
            ("type", token["type"] or "any"),
            ("status", token["status"]),
            ("group", token["group_id"]),
            ("expires", when(token["expires_at"]) or "never"),
            ("locations", "everywhere" if locations is None else locations),
            ("max sessions", token["max_concurrent"] or "no limit"),
            ("created", when(token["created_at"])),
            ("updated", when(token["updated_at"])),
        ]
    )


def _render_page(page: dict[str, Any]) -> str:
    if not page["items"]:
        return "no id tokens"
    footer = page_footer(
        len(page["items"]), page["total"], "tokens", "--all for every one, --offset to page"
    )
    return with_footer(table(page["items"], LIST_COLUMNS), footer)


@tokens_app.command("list")
def list_tokens(
    group: Annotated[str | None, typer.Option(help="Only this group's tokens")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Tokens per page")] = 100,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many tokens")] = 0,
    everything: Annotated[bool, typer.Option("--all", help="Every token (all pages)")] = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    json_output: JsonOption = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
) -> None:
    """Id tokens in token order."""
    with session(url, token, json_output, timeout) as s:
        page = s.api.offset_pages(
            "/id-tokens", {"group_id": group}, limit=limit, everything=everything, offset=offset
        )
        s.show(page, _render_page)


@tokens_app.command("show")
def show_token(
    id_token: IdTokenArg,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    json_output: JsonOption = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
) -> None:
    """One id token."""
    with session(url, token, json_output, timeout) as s:
        s.show(s.api.get(token_path(id_token)), render_token)


@tokens_app.command("add")
def add_token(
    id_token: IdTokenArg,
    token_type: TypeOption = None,
    status: Annotated[TokenStatus, typer.Option(help="What stations are answered")] = (
        TokenStatus.ACCEPTED
    ),
    expires_at: ExpiresOption = None,
    group: GroupOption = None,
    location: LocationOption = None,
    max_concurrent: MaxConcurrentOption = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    json_output: JsonOption = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
) -> None:
    """Create an id token."""
    body = {
        "id_token": id_token,
        "status": status.value,
        **changes(
            type=token_type.value if token_type else None,
            expires_at=expires_at,
            group_id=group,
            allowed_locations=location or None,
            max_concurrent=max_concurrent,
        ),
    }
    with session(url, token, json_output, timeout) as s:
        created = s.api.post("/id-tokens", body)
        s.done(created, f"id token {id_token} added ({status.value})")


@tokens_app.command("set")
def set_token(
    id_token: IdTokenArg,
    token_type: TypeOption = None,
    status: Annotated[TokenStatus | None, typer.Option(show_default=False)] = None,
    expires_at: ExpiresOption = None,
    group: GroupOption = None,
    location: LocationOption = None,
    max_concurrent: MaxConcurrentOption = None,
    clear: Annotated[
        list[Clearable] | None,
        typer.Option(help="Empty this optional field (repeat)", show_default=False),
    ] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    json_output: JsonOption = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
) -> None:
    """Change an id token's status, type, expiry, group, locations or session limit."""
    body = changes(
        type=token_type.value if token_type else None,
        status=status.value if status else None,
        expires_at=expires_at,
        group_id=group,
        allowed_locations=location or None,
        max_concurrent=max_concurrent,
    )
    for name in clear or ():
        if name.value in body:
            raise typer.BadParameter(f"{name.value} is both set and cleared", param_hint="--clear")
        body[name.value] = None
    if not body:
        raise typer.BadParameter("nothing to change: give a field to set or --clear")
    _patch(id_token, body, url, token, json_output, timeout)


@tokens_app.command("block")
def block_token(
    id_token: IdTokenArg,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    json_output: JsonOption = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
) -> None:
    """Block a token: stations asking about it are answered Blocked from now on."""
    _patch(id_token, {"status": "Blocked"}, url, token, json_output, timeout)


@tokens_app.command("unblock")
def unblock_token(
    id_token: IdTokenArg,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    json_output: JsonOption = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
) -> None:
    """Accept a token again (status Accepted)."""
    _patch(id_token, {"status": "Accepted"}, url, token, json_output, timeout)


def _patch(
    id_token: str,
    body: dict[str, Any],
    url: str,
    token: str | None,
    json_output: bool,
    timeout: float,
) -> None:
    with session(url, token, json_output, timeout) as s:
        s.show(s.api.patch(token_path(id_token), body), render_token)


@tokens_app.command("remove")
def remove_token(
    id_token: IdTokenArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask")] = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    json_output: JsonOption = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
) -> None:
    """Remove a token: stations asking about it get Invalid from now on."""
    confirm_or_abort(f"Remove id token {id_token}?", yes)
    with session(url, token, json_output, timeout) as s:
        s.api.delete(token_path(id_token))
        s.done(None, f"id token {id_token} removed")


@tokens_app.command("import")
def import_tokens(
    csv_file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, help="CSV in the export format (docs/id-tokens.md)"
        ),
    ],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    json_output: JsonOption = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
) -> None:
    """Create or replace tokens from a CSV file; all or nothing (wrong lines are listed)."""
    text = csv_file.read_text(encoding="utf-8-sig")
    with session(url, token, json_output, timeout) as s:
        report = s.api.post("/id-tokens/import", csv=text)
        s.done(report, f"{report['created']} created, {report['updated']} updated")


@tokens_app.command("export")
def export_tokens(
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
) -> None:
    """Print every token as CSV (the import format)."""
    with session(url, token, False, timeout) as s:
        s.api.download("/id-tokens/export", {}, lambda text: typer.echo(text, nl=False))

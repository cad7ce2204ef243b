"""``opencsms stations``: list, show, add, set, remove, and read the audit log of stations
(``/api/v1/stations``, docs/api.md)."""

from __future__ import annotations

from enum import StrEnum
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
from opencsms.cli_client.tables import (
    Column,
    fields,
    page_footer,
    shorten,
    table,
    when,
    with_footer,
)

stations_app = typer.Typer(help="Provisioned charging stations: list, show, add, set, remove.")


class Registration(StrEnum):
    ACCEPTED = "Accepted"
    PENDING = "Pending"
    REJECTED = "Rejected"


class Strictness(StrEnum):
    STRICT = "strict"
    TOLERANT = "tolerant"


StationId = Annotated[str, typer.Argument(help="The charging station identity", show_default=False)]


def station_path(station_id: str) -> str:
    """``/stations/{id}`` with the id escaped: station ids may hold characters URLs reserve."""
    return f"/stations/{quote(station_id, safe='')}"


def _model(station: dict[str, Any]) -> str | None:
    boot = station.get("boot")
    return f"{boot['vendor']} {boot['model']}" if boot else None


LIST_COLUMNS: list[Column] = [
    ("id", lambda s: s["id"]),
    ("registration", lambda s: s["registration"]),
    ("connected", lambda s: s["connected"]),
    ("version", lambda s: s["ocpp_version"]),
    ("vendor/model", _model),
    ("last seen", lambda s: when(s["last_seen"])),
]


def _render_page(page: dict[str, Any]) -> str:
    if not page["items"]:
        return "no stations"
    footer = page_footer(
        len(page["items"]), page["total"], "stations", "--all for every one, --offset to page"
    )
    return with_footer(table(page["items"], LIST_COLUMNS), footer)


def render_station(station: dict[str, Any]) -> str:
    """A station's details and a table of its connectors."""
    boot = station.get("boot") or {}
    connected = station["connected"]
    if connected:
        since = when(station.get("connected_since"))
        link = f"yes, since {since} from {station.get('remote_address') or '?'}"
    else:
        link = f"no (last disconnected {when(station.get('last_disconnected_at')) or 'never'})"
    described = fields(
        [
            ("id", station["id"]),
            ("connected", link),
            ("ocpp version", station["ocpp_version"]),
            ("registration", station["registration"]),
            ("strictness", station["strictness"]),
            ("heartbeat", f"{station['heartbeat_interval']} s"),
            ("password", "set" if station["has_password"] else "none"),
            ("vendor", boot.get("vendor")),
            ("model", boot.get("model")),
            ("serial", boot.get("serial_number") or boot.get("charge_box_serial_number")),
            ("firmware", boot.get("firmware_version")),
            ("booted", when(station.get("booted_at"))),
            ("boot reason", boot.get("reason")),
            ("last seen", when(station.get("last_seen"))),
            ("created", when(station.get("created_at"))),
        ]
    )
    connectors = [
        {"evse_id": evse["evse_id"], **connector}
        for evse in station.get("evses", [])
        for connector in evse["connectors"]
    ]
    if not connectors:
        return f"{described}\n\nno connector status reported yet"
    columns: list[Column] = [
        ("evse", lambda c: c["evse_id"]),
        ("connector", lambda c: c["connector_id"]),
        ("status", lambda c: c["status"]),
        ("error", lambda c: c["error_code"] if c["error_code"] != "NoError" else None),
        ("info", lambda c: c["info"]),
        ("reported", lambda c: when(c["reported_at"] or c["received_at"])),
    ]
    return f"{described}\n\n{table(connectors, columns)}"


@stations_app.command("list")
def list_stations(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Stations per page")] = 100,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many stations")] = 0,
    everything: Annotated[bool, typer.Option("--all", help="Every station (all pages)")] = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    json_output: JsonOption = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
) -> None:
    """Stations with registration, connection, OCPP version, vendor/model and last message."""
    with session(url, token, json_output, timeout) as s:
        page = s.api.offset_pages(
            "/stations", {}, limit=limit, everything=everything, offset=offset
        )
        s.show(page, _render_page)


@stations_app.command("show")
def show_station(
    station_id: StationId,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    json_output: JsonOption = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
) -> None:
    """One station: registration, boot data, connection and the status of every connector."""
    with session(url, token, json_output, timeout) as s:
        s.show(s.api.get(station_path(station_id)), render_station)


@stations_app.command("add")
def add_station(
    station_id: StationId,
    password: Annotated[
        str | None,
        typer.Option(help="Security profile 1 (HTTP Basic) password, 16-40 characters"),
    ] = None,
    registration: Annotated[
        Registration, typer.Option(help="What the station's BootNotification is answered")
    ] = Registration.ACCEPTED,
    strictness: Annotated[
        Strictness, typer.Option(help="tolerant: accept and log what breaks the schema")
    ] = Strictness.STRICT,
    heartbeat_interval: Annotated[
        int | None, typer.Option(min=1, max=86_400, help="Seconds; default: the server's")
    ] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    json_output: JsonOption = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
) -> None:
    """Provision a station so it may connect."""
    body = {
        "id": station_id,
        "registration": registration.value,
        "strictness": strictness.value,
        **changes(password=password, heartbeat_interval=heartbeat_interval),
    }
    with session(url, token, json_output, timeout) as s:
        created = s.api.post("/stations", body)
        s.done(created, f"station {station_id} added ({registration.value})")


@stations_app.command("set")
def set_station(
    station_id: StationId,
    registration: Annotated[Registration | None, typer.Option(show_default=False)] = None,
    strictness: Annotated[Strictness | None, typer.Option(show_default=False)] = None,
    heartbeat_interval: Annotated[
        int | None, typer.Option(min=1, max=86_400, show_default=False)
    ] = None,
    password: Annotated[
        str | None, typer.Option(help="A new password (16-40 characters)", show_default=False)
    ] = None,
    remove_password: Annotated[
        bool, typer.Option("--remove-password", help="Let it connect without a password")
    ] = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    json_output: JsonOption = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
) -> None:
    """Change a station's registration, strictness, heartbeat interval or password."""
    if password is not None and remove_password:
        raise typer.BadParameter("give --password or --remove-password, not both")
    body: dict[str, Any] = changes(
        registration=registration.value if registration else None,
        strictness=strictness.value if strictness else None,
        heartbeat_interval=heartbeat_interval,
        password=password,
    )
    if remove_password:
        body["password"] = None
    if not body:
        raise typer.BadParameter(
            "nothing to change: give --registration, --strictness, --heartbeat-interval, "
            "--password or --remove-password"
        )
    with session(url, token, json_output, timeout) as s:
        s.show(s.api.patch(station_path(station_id), body), render_station)


@stations_app.command("remove")
def remove_station(
    station_id: StationId,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask")] = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    json_output: JsonOption = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
) -> None:
    """Remove a station; if it is connected, its connection is closed."""
    confirm_or_abort(f"Remove station {station_id}?", yes)
    with session(url, token, json_output, timeout) as s:
        s.api.delete(station_path(station_id))
        s.done(None, f"station {station_id} removed")


@stations_app.command("messages")
def station_messages(
    station_id: StationId,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Frames to show")] = 50,
    before: Annotated[
        int | None, typer.Option(help="Only frames older than this id", show_default=False)
    ] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    json_output: JsonOption = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
) -> None:
    """The audit log: the station's frames in and out, newest first."""
    with session(url, token, json_output, timeout) as s:
        page = s.api.keyset_pages(
            f"{station_path(station_id)}/messages", {}, limit=limit, everything=False, before=before
        )
        s.show(page, _render_messages)


_KINDS = {2: "CALL", 3: "RESULT", 4: "ERROR", 5: "RESULTERROR", 6: "SEND", 0: "INVALID"}


def _render_messages(page: dict[str, Any]) -> str:
    if not page["items"]:
        return "no messages"
    columns: list[Column] = [
        ("id", lambda m: m["id"]),
        ("at", lambda m: when(m["at"])),
        ("dir", lambda m: m["direction"]),
        ("type", lambda m: _KINDS.get(m["message_type"], m["message_type"])),
        ("action", lambda m: m["action"]),
        ("frame", lambda m: shorten(m["frame"], 80)),
    ]
    body = table(page["items"], columns)
    if page["next_before"] is None:
        return body
    return with_footer(body, f"older frames: --before {page['next_before']}")

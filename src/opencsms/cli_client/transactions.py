"""``opencsms transactions``: charging sessions (``/api/v1/transactions``, docs/transactions.md):
list, show one with its meter series and events, export CSV/JSON."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from opencsms.cli_client.session import (
    DEFAULT_TIMEOUT,
    DEFAULT_URL,
    JsonOption,
    TimeoutOption,
    TokenOption,
    UrlOption,
    session,
)
from opencsms.cli_client.tables import (
    Column,
    fields,
    kwh,
    page_footer,
    table,
    when,
    with_footer,
)

transactions_app = typer.Typer(help="Charging sessions: list, show, export.")


class Status(StrEnum):
    ACTIVE = "Active"
    COMPLETED = "Completed"
    ORPHANED = "Orphaned"


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


StationFilter = Annotated[
    str | None, typer.Option("--station", help="Only this station's sessions", show_default=False)
]
StatusFilter = Annotated[
    Status | None, typer.Option("--status", help="Only sessions in this status", show_default=False)
]
ActiveFilter = Annotated[
    bool, typer.Option("--active", help="Only open sessions (--status Active)")
]


def _where(evse_id: Any, connector_id: Any) -> str | None:
    if evse_id is None:
        return None
    return f"{evse_id}/{connector_id}" if connector_id is not None else str(evse_id)


LIST_COLUMNS: list[Column] = [
    ("id", lambda t: t["id"]),
    ("station", lambda t: t["station_id"]),
    ("evse/conn", lambda t: _where(t["evse_id"], t["connector_id"])),
    ("token", lambda t: t["id_token"]),
    ("status", lambda t: t["status"]),
    ("started", lambda t: when(t["started_at"])),
    ("stopped", lambda t: when(t["stopped_at"])),
    ("kwh", lambda t: kwh(t["energy_wh"])),
    ("stop reason", lambda t: t["stop_reason"]),
]


def _status_filter(status: Status | None, active: bool) -> str | None:
    if active and status not in (None, Status.ACTIVE):
        raise typer.BadParameter("--active means --status Active", param_hint="--status")
    return Status.ACTIVE.value if active else (status.value if status else None)


def _render_page(page: dict[str, Any]) -> str:
    if not page["items"]:
        return "no transactions"
    footer = page_footer(
        len(page["items"]), page["total"], "transactions", "--all for every one, --offset to page"
    )
    return with_footer(table(page["items"], LIST_COLUMNS), footer)


def render_transaction(tx: dict[str, Any]) -> str:
    """A session's record, the last value of each meter series, and its 2.0.1 events."""
    described = fields(
        [
            ("id", tx["id"]),
            ("station", tx["station_id"]),
            ("ocpp version", tx["ocpp_version"]),
            ("transaction id", tx["transaction_id"]),
            ("evse/connector", _where(tx["evse_id"], tx["connector_id"])),
            ("status", tx["status"]),
            ("id token", tx["id_token"]),
            ("authorization", tx["auth_status"]),
            ("group", tx["group_id"]),
            ("started", when(tx["started_at"])),
            ("stopped", when(tx["stopped_at"])),
            ("stop reason", tx["stop_reason"]),
            ("stopped by", tx["stop_id_token"]),
            ("meter start kWh", kwh(tx["meter_start_wh"])),
            ("meter stop kWh", kwh(tx["meter_stop_wh"])),
            ("energy kWh", kwh(tx["energy_wh"])),
            ("charging state", tx["charging_state"]),
            ("remote start id", tx["remote_start_id"]),
            ("reservation id", tx["reservation_id"]),
            ("offline", tx["offline"]),
        ]
    )
    parts = [described]
    series = tx.get("series") or {}
    if series:
        rows = [
            {"measurand": name, "samples": len(points), **points[-1]}
            for name, points in sorted(series.items())
            if points
        ]
        columns: list[Column] = [
            ("measurand", lambda r: r["measurand"]),
            ("samples", lambda r: r["samples"]),
            ("last value", lambda r: f"{r['value']:g} {r['unit']}"),
            ("phase", lambda r: r["phase"]),
            ("at", lambda r: when(r["timestamp"])),
        ]
        parts.append(table(rows, columns))
    events = tx.get("events") or []
    if events:
        event_columns: list[Column] = [
            ("seq", lambda e: e["seq_no"]),
            ("event", lambda e: e["event_type"]),
            ("trigger", lambda e: e["trigger_reason"]),
            ("at", lambda e: when(e["timestamp"])),
            ("offline", lambda e: e["offline"]),
        ]
        parts.append(table(events, event_columns))
    return "\n\n".join(parts)


@transactions_app.command("list")
def list_transactions(
    station: StationFilter = None,
    status: StatusFilter = None,
    active: ActiveFilter = False,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Sessions per page")] = 100,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many sessions")] = 0,
    everything: Annotated[bool, typer.Option("--all", help="Every session (all pages)")] = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    json_output: JsonOption = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
) -> None:
    """Sessions, newest first, with energy in kWh."""
    params = {"station_id": station, "status": _status_filter(status, active)}
    with session(url, token, json_output, timeout) as s:
        page = s.api.offset_pages(
            "/transactions", params, limit=limit, everything=everything, offset=offset
        )
        s.show(page, _render_page)


@transactions_app.command("show")
def show_transaction(
    transaction: Annotated[int, typer.Argument(help="The CSMS's number of the session (its id)")],
    measurand: Annotated[
        str | None, typer.Option(help="Only this measurand's series", show_default=False)
    ] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    json_output: JsonOption = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
) -> None:
    """One session: its record, meter series and (2.0.1) events."""
    with session(url, token, json_output, timeout) as s:
        detail = s.api.get(f"/transactions/{transaction}", {"measurand": measurand})
        s.show(detail, render_transaction)


@transactions_app.command("export")
def export_transactions(
    export_format: Annotated[ExportFormat, typer.Option("--format")] = ExportFormat.CSV,
    station: StationFilter = None,
    status: StatusFilter = None,
    active: ActiveFilter = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
) -> None:
    """Print every matching session, oldest first, as CSV or a JSON array."""
    params = {
        "format": export_format.value,
        "station_id": station,
        "status": _status_filter(status, active),
    }
    with session(url, token, False, timeout) as s:
        s.api.download("/transactions/export", params, lambda text: typer.echo(text, nl=False))
        if export_format is ExportFormat.JSON:
            typer.echo()  # the JSON array ends without a newline

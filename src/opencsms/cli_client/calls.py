"""``opencsms call STATION ACTION [JSON]`` sends any CSMS → station action through the API's
generic endpoint; ``opencsms commands STATION`` reads the station's command log (docs/commands.md).

The API validates the payload against the action's schema, refuses a station that is not connected
or whose registration forbids the action, records the command and maps the outcome; this module
only carries the payload there and the outcome back (exit codes: :mod:`.session`).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import orjson
import typer

from opencsms.cli_client.session import (
    DEFAULT_TIMEOUT,
    DEFAULT_URL,
    JsonOption,
    TimeoutOption,
    TokenOption,
    UrlOption,
    print_json,
    read_json_object,
    session,
)
from opencsms.cli_client.stations import StationId, station_path
from opencsms.cli_client.tables import Column, shorten, table, when, with_footer


def call(
    station_id: StationId,
    action: Annotated[
        str, typer.Argument(help="The OCPP action, e.g. Reset, TriggerMessage, GetVariables")
    ],
    payload: Annotated[
        str,
        typer.Argument(help="The request payload: JSON text, - for stdin, or @FILE"),
    ] = "{}",
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    json_output: JsonOption = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
) -> None:
    """Send ACTION to a connected station and print its answer.

    Prints the station's response payload; --json prints the whole recorded command.

    Exit code 2: refused by the API (invalid payload, unknown action, station not connected).
    Exit code 3: the station answered a CALLERROR or an invalid answer, or nothing in time.
    """
    body = read_json_object(payload, "PAYLOAD")
    path = f"{station_path(station_id)}/calls/{quote(action, safe='')}"
    with session(url, token, json_output, timeout) as s:
        command = s.api.post(path, body)
        if json_output:
            print_json(command)
        else:
            print_json(command["response"])


def _outcome(command: dict[str, Any]) -> str | None:
    """What came of a command in a few words: the answer's status, or the error."""
    if command["error_code"]:
        return f"{command['error_code']}: {command['error_description'] or ''}".rstrip(": ")
    response = command["response"]
    if isinstance(response, dict):
        status = response.get("status")
        return str(status) if status is not None else shorten(_compact(response), 40)
    description: str | None = command["error_description"]
    return description


def _compact(value: Any) -> str:
    return orjson.dumps(value).decode()


LOG_COLUMNS: list[Column] = [
    ("id", lambda c: c["id"]),
    ("requested", lambda c: when(c["requested_at"])),
    ("action", lambda c: c["action"]),
    ("status", lambda c: c["status"]),
    ("ms", lambda c: round(c["duration_ms"]) if c["duration_ms"] is not None else None),
    ("by", lambda c: c["requested_by"]),
    ("outcome", _outcome),
]


def _render_log(page: dict[str, Any]) -> str:
    if not page["items"]:
        return "no commands"
    body = table(page["items"], LOG_COLUMNS)
    if page["next_before"] is None:
        return body
    return with_footer(body, f"older commands: --before {page['next_before']} (or --all)")


def commands(
    station_id: StationId,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Commands to show")] = 50,
    before: Annotated[
        int | None, typer.Option(help="Only commands older than this id", show_default=False)
    ] = None,
    everything: Annotated[bool, typer.Option("--all", help="Every older command")] = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    json_output: JsonOption = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
) -> None:
    """The commands sent to a station, newest first: action, outcome and how long it took."""
    with session(url, token, json_output, timeout) as s:
        page = s.api.keyset_pages(
            f"{station_path(station_id)}/commands",
            {},
            limit=limit,
            everything=everything,
            before=before,
        )
        s.show(page, _render_log)

"""What every client command shares: the connection options, the one place where API failures
become a message on stderr and an exit code, and the choice between a table and ``--json``.

Exit codes (docs/cli.md):

* ``0`` — done;
* ``1`` — no answer from the API (connection refused, unknown host, ``--timeout``), or the API
  itself failed (a 5xx other than 502/504);
* ``2`` — the request was refused (any 4xx: bad token, unknown station, invalid payload, station
  not connected, ...) or the command line was wrong;
* ``3`` — the station failed: it answered a CALLERROR or an invalid CALLRESULT (502) or did not
  answer in time (504).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from opencsms.cli_client.client import ApiClient, ApiError, ApiUnreachable

EXIT_UNREACHABLE = 1
EXIT_REFUSED = 2
EXIT_STATION_FAILED = 3

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT = 60.0
"""Longer than the server's default ``call_timeout`` (30 s), so that a station that does not
answer comes back as the API's 504 instead of a client-side timeout."""

_PANEL = "Connection and output"

UrlOption = Annotated[
    str,
    typer.Option(
        "--url",
        envvar="OPENCSMS_API_URL",
        help="The OpenCSMS operator API (the server's --http-port)",
        rich_help_panel=_PANEL,
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="OPENCSMS_ADMIN_TOKEN",
        help="The API's bearer token (the server's OPENCSMS_ADMIN_TOKEN)",
        show_default=False,
        rich_help_panel=_PANEL,
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print the API's JSON instead of a table (for scripts)",
        rich_help_panel=_PANEL,
    ),
]
TimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout", min=0.1, help="Seconds to wait for the API's answer", rich_help_panel=_PANEL
    ),
]


@dataclass(frozen=True)
class Session:
    """An open API client and how to print what it returns."""

    api: ApiClient
    json_output: bool

    def show(self, body: Any, render: Callable[[Any], str]) -> None:
        """Print ``body`` as JSON with ``--json``, else as ``render(body)`` for a person."""
        if self.json_output:
            print_json(body)
        else:
            typer.echo(render(body))

    def done(self, body: Any, message: str) -> None:
        """Print the API's answer with ``--json`` (if it had one), else a short confirmation."""
        if self.json_output:
            if body is not None:
                print_json(body)
        else:
            typer.echo(message)


@contextlib.contextmanager
def session(url: str, token: str | None, json_output: bool, timeout: float) -> Iterator[Session]:
    """Run a client command against the API at ``url``; failures end the process with the
    matching exit code and the API's ``detail`` on stderr (and its JSON body on stdout with
    ``--json``, so scripts see the recorded command of a failed call too)."""
    try:
        with ApiClient(url, token, timeout=timeout) as api:
            yield Session(api, json_output)
    except ApiUnreachable as exc:
        _fail(str(exc), EXIT_REFUSED if exc.bad_url else EXIT_UNREACHABLE)
    except ApiError as exc:
        if json_output:
            print_json(exc.body)
        _fail(_explain(exc, token), exit_code_for(exc.status))


def exit_code_for(status: int) -> int:
    """The process exit code for an API error status (module docstring)."""
    if status in (502, 504):
        return EXIT_STATION_FAILED
    if 400 <= status < 500:
        return EXIT_REFUSED
    return EXIT_UNREACHABLE


def _explain(exc: ApiError, token: str | None) -> str:
    if exc.status == 401:
        given = "missing" if not token else "bad"
        return (
            f"{given} --token (or OPENCSMS_ADMIN_TOKEN): the API answered 401 {exc.detail!r}; "
            "use the server's admin token"
        )
    lines = [exc.detail]
    body = exc.body if isinstance(exc.body, dict) else {}
    for violation in body.get("violations") or ():  # a payload its schema refuses (400)
        if isinstance(violation, dict):
            lines.append(f"  {violation.get('path') or '/'}: {violation.get('message')}")
    for wrong in body.get("errors") or ():  # the wrong lines of a CSV import (422)
        if isinstance(wrong, dict):
            lines.append(f"  line {wrong.get('line')}: {wrong.get('error')}")
    return "\n".join(lines)


def _fail(message: str, code: int) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def print_json(body: Any) -> None:
    """Print JSON indented, keys in the API's order (jq and people read it alike)."""
    typer.echo(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode())


def read_json_object(source: str, param_hint: str) -> dict[str, Any]:
    """A JSON object from the command line: the text itself, ``-`` for stdin or ``@FILE``."""
    if source == "-":
        text = sys.stdin.read()
        origin = "stdin"
    elif source.startswith("@"):
        path = Path(source[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise typer.BadParameter(
                f"cannot read {path}: {exc.strerror}", param_hint=param_hint
            ) from None
        origin = str(path)
    else:
        text, origin = source, "the argument"
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise typer.BadParameter(f"{origin} is not JSON: {exc}", param_hint=param_hint) from None
    if not isinstance(value, dict):
        raise typer.BadParameter(
            f"{origin} must be a JSON object ({{...}}), not {type(value).__name__}",
            param_hint=param_hint,
        )
    return value


def changes(**fields: Any) -> dict[str, Any]:
    """The options an operator actually gave (None means "not given")."""
    return {name: value for name, value in fields.items() if value is not None}


def confirm_or_abort(question: str, yes: bool) -> None:
    """Ask before deleting, unless ``--yes``; no answer (or no terminal) means no."""
    if not yes and not typer.confirm(question, default=False):
        typer.echo("nothing removed", err=True)
        raise typer.Exit(1)

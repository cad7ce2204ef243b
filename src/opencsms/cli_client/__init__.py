"""The operator commands of the ``opencsms`` CLI: they talk to a running server's operator API
over HTTP (docs/cli.md) and print tables for people or the API's JSON for scripts (``--json``)."""

from __future__ import annotations

import typer

from opencsms.cli_client.calls import call, commands
from opencsms.cli_client.stations import stations_app
from opencsms.cli_client.tokens import tokens_app
from opencsms.cli_client.transactions import transactions_app

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``stations``, ``tokens``, ``transactions``, ``call`` and ``commands`` to ``app``."""
    app.add_typer(stations_app, name="stations")
    app.add_typer(tokens_app, name="tokens")
    app.add_typer(transactions_app, name="transactions")
    app.command("call")(call)
    app.command("commands")(commands)

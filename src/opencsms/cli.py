"""The ``opencsms`` command line: ``serve``, ``simulate``, ``load``, ``migrate``, ``--version``, and
the operator commands that talk to a running server's API (``stations``, ``tokens``,
``transactions``, ``call``, ``commands``: :mod:`opencsms.cli_client`, docs/cli.md).

Every ``serve`` flag can also be given as an ``OPENCSMS_*`` environment variable (shown in
``--help``); a flag beats the variable, which beats the ``[server]`` table of ``--config``, which
beats the default.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import signal
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

import opencsms
from opencsms.cli_client import register as register_client_commands
from opencsms.config import ConfigError, Settings, UnknownStationPolicy, load_settings_file
from opencsms.runtime import tune_garbage_collector
from opencsms.security.cli import ca_app

if TYPE_CHECKING:
    from opencsms.simulator.scenario import ScenarioSpec

app = typer.Typer(help="OpenCSMS: a Charging Station Management System for OCPP-J 1.6, 2.0.1, 2.1.")
log = logging.getLogger("opencsms")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"opencsms {opencsms.__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """OpenCSMS command line."""


def _env(name: str) -> str:
    return f"OPENCSMS_{name}"


@app.command()
def serve(
    ocpp_port: Annotated[
        int | None, typer.Option(envvar=_env("OCPP_PORT"), help="Station WebSocket port [9000]")
    ] = None,
    http_port: Annotated[
        int | None, typer.Option(envvar=_env("HTTP_PORT"), help="Operator API port [8080]")
    ] = None,
    host: Annotated[
        str | None, typer.Option(envvar=_env("HOST"), help="Address to bind [0.0.0.0]")
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            envvar=_env("DB"),
            help="Database URL: sqlite:///opencsms.db (default) or postgresql+asyncpg://...",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(envvar=_env("CONFIG"), help="Provisioning file (TOML)", exists=True),
    ] = None,
    unknown_stations: Annotated[
        UnknownStationPolicy | None,
        typer.Option(envvar=_env("UNKNOWN_STATIONS"), help="Policy for unknown station ids"),
    ] = None,
    unknown_tokens: Annotated[
        str | None,
        typer.Option(
            envvar=_env("UNKNOWN_TOKENS"),
            help="Answer for an idTag/idToken the CSMS does not know: reject (Invalid) | accept",
        ),
    ] = None,
    admin_token: Annotated[
        str | None,
        typer.Option(envvar=_env("ADMIN_TOKEN"), help="Bearer token of the operator API"),
    ] = None,
    demo: Annotated[
        bool, typer.Option(envvar=_env("DEMO"), help="Also run a small simulated station fleet")
    ] = False,
    log_level: Annotated[str, typer.Option(envvar=_env("LOG_LEVEL"))] = "INFO",
    # Transport security and certificates (docs/security.md, docs/certificates.md).
    ocpp_ws: Annotated[
        bool | None,
        typer.Option(
            "--ocpp-ws/--no-ocpp-ws",
            envvar=_env("OCPP_WS"),
            help="Serve plain ws (security profile 1) on --ocpp-port [on]",
        ),
    ] = None,
    ocpp_tls_port: Annotated[
        int | None,
        typer.Option(envvar=_env("OCPP_TLS_PORT"), help="wss + Basic auth port (profile 2) [none]"),
    ] = None,
    ocpp_mtls_port: Annotated[
        int | None,
        typer.Option(
            envvar=_env("OCPP_MTLS_PORT"),
            help="wss + client certificate port (profile 3; needs --tls-client-ca-file) [none]",
        ),
    ] = None,
    security_profile: Annotated[
        int | None,
        typer.Option(
            envvar=_env("SECURITY_PROFILE"),
            min=1,
            max=3,
            help="Profile of a station that has none of its own [1]",
        ),
    ] = None,
    tls_cert_file: Annotated[
        str | None,
        typer.Option(envvar=_env("TLS_CERT_FILE"), help="PEM server certificate chain"),
    ] = None,
    tls_key_file: Annotated[
        str | None, typer.Option(envvar=_env("TLS_KEY_FILE"), help="PEM server private key")
    ] = None,
    tls_ecdsa_cert_file: Annotated[
        str | None,
        typer.Option(
            envvar=_env("TLS_ECDSA_CERT_FILE"), help="Second (ECDSA) server chain, optional"
        ),
    ] = None,
    tls_ecdsa_key_file: Annotated[
        str | None,
        typer.Option(envvar=_env("TLS_ECDSA_KEY_FILE"), help="Key of the ECDSA chain"),
    ] = None,
    tls_client_ca_file: Annotated[
        str | None,
        typer.Option(
            envvar=_env("TLS_CLIENT_CA_FILE"),
            help="PEM CA bundle station certificates must chain to (profile 3)",
        ),
    ] = None,
    tls_client_organization: Annotated[
        str | None,
        typer.Option(
            envvar=_env("TLS_CLIENT_ORGANIZATION"),
            help="Required O of station certificates (the CPO name)",
        ),
    ] = None,
    ca_dir: Annotated[
        str | None,
        typer.Option(
            envvar=_env("CA_DIR"), help="The CSMS's CA (opencsms ca init) that signs CSRs"
        ),
    ] = None,
    pnc_trust_file: Annotated[
        str | None,
        typer.Option(envvar=_env("PNC_TRUST_FILE"), help="PEM V2G / MO roots for Plug & Charge"),
    ] = None,
    cluster_nats_url: Annotated[
        str | None,
        typer.Option(
            envvar=_env("CLUSTER_NATS_URL"),
            help="Cluster mode: the NATS server the nodes share (needs a PostgreSQL --db)",
        ),
    ] = None,
    node_id: Annotated[
        str | None,
        typer.Option(envvar=_env("NODE_ID"), help="This node's name in the cluster"),
    ] = None,
) -> None:
    """Run the CSMS: the station gateway, the operator API and the background jobs."""
    _configure_logging(log_level)
    try:
        settings = load_settings_file(config) if config else Settings()
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--config") from None
    if unknown_tokens not in (None, "reject", "accept"):
        raise typer.BadParameter("must be reject or accept", param_hint="--unknown-tokens")
    settings = settings.with_overrides(
        unknown_tokens=unknown_tokens,
        ocpp_port=ocpp_port,
        http_port=http_port,
        host=host,
        db=db,
        unknown_stations=unknown_stations,
        admin_token=admin_token,
        ocpp_ws=ocpp_ws,
        ocpp_tls_port=ocpp_tls_port,
        ocpp_mtls_port=ocpp_mtls_port,
        security_profile=security_profile,
        tls_cert_file=tls_cert_file,
        tls_key_file=tls_key_file,
        tls_ecdsa_cert_file=tls_ecdsa_cert_file,
        tls_ecdsa_key_file=tls_ecdsa_key_file,
        tls_client_ca_file=tls_client_ca_file,
        tls_client_organization=tls_client_organization,
        ca_dir=ca_dir,
        pnc_trust_file=pnc_trust_file,
        cluster_nats_url=cluster_nats_url,
        node_id=node_id,
    )
    if not settings.admin_token:
        settings = settings.with_overrides(admin_token=secrets.token_urlsafe(24))
        log.warning(
            "OPENCSMS_ADMIN_TOKEN is not set; this run's operator API token is: %s",
            settings.admin_token,
        )
    _run(_serve(settings, demo=demo))


async def _serve(settings: Settings, *, demo: bool) -> None:
    from opencsms.app import Csms

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Csms(settings) as csms:
        tune_garbage_collector()
        if demo:
            from opencsms.demo import run_demo_until

            await run_demo_until(csms, stop)
        else:
            await stop.wait()
        log.info("shutting down")
    log.info("stopped")


@app.command()
def simulate(
    url: Annotated[
        str, typer.Option(help="The CSMS's OCPP-J endpoint, e.g. ws://127.0.0.1:9000/ocpp")
    ],
    stations: Annotated[int, typer.Option(min=1, help="How many stations")] = 10,
    version: Annotated[str, typer.Option(help="OCPP version: 1.6, 2.0.1 or 2.1")] = "2.0.1",
    prefix: Annotated[
        str, typer.Option(help="Station ids are PREFIX0001, PREFIX0002, ...")
    ] = "SIM-",
    evses: Annotated[int, typer.Option(min=1, help="EVSEs (one connector each) per station")] = 2,
    password: Annotated[
        str | None, typer.Option(help="Security profile 1 password for every station")
    ] = None,
    duration: Annotated[
        float | None, typer.Option(min=0, help="Stop after this many seconds (default: Ctrl-C)")
    ] = None,
    live: Annotated[
        bool | None, typer.Option(help="Live table (default: when stdout is a terminal)")
    ] = None,
    scenario: Annotated[
        str | None,
        typer.Option(
            help="Scenario file (TOML) or shipped scenario name: demo, depot-ac, dc-fast, "
            "flaky-network. Replaces --stations/--version/--prefix/--evses/--password."
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed for the scenario's random choices (repeatable runs)")
    ] = None,
) -> None:
    """Run simulated charging stations against a CSMS (this one or any other)."""
    from opencsms.ocpp.version import OcppVersion
    from opencsms.simulator.fleet import FleetSpec, to_scenario
    from opencsms.simulator.scenario import ScenarioError, load_scenario

    _configure_logging("WARNING" if live else "INFO")
    if scenario is not None:
        try:
            plan = load_scenario(scenario)
        except ScenarioError as exc:
            raise typer.BadParameter(str(exc), param_hint="--scenario") from None
        if duration is not None:
            plan = dataclasses.replace(plan, duration=duration)
    else:
        try:
            ocpp_version = OcppVersion(version)
        except ValueError:
            raise typer.BadParameter("must be 1.6, 2.0.1 or 2.1", param_hint="--version") from None
        spec = FleetSpec(
            url=url.rstrip("/"),
            count=stations,
            version=ocpp_version,
            prefix=prefix,
            evses=evses,
            password=password,
            duration=duration,
        )
        plan = to_scenario(spec)
    _run(_simulate(plan, url.rstrip("/"), live, seed))


async def _simulate(plan: ScenarioSpec, url: str, live: bool | None, seed: int | None) -> None:
    from opencsms.simulator.fleet import run_scenario

    fleet = asyncio.create_task(run_scenario(plan, url, live=live, seed=seed))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, fleet.cancel)
    try:
        report = await fleet
    except asyncio.CancelledError:
        typer.echo("simulator stopped before every station was up")
        return
    typer.echo(f"simulated fleet: {report.summary()}")


@app.command()
def load(
    url: Annotated[
        str,
        typer.Option(
            envvar=_env("LOAD_URL"),
            help="The CSMS's OCPP-J endpoint, e.g. ws://127.0.0.1:9000/ocpp",
        ),
    ],
    stations: Annotated[
        int, typer.Option(envvar=_env("LOAD_STATIONS"), min=1, help="How many stations")
    ] = 100,
    version: Annotated[
        str, typer.Option(envvar=_env("LOAD_VERSION"), help="OCPP version: 1.6, 2.0.1 or 2.1")
    ] = "2.0.1",
    prefix: Annotated[
        str,
        typer.Option(envvar=_env("LOAD_PREFIX"), help="Station ids are PREFIX000001, ..."),
    ] = "LOAD-",
    ramp: Annotated[
        str,
        typer.Option(
            envvar=_env("LOAD_RAMP"),
            help="New connections per second (500/s, 30000/min, unlimited)",
        ),
    ] = "500/s",
    duration: Annotated[
        str,
        typer.Option(
            envvar=_env("LOAD_DURATION"),
            help="Hold after the ramp (60s, 5m, 1h30m; 0: stop once all are Accepted; forever)",
        ),
    ] = "60s",
    mix: Annotated[
        str,
        typer.Option(
            envvar=_env("LOAD_MIX"),
            help="Weights per kind: heartbeat, status, meter_values, authorize, data_transfer, "
            "transaction (e.g. meter_values=8,status=1,heartbeat=1); or idle",
        ),
    ] = "meter_values=8,status=1,heartbeat=1",
    rate: Annotated[
        str,
        typer.Option(
            envvar=_env("LOAD_RATE"),
            help="CALLs per second over all stations (2000/s); max: each station flat out; 0: idle",
        ),
    ] = "max",
    password: Annotated[
        str | None,
        typer.Option(envvar=_env("LOAD_PASSWORD"), help="Security profile 1 password (Basic auth)"),
    ] = None,
    json_file: Annotated[
        Path | None,
        typer.Option("--json", envvar=_env("LOAD_JSON"), help="Also write the report here (JSON)"),
    ] = None,
    progress: Annotated[
        bool | None,
        typer.Option(envvar=_env("LOAD_PROGRESS"), help="Progress bar (default: on a terminal)"),
    ] = None,
    connect_concurrency: Annotated[
        int,
        typer.Option(envvar=_env("LOAD_CONNECT_CONCURRENCY"), help="Handshakes in flight, 0: any"),
    ] = 500,
    ramp_timeout: Annotated[
        str,
        typer.Option(
            envvar=_env("LOAD_RAMP_TIMEOUT"), help="Wait for Accepted after the last start"
        ),
    ] = "60s",
    call_timeout: Annotated[
        str, typer.Option(envvar=_env("LOAD_CALL_TIMEOUT"), help="CALL answer timeout")
    ] = "30s",
    ping_interval: Annotated[
        str,
        typer.Option(envvar=_env("LOAD_PING_INTERVAL"), help="WebSocket ping interval (0: off)"),
    ] = "60s",
    compression: Annotated[
        bool,
        typer.Option(envvar=_env("LOAD_COMPRESSION"), help="Offer permessage-deflate"),
    ] = False,
) -> None:
    """Load-test a CSMS: ramp up stations, drive a message mix, report throughput and latency."""
    from opencsms.load.command import build_options, run_command
    from opencsms.load.options import OptionError

    _configure_logging("WARNING")
    exit_code = 0
    try:
        options = build_options(
            url=url,
            stations=stations,
            version=version,
            prefix=prefix,
            ramp=ramp,
            duration=duration,
            mix=mix,
            rate=rate,
            password=password,
            connect_concurrency=connect_concurrency,
            ramp_timeout=ramp_timeout,
            call_timeout=call_timeout,
            ping_interval=ping_interval,
            compression=compression,
        )

        async def go() -> None:
            nonlocal exit_code
            exit_code = await run_command(options, progress=progress, json_path=json_file)

        _run(go())
    except OptionError as exc:
        raise typer.BadParameter(str(exc), param_hint=exc.param) from None
    if exit_code:
        raise typer.Exit(exit_code)


@app.command()
def migrate(
    db: Annotated[
        str, typer.Option(envvar=_env("DB"), help="Database URL")
    ] = "sqlite:///opencsms.db",
) -> None:
    """Bring the database schema up to date (serve does this on start too)."""
    from opencsms.storage.migrate import migrate as run_migrations

    _configure_logging("INFO")
    _run(run_migrations(db))
    typer.echo("database is up to date")


register_client_commands(app)
app.add_typer(ca_app, name="ca")


def _run(coro: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is absent on Windows
        asyncio.run(coro)
    else:
        uvloop.run(coro)


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # opencsms logs every station connection with its id; websockets' own lines would repeat them
    logging.getLogger("websockets.server").setLevel(max(logging.WARNING, logging.root.level))

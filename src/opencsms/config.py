"""Server settings and the declarative provisioning file.

Precedence, highest first: command-line flag, ``OPENCSMS_*`` environment variable, the ``[server]``
table of the provisioning file (``--config``), built-in default. The provisioning file also seeds
stations (``[[stations]]``) and id tokens (``[[id_tokens]]``), which are upserted on every start so
that the file stays the source of truth for what it names while records added through the API are
left alone.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from opencsms.domain.desired_config import (
    InvalidDesiredConfig,
    ProfileSeed,
    desired_tables,
    profile_seed,
)
from opencsms.domain.model import RegistrationStatus, Strictness
from opencsms.domain.tokens import InvalidTokenError, build_token
from opencsms.storage.sqlite_worker import WRITER_NICE

_E = TypeVar("_E", bound=StrEnum)


class ConfigError(ValueError):
    """The provisioning file or a setting is invalid; the message says which and why."""


class UnknownStationPolicy(StrEnum):
    """What to do with an unprovisioned station id (OCPP-J 2.0.1 part 4 §3.2: 404 by default)."""

    REJECT = "reject"
    PENDING = "pending"
    ACCEPT = "accept"


DEFAULT_SUBPROTOCOLS: tuple[str, ...] = ("ocpp2.1", "ocpp2.0.1", "ocpp1.6")


@dataclass(frozen=True, slots=True)
class StationSeed:
    """One ``[[stations]]`` entry of the provisioning file."""

    id: str
    password: str | None = None
    registration: RegistrationStatus = RegistrationStatus.ACCEPTED
    strictness: Strictness = Strictness.STRICT
    heartbeat_interval: int | None = None
    configuration: dict[str, str] | None = None
    """Desired 1.6 configuration keys; ``None``: left to the API
    (docs/configuration-management.md)."""
    variables: dict[str, str] | None = None
    """Desired 2.0.1 variables by path; ``None``: left to the API."""
    security_profile: int | None = None
    """1, 2 or 3 (docs/security.md); ``None``: left to the API (or the ``security_profile``
    default)."""


@dataclass(frozen=True, slots=True)
class TokenSeed:
    """One ``[[id_tokens]]`` entry of the provisioning file (checked when the file is read)."""

    id_token: str
    type: str | None = None
    status: str = "Accepted"
    expires_at: datetime | None = None
    group_id: str | None = None
    allowed_locations: tuple[str, ...] | None = None
    max_concurrent: int | None = None

    def values(self) -> dict[str, Any]:
        """The entry as :func:`opencsms.domain.tokens.build_token` takes it."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything ``opencsms serve`` can be told. See docs/configuration.md for each key."""

    host: str = "0.0.0.0"
    ocpp_port: int = 9000
    http_port: int = 8080
    db: str = "sqlite:///opencsms.db"
    unknown_stations: UnknownStationPolicy = UnknownStationPolicy.REJECT
    subprotocols: tuple[str, ...] = DEFAULT_SUBPROTOCOLS
    max_frame_size: int = 1_048_576
    ping_interval: float = 60.0
    ping_timeout: float = 30.0
    close_timeout: float = 5.0
    """Seconds to wait for the peer's close frame; a dead link is dropped after ping_interval +
    ping_timeout + close_timeout."""
    open_timeout: float = 60.0
    """Seconds a station has to complete the WebSocket opening handshake. websockets' 10 s
    default cut off thousands of handshakes in a 10,000-station reconnect storm."""
    call_timeout: float = 30.0
    heartbeat_interval: int = 300
    boot_retry_interval: int = 60
    audit_retention_days: int = 30
    command_retention_days: int = 90
    """Days the command log keeps a command (purged hourly); 0 keeps every command forever."""
    compression: bool = True
    backlog: int = 8192
    admin_token: str | None = None
    sqlite_writer: Literal["process", "thread"] = "process"
    """Where SQLite commits run: ``process`` (a child process: uses a second core) or ``thread``."""
    sqlite_writer_nice: int = WRITER_NICE
    """The SQLite writer process's niceness relative to the server's (negative: higher priority;
    needs root or CAP_SYS_NICE, else it stays at the server's). docs/storage.md."""
    validate_outgoing: bool = False
    """Check the CSMS's own CALLRESULTs against the schemas too (on in tests; costs a check)."""
    unknown_tokens: Literal["reject", "accept"] = "reject"
    """An idTag/idToken the CSMS does not know: ``reject`` answers Invalid, ``accept`` Accepted."""
    master_pass_group_id: str | None = None
    """Tokens of this group are master passes (2.0.1 C16): they may stop anybody's session and
    start none."""
    local_lists: Literal["managed", "all", "off"] = "managed"
    """Automatic local-list syncs: ``managed`` for stations an operator synced once, ``all`` for
    every station that boots Accepted, ``off`` for none (docs/local-lists.md)."""
    local_list_items_per_message: int = 50
    """Entries per SendLocalList when a station does not report its SendLocalListMaxLength /
    LocalAuthListCtrlr.ItemsPerMessage."""
    local_list_debounce: float = 2.0
    """Seconds without token changes before stations are re-synced after a change."""
    local_list_concurrency: int = 8
    """Automatic local-list syncs running at once, however many stations need one."""
    files_dir: str = "./opencsms-files"
    """Where the bytes of hosted files (firmware images, uploaded logs) are kept (docs/jobs.md)."""
    files_base_url: str | None = None
    """The URL stations reach this node's ``/files`` endpoints at; default
    ``http://<host, or 127.0.0.1 for a wildcard host>:<http port>``."""
    upload_max_bytes: int = 50 * 1024 * 1024
    """Largest log or diagnostics file a station may upload."""
    firmware_max_bytes: int = 512 * 1024 * 1024
    """Largest firmware image an operator may upload."""
    firmware_job_timeout: float = 3600.0
    """Seconds a firmware job may take after its retrieve/install time before it is TimedOut."""
    log_job_timeout: float = 900.0
    job_deadline_check_interval: float = 30.0
    """Seconds between the checks that time out jobs past their deadline."""
    """Seconds a log job may take before it is TimedOut."""
    apply_desired_on_boot: bool = True
    """Apply a station's desired configuration after each Accepted BootNotification."""
    desired_config_concurrency: int = 4
    """Automatic applies of desired configuration running at once."""
    load_management_enabled: bool = True
    """Run the site load manager (docs/load-management.md); it acts only on stations placed
    in a load group."""
    charging_profile_reconcile_on_boot: bool = True
    """After a 2.0.1 / 2.1 station's Accepted boot (and a reconnection without boot) send an
    unfiltered GetChargingProfiles so the record follows what it reports (K09)."""
    charging_profile_reconcile_debounce: float = 2.0
    """Seconds after a reconnection before it is reconciled, unless the station boots first."""
    load_management_debounce: float = 0.5
    """Seconds triggers (sessions, meter values, limit changes) are coalesced into one round."""
    load_management_interval: float = 30.0
    """Seconds between safety rounds run whatever happens."""
    load_management_stack_level: int = 1
    """stackLevel of the TxProfile / TxDefaultProfile the load manager sends."""
    load_management_profile_id: int = 91_000
    """chargingProfileId of its TxDefaultProfile; EVSE n's TxProfile uses this + n."""
    load_management_min_current_a: float = 6.0
    """Lowest current (A per phase) a session charges at when its EV does not say (K15)."""
    load_management_evse_max_current_a: float = 32.0
    """EVSE rating (A per phase) when a group member does not give one."""
    load_management_threshold_a: float = 1.0
    """Hysteresis: an increase smaller than this is not sent (decreases always are)."""
    load_management_headroom_a: float = 2.0
    """An EV drawing less than its limit by more than this keeps what it draws plus this."""
    load_management_concurrency: int = 16
    """SetChargingProfile calls the load manager has in flight at once."""
    # Transport security (docs/security.md): one listener per security profile (A00.FR.006).
    ocpp_ws: bool = True
    """Serve plain ws (security profile 1) on ``ocpp_port``; false: TLS listeners only."""
    ocpp_tls_port: int | None = None
    """wss with HTTP Basic auth (security profile 2); None: no such listener."""
    ocpp_mtls_port: int | None = None
    """wss with client certificates (security profile 3); None: no such listener."""
    security_profile: int = 1
    """The profile of a station that has none of its own (1, 2 or 3)."""
    tls_cert_file: str | None = None
    """PEM server certificate chain (RSA or ECDSA) of the TLS listeners."""
    tls_key_file: str | None = None
    tls_ecdsa_cert_file: str | None = None
    """Optional second chain, so that both RSA and ECDSA cipher suites can be served."""
    tls_ecdsa_key_file: str | None = None
    tls_client_ca_file: str | None = None
    """PEM CA bundle station certificates must chain to (profile 3, A00.FR.403)."""
    tls_client_organization: str | None = None
    """When set, a station certificate's O must equal it (the CPO name, A00.FR.404)."""
    auth_backoff_base: float = 1.0
    """Seconds of the first back-off after repeated authentication failures (doubles each)."""
    auth_backoff_max: float = 300.0
    """Longest back-off, in seconds."""
    auth_backoff_free_failures: int = 3
    """Failures of one station id allowed before back-off starts (an address gets 4 times as
    many: stations of a site often share one)."""
    # Alerts, webhooks, live stream and metrics (docs/alerts.md, docs/metrics.md).
    offline_after_seconds: float = 60.0
    """A connected station with no frame and no pong for this long is offline (it is pinged
    after half of it); 0 disables the check (a closed connection still raises the alert)."""
    reconnect_alert_count: int = 5
    """Connections within ``reconnect_alert_window`` that raise ``repeated_reconnects``."""
    reconnect_alert_window: float = 300.0
    """Seconds of the reconnect window; the alert resolves after a window without one."""
    stuck_transaction_after: float = 14_400.0
    """Seconds without any message for an active session before it is ``transaction_stuck``."""
    alert_check_interval: float = 5.0
    """Seconds between the alert watchdog's rounds (silence, stuck sessions, quiet windows)."""
    webhook_max_attempts: int = 8
    """Attempts of one webhook delivery before it is marked failed."""
    webhook_timeout: float = 10.0
    """Seconds one webhook attempt may take in all."""
    webhook_retry_base: float = 10.0
    """Seconds before the first retry; each further retry waits twice as long (with jitter)."""
    webhook_retry_max: float = 3600.0
    """Longest wait between two attempts, in seconds."""
    webhook_concurrency: int = 8
    """Webhook attempts in flight at once (one per subscription at most)."""
    event_stream_queue: int = 1000
    """Events a live-stream client may fall behind before it is dropped (``event: overflow``)."""
    event_stream_keepalive: float = 15.0
    """Seconds between keep-alive comments on an idle live stream."""
    metrics_require_token: bool = False
    """Require the admin bearer token on ``/metrics``."""
    cost_updates_enabled: bool = True
    """Push the running cost of 2.0.1 sessions that have a tariff with CostUpdated (I02)."""
    cost_updated_interval: float = 60.0
    """Seconds between two running-cost pushes for one session (docs/tariffs.md)."""
    cost_datatransfer_16: str = ""
    """vendorId of the 1.6 DataTransfer cost messages (``org.openchargealliance.costmsg``);
    empty: 1.6 stations are sent no cost."""
    tariff_time_zone: str = "UTC"
    """Time zone of tariffs that name none (time-of-day and day-of-week restrictions)."""
    tariff_tax_rate: str = "0"
    """Tax (VAT) rate, as a fraction (``"0.21"``), of tariffs that name none."""
    # Certificates and Plug & Charge (docs/certificates.md).
    ca_dir: str | None = None
    """Directory of the CSMS's CA (ca.pem, ca.key; ``opencsms ca init``); None: SignCertificate
    is answered Rejected."""
    certificate_organization: str | None = None
    """When set, a station's CSR must carry this O (the CPO name, A02.FR.13)."""
    certificate_validity_days: int = 365
    """Validity of the station certificates the CA signs."""
    certificate_sign_v2g: bool = False
    """Also sign V2GCertificate CSRs with the CSMS's CA (test rigs; production V2G certificates
    come from the V2G PKI)."""
    certificate_expiry_warning_days: int = 30
    """Publish CertificateExpiring this many days before a station certificate ends."""
    certificate_auto_renew: bool = False
    """Also ask the station for a new CSR (TriggerMessage / ExtendedTriggerMessage) then."""
    pnc_trust_file: str | None = None
    """PEM bundle of V2G / MO roots (and known sub-CAs) contract certificates must chain to."""
    pnc_ocsp_timeout: float = 5.0
    """Seconds an OCSP responder has to answer."""
    pnc_ocsp_cache_seconds: float = 3600.0
    """Longest an OCSP answer is reused (shorter when its nextUpdate is sooner)."""
    pnc_ocsp_soft_fail: bool = False
    """Accept a contract whose OCSP responder gives no answer (default: CertChainError)."""
    contract_provider_url: str | None = None
    """HTTP endpoint for Get15118EVCertificate (M01/M02); None: answered Failed."""
    contract_provider_timeout: float = 10.0
    cluster_nats_url: str | None = None
    """Cluster mode (docs/scaling.md): the NATS server the nodes share; None: a single node."""
    node_id: str | None = None
    """This node's name in the cluster; None: ``host-pid-random``."""
    cluster_name: str = "opencsms"
    """Prefix of the cluster's NATS subjects (several clusters may share a NATS server)."""
    cluster_heartbeat_interval: float = 2.0
    """Seconds between a node's heartbeats (and the leader's checks for dead nodes)."""
    cluster_node_timeout: float = 10.0
    """A node silent this long is dead: its stations are recorded disconnected."""
    stations: tuple[StationSeed, ...] = field(default_factory=tuple)
    id_tokens: tuple[TokenSeed, ...] = field(default_factory=tuple)
    configuration_profiles: tuple[ProfileSeed, ...] = field(default_factory=tuple)
    load_groups: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    """``[[load_groups]]``: groups (and their ``members``) upserted on start, in file order
    (docs/load-management.md); their values are checked by the load management service."""

    def with_overrides(self, **changes: Any) -> Settings:
        """Return a copy with every non-None value in ``changes`` applied."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


_SERVER_KEYS = {f.name for f in fields(Settings)} - {
    "stations",
    "id_tokens",
    "configuration_profiles",
    "load_groups",
}
_TOKEN_KEYS = {f.name for f in fields(TokenSeed)}


def load_settings_file(path: Path) -> Settings:
    """Read a TOML provisioning file into :class:`Settings` (raises :class:`ConfigError`)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    server = data.get("server", {})
    if not isinstance(server, dict):
        raise ConfigError("[server] must be a table")
    unknown = set(server) - _SERVER_KEYS
    if unknown:
        raise ConfigError(f"[server] has unknown keys: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = dict(server)
    if "unknown_stations" in values:
        values["unknown_stations"] = _enum(
            UnknownStationPolicy, values["unknown_stations"], "unknown_stations"
        )
    if values.get("sqlite_writer", "process") not in ("process", "thread"):
        raise ConfigError("sqlite_writer must be one of process, thread")
    nice = values.get("sqlite_writer_nice", 0)
    if isinstance(nice, bool) or not isinstance(nice, int) or not -20 <= nice <= 19:
        raise ConfigError("sqlite_writer_nice must be a whole number from -20 to 19")
    if values.get("unknown_tokens", "reject") not in ("reject", "accept"):
        raise ConfigError("unknown_tokens must be one of reject, accept")
    if values.get("local_lists", "managed") not in ("managed", "all", "off"):
        raise ConfigError("local_lists must be one of managed, all, off")
    for key in ("local_list_items_per_message", "local_list_concurrency"):
        if key in values and (not isinstance(values[key], int) or values[key] < 1):
            raise ConfigError(f"{key} must be a whole number of at least 1")
    retention = values.get("command_retention_days", 0)
    if isinstance(retention, bool) or not isinstance(retention, int) or retention < 0:
        raise ConfigError("command_retention_days must be a whole number of days (0: keep all)")
    for key in ("upload_max_bytes", "firmware_max_bytes"):
        if key in values and (not isinstance(values[key], int) or values[key] < 1):
            raise ConfigError(f"{key} must be a whole number of at least 1")
    for key in ("firmware_job_timeout", "log_job_timeout", "job_deadline_check_interval"):
        if key in values and (not isinstance(values[key], int | float) or values[key] <= 0):
            raise ConfigError(f"{key} must be a positive number of seconds")
    for key in ("load_management_stack_level", "load_management_profile_id"):
        if key in values and (isinstance(values[key], bool) or not isinstance(values[key], int)):
            raise ConfigError(f"{key} must be a whole number")
    for key in (
        "load_management_debounce",
        "load_management_interval",
        "charging_profile_reconcile_debounce",
    ):
        if key in values and (not isinstance(values[key], int | float) or values[key] < 0):
            raise ConfigError(f"{key} must be a number of seconds (0 or more)")
    for key in ("reconnect_alert_count", "webhook_max_attempts", "webhook_concurrency"):
        if key in values and (isinstance(values[key], bool) or not isinstance(values[key], int)):
            raise ConfigError(f"{key} must be a whole number")
        if key in values and values[key] < 1:
            raise ConfigError(f"{key} must be at least 1")
    for key in ("cluster_heartbeat_interval", "cluster_node_timeout"):
        if key in values and (not isinstance(values[key], int | float) or values[key] <= 0):
            raise ConfigError(f"{key} must be a positive number of seconds")
    for key in ("offline_after_seconds", "reconnect_alert_window", "stuck_transaction_after"):
        if key in values and (not isinstance(values[key], int | float) or values[key] < 0):
            raise ConfigError(f"{key} must be a number of seconds (0 or more)")
    for key in ("alert_check_interval", "webhook_timeout", "webhook_retry_base"):
        if key in values and (not isinstance(values[key], int | float) or values[key] <= 0):
            raise ConfigError(f"{key} must be a positive number of seconds")
    debounce = values.get("local_list_debounce", 0.0)
    if not isinstance(debounce, int | float) or debounce < 0:
        raise ConfigError("local_list_debounce must be a number of seconds (0 or more)")
    for key in ("certificate_validity_days", "certificate_expiry_warning_days"):
        if key in values and (
            isinstance(values[key], bool) or not isinstance(values[key], int) or values[key] < 1
        ):
            raise ConfigError(f"{key} must be a whole number of days (at least 1)")
    for key in ("pnc_ocsp_timeout", "pnc_ocsp_cache_seconds", "contract_provider_timeout"):
        if key in values and (not isinstance(values[key], int | float) or values[key] <= 0):
            raise ConfigError(f"{key} must be a positive number of seconds")
    if "subprotocols" in values:
        values["subprotocols"] = tuple(values["subprotocols"])
    _profile(values.get("security_profile"), "security_profile")
    seeds = tuple(_station_seed(i, entry) for i, entry in enumerate(data.get("stations", [])))
    tokens = tuple(_token_seed(i, entry) for i, entry in enumerate(data.get("id_tokens", [])))
    concurrency = values.get("desired_config_concurrency", 1)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigError("desired_config_concurrency must be a whole number of at least 1")
    try:
        profiles = tuple(
            profile_seed(entry, f"configuration_profiles[{i}]")
            for i, entry in enumerate(data.get("configuration_profiles", []))
        )
    except InvalidDesiredConfig as exc:
        raise ConfigError(str(exc)) from None
    _check_tariff_settings(values)
    groups = data.get("load_groups", [])
    if not isinstance(groups, list) or not all(
        isinstance(g, dict) and isinstance(g.get("members", []), list) for g in groups
    ):
        raise ConfigError("[[load_groups]] entries must be tables, members a list of tables")
    return Settings(
        **values,
        stations=seeds,
        id_tokens=tokens,
        configuration_profiles=profiles,
        load_groups=tuple(groups),
    )


def _token_seed(index: int, entry: Any) -> TokenSeed:
    where = f"id_tokens[{index}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("id_token"), str):
        raise ConfigError(f"{where} needs a string 'id_token'")
    unknown = set(entry) - _TOKEN_KEYS
    if unknown:
        raise ConfigError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
    values = dict(entry)
    expires = values.get("expires_at")
    if isinstance(expires, str):
        try:
            values["expires_at"] = datetime.fromisoformat(expires)
        except ValueError:
            raise ConfigError(f"{where}.expires_at is not an ISO 8601 date-time") from None
    if "allowed_locations" in values:
        locations = values["allowed_locations"]
        if not isinstance(locations, list) or not all(isinstance(x, str) for x in locations):
            raise ConfigError(f"{where}.allowed_locations must be a list of strings")
        values["allowed_locations"] = tuple(locations)
    seed = TokenSeed(**values)
    try:  # the same rules as the API, checked now so a typo stops the start
        build_token(seed.values(), now=datetime.now(UTC), existing=None)
    except InvalidTokenError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return seed


def _station_seed(index: int, entry: Any) -> StationSeed:
    where = f"stations[{index}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        raise ConfigError(f"{where} needs a string 'id'")
    allowed = {"id", "password", "registration", "strictness", "heartbeat_interval"}
    allowed |= {"configuration", "variables", "security_profile"}
    unknown = set(entry) - allowed
    if unknown:
        raise ConfigError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
    try:
        configuration, variables = desired_tables(entry, where)
    except InvalidDesiredConfig as exc:
        raise ConfigError(str(exc)) from None
    return StationSeed(
        configuration=configuration,
        variables=variables,
        id=entry["id"],
        password=entry.get("password"),
        registration=_enum(
            RegistrationStatus, entry.get("registration", "Accepted"), f"{where}.registration"
        ),
        strictness=_enum(Strictness, entry.get("strictness", "strict"), f"{where}.strictness"),
        heartbeat_interval=entry.get("heartbeat_interval"),
        security_profile=_profile(entry.get("security_profile"), f"{where}.security_profile"),
    )


def _profile(value: Any, where: str) -> int | None:
    if value is not None and (isinstance(value, bool) or value not in (1, 2, 3)):
        raise ConfigError(f"{where} must be 1, 2 or 3")
    return value if value is None else int(value)


def _enum(kind: type[_E], value: Any, where: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(m.value for m in kind)
        raise ConfigError(f"{where} must be one of {choices}") from None


def _check_tariff_settings(values: dict[str, Any]) -> None:
    """The tariff and cost settings (docs/tariffs.md)."""
    interval = values.get("cost_updated_interval", 0.0)
    if isinstance(interval, bool) or not isinstance(interval, int | float) or interval < 0:
        raise ConfigError("cost_updated_interval must be a number of seconds (0 or more)")
    try:
        ZoneInfo(str(values.get("tariff_time_zone", "UTC")))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("tariff_time_zone must be an IANA time zone (Europe/Amsterdam)") from None
    try:
        rate = Decimal(str(values.get("tariff_tax_rate", "0")))
    except InvalidOperation:
        rate = Decimal(-1)
    if not rate.is_finite() or not 0 <= rate < 1:
        raise ConfigError("tariff_tax_rate must be a fraction from 0 to 1 (0.21 for 21 %)")

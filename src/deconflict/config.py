"""The one configuration object of a running hub.

`Settings` is read once (from the environment, then overridden by command-line
options) and passed down; nothing else in the package reads the environment
for the service.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deconflict.tactical.settings import TacticalSettings, TacticalSettingsError

__all__ = ["ConfigError", "Settings", "is_postgres_url"]

MiB = 1024 * 1024
_PG_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def is_postgres_url(text: str) -> bool:
    """Whether `--db` names a PostgreSQL server (a DSN) rather than a SQLite file."""
    return text.startswith(_PG_SCHEMES)


class ConfigError(ValueError):
    """A setting has a value the hub cannot run with."""


@dataclass(frozen=True)
class Settings:
    """Everything a hub deployment can tune.

    Defaults are those of a small hub run by one operator; each field can be
    set from the environment variable ``DECONFLICT_<FIELD NAME IN CAPITALS>``.
    """

    db_path: Path = Path("deconflict.db")
    # A PostgreSQL DSN (postgresql://user@host/dbname): used instead of the SQLite file.
    db_url: str | None = None
    # The hub's Ed25519 signing key; by default beside the SQLite file, or in the working
    # directory with PostgreSQL (every process of one hub must use the same key).
    hub_key_file: Path | None = None
    admin_token: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080

    # Strategic buffers (metres, metres, seconds) applied between every pair of kinds.
    lateral_buffer_m: float = 0.0
    vertical_buffer_m: float = 0.0
    time_buffer_s: float = 0.0

    # Input limits: a hub must stay responsive whatever a party sends.
    max_body_bytes: int = 4 * MiB
    max_vertices: int = 10_000
    max_volumes_per_notice: int = 100
    max_addressees: int = 200
    max_message_chars: int = 10_000
    max_text_chars: int = 2_000
    max_active_notices_per_party: int = 10_000
    # Need-to-know (issue 11): probing dry runs a party may make against one issuer's
    # notices per UTC day before the answers about them drop to `existence`; and how
    # soon after conflicting a cancellation or amendment away makes a notice a probe.
    probe_budget_per_day: int = 50
    probe_window_s: float = 900.0
    # Relayed parties (issue 15): a relay must record forwarding a version within this
    # fraction of the time from the version to its acknowledgement deadline, or within
    # `relay_forward_s` of it when the version has none; else `relay_overdue` is raised.
    relay_forward_fraction: float = 0.5
    relay_forward_s: float = 3600.0
    # The unauthenticated check of a printed notice's code: per client address per minute.
    paper_checks_per_minute: int = 30

    # What one connection and one party may hold of the server (issue 13): a request's
    # line and headers (431 beyond), the time to send them and the body (408 beyond), all
    # connections and requests at once (503 beyond), one token's requests in flight and
    # one party's open event streams (429 beyond).
    max_header_bytes: int = 32 * 1024
    max_headers: int = 100
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    max_connections: int = 2_000
    max_requests_per_party: int = 64
    max_streams_per_party: int = 8

    # Token bucket per authenticated principal.
    rate_per_s: float = 50.0
    rate_burst: int = 200

    # Background sweep (ack deadlines, expiry) and SSE keep-alive.
    sweep_interval_s: float = 1.0
    heartbeat_s: float = 15.0
    # How often an SSE stream re-reads the outbox even without an in-process wake-up,
    # so that another process writing to the same database is picked up.
    events_poll_s: float = 2.0
    # Several processes on one PostgreSQL database (issue 14): how often a process
    # catches up with what the others committed (its index, parties and tokens lag them
    # by at most this), and how long the leader's lease lasts (another process takes the
    # lead within about this when the leader dies).
    follow_interval_s: float = 0.5
    leader_lease_s: float = 6.0
    # The change log the processes follow (`hub_changes`, a row per changed notice) is
    # pruned by the leader to what was written in the last this many seconds; a process
    # that fell further behind (suspended, cut off) reloads its index whole.
    changes_keep_s: float = 600.0
    # How often each process passes on the track reports it accepted and takes in the
    # others' (`track_batches`), so that the leader screens them all: a report posted
    # to one process is screened about two of these later.
    track_share_interval_s: float = 0.1
    # How long the answer of a write sent with an Idempotency-Key is kept for its retries
    # (the leader's sweep deletes it after).
    idempotency_ttl_s: float = 86_400.0

    # How often a store thread copies the WAL into the database file (0: SQLite does it
    # inside the writer's commits, which then stall the changes queued behind them).
    wal_checkpoint_s: float = 0.5
    # Group commit: at most this many queued changes share one transaction (one fsync).
    write_batch_max: int = 256
    # Worker processes that validate submitted volumes while the event loop serves other
    # requests (0: validate on the event loop). One keeps up with the writer.
    volume_parser_processes: int = 1
    # Processes that re-parse stored notices at start-up (0: one per core; 1: none).
    index_load_processes: int = 0
    # The ledger: how often the hub signs and keeps its tree head (0: never, only on demand).
    ledger_head_interval_s: float = 10.0
    # Only for measuring what the ledger costs (benchmarks/ledger.py): never in service.
    ledger_enabled: bool = True
    # The ASTM F3548-21 DSS interface (deconflict.interop.f3548): comma-separated paths of
    # the PEM public keys that sign USS access tokens, and the accepted audiences.
    dss_public_keys: str = ""
    dss_audiences: str = ""
    # Start although the tables disagree with the ledger (logged in the ledger; issue 12).
    ledger_start_despite_mismatch: bool = False

    # Tracks, screening, separation profiles and alert policy (`TacticalSettings`): from
    # DECONFLICT_TACTICAL, a JSON object with its field names; a mapping is converted.
    tactical: TacticalSettings = field(default_factory=TacticalSettings)

    def __post_init__(self) -> None:
        if not isinstance(self.db_path, Path):
            object.__setattr__(self, "db_path", Path(self.db_path))
        if self.hub_key_file is not None and not isinstance(self.hub_key_file, Path):
            object.__setattr__(self, "hub_key_file", Path(self.hub_key_file))
        if self.db_url is not None and not is_postgres_url(self.db_url):
            raise ConfigError("db_url must be a postgresql:// DSN (a SQLite file is db_path)")
        if not isinstance(self.tactical, TacticalSettings):
            if not isinstance(self.tactical, Mapping):
                raise ConfigError("tactical settings must be a JSON object")
            try:
                converted = TacticalSettings.from_mapping(self.tactical)
            except (TacticalSettingsError, TypeError) as exc:
                raise ConfigError(f"tactical settings: {exc}") from exc
            object.__setattr__(self, "tactical", converted)
        for name in ("lateral_buffer_m", "vertical_buffer_m", "time_buffer_s"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0")
        for name in (
            "max_body_bytes",
            "max_vertices",
            "max_volumes_per_notice",
            "max_addressees",
            "max_message_chars",
            "max_text_chars",
            "max_active_notices_per_party",
            "rate_burst",
            "write_batch_max",
            "probe_budget_per_day",
            "paper_checks_per_minute",
            "max_header_bytes",
            "max_headers",
            "max_connections",
            "max_requests_per_party",
            "max_streams_per_party",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1")
        for name in (
            "index_load_processes",
            "volume_parser_processes",
            "wal_checkpoint_s",
            "probe_window_s",
        ):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0")
        for name in (
            "rate_per_s",
            "sweep_interval_s",
            "heartbeat_s",
            "events_poll_s",
            "header_timeout_s",
            "body_timeout_s",
            "relay_forward_fraction",
            "relay_forward_s",
            "changes_keep_s",
            "track_share_interval_s",
            "idempotency_ttl_s",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0")
        if self.relay_forward_fraction > 1:
            raise ConfigError("relay_forward_fraction must be at most 1")
        if self.admin_token is not None and len(self.admin_token) < 16:
            raise ConfigError("the admin token must be at least 16 characters long")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``DECONFLICT_*`` variables, then `overrides` (None means unset)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get("DECONFLICT_" + f.name.upper())
            if raw is None or raw == "":
                continue
            if f.name == "tactical":
                try:
                    values[f.name] = json.loads(raw)
                except ValueError as exc:
                    raise ConfigError(f"DECONFLICT_TACTICAL is not JSON: {exc}") from exc
                continue
            values[f.name] = _convert(f.name, raw, cls._field_type(f.name))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @classmethod
    def _field_type(cls, name: str) -> type:
        default = {f.name: f.default for f in dataclasses.fields(cls)}[name]
        if name in ("admin_token", "db_url"):
            return str
        if name == "hub_key_file":
            return Path
        return type(default)

    @property
    def hub_key_path(self) -> Path:
        if self.hub_key_file is not None:
            return self.hub_key_file
        if self.db_url:
            return Path("deconflict-hub-key.pem")
        return self.db_path.with_name(f"{self.db_path.name}.hub-key.pem")

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _convert(name: str, raw: str, kind: type) -> Any:
    try:
        if kind is bool:
            return raw.lower() in ("1", "true", "yes", "on")
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if issubclass(kind, Path):
            return Path(raw)
    except ValueError as exc:
        raise ConfigError(f"DECONFLICT_{name.upper()}={raw!r}: {exc}") from exc
    return raw

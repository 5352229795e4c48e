"""Configuration from `STAGE1_*` environment variables and a `.env` file. No value is needed:
without any, the service runs embedded on SQLite and DuckDB files under `./stage1-data`."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, IPvAnyNetwork, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STAGE1_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("stage1-data"), description="Folder for the embedded stores and uploads.")
    database_url: str | None = Field(
        None,
        description="Metadata store: postgresql+asyncpg://... or sqlite+aiosqlite:///...; "
        "default: SQLite under data_dir.",
    )
    timeseries: Literal["duckdb", "questdb", "memory"] = Field("duckdb", description="Time-series store.")
    questdb_http_url: str = Field("http://127.0.0.1:9000", description="QuestDB REST API (queries, /exp).")
    questdb_ilp_url: str | None = Field(
        None,
        description="QuestDB ingestion address, e.g. http://127.0.0.1:9000 (ILP over HTTP); default: the REST URL.",
    )
    questdb_pg_url: str = Field(
        "postgresql://stage1_reader:stage1_reader@127.0.0.1:8812/qdb",
        description="QuestDB Postgres-wire URL of its read-only user, used by the SQL routes.",
    )
    host: str = Field("127.0.0.1", description="Address `stage1 serve` binds to.")
    port: int = Field(8000, description="Port `stage1 serve` listens on.")
    auth_enabled: bool | None = Field(
        None,
        description="Require a token on /api routes. Default: on, unless bound to loopback with no "
        "auth_secret set. Off is refused on a non-loopback address.",
    )
    auth_secret: SecretStr | None = Field(None, description="Shared secret that POST /api/auth/token checks.")
    token_ttl_days: int = Field(90, description="Default token lifetime.")
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed by CORS and for writes that send `Origin` (JSON list)."
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names the server answers to besides the loopback names (JSON list); any other `Host` "
        "is a 421. On a non-loopback bind with none listed, every name is answered.",
    )
    fetch_allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts a dataset or import may name in `ohlcv_url`/`indicator_url`/`url` for the server to "
        "fetch (JSON list; empty: fetching is off). Internal addresses (private, loopback, link-local) are "
        "refused unless listed too, as an address or a network such as 10.0.0.0/8.",
    )
    trusted_proxies: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description="Addresses or networks of reverse proxies in front of the server (JSON list). Only a request "
        "from one of them is keyed (rate limits, lockout) on the client X-Forwarded-For names; default: none.",
    )
    session_ttl_days: int = Field(1, description="Lifetime of a browser session (POST /api/auth/session).")
    ws_auth_seconds: float = Field(
        5.0, gt=0, description="How long a WebSocket stream with no token in its handshake waits for the first "
        "message `{\"token\": ...}` before closing with 4401.",
    )
    ws_send_seconds: float = Field(
        10.0, gt=0, description="How long one WebSocket message may wait for a client that stopped reading "
        "(its socket buffers full) before the stream is closed with 4408 (the client resumes with last_event_id).",
    )
    rate_limit_per_minute: int = Field(
        600, description="Requests per minute per validated token, or per client address without one."
    )
    auth_rate_limit_per_minute: int = Field(
        10, description="Requests per minute per client address on POST /api/auth/token and /api/auth/session."
    )
    auth_lockout_after: int = Field(
        5, description="Failed secrets or tokens one client address may send before it is locked out (429)."
    )
    auth_lockout_seconds: float = Field(
        60.0, description="The first lockout; each further failure doubles it, up to an hour."
    )
    max_upload_mb: int = Field(2048, description="Largest request body, in MiB (413 beyond).")
    sql_concurrency: int = Field(
        2, description="Read-only SQL statements (/api/questdb/query, /export) that run at once; others wait "
        "for a slot within their timeout. They run on threads of their own, never the data routes' threads.",
    )
    sql_timeout_max_seconds: float = Field(
        300.0, description="The longest a read-only SQL statement may run, whatever `timeout` it asks for; it "
        "bounds the whole statement, a streamed export included (504 beyond).",
    )
    duckdb_memory_limit_mb: int = Field(
        1024, description="DuckDB memory_limit of the embedded store: a statement needing more stops with a 400.",
    )
    duckdb_threads: int = Field(2, description="Threads DuckDB runs one statement on.")
    upload_dir: Path | None = Field(None, description="Where uploads are spooled; default data_dir/uploads.")
    sweep_seconds: float = Field(
        600.0, ge=0, description="How often `serve` sweeps crash leftovers (spool files no live request or "
        "unfinished job holds, lapsed measurement-name reservations); it also sweeps at start. 0: only at start.",
    )
    name_lease_seconds: float = Field(
        60.0, gt=0, description="How long a save's measurement-name reservation holds unless the save renews it "
        "(it does, a third of this apart); one whose process died lapses after this and is taken over or released.",
    )
    csv_block_bytes: int = Field(
        8 * 1024 * 1024,
        ge=4096,
        description="CSV uploads are parsed in blocks of this many bytes; the first block decides column types.",
    )
    max_csv_columns: int = Field(
        2000, ge=1, description="Widest CSV header an upload may have; more columns is a 400 before parsing."
    )
    in_process_worker: bool | None = Field(
        None, description="Run a job worker inside `serve`; default: on for SQLite, off for Postgres."
    )
    worker_concurrency: int = Field(2, description="Jobs one worker runs at once.")
    job_lease_seconds: float = Field(
        30.0, description="How long a worker holds a job without renewing it; a dead worker's jobs move on after."
    )
    job_outage_retry_seconds: float = Field(
        10.0,
        ge=0,
        description="A job whose attempt found a store unreachable is retried after this, then twice as long, "
        "so its attempts outlast a store's restart; other failures are retried after 2 s, 4 s, ...",
    )
    job_retention_days: float = Field(
        30.0,
        description="The one retention of the history: finished jobs (with their spooled uploads) and events older "
        "than this are pruned.",
    )
    strict_bodies: bool = Field(
        False,
        description="A JSON body field the route does not know is a 400 instead of ignored "
        "(and named in Stage1-Ignored-Fields).",
    )
    log_level: str = Field("INFO", description="Python log level.")
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines of serve, worker and the CLI: `text` (one aligned line) or `json` (one object)."
    )
    tls_cert: Path | None = Field(None, description="TLS certificate (PEM) for serving HTTPS directly.")
    tls_key: Path | None = Field(None, description="TLS private key (PEM).")

    @property
    def metadata_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'stage1.db').resolve()}"

    @property
    def uploads(self) -> Path:
        return self.upload_dir or self.data_dir / "uploads"

    @property
    def is_embedded_metadata(self) -> bool:
        return self.metadata_url.startswith("sqlite")

    @property
    def runs_worker_in_process(self) -> bool:
        return self.is_embedded_metadata if self.in_process_worker is None else self.in_process_worker

    @property
    def auth_required(self) -> bool:
        if self.auth_enabled is not None:
            return self.auth_enabled
        return self.auth_secret is not None or not is_loopback(self.host)

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False

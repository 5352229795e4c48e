"""`stage1`: serve, migrate, seed, worker, import, openapi, token, login."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import click

from entrypoints.cli_errors import Stage1Group
from entrypoints.cli_maintenance import gc, jobs
from entrypoints.settings import Settings


@click.group(cls=Stage1Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="stage1", prog_name="stage1", message="%(prog)s %(version)s")
@click.option("--debug", is_flag=True, help="Show the full traceback when a command fails.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Stage1: datasets, walk-forward runs, simulations and jobs behind one HTTP API."""
    if isinstance(ctx.command, Stage1Group):
        ctx.command.debug = debug
    if ctx.invoked_subcommand not in ("serve", "worker"):  # those configure theirs with the settings they build
        from entrypoints import logs

        logs.configure(Settings(), process="cli")


@main.command()
@click.option("--host", default=None, help="Bind address (default 127.0.0.1, or STAGE1_HOST).")
@click.option("--port", default=None, type=int, help="Port (default 8000, or STAGE1_PORT).")
@click.option("--reload/--no-reload", default=False, help="Restart on code changes (development).")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), default=None, help="PEM certificate.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), default=None, help="PEM private key.")
def serve(host: str | None, port: int | None, reload: bool, tls_cert: str | None, tls_key: str | None) -> None:
    """Serve the API. With no configuration: SQLite + DuckDB under ./stage1-data and a worker in-process."""
    import uvicorn

    for name, value in (("HOST", host), ("PORT", port), ("TLS_CERT", tls_cert), ("TLS_KEY", tls_key)):
        if value is not None:
            os.environ[f"STAGE1_{name}"] = str(value)
    settings = Settings()
    from entrypoints import logs
    from entrypoints.security import check_bind_policy

    logs.configure(settings, process="serve")
    check_bind_policy(settings)
    if bool(settings.tls_cert) != bool(settings.tls_key):
        raise click.UsageError("--tls-cert and --tls-key go together")
    started = logging.getLogger("stage1")
    for store, address in logs.stores(settings):
        started.info("store", extra={"store": store, "address": address})
    scheme = "https" if settings.tls_cert else "http"
    started.info("listening", extra={"url": f"{scheme}://{settings.host}:{settings.port}"})
    uvicorn.run(
        "entrypoints.http.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        reload=reload,
        ssl_certfile=str(settings.tls_cert) if settings.tls_cert else None,
        ssl_keyfile=str(settings.tls_key) if settings.tls_key else None,
        # Neither log_config nor log_level: uvicorn's records go through the one format set up above.
        log_config=None,
        access_log=False,  # the app writes its own access lines, with the request id
        # Only the proxies the settings trust may name the client (and its scheme); nobody else may.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=[str(network) for network in settings.trusted_proxies] or None,
        timeout_graceful_shutdown=30,
    )


@main.command()
@click.argument("action", type=click.Choice(["up", "down", "status", "reset"]))
@click.argument("steps", required=False)
@click.option("--sql", "offline", is_flag=True, help="Print the SQL instead of running it (up only).")
@click.option("--yes", "-y", is_flag=True, help="Drop every table without asking (down to base, reset).")
def migrate(action: str, steps: str | None, offline: bool, yes: bool) -> None:
    """Migrate the metadata store: up | down N|base | status | reset."""
    from adapters.sql import migrate as m

    if (action == "reset" or (action == "down" and steps in (None, "base"))) and not offline and not yes:
        _confirm_dropping_everything(action)

    settings = Settings()
    url = settings.metadata_url
    if settings.is_embedded_metadata and not offline:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    if action == "up":
        if offline:
            click.echo(m.upgrade_sql(url, steps or "head"))
            return
        m.upgrade(url, steps or "head")
        click.echo(m.status(url))
    elif action == "down":
        if offline:
            raise click.UsageError("--sql is for `up`")
        target: int | Any = "base" if steps in (None, "base") else _positive(steps)
        m.downgrade(url, target)
        click.echo(m.status(url))
    elif action == "status":
        click.echo(m.status(url))
    else:
        m.reset(url)
        click.echo(m.status(url))


def _confirm_dropping_everything(action: str) -> None:
    """Dropping every table is never a typo away: asked at a terminal, refused (exit 1) without one."""
    what = "migrate reset drops every table and recreates them" if action == "reset" else (
        "migrate down without a count drops every table"
    )
    if not sys.stdin.isatty():
        click.echo(f"stage1: {what}; pass --yes to confirm", err=True)
        sys.exit(1)
    if not click.confirm(f"{what}. Continue?", default=False, err=True):
        click.echo("stage1: nothing dropped", err=True)
        sys.exit(1)


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError as exc:
        raise click.BadParameter("N must be a whole number or `base`") from exc
    if number < 1:
        raise click.BadParameter("N must be at least 1")
    return number


@main.command()
def seed() -> None:
    """Load fixtures: BTC 4h and ETH 1h datasets, two runs (five folds), two simulations with trades."""
    from entrypoints.cli_target import announce_offline, running_server
    from entrypoints.seed import seed_fixtures, seed_through

    settings = Settings()
    server = running_server(settings)
    if server is not None:
        click.echo(f"stage1: seeding through the server at {server.url}", err=True)
        summary = seed_through(server)
    else:
        announce_offline(settings, must_exist=False)
        summary = anyio.run(seed_fixtures, settings)
    click.echo(json.dumps(summary, indent=2))


@main.command()
@click.option("--concurrency", default=2, show_default=True, type=click.IntRange(1, 64))
def worker(concurrency: int) -> None:
    """Run a job worker against the configured queue until SIGTERM or Ctrl-C."""
    from entrypoints import logs
    from entrypoints.worker_runtime import run_worker

    settings = Settings()
    logs.configure(settings, process="worker")
    anyio.run(run_worker, settings, concurrency)


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--measurement", required=True)
@click.option(
    "--kind",
    type=click.Choice(["ohlcv", "indicators", "predictions", "trades", "generic"]),
    default=None,
    help="What the file holds; told from its columns when not given (ohlcv when open/high/low/close/volume are).",
)
@click.option("--mode", type=click.Choice(["append", "replace"]), default="append")
@click.option("--async", "run_async", is_flag=True, help="Queue a job and follow its progress.")
@click.option("--dry-run", is_flag=True, help="Check the file and print what would be written, gaps included.")
@click.option("--granularity", default=None, help="Bar length gaps are measured against in a dry run (e.g. 1h).")
@click.option(
    "--on-error",
    type=click.Choice(["fail", "skip"]),
    default="fail",
    show_default=True,
    help="skip: import the good rows and list the bad ones.",
)
@click.option("--url", default=lambda: _configured_url(), show_default="STAGE1_URL, else STAGE1_HOST:STAGE1_PORT")
@click.option("--token", default=lambda: os.environ.get("STAGE1_TOKEN"), help="API token (STAGE1_TOKEN).")
def import_file(
    file: Path,
    measurement: str,
    kind: str | None,
    mode: str,
    run_async: bool,
    dry_run: bool,
    granularity: str | None,
    on_error: str,
    url: str,
    token: str | None,
) -> None:
    """Upload FILE (CSV, CSV.gz, Parquet, Arrow) into a measurement through a running server."""
    from domain.frames import infer_kind
    from entrypoints.file_columns import file_columns
    from entrypoints.import_client import ImportRequest, import_through_api

    if kind is None:
        kind = infer_kind(file_columns(file)).value
        click.echo(f"kind: {kind} (from the file's columns; --kind to choose)", err=True)
    request = ImportRequest(file, measurement, kind, mode, run_async, dry_run, on_error, granularity)
    sys.exit(import_through_api(url, token, request))


@main.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None)
def openapi(output: Path | None) -> None:
    """Write the OpenAPI document (default: stdout)."""
    from entrypoints.http.openapi_document import openapi_json

    text = openapi_json()
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n")


@main.command()
@click.option("--url", default=lambda: _configured_url(), show_default="STAGE1_URL, else STAGE1_HOST:STAGE1_PORT")
@click.option("--token", "token_", default=None, help="A token issued before (asked for if neither this nor --secret).")
@click.option("--secret", default=None, help="The server's shared secret: issue a new token named --name.")
@click.option("--name", default="python-client", show_default=True, help="Name of a token issued with --secret.")
def login(url: str, token_: str | None, secret: str | None, name: str) -> None:
    """Check a token against URL and save it (mode 0600) for the Python client, stage1_client."""
    from entrypoints.login import login as run_login

    sys.exit(run_login(url, token_, secret, name))


@main.group()
def token() -> None:
    """Manage API tokens."""


@token.command("create")
@click.argument("name")
@click.option("--ttl-days", type=click.IntRange(1, 3650), default=None)
def token_create(name: str, ttl_days: int | None) -> None:
    """Issue a token for NAME: the token once (first line), then its id and expiry."""
    from entrypoints import cli_tokens

    cli_tokens.create(Settings(), name, ttl_days)


@token.command("list")
def token_list() -> None:
    """Every token, newest first: id, name, created, expires, last used, revoked (never the token itself)."""
    from entrypoints import cli_tokens

    cli_tokens.show(Settings())


@token.command("revoke")
@click.argument("token_id")
def token_revoke(token_id: str) -> None:
    """Revoke the token with id TOKEN_ID (as `stage1 token list` shows it); it stops working at once."""
    from entrypoints import cli_tokens

    cli_tokens.revoke(Settings(), token_id)


def _configured_url() -> str:
    """Where `stage1 serve` with the same settings listens, so a command finds the server without --url."""
    from entrypoints.cli_target import server_url

    return server_url(Settings())


main.add_command(gc)
main.add_command(jobs)

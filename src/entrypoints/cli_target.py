"""Where a command that changes data acts: through the server answering at the configured address (so it works
while `stage1 serve` holds the embedded stores, and lands in the server's database), or, when none answers, on
the data folder it names on stderr. It never creates a database somewhere by accident."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import click
import httpx

from entrypoints.cli_errors import ServerRefused, describe_response
from entrypoints.settings import Settings

WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})


def server_url(settings: Settings) -> str:
    """`STAGE1_URL`, else where `stage1 serve` with these settings listens."""
    explicit = os.environ.get("STAGE1_URL")
    if explicit:
        return explicit.rstrip("/")
    host = "127.0.0.1" if settings.host in WILDCARD_HOSTS else settings.host
    if ":" in host:
        host = f"[{host}]"
    scheme = "https" if settings.tls_cert else "http"
    return f"{scheme}://{host}:{settings.port}"


@dataclass(frozen=True, slots=True)
class Server:
    """A running Stage1 answering at `url`; calls carry `STAGE1_TOKEN` when set."""

    url: str
    token: str | None

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if self.token:
            headers["X-Stage1-Token"] = self.token
        with httpx.Client(base_url=self.url, timeout=httpx.Timeout(30.0, read=300.0)) as client:
            response = client.request(method, path, headers=headers, **kwargs)
        if response.status_code >= 400:
            raise ServerRefused(describe_response(response))
        return response


def running_server(settings: Settings) -> Server | None:
    """The server at the configured address if it answers its health route as Stage1 does, else None."""
    url = server_url(settings)
    try:
        response = httpx.get(f"{url}/api/health", timeout=2.0)
        body = response.json()
    except (httpx.HTTPError, ValueError):
        return None
    if response.status_code not in (200, 503) or not isinstance(body, dict) or "version" not in body:
        return None
    return Server(url, os.environ.get("STAGE1_TOKEN"))


def where_offline(settings: Settings) -> str:
    """The data the command acts on without a server, in words: the folder, or the masked store address."""
    if settings.is_embedded_metadata:
        return f"the data folder {settings.data_dir.resolve()}"
    return f"the metadata store at {settings.metadata_url.split('@')[-1]}"


def announce_offline(settings: Settings, *, must_exist: bool) -> None:
    """Say on stderr which data is used; with `must_exist`, refuse an embedded folder that holds no database."""
    url = server_url(settings)
    database = settings.data_dir / "stage1.db"
    if must_exist and settings.is_embedded_metadata and not database.exists():
        raise click.ClickException(
            f"no server answers at {url} and {settings.data_dir.resolve()} holds no database; start `stage1 serve`, "
            "run this where its data folder is, or set STAGE1_DATA_DIR / STAGE1_URL"
        )
    click.echo(f"stage1: no server answers at {url}; using {where_offline(settings)}", err=True)

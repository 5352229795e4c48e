"""`stage1 token create | list | revoke`: through the running server when one answers at the configured address,
else on the data folder (named on stderr, and refused when it holds no database)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import anyio
import click
import msgspec

from application.auth import create_token, list_tokens, revoke_token
from domain.paging import MAX_LIMIT, PageRequest
from domain.tokens import ApiToken
from entrypoints.cli_target import Server, announce_offline, running_server
from entrypoints.settings import Settings

T = TypeVar("T")
SHOWN = ("token_id", "name", "created_at", "expires_at", "last_used_at", "revoked_at")


def create(settings: Settings, name: str, ttl_days: int | None) -> None:
    """The token on the first line (for scripts), then its id and expiry."""
    server = running_server(settings)
    if server is not None:
        if settings.auth_secret is None:
            raise click.ClickException(
                f"the server at {server.url} issues tokens against its shared secret; set STAGE1_AUTH_SECRET here "
                "to the server's, or stop the server to issue one on its data folder"
            )
        body = {"secret": settings.auth_secret.get_secret_value(), "name": name, "ttl_days": ttl_days}
        issued: dict[str, Any] = server.call("POST", "/api/auth/token", json=body).json()
        secret = str(issued["token"])
    else:
        announce_offline(settings, must_exist=True)
        result = _offline(settings, lambda ports: ports.bind(create_token)(name, ttl_days or settings.token_ttl_days))
        issued, secret = _row(result.token), result.secret_token
    click.echo(secret)
    click.echo(f"token_id: {issued['token_id']}")
    click.echo(f"name: {issued['name']}")
    click.echo(f"expires_at: {issued['expires_at'] or 'never'}")


def show(settings: Settings) -> None:
    """One line per token, newest first: id, name, created, expires, last used, and `revoked` when it is."""
    server = running_server(settings)
    rows = list(_listed_by(server) if server is not None else _listed_offline(settings))
    click.echo("\t".join(SHOWN))
    for row in rows:
        click.echo("\t".join(str(row.get(key) or "-") for key in SHOWN))


def revoke(settings: Settings, token_id: str) -> None:
    server = running_server(settings)
    if server is not None:
        server.call("DELETE", f"/api/auth/tokens/{token_id}")
    else:
        announce_offline(settings, must_exist=True)
        _offline(settings, lambda ports: ports.bind(revoke_token)(token_id))
    click.echo(f"revoked {token_id}")


def _listed_by(server: Server) -> Iterable[dict[str, Any]]:
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": MAX_LIMIT, **({"after": after} if after else {})}
        page = server.call("GET", "/api/auth/tokens", params=params).json()
        yield from page["tokens"]
        after = page["next_cursor"]
        if not after:
            return


def _listed_offline(settings: Settings) -> list[dict[str, Any]]:
    announce_offline(settings, must_exist=True)

    async def every(ports: Any) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            page = await ports.bind(list_tokens)(PageRequest.of(MAX_LIMIT, None, after))
            rows.extend(_row(token) for token in page.items)
            after = page.next_cursor
            if not after:
                return rows

    return _offline(settings, every)


def _row(token: ApiToken) -> dict[str, Any]:
    fields: dict[str, Any] = msgspec.to_builtins(token)
    return {key: fields[key] for key in SHOWN}


def _offline(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work` on ports over the metadata store alone: tokens need no time-series store, so none is opened
    (the embedded DuckDB file may be held by a server on another address)."""
    from dependency_injector import providers

    from entrypoints.container import Container, open_ports

    async def run() -> T:
        container = Container(settings=settings)
        container.store.override(providers.Object(_NoStore()))
        async with open_ports(settings, container) as ports:
            return await work(ports)

    return anyio.run(run)


class _NoStore:
    async def close(self) -> None:
        return None

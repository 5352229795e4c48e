"""Who may call the API: tokens, and the rule that auth is only ever off on loopback."""

from __future__ import annotations

import click

from entrypoints.settings import Settings, is_loopback


def check_bind_policy(settings: Settings) -> None:
    """`serve` refuses to expose an unauthenticated API beyond this machine."""
    if not settings.auth_required and not is_loopback(settings.host):
        raise click.UsageError(
            f"auth is off, so stage1 only binds to loopback; {settings.host} is not. "
            "Set STAGE1_AUTH_SECRET (and STAGE1_AUTH_ENABLED=true) to serve on a public address."
        )


async def issue_token_offline(settings: Settings, name: str, ttl_days: int | None) -> str:
    """`stage1 token create`: an operator on the server issues a token without the shared secret."""
    from dependency_injector import providers

    from application.auth import create_token
    from entrypoints.container import Container, open_ports

    container = Container(settings=settings)
    container.store.override(providers.Object(_NoStore()))
    async with open_ports(settings, container) as ports:
        issued = await ports.bind(create_token)(name, ttl_days or settings.token_ttl_days)
    return issued.secret_token


class _NoStore:
    """Issuing a token needs no time-series store; do not open one."""

    async def close(self) -> None:
        return None

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


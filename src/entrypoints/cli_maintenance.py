"""`stage1 gc [--apply]` and `stage1 jobs prune [--older-than 30d]`: housekeeping against the configured stores."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import anyio
import click

from entrypoints.settings import Settings

_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_age(text: str) -> timedelta:
    """`30d`, `12h`, `90m`, `3600s`; a bare number is days."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhms]?)\s*", text)
    if match is None:
        raise click.BadParameter(f"{text!r} is not an age such as 30d, 12h, 90m or 3600s")
    return timedelta(**{_UNITS[match.group(2) or "d"]: float(match.group(1))})


@click.command()
@click.option("--apply", is_flag=True, help="Drop the unowned measurements (free ones are never dropped).")
def gc(apply: bool) -> None:
    """Print measurements no record accounts for; with --apply, drop those the service created for records
    that are gone."""
    click.echo(json.dumps(anyio.run(_gc, Settings(), apply), indent=2))


async def _gc(settings: Settings, apply: bool) -> dict[str, Any]:
    from application.maintenance import collect_garbage, find_orphans
    from entrypoints.container import open_ports

    async with open_ports(settings) as ports:
        if not apply:
            return (await ports.bind(find_orphans)()).as_dict()
        found, dropped = await ports.bind(collect_garbage)()
        return {**found.as_dict(), "dropped": dropped}


@click.group()
def jobs() -> None:
    """Manage jobs."""


@jobs.command("prune")
@click.option("--older-than", default=None, help="Age such as 30d or 12h (default STAGE1_JOB_RETENTION_DAYS).")
def prune(older_than: str | None) -> None:
    """Delete finished jobs older than the retention, with their events and kept uploads, now."""
    settings = Settings()
    age = parse_age(older_than) if older_than is not None else timedelta(days=settings.job_retention_days)
    click.echo(json.dumps({"pruned": anyio.run(_prune, settings, age)}))


async def _prune(settings: Settings, age: timedelta) -> int:
    from application.jobs import prune_jobs
    from entrypoints.container import open_ports

    async with open_ports(settings) as ports:
        pruned: int = await ports.bind(prune_jobs)(age)
        return pruned

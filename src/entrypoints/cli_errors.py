"""How `stage1` fails: one line on stderr saying what to do, exit code 1, and a traceback only under
`--debug`. Text from the server is printed as is, never read as rich markup."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click
import httpx

from domain.errors import StoreUnavailable


class ServerRefused(Exception):
    """A 4xx/5xx answer, already worded for the user."""


def describe_response(response: httpx.Response) -> str:
    """`400 invalid measurement: measurement must match ^[a-z][a-z0-9_]{0,126}$` from the error envelope."""
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} {response.text[:300].strip()}"
    if not isinstance(body, dict):
        return f"{response.status_code} {body}"
    line = f"{response.status_code} {body.get('error') or response.reason_phrase}"
    details = body.get("details")
    if details:
        line += f": {_readable(details)}"
    return line


def _readable(details: Any) -> str:
    if isinstance(details, dict):
        return "; ".join(f"{key}: {_readable(value)}" for key, value in details.items())
    if isinstance(details, list):
        return ", ".join(_readable(item) for item in details)
    return str(details)


def one_line(exc: BaseException) -> str:
    if isinstance(exc, ServerRefused):
        return f"the server refused: {exc}"
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        where = exc.request.url.copy_with(path="/", query=None) if _has_request(exc) else "the server"
        return f"cannot reach {where}; start it with `stage1 serve` or point --url / STAGE1_URL at it"
    if isinstance(exc, httpx.HTTPError):
        return f"talking to the server failed ({type(exc).__name__}: {exc}); check --url and retry"
    if isinstance(exc, StoreUnavailable):
        return f"{exc.message}; start that store, or let the server that holds it do the work (STAGE1_URL)"
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror}; check the path"
    return f"{type(exc).__name__}: {exc}; run again with --debug for the details"


def _has_request(exc: httpx.HTTPError) -> bool:
    try:
        exc.request  # noqa: B018 -- raises when the error carries no request
    except RuntimeError:
        return False
    return True


class Stage1Group(click.Group):
    """Turns every failure of a command into one line and exit code 1 (usage errors included)."""

    debug = False

    def main(self, args: Sequence[str] | None = None, *rest: Any, **extra: Any) -> Any:
        if extra.get("standalone_mode") is False:  # a caller handling errors itself (tests, embedding)
            return super().main(args, *rest, **extra)
        extra["standalone_mode"] = False
        try:
            code = super().main(args, *rest, **extra)
        except click.exceptions.Abort:
            click.echo("stage1: aborted", err=True)
            sys.exit(1)
        except click.ClickException as exc:
            if self.debug:
                raise
            ctx = getattr(exc, "ctx", None)
            context = ctx.command_path if ctx is not None else "stage1"
            click.echo(f"{context}: {exc.format_message()} (see --help)", err=True)
            sys.exit(1)
        except Exception as exc:
            if self.debug:
                raise
            click.echo(f"stage1: {one_line(exc)}", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


"""One log format for `serve`, `worker` and the CLI: structlog renders every record, the service's own and those
of uvicorn, Litestar, SQLAlchemy and Alembic, as `text` (one aligned line) or `json` (one object per line), per
`STAGE1_LOG_FORMAT`. A request's id, bound while it is handled, is on every line it causes."""

from __future__ import annotations

import logging
import sys
from typing import Any, Final

import structlog

from entrypoints.settings import Settings

# Libraries whose INFO lines are start-up noise (Alembic's plugin and context lines, uvicorn's banner):
# the service says what matters itself, one line per store.
QUIET: Final = ("alembic", "uvicorn.error", "uvicorn.access", "httpx", "httpcore", "aiosqlite", "asyncio")


def configure(settings: Settings, *, process: str) -> None:
    """Route the standard library's logging (which everything here uses) through one structlog renderer."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False, pad_event_to=30)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            _with_process(process),
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def _with_process(process: str) -> Any:
    def add(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
        event.setdefault("process", process)
        event.pop("color_message", None)  # uvicorn's copy of the message with terminal colours
        return event

    return add


def mask(url: str) -> str:
    """A store address without its password: `postgresql+asyncpg://stage1:***@host:5432/db`."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, location = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{location}" if ":" in credentials else url


def stores(settings: Settings) -> list[tuple[str, str]]:
    """(store, address) for the start-up lines, passwords masked."""
    timeseries = {
        "duckdb": str((settings.data_dir / "timeseries.duckdb").resolve()),
        "questdb": mask(settings.questdb_http_url),
        "memory": "in memory",
    }[settings.timeseries]
    return [("metadata", mask(settings.metadata_url)), (f"timeseries ({settings.timeseries})", timeseries)]

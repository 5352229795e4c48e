"""What the embedded time-series stores share in their lifecycle: a health answer and nothing to sweep."""

from __future__ import annotations

import time
from typing import Any


def up_since(started: float, backend: str, **details: Any) -> dict[str, Any]:
    """A store's answer to a ping that worked: its backend, `details`, and the ping's time since `started`."""
    return {
        "status": "ok",
        "backend": backend,
        **details,
        "latency_ms": round((time.perf_counter() - started) * 1000, 3),
    }


class OneTransactionWrites:
    """For a store whose every write is one transaction: a dead process leaves nothing behind to sweep."""

    __slots__ = ()

    async def sweep_leftovers(self) -> list[str]:
        return []

"""`stage1 worker` with one change, for the kill tests: after its first measurement drop it prints
`dropped <name>` and hangs before freeing the name, so the test can SIGKILL it in the middle of a drop job.

    python drop_worker_process.py        (settings from the STAGE1_* environment, like `stage1 worker`)
"""

from __future__ import annotations

import dataclasses
from typing import Any

import anyio

from entrypoints.container import open_ports
from entrypoints.settings import Settings
from entrypoints.worker_runtime import build_worker


class HangingAfterFirstDrop:
    """The configured store, except that `drop` hangs once it has dropped a measurement that existed."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def drop(self, measurement: Any) -> None:
        existed = await self._store.describe(measurement) is not None
        await self._store.drop(measurement)
        if not existed:  # a dataset's indicator name with no rows behind it
            return
        print(f"dropped {measurement}", flush=True)
        await anyio.sleep_forever()


async def main() -> None:
    async with open_ports(Settings()) as ports:
        hanging = dataclasses.replace(ports, store=HangingAfterFirstDrop(ports.store))
        await build_worker(hanging, 1).run()


if __name__ == "__main__":
    anyio.run(main)

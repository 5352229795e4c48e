"""`stage1 worker` with one change, for the kill tests: after its first measurement drop it prints
`dropped <name>` and hangs before freeing the name, so the test can SIGKILL it in the middle of a drop job.

With `--on-go` it starts as a plain worker that takes no job until the line `go` arrives on its stdin, and
hangs at a drop only after the line `hang` (answered with `armed`). The test starts one early in each repeat,
so its start-up overlaps the repeat's work, lets it finish that repeat's drop job, and arms it to be the
worker killed mid-drop in the next repeat: one worker start per repeat instead of two.

    python drop_worker_process.py [--on-go]     (settings from the STAGE1_* environment, like `stage1 worker`)
"""

from __future__ import annotations

import dataclasses
import sys
from datetime import timedelta
from typing import Any

import anyio

from entrypoints.container import open_ports
from entrypoints.settings import Settings
from entrypoints.worker_runtime import build_worker


class HangingAfterFirstDrop:
    """The configured store, except that `drop` hangs, once `armed`, when it has dropped a measurement that existed."""

    def __init__(self, store: Any, armed: bool) -> None:
        self._store = store
        self.armed = armed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def drop(self, measurement: Any) -> None:
        existed = await self._store.describe(measurement) is not None
        await self._store.drop(measurement)
        if not existed or not self.armed:  # a dataset's indicator name with no rows behind it
            return
        print(f"dropped {measurement}", flush=True)
        await anyio.sleep_forever()


async def main(on_go: bool) -> None:
    settings = Settings()
    async with open_ports(settings) as ports:
        store = HangingAfterFirstDrop(ports.store, armed=not on_go)
        # The lease `stage1 worker` takes: a killed worker's job moves on once it lapses (3 s in the kill tests).
        lease = timedelta(seconds=settings.job_lease_seconds)
        worker = build_worker(dataclasses.replace(ports, store=store), 1, lease=lease)
        if not on_go:
            await worker.run()
            return
        while (await anyio.to_thread.run_sync(sys.stdin.readline)).strip() != "go":
            pass
        async with anyio.create_task_group() as group:
            group.start_soon(worker.run)
            while line := await anyio.to_thread.run_sync(sys.stdin.readline):
                if line.strip() == "hang":
                    store.armed = True
                    print("armed", flush=True)


if __name__ == "__main__":
    anyio.run(main, "--on-go" in sys.argv[1:])

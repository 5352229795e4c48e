"""`stage1 serve` for the benchmark: uvicorn on `create_app`, optionally under a profiler.

With STAGE1_BENCH_PROFILE=<file> the whole server runs under yappi (all threads: the event loop and the
worker threads that parse, serialize and encode) and writes pstats to <file> when it stops. The variable is
the benchmark's own; the service knows nothing of it. STAGE1_BENCH_TRACE=<file> writes a wall-clock
timeline of the import path instead (see ts_trace.py).
"""

from __future__ import annotations

import os

import uvicorn

from entrypoints.settings import Settings


def main() -> None:
    settings = Settings()
    profile = os.environ.get("STAGE1_BENCH_PROFILE")
    trace = os.environ.get("STAGE1_BENCH_TRACE")
    dump = None
    if trace:
        import ts_trace

        dump = ts_trace.install()
    if profile:
        import yappi

        yappi.set_clock_type(os.environ.get("STAGE1_BENCH_PROFILE_CLOCK", "cpu"))
        yappi.start()
    try:
        uvicorn.run(
            "entrypoints.http.app:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            timeout_graceful_shutdown=5,
        )
    finally:
        if dump is not None and trace:
            dump(trace)
        if profile:
            yappi.stop()
            yappi.get_func_stats().save(profile, type="pstat")


if __name__ == "__main__":
    main()

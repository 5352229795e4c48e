"""Counters and a duration histogram for the worker, rendered as Prometheus text for `/metrics`."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence

DURATION_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

_COUNTERS: dict[str, str] = {
    "claimed": "Jobs claimed by the worker.",
    "completed": "Jobs that completed.",
    "failed": "Jobs that failed for good.",
    "retried": "Failed attempts put back for a retry after a backoff.",
    "cancelled": "Running jobs stopped because they were cancelled.",
    "released": "Jobs handed back unfinished at shutdown.",
    "lost": "Jobs whose lease was lost to another worker before they finished.",
}


class WorkerMetrics:
    """Per job type. Thread-safe so an HTTP server thread may render while the worker counts."""

    def __init__(self, prefix: str = "stage1_jobs", buckets: Sequence[float] = DURATION_BUCKETS) -> None:
        self.prefix = prefix
        self.buckets = tuple(sorted(buckets))
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = {name: defaultdict(int) for name in _COUNTERS}
        self._bucket_counts: dict[str, list[int]] = {}
        self._duration_sum: dict[str, float] = defaultdict(float)
        self._duration_count: dict[str, int] = defaultdict(int)

    def count(self, counter: str, job_type: str, n: int = 1) -> None:
        with self._lock:
            self._counts[counter][job_type] += n

    def observe_duration(self, job_type: str, seconds: float) -> None:
        with self._lock:
            buckets = self._bucket_counts.setdefault(job_type, [0] * len(self.buckets))
            for i, bound in enumerate(self.buckets):
                if seconds <= bound:
                    buckets[i] += 1
            self._duration_sum[job_type] += seconds
            self._duration_count[job_type] += 1

    def value(self, counter: str, job_type: str) -> int:
        with self._lock:
            return self._counts[counter].get(job_type, 0)

    def render(self) -> str:
        """Prometheus text exposition format (version 0.0.4)."""
        lines: list[str] = []
        with self._lock:
            for name, help_text in _COUNTERS.items():
                metric = f"{self.prefix}_{name}_total"
                lines += [f"# HELP {metric} {help_text}", f"# TYPE {metric} counter"]
                counts = sorted(self._counts[name].items())
                lines += [f'{metric}{{type="{_escape(t)}"}} {v}' for t, v in counts]
            metric = f"{self.prefix}_duration_seconds"
            lines += [f"# HELP {metric} Time a handler ran, per attempt.", f"# TYPE {metric} histogram"]
            for job_type, bucket_counts in sorted(self._bucket_counts.items()):
                label = _escape(job_type)
                for bound, n in zip(self.buckets, bucket_counts, strict=True):
                    lines.append(f'{metric}_bucket{{type="{label}",le="{_number(bound)}"}} {n}')
                lines.append(f'{metric}_bucket{{type="{label}",le="+Inf"}} {self._duration_count[job_type]}')
                lines.append(f'{metric}_sum{{type="{label}"}} {self._duration_sum[job_type]}')
                lines.append(f'{metric}_count{{type="{label}"}} {self._duration_count[job_type]}')
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return repr(float(value))

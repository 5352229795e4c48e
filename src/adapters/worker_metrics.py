"""Counters and a duration histogram for the worker, in a prometheus_client registry of its own (one per
worker, so tests and several in-process workers never share counts), rendered for `/metrics`."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

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


class PrometheusWorkerMetrics:
    """Per job type; prometheus_client's metrics are thread-safe, so an HTTP thread may render any time."""

    def __init__(self, prefix: str = "stage1_jobs", buckets: Sequence[float] = DURATION_BUCKETS) -> None:
        self.prefix = prefix
        self.registry = CollectorRegistry(auto_describe=True)
        self._counters = {
            name: Counter(f"{prefix}_{name}", help_text, ["type"], registry=self.registry)
            for name, help_text in _COUNTERS.items()
        }
        self._durations = Histogram(
            f"{prefix}_duration_seconds",
            "Time a handler ran, per attempt.",
            ["type"],
            buckets=tuple(sorted(buckets)),
            registry=self.registry,
        )

    def count(self, counter: str, job_type: str, n: int = 1) -> None:
        self._counters[counter].labels(type=job_type).inc(n)

    def observe_duration(self, job_type: str, seconds: float) -> None:
        self._durations.labels(type=job_type).observe(seconds)

    def value(self, counter: str, job_type: str) -> int:
        sample = self.registry.get_sample_value(f"{self.prefix}_{counter}_total", {"type": job_type})
        return int(sample or 0)

    def render(self) -> str:
        """Prometheus text exposition format."""
        return generate_latest(self.registry).decode()

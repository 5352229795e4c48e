"""Timings and the markdown table of the time-series benchmark."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

MB = 1024 * 1024


@dataclass
class Series:
    """Repeated measurements of one path: seconds per run for a known amount of work."""

    name: str
    rows: int
    seconds: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    idle_rss: list[int] = field(default_factory=list)
    peak_rss: list[int] = field(default_factory=list)
    server_cpu: list[float] = field(default_factory=list)
    store_cpu: list[float] = field(default_factory=list)
    # Seconds until the answer's status and headers arrived: the service sends them with its first chunk.
    first_byte: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, seconds: float, size: int = 0) -> None:
        self.seconds.append(seconds)
        self.sizes.append(size)

    @property
    def best_rate(self) -> float:
        return self.rows / min(self.seconds)

    @property
    def worst_rate(self) -> float:
        return self.rows / max(self.seconds)

    @property
    def median_rate(self) -> float:
        return self.rows / statistics.median(self.seconds)

    @property
    def best_bytes_rate(self) -> float:
        index = self.seconds.index(min(self.seconds))
        return self.sizes[index] / self.seconds[index]

    @property
    def median_bytes_rate(self) -> float:
        return statistics.median(size / seconds for size, seconds in zip(self.sizes, self.seconds, strict=True))

    @property
    def worst_rss(self) -> tuple[int, int]:
        """(idle, peak) of the run whose RSS grew most."""
        return max(zip(self.idle_rss, self.peak_rss, strict=True), key=lambda pair: pair[1] - pair[0])


def rate(value: float) -> str:
    return f"{value:,.0f}"


def mb(value: float) -> str:
    return f"{value / MB:,.0f}"


def verdict(value: float, goal: float, higher_is_better: bool = True) -> str:
    met = value >= goal if higher_is_better else value <= goal
    return "met" if met else "**missed**"


def rate_table(series: list[Series], with_bytes: bool = False, with_store_cpu: bool = False) -> list[str]:
    head = "| path | runs | best rows/s | median rows/s | best s |"
    rule = "|---|---:|---:|---:|---:|"
    if with_bytes:
        head += " best MB/s | median MB/s | MB |"
        rule += "---:|---:|---:|"
    head += " server CPU s (median) |"
    rule += "---:|"
    with_first_byte = any(item.first_byte for item in series)
    if with_first_byte:
        head += " answer starts ms (median) |"
        rule += "---:|"
    if with_store_cpu:
        head += " QuestDB CPU s (median) |"
        rule += "---:|"
    lines = [head, rule]
    for item in series:
        if not item.seconds:
            continue  # a route left out with --routes
        line = (
            f"| {item.name} | {len(item.seconds)} | {rate(item.best_rate)} | {rate(item.median_rate)} "
            f"| {min(item.seconds):.2f} |"
        )
        if with_bytes:
            line += f" {item.best_bytes_rate / MB:,.0f} | {item.median_bytes_rate / MB:,.0f} | {mb(max(item.sizes))} |"
        line += f" {statistics.median(item.server_cpu):.2f} |" if item.server_cpu else " - |"
        if with_first_byte:
            line += f" {statistics.median(item.first_byte) * 1000:.0f} |" if item.first_byte else " - |"
        if with_store_cpu:
            line += f" {statistics.median(item.store_cpu):.2f} |" if item.store_cpu else " - |"
        lines.append(line)
    return lines


def ratio_row(label: str, top: Series, bottom: Series, goal: float) -> str:
    """Best, median and worst of `top` over the same of `bottom`; a path that did not run gives no row."""
    if not top.seconds or not bottom.seconds:
        return ""
    best = top.best_rate / bottom.best_rate
    median = top.median_rate / bottom.median_rate
    worst = top.worst_rate / bottom.worst_rate
    return f"| {label} | {best:.2f} | {median:.2f} | {worst:.2f} | >= {goal:g} | {verdict(median, goal)} |"


RATIO_HEAD = [
    "| ratio (rows/s) | best / best | median / median | worst / worst | goal | verdict (median) |",
    "|---|---:|---:|---:|---:|---|",
]

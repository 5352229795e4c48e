"""A dry run's answer printed for a person: what would be written, and where bars are missing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

SHOWN_GAPS = 10
SHOWN_REJECTED = 10


def _when(ts: int | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def print_preview(console: Console, preview: dict[str, Any]) -> None:
    console.print(f"[bold]Dry run[/] for {escape(preview['measurement'])}: nothing was written.")
    console.print(f"  rows: {preview['rows']:,}   from {_when(preview['first_ts'])} to {_when(preview['last_ts'])} UTC")
    console.print(f"  repeated timestamps: {preview['duplicate_timestamps']:,}")
    columns = Table("column", "type", "nulls", title="Columns", title_justify="left")
    for column in preview["columns"]:
        columns.add_row(escape(column["name"]), column["type"], f"{preview['nulls'].get(column['name'], 0):,}")
    console.print(columns)
    gaps = preview.get("gaps")
    if gaps is None:
        console.print("  gaps: not measured (bars only, with a granularity: --granularity 1h)")
    elif not gaps["count"]:
        console.print(f"  gaps: none at {gaps['interval_s']} s bars")
    else:
        missing = f"{gaps['missing_bars']:,} missing bars at {gaps['interval_s']} s bars"
        console.print(f"  gaps: [yellow]{gaps['count']:,}[/], {missing}")
        table = Table("after", "before", "missing bars", title="Largest gaps", title_justify="left")
        for gap in gaps["largest"][:SHOWN_GAPS]:
            table.add_row(_when(gap["after_ts"]), _when(gap.get("before_ts")), f"{gap['missing_bars']:,}")
        console.print(table)
    if preview.get("rejected_rows"):
        console.print(f"  rejected rows: [yellow]{preview['rejected_rows']:,}[/] (skipped with --on-error skip)")
        for item in preview["rejected"][:SHOWN_REJECTED]:
            where = f"line {item['line']}" if item.get("line") is not None else f"row {item['row']}"
            console.print(f"    {where}: {escape(str(item['reason']))}")

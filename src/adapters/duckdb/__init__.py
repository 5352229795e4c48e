"""The embedded time-series store on a DuckDB file (the default when no QuestDB is configured)."""

from adapters.duckdb.store import DuckDBTimeSeriesStore

__all__ = ["DuckDBTimeSeriesStore"]

"""The QuestDB time-series store: ILP over HTTP in, /exp CSV out, client SQL as a read-only pg user."""

from adapters.questdb.store import QuestDBTimeSeriesStore

__all__ = ["QuestDBTimeSeriesStore"]

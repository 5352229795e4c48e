"""What the three time-series stores (QuestDB, DuckDB, memory) share, so they answer alike.

A frame is stored in one shape everywhere: `timestamp` first, times truncated to microseconds (QuestDB's
TIMESTAMP precision) and handed out as `timestamp[ns]`, integers as int64, floats as float64 with NaN
stored as null (QuestDB's rule), text as string, booleans without nulls (QuestDB's BOOLEAN has none).
"""

"""Durable jobs: the JobQueue port on Postgres, SQLite and memory, and the event feed behind SSE."""

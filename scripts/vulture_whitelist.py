"""Names vulture reports as unused that a protocol makes us accept (read by `vulture`, never imported).

`__aexit__(exc_type, exc, tb)`: the context-manager protocol passes all three; we only look at `exc`.
asyncpg listener callbacks are called as `(connection, pid, channel, payload)`; we only use the payload.
`RecordsById.get(record_id, /)`: a protocol's positional-only parameter, named for the reader only.
"""

exc_type  # type: ignore[name-defined]  # noqa: F821
tb  # type: ignore[name-defined]  # noqa: F821
pid  # type: ignore[name-defined]  # noqa: F821
channel  # type: ignore[name-defined]  # noqa: F821
record_id  # type: ignore[name-defined]  # noqa: F821

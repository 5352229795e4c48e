"""How a page of trades is resumed: the keyset cursor shared by every metadata adapter.

Trades are ordered by `(bar_timestamp, trade_id)` ascending, not newest first, so the generic
`Cursor(created_at, key)` is filled like this: `key` is `"<bar_timestamp ns>:<trade_id>"` and carries the
exact position; `created_at` is the bar time (to the microsecond) only so a decoded cursor reads sensibly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.errors import InvalidInput
from domain.paging import Cursor
from domain.simulations import Trade

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def trade_cursor(trade: Trade) -> Cursor:
    moment = _EPOCH + timedelta(microseconds=trade.bar_timestamp // 1_000)
    return Cursor(moment, f"{trade.bar_timestamp}:{trade.trade_id}")


def trade_position(cursor: Cursor) -> tuple[int, int]:
    """The `(bar_timestamp, trade_id)` a cursor points at; rows strictly after it come next."""
    bar, separator, trade_id = cursor.key.partition(":")
    try:
        if not separator:
            raise ValueError(cursor.key)
        return int(bar), int(trade_id)
    except ValueError as exc:
        raise InvalidInput("after is not a trades cursor", {"field": "after"}) from exc

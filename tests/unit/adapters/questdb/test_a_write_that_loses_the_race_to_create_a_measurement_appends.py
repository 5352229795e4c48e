"""Two first writes to one new measurement: the one whose rename loses appends its rows to the winner's table,
even when QuestDB holds the name a moment before that table answers under it (seen under load in CI)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from adapters.questdb import staged_write
from adapters.questdb.staged_write import Columns, StagedWrite
from domain.errors import UpstreamError
from domain.frames import WriteMode

pytestmark = pytest.mark.anyio

TYPES = {"timestamp": "TIMESTAMP", "open": "DOUBLE"}


class SlowToShowQuestDB:
    """Tables as rows; a table renamed in by another write answers `table_columns` only after `hidden` asks."""

    def __init__(self, hidden: int) -> None:
        self.tables: dict[str, list[str]] = {}
        self.hidden: dict[str, int] = {}
        self.hide_for = hidden

    def winner_renames(self, name: str, rows: list[str]) -> None:
        self.tables[name] = rows
        self.hidden[name] = self.hide_for

    async def exec(self, statement: str, **_: Any) -> dict[str, Any]:
        if found := re.fullmatch(r'RENAME TABLE "(\w+)" TO "(\w+)"', statement):
            source, target = found.groups()
            if target in self.tables:
                raise UpstreamError("cannot rename table, new name is already in use")
            self.tables[target] = self.tables.pop(source)
        elif found := re.fullmatch(r'INSERT INTO "(\w+)" \(.*\) SELECT .* FROM "(\w+)"', statement):
            target, source = found.groups()
            self.tables[target] += self.tables[source]
        elif found := re.fullmatch(r'DROP TABLE IF EXISTS "(\w+)"', statement):
            self.tables.pop(found.group(1), None)
        else:
            raise AssertionError(f"unexpected statement {statement}")
        return {}

    async def columns(self, name: str) -> Columns | None:
        if self.hidden.get(name, 0) > 0:
            self.hidden[name] -= 1
            return None
        return {column: (kind, column == "timestamp") for column, kind in TYPES.items()} if name in self.tables else None


def a_write(questdb: SlowToShowQuestDB, rows: list[str]) -> StagedWrite:
    async def applied(name: str) -> None:
        return None

    write = StagedWrite(questdb, "http::addr=unused:9000;", questdb.columns, applied)  # type: ignore[arg-type]
    questdb.tables[write._staging] = rows
    return write


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(staged_write, "RENAMED_TABLE_WAITS", (0.0,) * 5)


async def test_the_losing_write_appends_to_a_winner_that_answers_late() -> None:
    questdb = SlowToShowQuestDB(hidden=3)
    late = a_write(questdb, ["mine 1", "mine 2"])
    questdb.winner_renames("bars", ["theirs 1"])

    await late._swap("bars", WriteMode.APPEND, dict(TYPES))

    assert questdb.tables == {"bars": ["theirs 1", "mine 1", "mine 2"]}


async def test_a_name_that_never_answers_fails_the_write_and_keeps_the_other_table() -> None:
    questdb = SlowToShowQuestDB(hidden=100)
    late = a_write(questdb, ["mine"])
    questdb.winner_renames("bars", ["theirs"])

    with pytest.raises(UpstreamError, match="already in use"):
        await late._swap("bars", WriteMode.APPEND, dict(TYPES))

    assert questdb.tables["bars"] == ["theirs"]

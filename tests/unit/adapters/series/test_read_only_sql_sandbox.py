"""The read-only SQL check decides on a real parse: reads pass whatever their quoting or parentheses, writes,
several statements and reads of settings, files or other databases are refused, in both dialects."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.series.read_only_sql import check_statement, scrub, unique_names
from domain.errors import Forbidden, InvalidInput
from domain.read_only_sql import ensure_read_only

READS = [
    "SELECT 1",
    "select * from t where x = 'a;b'",
    "SELECT $$a;b$$",
    "(SELECT 1)",
    "((SELECT 1) UNION ALL (SELECT 2))",
    "WITH a AS (SELECT 1) SELECT * FROM a",
    "SELECT 1 UNION SELECT 2",
    "EXPLAIN SELECT 1",
    "EXPLAIN ANALYZE SELECT 1",
    "-- note; with a semicolon\nSELECT 1",
    "/* c; */ select 2",
    'SELECT "we;ird" FROM "t;x"',
    "SELECT 1 AS a, 2 AS a",
    "SELECT * FROM range(10)",
    "SELECT count(*) FROM t a JOIN t b USING (timestamp)",
    "DESCRIBE t",
]
WRITES = [
    "INSERT INTO t VALUES (1)",
    "DROP TABLE t",
    "select 1; drop table t",
    "SELECT $$x$$; SELECT 2",
    "TRUNCATE TABLE t",
    "ALTER TABLE t ADD COLUMN x INT",
    "CREATE TABLE x (a INT)",
    "UPDATE t SET a = 1",
    "DELETE FROM t",
    "COPY t TO 'out.csv'",
    "/* select */ DELETE FROM t",
    "SET memory_limit = '100GB'",
    "PRAGMA database_list",
    "EXPLAIN DELETE FROM t",
]
LEAKS = [
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM duckdb_settings",
    "SELECT name FROM duckdb_databases()",
    "SELECT current_setting('home_directory')",
    "SELECT getenv('HOME')",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('secret.txt')",
    "SELECT * FROM query('SELECT * FROM duckdb_settings()')",
    "SELECT * FROM pragma_database_list",
    "SELECT * FROM other.main.t",
    "WITH s AS (SELECT * FROM duckdb_settings()) SELECT * FROM s",
    "SELECT (SELECT value FROM duckdb_settings() LIMIT 1)",
]


@pytest.mark.parametrize("dialect", ["duckdb", "postgres"])
@pytest.mark.parametrize("sql", READS)
def test_read_statements_pass_the_check(sql: str, dialect: str) -> None:
    check_statement(sql, dialect)  # type: ignore[arg-type]


@pytest.mark.parametrize("dialect", ["duckdb", "postgres"])
@pytest.mark.parametrize("sql", WRITES + LEAKS)
def test_writes_several_statements_and_reads_of_settings_or_files_are_forbidden(sql: str, dialect: str) -> None:
    with pytest.raises(Forbidden):
        check_statement(sql, dialect)  # type: ignore[arg-type]


def test_a_duckdb_file_listing_is_forbidden() -> None:
    with pytest.raises(Forbidden):
        check_statement("SELECT * FROM glob('*')", "duckdb")


@pytest.mark.parametrize("sql", ["SELECT * FROM t SAMPLE BY 1h", "SELECT * FROM t LATEST ON ts PARTITION BY s"])
def test_questdb_dialect_sqlglot_cannot_parse_is_left_to_the_engine(sql: str) -> None:
    assert check_statement(sql, "postgres") is False


@pytest.mark.parametrize("sql", ["   ", " ; ", ";;"])
def test_empty_sql_is_bad_input(sql: str) -> None:
    with pytest.raises(InvalidInput):
        ensure_read_only(sql)


def test_too_long_sql_is_bad_input() -> None:
    with pytest.raises(InvalidInput):
        ensure_read_only("SELECT 1 " + " " * 100_000)


@pytest.mark.parametrize(
    ("message", "scrubbed"),
    [
        ('IO Error: No files found that match the pattern "/home/alice/data/x.csv"', "<path>"),
        ("Permission Error: cannot open /srv/stage1-data/timeseries.duckdb.wal", "<path>"),
        ("Catalog Error: Table with name nope does not exist!", "Table with name nope"),
        ("Binder Error: 1/0 is not a path", "1/0"),
    ],
)
def test_relayed_errors_lose_the_servers_folders(message: str, scrubbed: str) -> None:
    out = scrub(message)
    assert scrubbed in out
    assert "/home/" not in out and "/srv/" not in out


@given(st.lists(st.sampled_from(["a", "b", "a_1", "timestamp", "timestamp_1"]), max_size=12))
def test_result_columns_come_out_distinct_keeping_the_first_names(names: list[str]) -> None:
    out = unique_names(names)
    assert len(out) == len(names) and len(set(out)) == len(out)
    first_seen = {name: index for index, name in reversed(list(enumerate(names)))}
    for name, index in first_seen.items():
        assert out[index] == name or name in out[:index]

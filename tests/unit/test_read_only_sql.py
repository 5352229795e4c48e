import pytest

from domain.errors import Forbidden, InvalidInput
from domain.read_only_sql import ensure_read_only


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "select * from t where x = 'a;b'",
        "WITH a AS (SELECT 1) SELECT * FROM a",
        "SHOW TABLES",
        "EXPLAIN SELECT 1",
        "  select 1 ;  ",
        "-- note\nSELECT 1",
        "/* c */ select 2",
    ],
)
def test_single_read_statements_are_allowed(sql: str) -> None:
    assert ensure_read_only(sql) == sql.strip().rstrip(";").strip()


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO t VALUES (1)",
        "DROP TABLE t",
        "select 1; drop table t",
        "TRUNCATE TABLE t",
        "ALTER TABLE t ADD COLUMN x INT",
        "CREATE TABLE x (a INT)",
        "UPDATE t SET a = 1",
        "COPY t FROM 'x'",
        "/* select */ DELETE FROM t",
        "select 1;select 2",
    ],
)
def test_writes_ddl_and_several_statements_are_forbidden(sql: str) -> None:
    with pytest.raises(Forbidden):
        ensure_read_only(sql)


def test_empty_sql_is_bad_input() -> None:
    with pytest.raises(InvalidInput):
        ensure_read_only("   ")

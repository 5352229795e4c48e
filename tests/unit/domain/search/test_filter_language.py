import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.search_strategies import expressions

from domain.errors import InvalidInput
from domain.search.errors import SearchSyntaxError
from domain.search.fields import RUNS, SIMULATIONS
from domain.search.ordering import parse_fields, parse_order_by
from domain.search.parser import parse_filter
from domain.search.printer import to_text
from domain.search.tree import And, Compare, InList, IsNull, Like, Literal, LiteralType, Not, Op, Or


def f(name: str):  # type: ignore[no-untyped-def]
    ref = RUNS.resolve(name)
    assert ref is not None
    return ref


def test_the_done_when_expression_parses_with_and_binding_tighter_than_or() -> None:
    expr = parse_filter("metrics.sharpe > 1.2 and (params.max_depth in (3, 5) or tags.owner = 'ana')", RUNS)
    assert expr == And(
        (
            Compare(f("metrics.sharpe"), Op.GT, Literal(LiteralType.NUMBER, 1.2)),
            Or(
                (
                    InList(f("params.max_depth"), (Literal(LiteralType.NUMBER, 3), Literal(LiteralType.NUMBER, 5))),
                    Compare(f("tags.owner"), Op.EQ, Literal(LiteralType.TEXT, "ana")),
                )
            ),
        )
    )


def test_not_binds_tighter_than_and_which_binds_tighter_than_or() -> None:
    expr = parse_filter("NOT status = 'A' AND name IS NULL OR name LIKE 'x%'", RUNS)
    assert expr == Or(
        (
            And((Not(Compare(f("status"), Op.EQ, Literal(LiteralType.TEXT, "A"))), IsNull(f("name")))),
            Like(f("name"), "x%"),
        )
    )


def test_keywords_are_case_insensitive_and_quotes_are_doubled() -> None:
    expr = parse_filter("name not like 'it''s%' Or name Is Not Null oR metrics.x = TRUE", RUNS)
    assert expr == Or(
        (
            Like(f("name"), "it's%", negated=True),
            IsNull(f("name"), negated=True),
            Compare(f("metrics.x"), Op.EQ, Literal(LiteralType.BOOLEAN, True)),
        )
    )


def test_a_string_compared_with_an_at_field_is_read_as_a_time() -> None:
    expr = parse_filter("created_at >= '2026-11-23T00:00:00Z'", RUNS)
    assert isinstance(expr, Compare) and expr.literal.type is LiteralType.TIME
    assert expr.literal.value is not None and str(expr.literal.value) == "2026-11-23 00:00:00+00:00"


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("metrics.sharpe >", 16, "number"),
        ("bogus = 1", 0, "metrics.<key>"),
        ("(status = 'A'", 13, ")"),
        ("status = 'A' status", 13, "AND"),
        ("created_at > 'yesterday'", 13, "ISO-8601 time"),
        ("fold_count LIKE 'a'", 11, "="),
        ("status = 'open", 14, "'"),
        ("status ~ 1", 7, "operator"),
        ("", 0, "field"),
        ("run_id > 'x'", 7, "="),
        ("params.x IS 3", 12, "NULL"),
    ],
)
def test_a_malformed_expression_names_the_position_and_what_was_expected(
    text: str, position: int, expected: str
) -> None:
    with pytest.raises(SearchSyntaxError) as caught:
        parse_filter(text, RUNS)
    details = caught.value.details
    assert details["field"] == "filter"
    assert details["position"] == position
    assert expected in details["expected"]
    assert isinstance(caught.value, InvalidInput)


def test_simulation_fields_reach_buckets_and_the_parent_run() -> None:
    expr = parse_filter(
        "buckets.short.total_pnl < 0 and buckets.long.total_pnl > 0 and run.metrics.sharpe > 1", SIMULATIONS
    )
    assert isinstance(expr, And)
    assert [c.field.path for c in expr.operands if isinstance(c, Compare)] == [
        ("buckets", "short", "total_pnl"),
        ("buckets", "long", "total_pnl"),
        ("run", "summary_metrics", "sharpe"),
    ]
    with pytest.raises(SearchSyntaxError):
        parse_filter("buckets.middle.total_pnl < 0", SIMULATIONS)


def test_order_by_takes_directions_and_fields_take_names() -> None:
    keys = parse_order_by("metrics.sharpe desc, created_at ASC, name", RUNS)
    assert [(k.field.name, k.descending) for k in keys] == [
        ("metrics.sharpe", True),
        ("created_at", False),
        ("name", False),
    ]
    assert [x.name for x in parse_fields("metrics.sharpe,params.eta,tags.owner", RUNS)] == [
        "metrics.sharpe",
        "params.eta",
        "tags.owner",
    ]
    with pytest.raises(SearchSyntaxError) as caught:
        parse_order_by("metrics.sharpe sideways", RUNS)
    assert caught.value.details == {"field": "order_by", "position": 15, "expected": [",", "asc", "desc"]}


@settings(max_examples=150, deadline=None)
@given(expressions())
def test_any_expression_prints_as_text_that_parses_back_to_it(expr) -> None:  # type: ignore[no-untyped-def]
    assert parse_filter(to_text(expr), RUNS) == expr


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(max_size=80),
        st.lists(
            st.sampled_from(
                [
                    "metrics.a",
                    "status",
                    "(",
                    ")",
                    "AND",
                    "or",
                    "not",
                    "in",
                    "like",
                    "is",
                    "null",
                    "=",
                    "<=",
                    "'x'",
                    "'",
                    "1",
                    "-2.5e3",
                    ",",
                    "1e999",
                    "99999999999999999999",
                    "created_at",
                    "run_id",
                ]
            ),
            max_size=12,
        ).map(" ".join),
    )
)
def test_no_text_raises_anything_but_the_parse_error(text: str) -> None:
    for parse in (
        lambda: parse_filter(text, RUNS),
        lambda: parse_order_by(text, RUNS),
        lambda: parse_fields(text, SIMULATIONS),
    ):
        try:
            parse()
        except SearchSyntaxError as exc:
            assert 0 <= exc.details["position"] <= len(text)
            assert exc.details["expected"]


def test_deep_nesting_is_a_parse_error_not_a_crash() -> None:
    with pytest.raises(SearchSyntaxError):
        parse_filter("(" * 5000 + "status = 'A'" + ")" * 5000, RUNS)

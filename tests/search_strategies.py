"""Hypothesis strategies for search expressions, shared by the parser tests and the differential test."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from hypothesis import strategies as st

from domain.search.fields import RUNS, FieldRef, ValueType
from domain.search.tree import And, Compare, Expr, InList, IsNull, Like, Literal, LiteralType, Not, Op, Or

# Text the stores keep byte for byte: quotes, LIKE wildcards, case and a non-ASCII letter, no NUL.
ALPHABET = st.sampled_from(list("aAbB_%' é1"))
TEXTS = st.text(ALPHABET, max_size=4)
# Numbers every store holds exactly (halves), so a tie in one store is a tie in all of them.
NUMBERS = st.one_of(st.integers(-3, 3), st.integers(-6, 6).map(lambda n: n / 2))
MOMENTS = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))

JSON_KEYS = ("a", "b")
RUN_FIELDS = [
    *(RUNS.resolve(f"{group}.{key}") for group in ("metrics", "params", "tags") for key in JSON_KEYS),
    *(RUNS.resolve(name) for name in ("status", "name", "fold_count", "created_at", "completed_at", "run_id")),
    *(RUNS.resolve(name) for name in ("dataset.symbol", "target_column", "stale")),
]


def literal_for(field: FieldRef) -> st.SearchStrategy[Literal]:
    plain = st.one_of(
        NUMBERS.map(lambda v: Literal(LiteralType.NUMBER, v)),
        TEXTS.map(lambda v: Literal(LiteralType.TEXT, v)),
        st.booleans().map(lambda v: Literal(LiteralType.BOOLEAN, v)),
        st.just(Literal(LiteralType.NULL, None)),
    )
    if field.type is ValueType.TIME:
        return st.one_of(
            MOMENTS.map(lambda v: Literal(LiteralType.TIME, v)), NUMBERS.map(lambda v: Literal(LiteralType.NUMBER, v))
        )
    if field.type is ValueType.ID:
        return st.uuids().map(lambda v: Literal(LiteralType.ID, str(v)))
    return plain


@st.composite
def predicates(draw: st.DrawFn, fields: list[FieldRef | None] = RUN_FIELDS) -> Expr:  # type: ignore[assignment]
    field = draw(st.sampled_from(fields))
    assert field is not None
    kinds = ["compare", "in", "null"] + (["like"] if field.type in (ValueType.TEXT, ValueType.JSON) else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "compare":
        ops = [Op.EQ, Op.NE] if field.type is ValueType.ID else list(Op)
        return Compare(field, draw(st.sampled_from(ops)), draw(literal_for(field)))
    if kind == "in":
        return InList(field, tuple(draw(st.lists(literal_for(field), min_size=1, max_size=3))), draw(st.booleans()))
    if kind == "like":
        return Like(field, draw(TEXTS), draw(st.booleans()))
    return IsNull(field, draw(st.booleans()))


def expressions(fields: list[FieldRef | None] = RUN_FIELDS) -> st.SearchStrategy[Expr]:
    return st.recursive(
        predicates(fields),
        lambda children: st.one_of(
            children.map(Not),
            st.lists(children, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
            st.lists(children, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
        ),
        max_leaves=6,
    )


def fixed_uuid(n: int) -> UUID:
    return UUID(int=n)

"""The search tree as SQLAlchemy Core, for Postgres (JSONB operators) and SQLite (`json_extract`).

Every comparison reads a JSON value only when its type fits (a number as a number, a string as text in
code point order, a boolean as a boolean), so mixed types are false, as in `domain.search.semantics`.
Leaves in a positive position may yield NULL (it acts as false there, and keeps expressions sargable);
under NOT each leaf is wrapped in COALESCE(..., false) so NOT of an unknown is true, as in memory.
Every literal and every JSON key is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Double,
    Integer,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    exists,
    false,
    func,
    not_,
    null,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy import (
    literal as sa_literal,
)
from sqlalchemy.dialects.postgresql import JSONB

from domain.search.fields import FieldRef, ValueType
from domain.search.query import SortPosition
from domain.search.semantics import RANK_BOOLEAN, RANK_NULL, RANK_NUMBER, RANK_TEXT
from domain.search.tree import And, Compare, Expr, InList, IsNull, Like, Literal, LiteralType, Not, Op, Or

Sql = ColumnElement[Any]
Condition = ColumnElement[bool]

# The literal types a typed column compares with; any other literal makes the comparison false.
_COLUMN_LITERALS = {
    ValueType.TEXT: LiteralType.TEXT,
    ValueType.NUMBER: LiteralType.NUMBER,
    ValueType.TIME: LiteralType.TIME,
    ValueType.ID: LiteralType.ID,
    ValueType.BOOLEAN: LiteralType.BOOLEAN,
}
_JSON_RANKS = {LiteralType.NUMBER: RANK_NUMBER, LiteralType.TEXT: RANK_TEXT, LiteralType.BOOLEAN: RANK_BOOLEAN}
_COMPARE: dict[Op, Callable[[Any, Any], Condition]] = {
    Op.EQ: lambda a, b: a == b,
    Op.NE: lambda a, b: a != b,
    Op.LT: lambda a, b: a < b,
    Op.LE: lambda a, b: a <= b,
    Op.GT: lambda a, b: a > b,
    Op.GE: lambda a, b: a >= b,
}


# A hyperparameter is probed in its side table for a range only: `=` stays a containment the GIN index answers.
_RANGES = (Op.LT, Op.LE, Op.GT, Op.GE)


@dataclass(frozen=True, slots=True)
class MetricValues:
    """A side table that holds `document`'s numeric keys as rows (migrations 0013, 0015), and the owner's id.
    `narrows`: a range over it starts the ids-first narrowing (`Translator.narrowing`)."""

    document: Sql
    table: Table
    ident: Sql
    narrows: bool = False


@dataclass(frozen=True, slots=True)
class JsonKey:
    document: Sql | None  # None: the column does not exist (yet), every key is missing
    key: str


Resolve = Callable[[FieldRef], "Sql | JsonKey"]


class Translator:
    """One dialect's way to read a JSON key; the tree walk and the sort are shared."""

    def __init__(
        self,
        dialect: str,
        resolve: Resolve,
        sides: tuple[MetricValues, ...] = (),
        numbers: dict[FieldRef, Sql] | None = None,
    ) -> None:
        self._postgres = dialect == "postgresql"
        self._resolve = resolve
        self._sides = sides
        # Fields read as a number column instead, in a query over only the rows where they are numbers
        # (the metric a search sorts by, read from its side table: `search_sorted`).
        self._numbers = numbers or {}

    @property
    def postgres(self) -> bool:
        return self._postgres

    def numeric(self, field: FieldRef, value: Sql) -> Translator:
        """This translator, reading `field` as the number column `value` (every row has it)."""
        dialect = "postgresql" if self._postgres else "sqlite"
        return Translator(dialect, self._resolve, self._sides, {**self._numbers, field: value})

    def not_a_number(self, field: FieldRef) -> Condition:
        """Rows whose `field` (a JSON key) is not a number: the rest of a result sorted by it."""
        target = self._resolve(field)
        assert isinstance(target, JsonKey)
        return self.json_rank(target) != RANK_NUMBER

    # ------------------------------------------------------------ JSON access per dialect

    def _json_type(self, ref: JsonKey) -> Sql:
        if ref.document is None:
            return null()
        if self._postgres:
            return func.jsonb_typeof(self._pg(ref))
        return func.json_type(ref.document, self._path(ref.key))

    def json_rank(self, ref: JsonKey) -> Sql:
        kind = self._json_type(ref)
        if self._postgres:
            whens = {"number": RANK_NUMBER, "string": RANK_TEXT, "boolean": RANK_BOOLEAN}
        else:
            whens = {
                "integer": RANK_NUMBER,
                "real": RANK_NUMBER,
                "text": RANK_TEXT,
                "true": RANK_BOOLEAN,
                "false": RANK_BOOLEAN,
            }
        return case(whens, value=kind, else_=RANK_NULL)

    def _json_value(self, ref: JsonKey, rank: int) -> Sql:
        """The value to compare or sort by, meaningful among rows of that rank only."""
        if ref.document is None:
            return null()
        if self._postgres:
            raw: Sql = self._pg(ref).astext.collate("C") if rank == RANK_TEXT else self._pg(ref)
            return raw  # jsonb orders numbers numerically and false before true
        extracted: Sql = func.json_extract(ref.document, self._path(ref.key))
        return extracted

    def _json_bind(self, value: Any) -> Sql:
        if self._postgres and not isinstance(value, str):
            return bindparam(None, value, type_=JSONB)
        if isinstance(value, bool):
            return bindparam(None, int(value), type_=Integer)  # json_extract reads true as 1
        return bindparam(None, value)

    def _pg(self, ref: JsonKey) -> Any:
        return type_coerce(ref.document, JSONB)[bindparam(None, ref.key, type_=String)]

    @staticmethod
    def _path(key: str) -> Any:
        return bindparam(None, f'$."{key}"', type_=String)

    def _text(self, column: Sql) -> Sql:
        return column.collate("C") if self._postgres else column

    def _like(self, value: Sql, pattern: str) -> Condition:
        if self._postgres:
            return value.like(bindparam(None, pattern.replace("\\", "\\\\"), type_=String))
        # SQLite's LIKE ignores ASCII case; GLOB does not. Its own wildcards are made literal first.
        glob = "".join({"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}.get(c, c) for c in pattern)
        return value.op("GLOB", is_comparison=True)(bindparam(None, glob, type_=String))

    # ------------------------------------------------------------ filter

    def where(self, expr: Expr, negated: bool = False) -> Condition:
        if isinstance(expr, Not):
            return self.where(expr.operand, not negated)
        if isinstance(expr, And | Or):
            parts = [self.where(operand, negated) for operand in expr.operands]
            return or_(*parts) if isinstance(expr, And) == negated else and_(*parts)
        leaf = self._leaf(expr)
        return not_(func.coalesce(leaf, false())) if negated else leaf

    def _leaf(self, expr: Compare | InList | Like | IsNull) -> Condition:
        number = self._numbers.get(expr.field)
        if number is not None:
            return self._number_leaf(number, expr)
        target = self._resolve(expr.field)
        if isinstance(expr, Compare):
            return self._compare(target, expr.field, expr.op, expr.literal)
        if isinstance(expr, InList):
            op = Op.NE if expr.negated else Op.EQ
            parts = [self._compare(target, expr.field, op, literal) for literal in expr.literals]
            return and_(*parts) if expr.negated else or_(*parts)
        if isinstance(expr, Like):
            if isinstance(target, JsonKey):
                text_value = self._json_value(target, RANK_TEXT)
                matched = self._like(text_value, expr.pattern)
                return and_(self.json_rank(target) == RANK_TEXT, not_(matched) if expr.negated else matched)
            matched = self._like(target, expr.pattern)
            return not_(matched) if expr.negated else matched
        if isinstance(target, JsonKey):
            is_null = func.coalesce(self._json_type(target), "null") == "null"
        else:
            is_null = target.is_(None)
        return not_(is_null) if expr.negated else is_null

    @staticmethod
    def _number_leaf(number: Sql, expr: Compare | InList | Like | IsNull) -> Condition:
        """A leaf over a field known to be a number in every row: as in memory for a JSON number."""
        if isinstance(expr, Compare | InList):
            literals = [expr.literal] if isinstance(expr, Compare) else list(expr.literals)
            op = expr.op if isinstance(expr, Compare) else Op.NE if expr.negated else Op.EQ
            parts = [
                _COMPARE[op](number, bindparam(None, lit.value, type_=Double))
                if lit.type is LiteralType.NUMBER
                else false()
                for lit in literals
            ]
            return and_(*parts) if isinstance(expr, InList) and expr.negated else or_(*parts)
        if isinstance(expr, Like):
            return false()  # LIKE matches strings only, whether negated or not
        return constant(expr.negated)  # IS NOT NULL

    def _compare(self, target: Sql | JsonKey, field: FieldRef, op: Op, literal: Literal) -> Condition:
        if literal.type is LiteralType.NULL:
            return false()
        if isinstance(target, JsonKey):
            rank = _JSON_RANKS.get(literal.type)
            if rank is None:
                return false()
            side = self._side(target) if rank == RANK_NUMBER else None
            if side is not None and (op in _RANGES or not side.narrows):
                # A number against a metric or hyperparameter: a probe of its side table, which the planner
                # has statistics for (a JSON expression gets a guessed, far too small selectivity).
                values = side.table.alias()
                return exists().where(
                    values.c[str(side.ident.key)] == side.ident, *_side_range(values, target.key, op, literal)
                )
            if self._postgres and op is Op.EQ and target.document is not None:
                # Containment means the same (same type, numbers by value) and can use the GIN index.
                probe = bindparam(None, {target.key: literal.value}, type_=JSONB)
                contained: Condition = type_coerce(target.document, JSONB).contains(probe)
                return contained
            value = self._json_value(target, rank)
            return and_(self.json_rank(target) == rank, _COMPARE[op](value, self._json_bind(literal.value)))
        if _COLUMN_LITERALS[field.type] is not literal.type:
            return false()
        plain = UUID(str(literal.value)) if literal.type is LiteralType.ID else literal.value
        column = self._text(target) if field.type is ValueType.TEXT else target
        # A number is bound as the number it is: as the column's integer type 0.5 would turn into 0.
        bound = bindparam(None, plain) if literal.type is LiteralType.NUMBER else sa_literal(plain, type_=target.type)
        return _COMPARE[op](column, bound)

    def _side(self, target: JsonKey) -> MetricValues | None:
        return next((side for side in self._sides if side.document is target.document), None)

    def narrowing(self, expr: Expr) -> tuple[Condition, Expr | None] | None:
        """The ids first, for a filter that ANDs a numeric range of a narrowing side table (hyperparameters)
        with at least one more indexed condition: `id IN (ids of each, intersected)`, or None.

        Each id set is one index-only scan (side table by (key, value, id); status by (status, id)), so the
        wide owner rows are read for the matches only, not for every row of the most selective condition
        the planner can estimate. It means exactly the conditions it covers: the rest of the filter (or None)
        is answered alongside, as before."""
        found = self.id_set(expr, every_side=True)
        if found is None:
            return None
        narrowed, rest = found
        return self._sides[0].ident.in_(narrowed), rest

    def id_set(self, expr: Expr, every_side: bool = False) -> tuple[Select[Any], Expr | None] | None:
        """The ids of the rows that meet the filter's numeric ranges of a narrowing side table and its status,
        as one statement, and the rest of the filter; None when the filter ANDs no such range.

        `every_side`: ranges of the other side tables (metrics) join the set too, and it takes two
        conditions at least (`narrowing`)."""
        narrowing = [side for side in self._sides if side.narrows]
        if not narrowing:
            return None
        ident = narrowing[0].ident
        ids: list[tuple[Any, list[Condition]]] = []  # (a table's alias, its id column's conditions)
        narrows = False
        rest: list[Expr] = []
        for leaf in expr.operands if isinstance(expr, And) else (expr,):
            if not isinstance(leaf, Compare):
                rest.append(leaf)
                continue
            target = self._resolve(leaf.field)
            side = self._side(target) if isinstance(target, JsonKey) else None
            ranged = leaf.op in _RANGES and leaf.literal.type is LiteralType.NUMBER
            if isinstance(target, JsonKey) and side and ranged and (every_side or side.narrows):
                values = side.table.alias()
                ids.append((values, _side_range(values, target.key, leaf.op, leaf.literal)))
                narrows = narrows or side.narrows
            elif leaf.field.path == ("status",) and leaf.op is Op.EQ and leaf.literal.type is LiteralType.TEXT:
                owner = ident.table.alias()
                ids.append((owner, [owner.c.status == bindparam(None, leaf.literal.value)]))
            else:
                rest.append(leaf)
        if not narrows or len(ids) < (2 if every_side else 1):
            return None
        # Joined on the id rather than INTERSECTed: the planner estimates a join from each side's statistics
        # and hashes the smaller sides.
        key = str(ident.key)
        first = ids[0][0]
        narrowed = select(first.c[key]).select_from(first)
        for alias, _conditions in ids[1:]:
            narrowed = narrowed.join(alias, alias.c[key] == first.c[key])
        narrowed = narrowed.where(*(condition for _alias, conditions in ids for condition in conditions))
        return narrowed, None if not rest else rest[0] if len(rest) == 1 else And(tuple(rest))

    # ------------------------------------------------------------ order and keyset

    def rank(self, field: FieldRef) -> Sql:
        if field in self._numbers:
            return sa_literal(RANK_NUMBER)
        target = self._resolve(field)
        if isinstance(target, JsonKey):
            return self.json_rank(target)
        ranked = {ValueType.TEXT: RANK_TEXT, ValueType.BOOLEAN: RANK_BOOLEAN}.get(field.type, RANK_NUMBER)
        return case((target.is_(None), RANK_NULL), else_=ranked)

    def sort_values(self, field: FieldRef) -> list[Sql]:
        """After the rank: the value columns to order by (within one rank only one of them varies)."""
        if field in self._numbers:
            return [self._numbers[field]]
        target = self._resolve(field)
        if not isinstance(target, JsonKey):
            return [self._text(target) if field.type is ValueType.TEXT else target]
        if self._postgres:
            kind = self.json_rank(target)
            raw = self._json_value(target, RANK_NUMBER)
            return [
                case((kind.in_([RANK_NUMBER, RANK_BOOLEAN]), raw), else_=null()),
                case((kind == RANK_TEXT, self._json_value(target, RANK_TEXT)), else_=null()),
            ]
        # Objects and lists rank with null: their JSON text must not order them among themselves.
        return [case((self.json_rank(target) != RANK_NULL, self._json_value(target, RANK_NUMBER)), else_=null())]

    def position_value(self, field: FieldRef, rank: int) -> tuple[Sql, Any]:
        """The expression and the bind of one cursor key, for rows of the cursor's rank."""
        target = self._resolve(field)
        if isinstance(target, JsonKey):
            return self._json_value(target, rank), None
        return (self._text(target) if field.type is ValueType.TEXT else target), target.type

    def after(self, keys: list[tuple[FieldRef, bool]], position: SortPosition, created: Sql, ident: Sql) -> Condition:
        """Rows strictly after `position` in the order (keys..., created_at desc, id desc)."""
        tail: Condition = or_(
            created < position.created_at, and_(created == position.created_at, ident < position.ident)
        )
        for (field, descending), (rank, value) in reversed(list(zip(keys, position.keys, strict=True))):
            number = self._numbers.get(field)
            if number is not None:
                # Every row here has a number (the cursor's rank says the same); the inclusive bound
                # lets an index on the value start at the cursor rather than filter from the top.
                at = bindparam(None, value, type_=Double)
                beyond, reached = (number < at, number <= at) if descending else (number > at, number >= at)
                tail = and_(reached, or_(beyond, and_(number == at, tail))) if rank == RANK_NUMBER else false()
                continue
            kind = self.rank(field)
            if rank == RANK_NULL:
                tail = and_(kind == RANK_NULL, tail)
                continue
            expr, column_type = self.position_value(field, rank)
            bound = self._json_bind(value) if column_type is None else sa_literal(value, type_=column_type)
            beyond = expr < bound if descending else expr > bound
            tail = or_(kind > rank, and_(kind == rank, or_(beyond, and_(expr == bound, tail))))
        return tail


def _side_range(values: Any, key: str, op: Op, literal: Literal) -> list[Condition]:
    return [
        values.c.key == bindparam(None, key, type_=String),
        _COMPARE[op](values.c.value, bindparam(None, literal.value, type_=Double)),
    ]


def constant(value: bool) -> Condition:
    return true() if value else false()

"""A recursive-descent parser for the filter language.

Hand-written on purpose: the domain imports the standard library only (import-linter enforces it), and
the grammar is a dozen rules, so a parser generator (lark, pyparsing) would be a dependency in the wrong
layer for less code than its grammar file. Precedence, lowest first: OR, AND, NOT, then a predicate or a
parenthesised expression. Keywords are case-insensitive.

    expression := or
    or         := and ("OR" and)*
    and        := not ("AND" not)*
    not        := "NOT" not | "(" or ")" | predicate
    predicate  := field ( op literal | ["NOT"] "IN" "(" literal ("," literal)* ")"
                        | ["NOT"] "LIKE" string | "IS" ["NOT"] "NULL" )
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from uuid import UUID

from domain.search.errors import SearchSyntaxError
from domain.search.fields import Catalog, FieldRef, ValueType
from domain.search.tokens import Kind, Token, tokenize
from domain.search.tree import And, Compare, Expr, InList, IsNull, Like, Literal, LiteralType, Not, Op, Or

OPERATORS = [op.value for op in Op]
PREDICATE_WORDS = [*OPERATORS, "IN", "NOT IN", "LIKE", "NOT LIKE", "IS NULL", "IS NOT NULL"]
LITERALS = ["number", "'string'", "true", "false", "null"]
KEYWORDS = {"AND", "OR", "NOT", "IN", "LIKE", "IS", "NULL", "TRUE", "FALSE"}
MAX_INTEGER = 2**63 - 1
MAX_DEPTH = 64
MAX_IN_LIST = 1000


def parse_filter(text: str, catalog: Catalog, parameter: str = "filter") -> Expr:
    return _Parser(tokenize(text, parameter), catalog, parameter).expression()


def parse_time(text: str) -> datetime | None:
    """ISO-8601 as UTC; a time without a zone is UTC, the only zone the service writes."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class _Parser:
    def __init__(self, tokens: list[Token], catalog: Catalog, parameter: str) -> None:
        self._tokens = tokens
        self._at = 0
        self._catalog = catalog
        self._parameter = parameter
        self._depth = 0

    # ------------------------------------------------------------ plumbing

    @property
    def _token(self) -> Token:
        return self._tokens[self._at]

    def _at_end(self) -> bool:
        return self._token.kind is Kind.END

    def _advance(self) -> Token:
        token = self._tokens[self._at]
        self._at += 1
        return token

    def _fail(self, message: str, expected: list[str], token: Token | None = None) -> SearchSyntaxError:
        where = token or self._token
        return SearchSyntaxError(message, parameter=self._parameter, position=where.position, expected=expected)

    def _keyword(self, word: str) -> bool:
        if self._token.is_keyword(word):
            self._at += 1
            return True
        return False

    def _expect(self, kind: Kind, expected: str) -> Token:
        if self._token.kind is not kind:
            raise self._fail(f"expected {expected}", [expected])
        return self._advance()

    # ------------------------------------------------------------ grammar

    def expression(self) -> Expr:
        if self._at_end():
            raise self._fail("the expression is empty", ["field", "(", "NOT"])
        expr = self._or()
        if not self._at_end():
            raise self._fail(f"unexpected {self._token.text!r}", ["AND", "OR", "end of expression"])
        return expr

    def _or(self) -> Expr:
        operands = [self._and()]
        while self._keyword("OR"):
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def _and(self) -> Expr:
        operands = [self._not()]
        while self._keyword("AND"):
            operands.append(self._not())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def _not(self) -> Expr:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise self._fail(f"the expression nests deeper than {MAX_DEPTH}", ["field"])
        try:
            if self._keyword("NOT"):
                return Not(self._not())
            if self._token.kind is Kind.LPAREN:
                self._advance()
                inner = self._or()
                self._expect(Kind.RPAREN, ")")
                return inner
            return self._predicate()
        finally:
            self._depth -= 1

    def _predicate(self) -> Expr:
        field = self._field()
        token = self._token
        if token.kind is Kind.OPERATOR:
            self._advance()
            op = Op("!=" if token.text == "<>" else token.text)
            if field.type is ValueType.ID and op not in (Op.EQ, Op.NE):
                raise self._fail(f"{field.name} compares only with = and !=", ["=", "!=", "IN", "IS NULL"], token)
            return Compare(field, op, self._literal(field))
        if self._keyword("IS"):
            negated = self._keyword("NOT")
            if not self._keyword("NULL"):
                raise self._fail("expected NULL", ["NULL"] if negated else ["NULL", "NOT"])
            return IsNull(field, negated)
        negated = self._keyword("NOT")
        if self._keyword("IN"):
            return InList(field, self._literal_list(field), negated)
        if self._token.is_keyword("LIKE"):
            like = self._advance()
            if field.type not in (ValueType.TEXT, ValueType.JSON):
                raise self._fail(f"{field.name} is not text: LIKE does not apply", OPERATORS, like)
            pattern = self._expect(Kind.STRING, "'string'")
            return Like(field, pattern.text, negated)
        raise self._fail("expected an operator", ["IN", "LIKE"] if negated else PREDICATE_WORDS)

    def _field(self) -> FieldRef:
        token = self._token
        if token.kind is not Kind.NAME or token.text.upper() in KEYWORDS:
            raise self._fail("expected a field", ["field", "(", "NOT"])
        field = self._catalog.resolve(token.text)
        if field is None:
            raise self._fail(f"unknown field {token.text!r}", self._catalog.names())
        self._advance()
        return field

    def _literal_list(self, field: FieldRef) -> tuple[Literal, ...]:
        self._expect(Kind.LPAREN, "(")
        literals = [self._literal(field)]
        while self._token.kind is Kind.COMMA:
            self._advance()
            literals.append(self._literal(field))
            if len(literals) > MAX_IN_LIST:
                raise self._fail(f"IN takes at most {MAX_IN_LIST} values", [")"])
        self._expect(Kind.RPAREN, ")")
        return tuple(literals)

    def _literal(self, field: FieldRef) -> Literal:
        token = self._token
        if token.kind is Kind.NUMBER:
            self._advance()
            return Literal(LiteralType.NUMBER, self._number(token))
        if token.kind is Kind.STRING:
            self._advance()
            return self._string(field, token)
        for word, literal in (
            ("TRUE", Literal(LiteralType.BOOLEAN, True)),
            ("FALSE", Literal(LiteralType.BOOLEAN, False)),
            ("NULL", Literal(LiteralType.NULL, None)),
        ):
            if self._keyword(word):
                return literal
        raise self._fail("expected a literal", LITERALS)

    def _number(self, token: Token) -> int | float:
        text = token.text
        if any(mark in text for mark in ".eE"):
            value = float(text)
            if not math.isfinite(value):
                raise self._fail("number out of range", ["finite number"], token)
            return value
        integer = int(text)
        if abs(integer) > MAX_INTEGER:
            raise self._fail("number out of range", ["integer within 64 bits"], token)
        return integer

    def _string(self, field: FieldRef, token: Token) -> Literal:
        if field.type is ValueType.TIME:
            moment = parse_time(token.text)
            if moment is None:
                raise self._fail(f"{field.name} takes an ISO-8601 time", ["ISO-8601 time"], token)
            return Literal(LiteralType.TIME, moment)
        if field.type is ValueType.ID:
            try:
                return Literal(LiteralType.ID, str(UUID(token.text)))
            except ValueError:
                raise self._fail(f"{field.name} takes a UUID", ["UUID"], token) from None
        return Literal(LiteralType.TEXT, token.text)

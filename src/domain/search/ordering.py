"""`order_by=` and `fields=`: lists of field names, parsed with the filter's tokenizer and catalog."""

from __future__ import annotations

from dataclasses import dataclass

from domain.search.errors import SearchSyntaxError
from domain.search.fields import Catalog, FieldRef
from domain.search.tokens import Kind, Token, tokenize

MAX_ORDER_KEYS = 8
MAX_FIELDS = 100


@dataclass(frozen=True, slots=True)
class OrderKey:
    field: FieldRef
    descending: bool = False

    def text(self) -> str:
        return f"{self.field.name} {'desc' if self.descending else 'asc'}"


def parse_order_by(text: str, catalog: Catalog) -> tuple[OrderKey, ...]:
    tokens = tokenize(text, "order_by")
    keys: list[OrderKey] = []
    at = 0
    while True:
        field, at = _field(tokens, at, catalog, "order_by")
        descending = False
        if tokens[at].is_keyword("DESC") or tokens[at].is_keyword("ASC"):
            descending = tokens[at].is_keyword("DESC")
            at += 1
        keys.append(OrderKey(field, descending))
        if len(keys) > MAX_ORDER_KEYS:
            raise _error(tokens[at], f"at most {MAX_ORDER_KEYS} sort keys", ["end"], "order_by")
        if tokens[at].kind is Kind.END:
            return tuple(keys)
        if tokens[at].kind is not Kind.COMMA:
            raise _error(tokens[at], "expected asc, desc or a comma", ["asc", "desc", ","], "order_by")
        at += 1


def parse_fields(text: str, catalog: Catalog) -> tuple[FieldRef, ...]:
    tokens = tokenize(text, "fields")
    fields: list[FieldRef] = []
    at = 0
    while True:
        field, at = _field(tokens, at, catalog, "fields")
        if field not in fields:
            fields.append(field)
        if len(fields) > MAX_FIELDS:
            raise _error(tokens[at], f"at most {MAX_FIELDS} fields", ["end"], "fields")
        if tokens[at].kind is Kind.END:
            return tuple(fields)
        if tokens[at].kind is not Kind.COMMA:
            raise _error(tokens[at], "expected a comma", [","], "fields")
        at += 1


def _field(tokens: list[Token], at: int, catalog: Catalog, parameter: str) -> tuple[FieldRef, int]:
    token = tokens[at]
    if token.kind is not Kind.NAME:
        raise _error(token, "expected a field", ["field"], parameter)
    field = catalog.resolve(token.text)
    if field is None:
        raise _error(token, f"unknown field {token.text!r}", catalog.names(), parameter)
    return field, at + 1


def _error(token: Token, message: str, expected: list[str], parameter: str) -> SearchSyntaxError:
    return SearchSyntaxError(message, parameter=parameter, position=token.position, expected=expected)

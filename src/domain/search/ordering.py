"""`order_by=` and `fields=`: lists of field names, parsed with the filter's tokenizer and catalog."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from domain.search.errors import SearchSyntaxError
from domain.search.fields import Catalog, FieldRef
from domain.search.tokens import Kind, Token, tokenize

T = TypeVar("T")

MAX_ORDER_KEYS = 8
MAX_FIELDS = 100


@dataclass(frozen=True, slots=True)
class OrderKey:
    field: FieldRef
    descending: bool = False

    def text(self) -> str:
        return f"{self.field.name} {'desc' if self.descending else 'asc'}"


def parse_order_by(text: str, catalog: Catalog) -> tuple[OrderKey, ...]:
    def key(tokens: list[Token], at: int) -> tuple[OrderKey, int]:
        field, at = _field(tokens, at, catalog, "order_by")
        if tokens[at].is_keyword("DESC") or tokens[at].is_keyword("ASC"):
            return OrderKey(field, tokens[at].is_keyword("DESC")), at + 1
        return OrderKey(field), at

    return _listed(text, "order_by", key, MAX_ORDER_KEYS, "sort keys", ["asc", "desc"], unique=False)


def parse_fields(text: str, catalog: Catalog) -> tuple[FieldRef, ...]:
    def field(tokens: list[Token], at: int) -> tuple[FieldRef, int]:
        return _field(tokens, at, catalog, "fields")

    return _listed(text, "fields", field, MAX_FIELDS, "fields", [], unique=True)


def _listed(
    text: str,
    parameter: str,
    item: Callable[[list[Token], int], tuple[T, int]],
    most: int,
    noun: str,
    words: list[str],
    *,
    unique: bool,
) -> tuple[T, ...]:
    """The comma-separated items of `text`, each read by `item`; `words` may follow an item before the comma,
    and with `unique` an item named twice counts once."""
    tokens = tokenize(text, parameter)
    items: list[T] = []
    at = 0
    while True:
        read, at = item(tokens, at)
        if not unique or read not in items:
            items.append(read)
        if len(items) > most:
            raise _error(tokens[at], f"at most {most} {noun}", ["end"], parameter)
        if tokens[at].kind is Kind.END:
            return tuple(items)
        if tokens[at].kind is not Kind.COMMA:
            wanted = ", ".join(words) + " or a comma" if words else "a comma"
            raise _error(tokens[at], f"expected {wanted}", [*words, ","], parameter)
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

"""Splits an expression into tokens, each with the offset where it starts (errors point there)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from domain.search.errors import SearchSyntaxError


class Kind(StrEnum):
    NAME = "name"  # a field or a keyword; keywords are told apart by the parser, case-insensitively
    NUMBER = "number"
    STRING = "string"
    OPERATOR = "operator"
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    END = "end"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str
    position: int

    def is_keyword(self, word: str) -> bool:
        return self.kind is Kind.NAME and self.text.upper() == word


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*")
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_OPERATOR = re.compile(r"!=|<>|<=|>=|=|<|>")
_PUNCTUATION = {"(": Kind.LPAREN, ")": Kind.RPAREN, ",": Kind.COMMA}
STARTS = ["field", "number", "'string'", "(", ")", ",", "operator"]


def tokenize(text: str, parameter: str = "filter") -> list[Token]:
    tokens: list[Token] = []
    at = 0
    while at < len(text):
        char = text[at]
        if char.isspace():
            at += 1
            continue
        if char in _PUNCTUATION:
            tokens.append(Token(_PUNCTUATION[char], char, at))
            at += 1
            continue
        if char == "'":
            value, at_end = _string(text, at, parameter)
            tokens.append(Token(Kind.STRING, value, at))
            at = at_end
            continue
        for kind, pattern in ((Kind.NUMBER, _NUMBER), (Kind.NAME, _NAME), (Kind.OPERATOR, _OPERATOR)):
            match = pattern.match(text, at)
            if match:
                tokens.append(Token(kind, match.group(), at))
                at = match.end()
                break
        else:
            raise SearchSyntaxError(f"unexpected character {char!r}", parameter=parameter, position=at, expected=STARTS)
    tokens.append(Token(Kind.END, "", len(text)))
    return tokens


def _string(text: str, start: int, parameter: str) -> tuple[str, int]:
    """A single-quoted string; `''` inside it is one quote."""
    parts: list[str] = []
    at = start + 1
    while True:
        close = text.find("'", at)
        if close < 0:
            raise SearchSyntaxError("unterminated string", parameter=parameter, position=len(text), expected=["'"])
        parts.append(text[at:close])
        if text.startswith("''", close):
            parts.append("'")
            at = close + 2
            continue
        return "".join(parts), close + 1

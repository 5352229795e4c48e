"""The one error the search language raises: where in the text it went wrong and what would have fitted."""

from __future__ import annotations

from collections.abc import Iterable

from domain.errors import InvalidInput


class SearchSyntaxError(InvalidInput):
    """A malformed expression, an unknown field or a literal of the wrong form.

    `details` is `{"field": <parameter>, "position": <0-based offset>, "expected": [...]}` so a client can
    point at the character.
    """

    def __init__(self, message: str, *, parameter: str, position: int, expected: Iterable[str]) -> None:
        self.position = position
        self.expected = sorted(set(expected))
        super().__init__(message, {"field": parameter, "position": position, "expected": self.expected})

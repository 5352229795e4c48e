"""A use case's result as plain data: what an idempotent write stores and replays, what a job records."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, ClassVar


class PlainAnswer:
    """Mixed into a result dataclass: `as_dict` is its fields, nested dataclasses and lists copied as plain data."""

    __slots__ = ()
    # Declared so that a subclass is a dataclass instance to the type checker; @dataclass sets it.
    __dataclass_fields__: ClassVar[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

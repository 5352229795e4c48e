"""What every wire shape shares: the base struct, bounded scalar types and the error envelope.

Field names are the contract's and are frozen."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

Int64 = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]
Count = Annotated[int, Meta(ge=0, le=2**63 - 1)]
Name = Annotated[str, Meta(max_length=256)]
ShortText = Annotated[str, Meta(max_length=256)]
LongText = Annotated[str, Meta(max_length=1_000_000)]
Json = dict[str, Any]
Label = Annotated[str, Meta(max_length=200)]
Tags = Annotated[dict[Annotated[str, Meta(min_length=1, max_length=256)], ShortText], Meta(max_length=50)]
Notes = Annotated[str, Meta(max_length=20_000)]
RunStatusName = Literal["PENDING", "RUNNING", "COMPLETED", "FAILED"]
FrameKindName = Literal["ohlcv", "indicators", "predictions", "trades", "generic"]
ModeName = Literal["append", "replace"]


class Struct(msgspec.Struct, kw_only=True, omit_defaults=False):
    pass


class ErrorBody(Struct):
    error: str
    details: Any = None

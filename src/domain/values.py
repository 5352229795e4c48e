"""Value objects: names that reach SQL, and the timestamps the contract speaks of."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from domain.errors import InvalidInput

SLUG_PATTERN: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")
MEASUREMENT_PATTERN: Final = re.compile(r"[a-z][a-z0-9_]{0,126}")
GRANULARITY_PATTERN: Final = re.compile(r"[1-9][0-9]{0,3}(s|m|h|d|w|M|y)")


class Slug(str):
    """A dataset slug: `^[a-z][a-z0-9_]{0,63}$`, so every measurement name built from it is valid."""

    __slots__ = ()

    def __new__(cls, value: str) -> Slug:
        if not isinstance(value, str) or SLUG_PATTERN.fullmatch(value) is None:
            raise InvalidInput(
                "dataset_slug must match ^[a-z][a-z0-9_]{0,63}$",
                {"field": "dataset_slug", "value": str(value)[:80]},
            )
        return super().__new__(cls, value)


class MeasurementName(str):
    """A QuestDB table name: `^[a-z][a-z0-9_]{0,126}$`. Only such names ever reach SQL."""

    __slots__ = ()

    def __new__(cls, value: str, field: str = "measurement") -> MeasurementName:
        if not isinstance(value, str) or MEASUREMENT_PATTERN.fullmatch(value) is None:
            raise InvalidInput(
                f"{field} must match ^[a-z][a-z0-9_]{{0,126}}$",
                {"field": field, "value": str(value)[:140]},
            )
        return super().__new__(cls, value)


def validate_granularity(value: str) -> str:
    """Granularity such as `1h`, `4h`, `15m`, `1d`; it also names a `sample_by` bucket."""
    if GRANULARITY_PATTERN.fullmatch(value) is None:
        raise InvalidInput("granularity must look like 1h, 4h, 15m or 1d", {"field": "granularity"})
    return value


# pandas writes `1D`, `1H`, `1W`; these units mean one thing in either case. `m` (minute) and `M` (month) do not.
_UNAMBIGUOUS_UNITS: Final = {"S": "s", "H": "h", "D": "d", "W": "w", "Y": "y"}
# What a client may ask a downsampled column to become, and the aggregate each store calls it by.
CHOSEN_AGGREGATES: Final = {"first": "first", "last": "last", "min": "min", "max": "max", "mean": "avg"}


def sample_interval(value: str) -> str:
    """A `sample_by` bucket such as `15m`, `4h` or `1D`: `D`, `H`, `W`, `S`, `Y` in either case, `m` a minute and
    `M` a month."""
    unit = value[-1:]
    normalized = value[:-1] + _UNAMBIGUOUS_UNITS.get(unit, unit)
    if GRANULARITY_PATTERN.fullmatch(normalized) is None:
        raise InvalidInput(
            "sample_by must look like 15m, 4h, 1D, 1w or 1M (m is a minute, M a month)", {"field": "sample_by"}
        )
    return normalized


def sample_aggregate(value: str) -> str:
    """`first|last|min|max|mean`, as the store's aggregate name."""
    if value not in CHOSEN_AGGREGATES:
        raise InvalidInput(
            f"aggregate must be one of {', '.join(CHOSEN_AGGREGATES)}",
            {"field": "aggregate", "allowed": list(CHOSEN_AGGREGATES)},
        )
    return CHOSEN_AGGREGATES[value]


class TimestampUnit(StrEnum):
    S = "s"
    MS = "ms"
    US = "us"
    NS = "ns"

    @property
    def nanos(self) -> int:
        return _NANOS[self]


_NANOS: Final = {TimestampUnit.S: 10**9, TimestampUnit.MS: 10**6, TimestampUnit.US: 10**3, TimestampUnit.NS: 1}

# Epoch values are told apart by magnitude: seconds stay below 1e11 until the year 5138, milliseconds
# below 1e14, microseconds below 1e17. Any epoch in 1973..5138 falls in exactly one band.
_UNIT_BANDS: Final = ((10**11, TimestampUnit.S), (10**14, TimestampUnit.MS), (10**17, TimestampUnit.US))


def detect_unit(value: int | float) -> TimestampUnit:
    """The unit an epoch number is written in, judged from its magnitude."""
    magnitude = abs(value)
    for bound, unit in _UNIT_BANDS:
        if magnitude < bound:
            return unit
    return TimestampUnit.NS


def epoch_to_nanos(value: int | float, unit: TimestampUnit | None = None) -> int:
    """An epoch number in any unit (detected when not given) as integer nanoseconds."""
    chosen = unit or detect_unit(value)
    if isinstance(value, float):
        return round(value * chosen.nanos)
    return int(value) * chosen.nanos


def parse_iso(text: str) -> int:
    """ISO-8601 text as epoch nanoseconds; a naive time is UTC."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"not an ISO-8601 time: {text[:40]!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    delta = parsed - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1_000


def coerce_timestamp(value: int | float | str) -> int:
    """Any accepted input form of a time (epoch s/ms/us/ns or ISO text) as epoch nanoseconds."""
    if isinstance(value, bool):
        raise InvalidInput("a timestamp cannot be a boolean")
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidInput("a timestamp must be a finite number")
        return epoch_to_nanos(value)
    text = value.strip()
    try:
        number = float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        return parse_iso(text)
    return coerce_timestamp(number)


def nanos_to_seconds(nanos: int) -> int:
    return nanos // 10**9


def format_nanos(nanos: int, unit: str) -> int | str:
    """A time as the output unit the client asked for (`ts_unit`): s, ms, us, ns or iso (`timestamp`, a
    typed time, is ISO text wherever the answer is text)."""
    if unit in ("iso", "timestamp"):
        return iso_from_nanos(nanos)
    return nanos // TimestampUnit(unit).nanos


def iso_from_nanos(nanos: int) -> str:
    seconds, rest = divmod(nanos, 10**9)
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    micros = rest // 1_000
    return f"{text}.{micros:06d}Z" if micros else f"{text}Z"


OUTPUT_UNITS: Final = ("s", "ms", "us", "ns", "iso", "timestamp")
# Formats whose columns carry types: there `timestamp` is a real time type, elsewhere it is ISO text.
_TYPED_FORMATS: Final = ("arrow", "parquet")


def validate_output_unit(value: str) -> str:
    if value not in OUTPUT_UNITS:
        raise InvalidInput(f"ts_unit must be one of {', '.join(OUTPUT_UNITS)}", {"field": "ts_unit"})
    return value


def output_unit(value: str | None, fmt: str) -> str:
    """The unit times go out in for a stream in `fmt`: as asked, else epoch milliseconds (as always), except
    Parquet, which defaults to its own timestamp type; `timestamp` in a text format is ISO text."""
    if value is None:
        return "timestamp" if fmt == "parquet" else "ms"
    validate_output_unit(value)
    return "iso" if value == "timestamp" and fmt not in _TYPED_FORMATS else value

"""Doubles in CSV exports: the fast spelling (csv_numbers.py) writes exactly the bytes Arrow's own cast and
CSV writer write, for every double, null and NaN included."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.frames.csv_numbers import double_text, with_doubles_spelled
from adapters.frames.encoders import CsvEncoder

# Where Arrow and polars change notation, whole numbers, signed zeros, the extremes and non-finite values.
EDGES = [
    0.0, -0.0, 1e-5, -1e-5, 9.999999999999999e-6, 1e-6, 1e-7, 1e10, -1e10, 9999999999.999998, 9999999999.0,
    1e15, 1e16, 1e21, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 100.0, -100.0, 0.5, 2.0**53,
    2.0**53 + 2, 123456.789, 1 / 3, 0.1 + 0.2, float("inf"), float("-inf"), float("nan"),
]


def arrow_csv(batch: pa.RecordBatch) -> bytes:
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(batch, sink, pa_csv.WriteOptions(include_header=False, quoting_style="none"))
    return bytes(sink.getvalue().to_pybytes())


def test_edge_values_are_spelled_as_arrows_cast_spells_them() -> None:
    values = pa.array(EDGES + [None] + [-value for value in EDGES])
    assert double_text(values).to_pylist() == pc.cast(values, pa.string()).to_pylist()


def test_random_bit_patterns_and_rounded_prices_are_spelled_as_arrow_spells_them() -> None:
    rng = np.random.default_rng(16)
    bits = rng.integers(0, 2**64, 200_000, dtype=np.uint64).view(np.float64)
    prices = np.round(rng.normal(0, 1e4, 200_000) * 1e4) / 10.0 ** rng.integers(0, 9, 200_000)
    scaled = rng.normal(0, 1, 200_000) * 10.0 ** rng.integers(-14, 16, 200_000)
    for sample in (bits, prices, scaled):
        values = pa.array(sample)
        assert double_text(values).equals(pc.cast(values, pa.string()))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)), min_size=1, max_size=40))
def test_any_doubles_with_nulls_are_spelled_as_arrow_spells_them(numbers: list[float | None]) -> None:
    values = pa.array(numbers, pa.float64())
    assert double_text(values).to_pylist() == pc.cast(values, pa.string()).to_pylist()


def test_a_column_of_whole_numbers_and_a_sliced_column_are_spelled_as_arrow_spells_them() -> None:
    whole = pa.array([float(i * 7) for i in range(1_000)])
    sliced = pa.array([i / 8 for i in range(1_000)]).slice(13, 500)
    for values in (whole, sliced):
        assert double_text(values).equals(pc.cast(values, pa.string()))


def test_a_negative_zero_among_whole_numbers_keeps_its_sign() -> None:
    values = pa.array([-0.0, 1.0, 0.0])
    assert double_text(values).to_pylist() == ["-0", "1", "0"]


def test_csv_of_a_batch_of_numbers_is_byte_for_byte_arrows_own() -> None:
    rng = np.random.default_rng(8)
    rows = 5_000
    close = 30_000 + np.cumsum(rng.normal(0, 5, rows))
    batch = pa.record_batch(
        {
            "timestamp": pa.array(np.arange(rows, dtype=np.int64) * 60_000),
            "close": pa.array(close, mask=rng.random(rows) < 0.05),
            "target": (rng.random(rows) > 0.5).astype(float),
            "signal": pa.array(rng.random(rows) > 0.5),
            "tiny": close * 1e-12,
            "score": pa.array(rng.random(rows), pa.float32()),  # left to Arrow: its float32 digits differ
        }
    )
    spelled = with_doubles_spelled(batch)
    assert spelled.schema.field("close").type == pa.string()
    assert spelled.schema.field("score").type == pa.float32()
    assert arrow_csv(spelled) == arrow_csv(batch)
    assert CsvEncoder().encode(batch) == b"timestamp,close,target,signal,tiny,score\n" + arrow_csv(batch)


def test_doubles_next_to_text_that_needs_quotes_are_left_to_arrows_writer() -> None:
    batch = pa.record_batch({"close": [1.5, 100.0], "note": ["plain", 'has "quotes", commas']})
    assert CsvEncoder().encode(batch) == b'close,note\n1.5,"plain"\n100,"has ""quotes"", commas"\n'

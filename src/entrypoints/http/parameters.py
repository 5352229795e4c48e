"""Query and path parameters that several routes share, each with its bounds and the one line the API
reference shows for it. A handler names its parameters with these types, so a parameter is described where it
is declared and nowhere else."""

from __future__ import annotations

from typing import Annotated, Any, Final

from litestar.di import Provide
from litestar.params import Parameter

from domain.frames import FrameKind, OnError, WriteMode
from domain.paging import PageRequest


def optional_text(description: str, max_length: int = 256, *, query: str | None = None) -> Any:
    """An optional text parameter: its bound and the one line the API reference shows for it."""
    return Parameter(query=query, max_length=max_length, required=False, description=description)


# Paths
DatasetRef = Annotated[str, Parameter(description="The dataset's id (UUID) or its slug.")]
RunId = Annotated[str, Parameter(description="The run's id (UUID).")]
SimulationId = Annotated[str, Parameter(description="The simulation's id (UUID).")]
JobId = Annotated[str, Parameter(description="The job's id (UUID).")]
TokenId = Annotated[str, Parameter(description="The token's id (UUID), as `GET /api/auth/tokens` lists it.")]
MeasurementName = Annotated[str, Parameter(description="The measurement (table) name in the time-series store.")]

# Paging
Limit = Annotated[
    int | None, Parameter(ge=1, le=1000, required=False, description="Most items on one page (1 to 1000).")
]
Offset = Annotated[
    int | None,
    Parameter(ge=0, le=2**62, required=False, description="Items to skip; `after` is cheaper for deep pages."),
]
After = Annotated[str | None, optional_text("The `next_cursor` of the previous page: the page after it.", 512)]


def page_request(limit: Limit = None, offset: Offset = None, after: After = None) -> PageRequest:
    return PageRequest.of(limit, offset, after)


# The page of a list that is not searchable (a dependency its routes take as `page`, declared once here).
PAGE: Final = {"page": Provide(page_request, sync_to_thread=False)}

# List filters (exact matches unless said otherwise)
Symbol = Annotated[str | None, optional_text("Only datasets of this symbol.")]
Granularity = Annotated[str | None, optional_text("Only datasets of this bar width, e.g. `1h`.")]
Search = Annotated[str | None, optional_text("Substring of the slug, symbol or measurement names.")]
Status = Annotated[str | None, optional_text("Only items in this status, e.g. `COMPLETED`.")]
DatasetId = Annotated[str | None, optional_text("Only items of this dataset: its id (UUID) or its slug.")]
DatasetSlug = Annotated[str | None, optional_text("Only items of the dataset with this slug.")]
RunFilterId = Annotated[str | None, optional_text("Only simulations of this run (UUID).")]
PredictionMeasurement = Annotated[str | None, optional_text("Only runs whose predictions are in this measurement.")]
JobStatus = Annotated[
    str | None, optional_text("Only jobs in this status: PENDING, RUNNING, COMPLETED, FAILED or CANCELLED.", 64)
]
JobTypeName = Annotated[str | None, optional_text("Only jobs of this type, e.g. `questdb_import`.", 64)]

# Reading frames
From = Annotated[
    str | None,
    optional_text(
        "First timestamp, inclusive: epoch (seconds, or ms/us/ns by magnitude) or ISO-8601.", 64, query="from"
    ),
]
To = Annotated[
    str | None,
    optional_text("Last timestamp, inclusive (a row stamped exactly `to` is returned); same forms as `from`.", 64),
]
Columns = Annotated[str | None, optional_text("Comma-separated columns to return; default all.", 20_000)]
RowLimit = Annotated[
    int | None,
    Parameter(ge=1, le=1_000_000_000, required=False, description="Most rows to return, oldest first."),
]
Format = Annotated[str | None, optional_text("csv, json, ndjson, arrow or parquet; absent: the Accept header.", 16)]
TsUnit = Annotated[
    str | None,
    Parameter(
        max_length=16,
        required=False,
        description="How timestamps are written: s, ms, us, ns, iso, or timestamp (a UTC time type in Arrow and "
        "Parquet, ISO text elsewhere); absent: epoch ms, Parquet its timestamp type.",
    ),
]
Download = Annotated[
    bool,
    Parameter(required=False, description="true: answer as a file (Content-Disposition: attachment; filename)."),
]
Timeout = Annotated[
    float,
    Parameter(gt=0, le=3600, required=False, description="Seconds the store may take before a 504."),
]

# Writing
Mode = Annotated[
    WriteMode,
    Parameter(required=False, description="append adds rows (dedup on the keys); replace swaps the whole frame."),
]
RunAsync = Annotated[
    bool,
    Parameter(query="async", required=False, description="true: answer 202 with a job at once instead of waiting."),
]
Kind = Annotated[
    FrameKind | None,
    Parameter(required=False, description="What the rows are; it sets the required columns and dedup keys."),
]

# Uploads of rows: preview and partial imports
DryRun = Annotated[
    bool, Parameter(required=False, description="Check and describe the upload (columns, counts, gaps); write nothing.")
]
GapGranularity = Annotated[str | None, optional_text("The bar width a dry run measures gaps against, e.g. `1h`.", 8)]
OnErrorMode = Annotated[
    OnError,
    Parameter(
        required=False,
        description="`skip` imports the good rows and reports the rest; `fail` (the default) refuses the upload.",
    ),
]

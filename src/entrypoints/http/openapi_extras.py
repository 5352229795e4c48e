"""What Litestar cannot read from the handlers' signatures, added to its OpenAPI document: the bodies handlers
decode themselves (JSON through msgspec, multipart, raw frames), the media types of streams, the 202 job answers,
and the `{"error", "details"}` envelope of every status a route can answer.

Every operation must have an entry in `ROUTES`, so a new route cannot ship half described."""

from __future__ import annotations

import http
import re
from dataclasses import dataclass, field
from typing import Any, Final, cast

import msgspec
from litestar import Litestar
from litestar.enums import ParamType
from litestar.openapi.spec import (
    Encoding,
    OpenAPI,
    OpenAPIFormat,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
    SecurityRequirement,
    SecurityScheme,
)

from domain.values import GRANULARITY_PATTERN, MEASUREMENT_PATTERN, SLUG_PATTERN
from entrypoints.http import auth
from entrypoints.http import schemas as s
from entrypoints.http.events import EVENT_TYPES
from entrypoints.http.inputs import MAX_KEY_LENGTH

JSON: Final = "application/json"
CSV: Final = "text/csv"
NDJSON: Final = "application/x-ndjson"
ARROW_STREAM: Final = "application/vnd.apache.arrow.stream"
ARROW_FILE: Final = "application/vnd.apache.arrow.file"
PARQUET: Final = "application/vnd.apache.parquet"
GZIP: Final = "application/gzip"
MULTIPART: Final = "multipart/form-data"
EVENT_STREAM: Final = "text/event-stream"
FRAME_FILES: Final = ", ".join((CSV, GZIP, PARQUET, ARROW_FILE, ARROW_STREAM))

# msgspec is what decodes these bodies, so its schemas are the honest description of them.
WIRE_STRUCTS: Final[tuple[type[msgspec.Struct], ...]] = (
    s.ErrorBody,
    s.DatasetIn,
    s.DatasetFramesIn,
    s.BackfillIn,
    s.RunIn,
    s.SimulationIn,
    s.ImportJsonIn,
    s.QueryIn,
    s.ExportIn,
    auth.TokenIn,
    auth.SessionIn,
    s.DatasetOut,
    s.RunOut,
    s.RunSavedOut,
    s.SimulationSavedOut,
    s.TradePage,
    s.JobAcceptedOut,
    s.HealthOut,
)

ERROR_MEANINGS: Final[dict[int, str]] = {
    400: "Bad input; `details` names the field, line or columns.",
    401: "No token, or an unknown, expired or revoked one.",
    403: "Understood but not allowed.",
    404: "Unknown id or name.",
    408: "The body stopped arriving: no bytes for longer than the idle limit.",
    409: "Clashes with the stored state: unknown parent, slug or id clash, or an Idempotency-Key reused "
    "for a different request.",
    413: "The body is larger than the configured upload limit.",
    415: "An upload in a format the service does not read.",
    429: "Rate limited; `Retry-After` says how many seconds to wait.",
    502: "The time-series store answered with an error, relayed in `details`.",
    503: "A backing store is unreachable.",
    504: "A time-series query ran past its timeout.",
}
# Health and metrics are exempt from the rate limit (see auth.rate_limit), so monitors are never throttled.
UNLIMITED_PATHS: Final = frozenset({"/api/health", "/healthz", "/metrics"})


@dataclass(frozen=True, slots=True)
class RouteDoc:
    """What one operation needs beyond what Litestar generated."""

    body: dict[str, OpenAPIMediaType] | None = None
    ok: dict[str, dict[str, OpenAPIMediaType]] = field(default_factory=dict)  # success status -> its content
    errors: frozenset[int] = frozenset()  # statuses beyond those every route of its kind answers
    accepted: bool = False  # `?async=true` answers 202 with a job
    idempotent: bool = False  # honours an Idempotency-Key header
    store: bool = True  # touches a store, so it can answer 503
    rate_limited: bool = True


def ref(name: str) -> Reference:
    return Reference(ref=f"#/components/schemas/{name}")


def json_of(target: Reference | Schema) -> dict[str, OpenAPIMediaType]:
    return {JSON: OpenAPIMediaType(schema=target)}


def binary(description: str) -> Schema:
    return Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY, description=description)


def text(description: str) -> Schema:
    return Schema(type=OpenAPIType.STRING, description=description)


ROWS: Final = Schema(
    type=OpenAPIType.ARRAY,
    items=Schema(type=OpenAPIType.OBJECT, additional_properties=True),
    description="One JSON array of row objects.",
)


def frame_stream(json: Reference | Schema = ROWS) -> dict[str, OpenAPIMediaType]:
    """A stream in the five formats `format=` or `Accept` choose between."""
    return {
        CSV: OpenAPIMediaType(schema=text("CSV with a header row.")),
        JSON: OpenAPIMediaType(schema=json),
        NDJSON: OpenAPIMediaType(schema=text("One JSON object per line.")),
        ARROW_STREAM: OpenAPIMediaType(schema=binary("An Arrow IPC stream.")),
        PARQUET: OpenAPIMediaType(schema=binary("A Parquet file, a row group per chunk.")),
    }


def multipart(parts: dict[str, Schema | Reference], required: list[str]) -> OpenAPIMediaType:
    encoding = {
        name: Encoding(content_type=JSON if isinstance(part, Reference) else FRAME_FILES)
        for name, part in parts.items()
        if isinstance(part, Reference) or part.format is OpenAPIFormat.BINARY
    }
    return OpenAPIMediaType(
        schema=Schema(type=OpenAPIType.OBJECT, properties=parts, required=required or None),
        encoding=encoding,
    )


def frame_part(what: str) -> Schema:
    return binary(f"{what} as CSV, CSV.gz, Parquet or Arrow IPC.")


# One coherent story for the examples, so "try it out" (and the fuzzer's examples phase) walks a happy path:
# a dataset with bars and indicators, a run on it, a simulation of that run.
EXAMPLE_SLUG: Final = "btc_1h"
EXAMPLE_RUN_ID: Final = "5f2b8c3e-4a1d-4e6f-9b7a-2c3d4e5f6a7b"
EXAMPLE_SIMULATION_ID: Final = "7a1c2d3e-5b6f-4a8b-9c0d-1e2f3a4b5c6d"
OHLCV_CSV: Final = (
    "timestamp,open,high,low,close,volume\n"
    "1704067200,42000,42100,41900,42050,12.5\n"
    "1704070800,42050,42200,42000,42150,9.25\n"
    "1704074400,42150,42180,41950,42000,11\n"
)
INDICATORS_CSV: Final = "timestamp,rsi_14\n1704067200,55.2\n1704070800,57.9\n1704074400,49.1\n"
PREDICTIONS_CSV: Final = (
    "timestamp,bar_index,fold_number,prediction,target,threshold_long\n"
    "1704070800,1,1,0.42,0,0.6\n"
    "1704074400,2,1,0.58,1,0.6\n"
)
DATASET_EXAMPLE: Final = {
    "dataset_slug": EXAMPLE_SLUG,
    "symbol": "BTC",
    "granularity": "1h",
    "source": "binance",
    "record_questdb": True,
    "ohlcv_csv": OHLCV_CSV,
    "indicator_csv": INDICATORS_CSV,
}
RUN_EXAMPLE: Final = {
    "dataset_slug": EXAMPLE_SLUG,
    "run_id": EXAMPLE_RUN_ID,
    "target_column": "target",
    "feature_columns": ["rsi_14"],
    "hyperparameters": {"max_depth": 4, "eta": 0.1},
    "folds": [
        {
            "fold_number": 1,
            "train_start": 0,
            "train_end": 0,
            "test_start": 1,
            "test_end": 2,
            "thresholds": {"long": 0.6},
            "metrics": {"auc": 0.57},
        },
    ],
    "predictions_csv": PREDICTIONS_CSV,
}
SIMULATION_EXAMPLE: Final = {
    "run_id": EXAMPLE_RUN_ID,
    "simulation_id": EXAMPLE_SIMULATION_ID,
    "config": {"initial_capital": 10000},
    "trades": [
        {
            "trade_id": 1,
            "bar_timestamp": 1704067200,
            "entry_timestamp": 1704067200,
            "exit_timestamp": 1704070800,
            "side": "long",
            "entry_price": 42050,
            "exit_price": 42150,
            "quantity": 0.1,
            "pnl": 10,
            "return_pct": 0.24,
            "fees": 0.5,
            "fold_number": 1,
        },
        {
            "trade_id": 2,
            "bar_timestamp": 1704070800,
            "entry_timestamp": 1704070800,
            "exit_timestamp": 1704074400,
            "side": "short",
            "entry_price": 42150,
            "exit_price": 42000,
            "quantity": 0.1,
            "pnl": 15,
            "return_pct": 0.36,
            "fees": 0.5,
            "fold_number": 1,
        },
    ],
}
IMPORT_EXAMPLE: Final = {"measurement": "btc_1h_import", "data": OHLCV_CSV, "kind": "ohlcv", "mode": "append"}
PARAMETER_EXAMPLES: Final[dict[str, Any]] = {
    "ref": EXAMPLE_SLUG,
    "run_id": EXAMPLE_RUN_ID,
    "simulation_id": EXAMPLE_SIMULATION_ID,
    "name": f"{EXAMPLE_SLUG}_ohlcv",
    "measurement": "btc_1h_import",
}
# The domain's rules for names, stated in the document so clients (and fuzzers) can build valid ones.
NAME_PATTERNS: Final[dict[str, str]] = {
    "dataset_slug": f"^{SLUG_PATTERN.pattern}$",
    "granularity": f"^{GRANULARITY_PATTERN.pattern}$",
    **{
        field_name: f"^{MEASUREMENT_PATTERN.pattern}$"
        for field_name in (
            "measurement",
            "ohlcv_measurement",
            "indicator_measurement",
            "prediction_measurement",
            "trades_measurement",
        )
    },
}
# Parameters of the /api/questdb routes that name a measurement (filters elsewhere take any text).
PARAMETER_PATTERNS: Final = {"measurement": NAME_PATTERNS["measurement"], "name": NAME_PATTERNS["measurement"]}
PATTERNED_STRUCTS: Final = ("DatasetIn", "BackfillIn", "RunIn", "SimulationIn", "ImportJsonIn")


def json_example(name: str, example: Any) -> OpenAPIMediaType:
    return OpenAPIMediaType(schema=ref(name), example=example)


DATASET_BODY: Final = {
    JSON: json_example("DatasetIn", DATASET_EXAMPLE),
    MULTIPART: multipart(
        {
            "metadata": ref("DatasetIn"),
            "ohlcv": frame_part("OHLCV bars"),
            "indicators": frame_part("Indicator rows"),
        },
        ["metadata"],
    ),
}
EXPORT_BODY: Final = {
    JSON: json_example("DatasetFramesIn", DATASET_EXAMPLE),
    MULTIPART: multipart({"ohlcv": frame_part("OHLCV bars"), "indicators": frame_part("Indicator rows")}, []),
}
RUN_BODY: Final = {
    JSON: json_example("RunIn", RUN_EXAMPLE),
    MULTIPART: multipart({"run": ref("RunIn"), "predictions": frame_part("Prediction rows")}, ["run"]),
}
SIMULATION_BODY: Final = {
    JSON: json_example("SimulationIn", SIMULATION_EXAMPLE),
    MULTIPART: multipart({"simulation": ref("SimulationIn"), "trades": frame_part("Trades")}, ["simulation"]),
}
IMPORT_BODY: Final = {
    MULTIPART: multipart(
        {
            "file": frame_part("The frame"),
            "measurement": Schema(type=OpenAPIType.STRING, description="Used when `?measurement=` is absent."),
            "kind": Schema(type=OpenAPIType.STRING, enum=["ohlcv", "indicators", "predictions", "trades", "generic"]),
            "mode": Schema(type=OpenAPIType.STRING, enum=["append", "replace"]),
        },
        ["file"],
    ),
    CSV: OpenAPIMediaType(schema=text("CSV with a header row; `?measurement=` names the target."), example=OHLCV_CSV),
    GZIP: OpenAPIMediaType(schema=binary("Gzipped CSV.")),
    PARQUET: OpenAPIMediaType(schema=binary("A Parquet file.")),
    ARROW_STREAM: OpenAPIMediaType(schema=binary("An Arrow IPC stream.")),
    ARROW_FILE: OpenAPIMediaType(schema=binary("An Arrow IPC file.")),
    JSON: json_example("ImportJsonIn", IMPORT_EXAMPLE),
}


def body_of(name: str, example: Any = None) -> dict[str, OpenAPIMediaType]:
    return {JSON: OpenAPIMediaType(schema=ref(name), example=example)}


RUN_OR_ROWS: Final = Schema(any_of=[ref("RunOut"), ROWS])
HEALTH: Final = Schema(
    all_of=[
        ref("HealthOut"),
        Schema(
            type=OpenAPIType.OBJECT,
            properties={
                "postgres": Schema(type=OpenAPIType.OBJECT, description="`metadata`, when it is Postgres."),
                "questdb": Schema(type=OpenAPIType.OBJECT, description="`timeseries`, when it is QuestDB."),
            },
        ),
    ]
)
EVENT: Final = Schema(
    type=OpenAPIType.OBJECT,
    description="One Server-Sent Event; `data` is the JSON of the job, dataset, run or simulation.",
    properties={
        "event": Schema(type=OpenAPIType.STRING, enum=sorted(EVENT_TYPES)),
        "data": Schema(type=OpenAPIType.STRING),
        "id": Schema(type=OpenAPIType.STRING),
        "retry": Schema(type=OpenAPIType.INTEGER),
    },
)
TIMESERIES: Final = frozenset({502, 504})
WRITE: Final = frozenset({409, 415, 502, 504})

ROUTES: Final[dict[str, RouteDoc]] = {
    "POST /api/auth/token": RouteDoc(
        body=body_of("TokenIn", {"secret": "the shared secret", "name": "alice-desktop", "ttl_days": 30}),
        errors=frozenset({401, 403}),
    ),
    "POST /api/auth/session": RouteDoc(
        body=body_of("SessionIn", {"secret": "the shared secret", "name": "alice-browser"}),
        errors=frozenset({401, 403}),
    ),
    "DELETE /api/auth/session": RouteDoc(ok={"204": {}}),  # cookies cleared, no body
    "GET /api/auth/tokens": RouteDoc(),
    "DELETE /api/auth/tokens/{token_id}": RouteDoc(),
    "GET /api/datasets": RouteDoc(),
    "POST /api/datasets": RouteDoc(
        body=DATASET_BODY, ok={"200": json_of(ref("DatasetOut"))}, errors=WRITE, idempotent=True
    ),
    "POST /api/datasets/backfill": RouteDoc(
        body=body_of(
            "BackfillIn",
            {
                "dataset_slug": "btc_1h_again",
                "ohlcv_measurement": f"{EXAMPLE_SLUG}_ohlcv",
                "indicator_measurement": f"{EXAMPLE_SLUG}_ind",
            },
        ),
        ok={"200": json_of(ref("DatasetOut"))},
        errors=frozenset({404, 409, 502, 504}),
    ),
    "GET /api/datasets/{ref}": RouteDoc(errors=TIMESERIES),
    "POST /api/datasets/{ref}/export": RouteDoc(
        body=EXPORT_BODY, ok={"200": json_of(ref("DatasetOut"))}, errors=WRITE, accepted=True, idempotent=True
    ),
    "GET /api/datasets/{ref}/ohlcv": RouteDoc(ok={"200": frame_stream()}, errors=TIMESERIES),
    "GET /api/datasets/{ref}/indicators": RouteDoc(ok={"200": frame_stream()}, errors=TIMESERIES),
    "GET /api/datasets/{ref}/runs": RouteDoc(),
    "GET /api/datasets/{ref}/hierarchy": RouteDoc(),
    "GET /api/runs": RouteDoc(),
    "POST /api/runs/search": RouteDoc(),
    "GET /api/runs/compare": RouteDoc(errors=frozenset({404})),
    "PATCH /api/runs/{run_id}": RouteDoc(errors=frozenset({404, 409}), idempotent=True),
    "POST /api/runs/{run_id}/folds": RouteDoc(errors=frozenset({404, 409})),
    "POST /api/runs/{run_id}/predictions": RouteDoc(
        ok={"201": json_of(ref("RunSavedOut"))}, errors=WRITE | {404}, idempotent=True
    ),
    "PATCH /api/simulations/{simulation_id}": RouteDoc(errors=frozenset({404, 409}), idempotent=True),
    "POST /api/simulations/search": RouteDoc(),
    "GET /api/simulations/compare": RouteDoc(errors=frozenset({404})),
    "POST /api/runs": RouteDoc(
        body=RUN_BODY, ok={"201": json_of(ref("RunSavedOut"))}, errors=WRITE, accepted=True, idempotent=True
    ),
    "GET /api/runs/{run_id}": RouteDoc(ok={"200": frame_stream(RUN_OR_ROWS)}, errors=TIMESERIES),
    "GET /api/runs/{run_id}/predictions": RouteDoc(ok={"200": frame_stream()}, errors=TIMESERIES),
    "GET /api/runs/{run_id}/frame": RouteDoc(ok={"200": frame_stream()}, errors=TIMESERIES),
    "GET /api/simulations": RouteDoc(),
    "POST /api/simulations": RouteDoc(
        body=SIMULATION_BODY,
        ok={"201": json_of(ref("SimulationSavedOut"))},
        errors=WRITE,
        accepted=True,
        idempotent=True,
    ),
    "GET /api/simulations/{simulation_id}": RouteDoc(),
    "GET /api/simulations/{simulation_id}/trades": RouteDoc(
        ok={"200": frame_stream(ref("TradePage"))}, errors=TIMESERIES
    ),
    "GET /api/simulations/{simulation_id}/equity": RouteDoc(),
    "POST /api/questdb/import": RouteDoc(body=IMPORT_BODY, errors=WRITE, idempotent=True),
    "POST /api/questdb/import/async": RouteDoc(body=IMPORT_BODY, errors=frozenset({409, 415}), idempotent=True),
    "GET /api/questdb/jobs/{job_id}": RouteDoc(),
    "GET /api/questdb/measurements": RouteDoc(errors=TIMESERIES),
    "GET /api/questdb/measurement/{name}": RouteDoc(errors=TIMESERIES),
    "POST /api/questdb/query": RouteDoc(
        body=body_of("QueryIn", {"sql": "SELECT 1 AS one", "limit": 10}), errors=frozenset({403, 502, 504})
    ),
    "POST /api/questdb/export": RouteDoc(
        body=body_of("ExportIn", {"sql": "SELECT 1 AS one", "format": "csv"}),
        ok={"200": frame_stream()},
        errors=frozenset({403, 502, 504}),
    ),
    "GET /api/jobs": RouteDoc(),
    "GET /api/jobs/{job_id}": RouteDoc(),
    "POST /api/jobs/{job_id}/cancel": RouteDoc(errors=frozenset({409})),
    "POST /api/jobs/{job_id}/retry": RouteDoc(errors=frozenset({409})),
    "DELETE /api/jobs/{job_id}": RouteDoc(errors=frozenset({404, 409})),
    "DELETE /api/datasets/{ref}": RouteDoc(errors=frozenset({404, 409}), idempotent=True),
    "DELETE /api/runs/{run_id}": RouteDoc(errors=frozenset({404, 409}), idempotent=True),
    "DELETE /api/simulations/{simulation_id}": RouteDoc(errors=frozenset({404, 409}), idempotent=True),
    "DELETE /api/questdb/measurement/{name}": RouteDoc(errors=frozenset({404, 409})),
    "GET /api/maintenance/orphans": RouteDoc(),
    "GET /api/events": RouteDoc(ok={"200": {EVENT_STREAM: OpenAPIMediaType(schema=EVENT)}}),
    "GET /api/health": RouteDoc(ok={"200": json_of(HEALTH), "503": json_of(HEALTH)}, store=False),
    "GET /healthz": RouteDoc(ok={"200": json_of(HEALTH), "503": json_of(HEALTH)}, store=False),
    "GET /metrics": RouteDoc(store=False),
    "GET /api/indicators/datasets": RouteDoc(),
    "GET /api/indicators/datasets/{ref}": RouteDoc(errors=TIMESERIES),
    "GET /api/walkforward/runs": RouteDoc(),
    "GET /api/walkforward/runs/{run_id}": RouteDoc(ok={"200": json_of(ref("RunOut"))}),
    "GET /api/tradesim/runs": RouteDoc(),
    "GET /api/tradesim/runs/{simulation_id}": RouteDoc(),
}

ENUM_PARAMETERS: Final[dict[str, Schema]] = {
    "format": Schema(
        type=OpenAPIType.STRING,
        enum=["csv", "json", "ndjson", "arrow", "parquet", ""],
        description="Empty or absent: the Accept header decides, else the route's default.",
    ),
    "ts_unit": Schema(
        type=OpenAPIType.STRING,
        enum=["s", "ms", "us", "ns", "iso", "timestamp"],
        description="Absent: epoch ms (Parquet: its timestamp type). `timestamp`: a UTC time type in Arrow and "
        "Parquet, ISO text elsewhere.",
    ),
}
IDEMPOTENCY_KEY: Final = Parameter(
    name="Idempotency-Key",
    param_in=ParamType.HEADER,
    required=False,
    description="Retrying with the same key returns the first answer and writes nothing twice.",
    schema=Schema(type=OpenAPIType.STRING, min_length=1, max_length=MAX_KEY_LENGTH),
)
SECURITY: Final[list[SecurityRequirement]] = [{"token": []}, {"bearer": []}]


def with_full_openapi(app: Litestar) -> Litestar:
    """Complete the app's OpenAPI document in place; `/schema` and `stage1 openapi` serve the result."""
    complete(app.openapi_schema)
    return app


def complete(document: OpenAPI) -> None:
    _add_components(document)
    seen: set[str] = set()
    for path, item in (document.paths or {}).items():
        for method in ("get", "put", "post", "delete", "patch"):
            operation: Operation | None = getattr(item, method)
            if operation is None:
                continue
            key = f"{method.upper()} {path}"
            if key not in ROUTES:
                raise LookupError(f"{key} has no entry in openapi_extras.ROUTES; describe it there")
            seen.add(key)
            _complete_operation(path, operation, ROUTES[key])
            _unions_as_any_of(operation)
    if stale := sorted(set(ROUTES) - seen):
        raise LookupError(f"openapi_extras.ROUTES describes routes the app does not have: {stale}")


def _unions_as_any_of(operation: Operation) -> None:
    """A list answers either its plain page or, with `filter`/`fields`, a search page; an empty page is both, so
    `oneOf` (exactly one) would call a correct answer wrong. `anyOf` says what the route means."""
    for response in (operation.responses or {}).values():
        for media in (getattr(response, "content", None) or {}).values():
            schema = media.schema
            if isinstance(schema, Schema) and schema.one_of:
                schema.any_of, schema.one_of = schema.one_of, None


def _add_components(document: OpenAPI) -> None:
    _, components = msgspec.json.schema_components(WIRE_STRUCTS, ref_template="#/components/schemas/{name}")
    # Every error carries both keys, `details` as null when there is nothing to add.
    components["ErrorBody"]["required"] = ["error", "details"]
    for struct in PATTERNED_STRUCTS:
        for field_name, schema in components[struct]["properties"].items():
            # On a run, `dataset_slug` looks a dataset up (unknown: 409); only a dataset's own slug is a rule.
            if field_name in NAME_PATTERNS and not (struct == "RunIn" and field_name == "dataset_slug"):
                _constrain(schema, NAME_PATTERNS[field_name])
    schemas = cast(dict[str, Any], document.components.schemas)
    schemas.update(components)
    document.components.schemas = dict(sorted(schemas.items()))
    document.components.security_schemes = {
        "token": SecurityScheme(type="apiKey", name="X-Stage1-Token", security_scheme_in="header"),
        "bearer": SecurityScheme(type="http", scheme="bearer"),
    }


def _constrain(schema: dict[str, Any], pattern: str) -> None:
    """The pattern on the string branch of `str | None`, or on the string itself."""
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "string":
            branch["pattern"] = pattern


def _complete_operation(path: str, operation: Operation, doc: RouteDoc) -> None:
    protected = not any(re.match(pattern, path) for pattern in auth.OPEN_PATHS)
    parameters = list(operation.parameters or [])
    for parameter in parameters:
        if not isinstance(parameter, Parameter):
            continue
        if parameter.param_in == ParamType.QUERY and parameter.name in ENUM_PARAMETERS:
            parameter.schema = ENUM_PARAMETERS[parameter.name]
        if parameter.name in PARAMETER_EXAMPLES and parameter.param_in in (ParamType.PATH, ParamType.QUERY):
            parameter.example = PARAMETER_EXAMPLES[parameter.name]
        if (
            parameter.name in PARAMETER_PATTERNS
            and path.startswith("/api/questdb/")
            and isinstance(parameter.schema, Schema)
        ):
            parameter.schema.pattern = PARAMETER_PATTERNS[parameter.name]
    if doc.idempotent:
        parameters.append(IDEMPOTENCY_KEY)
    operation.parameters = parameters or None
    if doc.body is not None:
        operation.request_body = RequestBody(content=doc.body, required=True)
    if protected:
        operation.security = SECURITY

    responses = dict(operation.responses or {})
    for status, content in doc.ok.items():
        responses[status] = OpenAPIResponse(description=_phrase(int(status)), content=content)
    if doc.accepted:
        responses["202"] = OpenAPIResponse(
            description="Queued as a job (`?async=true`); poll `poll_url`.",
            content=json_of(ref("JobAcceptedOut")),
            headers={"Location": OpenAPIHeader(schema=Schema(type=OpenAPIType.STRING), required=True)},
        )
    for error in sorted(_error_statuses(path, operation, doc, protected)):
        if str(error) not in doc.ok:
            responses[str(error)] = _error_response(error)
    operation.responses = dict(sorted(responses.items()))


def _error_statuses(path: str, operation: Operation, doc: RouteDoc, protected: bool) -> set[int]:
    statuses = set(doc.errors)
    # A body Litestar decodes itself (`data: Struct`) is as much an input as one described here.
    has_body = doc.body is not None or operation.request_body is not None
    if operation.parameters or has_body:
        statuses.add(400)
    if "{" in path:
        statuses.add(404)
    if has_body:
        statuses.update({408, 413})
    if protected:
        statuses.add(401)
    if doc.rate_limited and path not in UNLIMITED_PATHS:
        statuses.add(429)
    if doc.store:
        statuses.add(503)
    return statuses


def _error_response(status: int) -> OpenAPIResponse:
    headers: dict[str, OpenAPIHeader | Reference] | None = None
    if status == 429:
        headers = {"Retry-After": OpenAPIHeader(schema=Schema(type=OpenAPIType.INTEGER), required=True)}
    elif status == 401:
        headers = {"WWW-Authenticate": OpenAPIHeader(schema=Schema(type=OpenAPIType.STRING))}
    return OpenAPIResponse(
        description=f"{_phrase(status)}: {ERROR_MEANINGS[status]}", content=json_of(ref("ErrorBody")), headers=headers
    )


def _phrase(status: int) -> str:
    return http.HTTPStatus(status).phrase

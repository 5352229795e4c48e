"""The OpenAPI document as the app describes itself (checked in as docs/openapi.json).

Litestar writes it from the handlers: their parameters, `data:` bodies, answers and `responses=`. What is added
here is true of every route alike: the `{"error", "details"}` envelope of each error status (with those that
auth, the rate limit, bad input and body limits add), the security schemes, the 202 of `?async=true`, the
domain's name patterns, and msgspec's own schemas for the wire structs (msgspec decodes them). What a handler
declares beyond its signature sits next to it as `opt=described(...)` (see openapi_extras.py)."""

from __future__ import annotations

import http
import json
import re
from typing import Any, Final, cast

import msgspec
from litestar import Litestar
from litestar.enums import ParamType
from litestar.openapi.spec import (
    OpenAPIHeader,
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
from litestar.routes import HTTPRoute

from domain.values import GRANULARITY_PATTERN, MEASUREMENT_PATTERN, SLUG_PATTERN
from entrypoints.http import auth, examples, streams, updates
from entrypoints.http import schemas as s
from entrypoints.http.errors import MEANINGS
from entrypoints.http.inputs import MAX_KEY_LENGTH
from entrypoints.http.openapi_extras import DOC, JSON, RouteDoc, json_of, ref
from entrypoints.settings import Settings

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
    updates.UpdateIn,
    updates.FoldsIn,
    s.DatasetOut,
    s.RunOut,
    s.RunSavedOut,
    s.SimulationSavedOut,
    s.TradePage,
    s.JobAcceptedOut,
    s.HealthOut,
)
# Health and metrics are exempt from the rate limit (see auth.rate_limit) and touch no store for their answer.
UNLIMITED_PATHS: Final = frozenset({"/api/health", "/healthz", "/metrics"})
PARAMETER_EXAMPLES: Final[dict[str, Any]] = {
    "ref": examples.EXAMPLE_SLUG,
    "run_id": examples.EXAMPLE_RUN_ID,
    "simulation_id": examples.EXAMPLE_SIMULATION_ID,
    "name": f"{examples.EXAMPLE_SLUG}_ohlcv",
    "measurement": "btc_1h_import",
}
# The domain's rules for names, stated in the document so clients (and fuzzers) can build valid ones.
MEASUREMENT: Final = f"^{MEASUREMENT_PATTERN.pattern}$"
NAME_PATTERNS: Final[dict[str, str]] = {
    "dataset_slug": f"^{SLUG_PATTERN.pattern}$",
    "granularity": f"^{GRANULARITY_PATTERN.pattern}$",
    **dict.fromkeys(
        ("measurement", "ohlcv_measurement", "indicator_measurement", "prediction_measurement", "trades_measurement"),
        MEASUREMENT,
    ),
}
PATTERNED_STRUCTS: Final = ("DatasetIn", "BackfillIn", "RunIn", "SimulationIn", "ImportJsonIn")
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


def openapi_json() -> str:
    from entrypoints.http.app import create_app  # the app completes its document with this module

    app = create_app(Settings(timeseries="memory", database_url="sqlite+aiosqlite:///:memory:"))
    return json.dumps(app.openapi_schema.to_schema(), indent=2, sort_keys=True)


def with_full_openapi(app: Litestar) -> Litestar:
    """Complete the app's OpenAPI document in place; `/schema` and `stage1 openapi` serve the result."""
    document = app.openapi_schema
    _add_components(document.components)
    # OpenAPI has no operation for a WebSocket route: the document's description tells of it.
    document.info.description = f"{document.info.description}\n\n{streams.described()}"
    for route in app.routes:
        item = (document.paths or {}).get(route.path_format)
        if not isinstance(route, HTTPRoute) or item is None:
            continue  # not an HTTP route, or one left out of the document
        for method, (handler, _) in route.route_handler_map.items():
            operation: Operation | None = getattr(item, method.lower(), None)
            if operation is not None:
                _complete(route.path_format, operation, handler.opt.get(DOC, RouteDoc()))
    return app


def _add_components(components: Any) -> None:
    _, schemas = msgspec.json.schema_components(WIRE_STRUCTS, ref_template="#/components/schemas/{name}")
    schemas["ErrorBody"]["required"] = ["error", "details"]  # `details` is null when there is nothing to add
    for struct in PATTERNED_STRUCTS:
        for field_name, schema in schemas[struct]["properties"].items():
            # On a run, `dataset_slug` looks a dataset up (unknown: 409); only a dataset's own slug is a rule.
            if field_name in NAME_PATTERNS and not (struct == "RunIn" and field_name == "dataset_slug"):
                for branch in schema.get("anyOf", [schema]):  # the string branch of `str | None`
                    if branch.get("type") == "string":
                        branch["pattern"] = NAME_PATTERNS[field_name]
    components.schemas = dict(sorted({**cast(dict[str, Any], components.schemas), **schemas}.items()))
    components.security_schemes = {
        "token": SecurityScheme(type="apiKey", name="X-Stage1-Token", security_scheme_in="header"),
        "bearer": SecurityScheme(type="http", scheme="bearer"),
    }


def _complete(path: str, operation: Operation, doc: RouteDoc) -> None:
    protected = not any(re.match(pattern, path) for pattern in auth.OPEN_PATHS)
    parameters = [p for p in operation.parameters or [] if isinstance(p, Parameter)]
    for parameter in parameters:
        if parameter.param_in == ParamType.QUERY and parameter.name in ENUM_PARAMETERS:
            parameter.schema = ENUM_PARAMETERS[parameter.name]
        if parameter.name in PARAMETER_EXAMPLES and parameter.param_in in (ParamType.PATH, ParamType.QUERY):
            parameter.example = PARAMETER_EXAMPLES[parameter.name]
        if parameter.name in ("measurement", "name") and path.startswith("/api/questdb/"):
            cast(Schema, parameter.schema).pattern = MEASUREMENT  # those name a measurement; filters take any text
    accepted = any(p.name == "async" and p.param_in == ParamType.QUERY for p in parameters)
    operation.parameters = [*parameters, *([IDEMPOTENCY_KEY] if doc.idempotent else [])] or None
    if doc.body is not None:
        operation.request_body = RequestBody(content=doc.body, required=True)
    elif doc.example is not None and isinstance(operation.request_body, RequestBody):
        operation.request_body.content[JSON].example = doc.example
    if protected:
        operation.security = SECURITY

    responses = dict(operation.responses or {})
    for status, content in doc.ok.items():
        responses[status] = OpenAPIResponse(description=_phrase(int(status)), content=content)
    if accepted:
        responses["202"] = OpenAPIResponse(
            description="Queued as a job (`?async=true`); poll `poll_url`.",
            content=json_of(ref("JobAcceptedOut")),
            headers={"Location": OpenAPIHeader(schema=Schema(type=OpenAPIType.STRING), required=True)},
        )
    declared = {int(status) for status in responses if int(status) >= 400 and status not in doc.ok}
    for error in sorted(declared | _statuses_of_every_route(path, operation, protected)):
        if str(error) not in doc.ok:
            responses[str(error)] = _error_response(error)
    operation.responses = dict(sorted(responses.items()))
    # A list answers either its plain page or, with `filter`/`fields`, a search page; an empty page is both, so
    # `oneOf` (exactly one) would call a correct answer wrong. `anyOf` says what the route means.
    for response in responses.values():
        for media in (getattr(response, "content", None) or {}).values():
            if isinstance(media.schema, Schema) and media.schema.one_of:
                media.schema.any_of, media.schema.one_of = media.schema.one_of, None


def _statuses_of_every_route(path: str, operation: Operation, protected: bool) -> set[int]:
    statuses = {400} if operation.parameters or operation.request_body else set()
    if "{" in path:
        statuses.add(404)
    if operation.request_body is not None:
        statuses.update({408, 413, 507})
    if protected:
        statuses.add(401)
    if path not in UNLIMITED_PATHS:
        statuses.update({429, 503})
    return statuses


def _error_response(status: int) -> OpenAPIResponse:
    headers: dict[str, OpenAPIHeader | Reference] | None = None
    if status == 429:
        headers = {"Retry-After": OpenAPIHeader(schema=Schema(type=OpenAPIType.INTEGER), required=True)}
    elif status == 401:
        headers = {"WWW-Authenticate": OpenAPIHeader(schema=Schema(type=OpenAPIType.STRING))}
    return OpenAPIResponse(
        description=f"{_phrase(status)}: {MEANINGS[status]}", content=json_of(ref("ErrorBody")), headers=headers
    )


def _phrase(status: int) -> str:
    return http.HTTPStatus(status).phrase

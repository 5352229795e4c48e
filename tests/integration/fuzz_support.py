"""Schemathesis settings shared by the fuzz tests: what it checks, how much it sends, how it encodes frame bodies."""

from __future__ import annotations

from collections import Counter
from typing import Any, Final

import schemathesis
from schemathesis.specs.openapi.checks import negative_data_rejection

from domain.errors import StoreTimeout
from domain.values import MEASUREMENT_PATTERN

EXAMPLES_PER_OPERATION: Final = 25
# The event stream never ends by itself; this long is enough to see its first bytes and headers.
EVENT_STREAM_SECONDS: Final = 0.5

CHECKS: Final = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "unsupported_method",
    "allow_header_conformance",
    "missing_required_header",
    "use_after_free",
    "ensure_resource_availability",
)

OK_STATUSES: Final = ["2XX", "3XX", "4XX"]

FUZZ_CONFIG: Final = schemathesis.Config.from_dict(
    {
        "seed": 20251110,
        "generation": {"max-examples": EXAMPLES_PER_OPERATION, "mode": "all", "database": "none"},
        "phases": {"examples": {"fill-missing": True}},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "request-timeout": 60,
        "max-stream-events": 5,
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
        "operations": [
            # The client's own SQL: the store's refusal is relayed as 502 and a run past the client's timeout
            # is a 504, as the contract says.
            {
                "include-path-regex": "^/api/questdb/(query|export)$",
                "checks": {"not_a_server_error": {"expected-statuses": [*OK_STATUSES, 502, 504]}},
            },
            # An async import queues the frame it was sent; the job reads and refuses it, after the 202.
            {
                "include-path": "/api/questdb/import/async",
                "checks": {"negative_data_rejection": {"enabled": False}},
            },
            # Reads that take a client-chosen `timeout`: running past it is the documented 504.
            {
                "include-path-regex": "/(ohlcv|indicators|predictions|trades)$|^/api/runs/[{]run_id[}]$",
                "checks": {"not_a_server_error": {"expected-statuses": [*OK_STATUSES, 504]}},
            },
        ],
    }
)

# Keys whose string values name QuestDB tables, directly or (a slug) through the default names built from them.
MEASUREMENT_KEYS: Final = frozenset(
    {
        "measurement",
        "dataset_slug",
        "ohlcv_measurement",
        "indicator_measurement",
        "prediction_measurement",
        "trades_measurement",
        "ref",
        "name",
    }
)


def register_serializers() -> None:
    """Frame bodies go out as the bytes the fuzzer made: CSV as text, the binary formats as they are."""
    schemathesis.serializer.alias("text/csv", "text/plain")
    schemathesis.serializer.alias(
        [
            "application/gzip",
            "application/vnd.apache.parquet",
            "application/vnd.apache.arrow.stream",
            "application/vnd.apache.arrow.file",
        ],
        "application/octet-stream",
    )


# (stores, operation, status) -> requests sent, for the summary the fuzz tests print.
SENT: Final[Counter[tuple[str, str, int]]] = Counter()


def call_and_validate(case: schemathesis.Case, app: Any, stores: str, measurement_prefix: str | None = None) -> None:
    excluded = []
    if isinstance(case.query, dict) and str(case.query.get("async")).lower() == "true":
        # `?async=true` answers 202 once the request's JSON checks out; the frame it carries is read, and
        # refused, by the job. The same body without `async` goes through the same checks synchronously.
        excluded.append(negative_data_rejection)
    if measurement_prefix is not None:
        case.path_parameters = _prefixed(case.path_parameters, measurement_prefix)
        case.query = _prefixed(case.query, measurement_prefix)
        case.body = _prefixed(case.body, measurement_prefix)
    kwargs: dict[str, Any] = {"app": app}
    if case.operation.path == "/api/events":
        kwargs["timeout"] = EVENT_STREAM_SECONDS
    try:
        response = case.call(**kwargs)
    except Exception as exc:
        if not _cut_by_its_own_timeout(exc):
            raise
        # The client's timeout ran out after the first bytes went out: the stream is cut (the connection
        # closes without its last chunk), as it must be once the status is sent.
        SENT[(stores, case.operation.label, 0)] += 1
        return
    SENT[(stores, case.operation.label, response.status_code)] += 1
    case.validate_response(response, excluded_checks=excluded, transport_kwargs=kwargs)


def _cut_by_its_own_timeout(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, StoreTimeout):
            return True
        if isinstance(exc, BaseExceptionGroup) and any(_cut_by_its_own_timeout(e) for e in exc.exceptions):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def summary() -> list[str]:
    lines = [
        f"schemathesis {schemathesis.__version__}, up to {EXAMPLES_PER_OPERATION} generated examples per operation"
    ]
    for stores in sorted({stores for stores, _, _ in SENT}):
        sent = {(label, status): count for (where, label, status), count in SENT.items() if where == stores}
        statuses: Counter[int] = Counter()
        for (_, status), count in sent.items():
            statuses[status] += count
        operations = len({label for label, _ in sent})
        by_status = ", ".join(f"{status or 'cut mid-stream'}: {count}" for status, count in sorted(statuses.items()))
        lines.append(f"{stores}: {sum(sent.values())} requests to {operations} operations ({by_status})")
    return lines


def _prefixed(value: Any, prefix: str, depth: int = 0) -> Any:
    """Measurement names (and slugs) with this run's prefix, in a query, a JSON body or a multipart JSON part.

    Only names that are valid already: an invalid one never reaches the store, and prefixing could make it valid
    behind the back of a case meant to be refused."""
    if not isinstance(value, dict) or depth > 1:
        return value
    out = {}
    for key, item in value.items():
        if key in MEASUREMENT_KEYS and isinstance(item, str) and MEASUREMENT_PATTERN.fullmatch(item):
            out[key] = prefix + item
        else:
            out[key] = _prefixed(item, prefix, depth + 1)
    return out

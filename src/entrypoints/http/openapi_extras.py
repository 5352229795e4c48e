"""What Litestar cannot read from a handler's signature, declared next to the handler as `opt=described(...)`:
the bodies a handler streams itself (multipart, raw frames), the media types of the streams it answers, the
example of its body and whether it honours an Idempotency-Key. `openapi_document.complete` adds them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from litestar.openapi.spec import Encoding, OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Reference, Schema

from adapters.frames.formats import MediaType
from entrypoints.http.errors import STORE_ERRORS, error_responses

JSON: Final = MediaType.JSON
MULTIPART: Final = "multipart/form-data"
FRAME_FILES: Final = ", ".join(
    (MediaType.CSV, MediaType.GZIP, MediaType.PARQUET, MediaType.ARROW_FILE, MediaType.ARROW_STREAM)
)
DOC: Final = "openapi"  # the `opt` key


@dataclass(frozen=True, slots=True)
class RouteDoc:
    body: dict[str, OpenAPIMediaType] | None = None  # a body the handler reads itself, streamed
    example: Any = None  # of the JSON body
    ok: dict[str, dict[str, OpenAPIMediaType]] = field(default_factory=dict)  # success status -> its content
    idempotent: bool = False  # honours an Idempotency-Key header


def described(**doc: Any) -> dict[str, RouteDoc]:
    return {DOC: RouteDoc(**doc)}


def ref(name: str) -> Reference:
    return Reference(ref=f"#/components/schemas/{name}")


def json_of(target: Reference | Schema, example: Any = None) -> dict[str, OpenAPIMediaType]:
    return {JSON: OpenAPIMediaType(schema=target, example=example)}


def text(description: str, binary: bool = False) -> Schema:
    return Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY if binary else None, description=description)


ROWS: Final = Schema(
    type=OpenAPIType.ARRAY,
    items=Schema(type=OpenAPIType.OBJECT, additional_properties=True),
    description="One JSON array of row objects.",
)


def frame_stream(json: Reference | Schema = ROWS) -> dict[str, OpenAPIMediaType]:
    """A stream in the five formats `format=` or `Accept` choose between."""
    return {
        MediaType.CSV: OpenAPIMediaType(schema=text("CSV with a header row.")),
        JSON: OpenAPIMediaType(schema=json),
        MediaType.NDJSON: OpenAPIMediaType(schema=text("One JSON object per line.")),
        MediaType.ARROW_STREAM: OpenAPIMediaType(schema=text("An Arrow IPC stream.", binary=True)),
        MediaType.PARQUET: OpenAPIMediaType(schema=text("A Parquet file, a row group per chunk.", binary=True)),
    }


def streamed(json: Reference | Schema = ROWS) -> dict[str, Any]:
    """The route arguments of a handler that streams rows from the time-series store."""
    return {"responses": error_responses(*STORE_ERRORS), "opt": described(ok={"200": frame_stream(json)})}


def frame_part(what: str) -> Schema:
    return text(f"{what} as CSV, CSV.gz, Parquet or Arrow IPC.", binary=True)


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


def record_with_frame(record: str, example: Any, head: str, frame: str, what: str) -> dict[str, OpenAPIMediaType]:
    """A record as JSON (its frame inline), or as multipart: the record in part `head`, the frame as a file."""
    return {
        **json_of(ref(record), example),
        MULTIPART: multipart({head: ref(record), frame: frame_part(what)}, [head]),
    }

"""Writes docs/api.md, the API reference that ships with the clone, from the OpenAPI document.

    python scripts/api_reference.py [docs/openapi.json] [docs/api.md]

A test keeps docs/api.md in step with docs/openapi.json, which another test keeps in step with the app.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
METHODS = ("get", "post", "put", "patch", "delete")

INTRO = """# Stage1 API reference

Generated from the OpenAPI document (`docs/openapi.json`; the running service serves it at
`/schema/openapi.json` and browses it at `/schema` and `/schema/swagger`) by `scripts/api_reference.py`.
Conventions that hold for every route:

- Base path `/api`; JSON bodies are UTF-8. Ids are UUID strings; wherever a path takes a dataset's `{id}`,
  its `dataset_slug` works too.
- Times: fields ending in `_at` are ISO-8601 UTC; fields ending in `_ts` are epoch seconds; time-series
  `timestamp` columns are epoch milliseconds on output unless `ts_unit` says otherwise. `to` is inclusive.
- Lists take `limit` (default 50, at most 1000) and `offset`, or `after=<next_cursor>`, and answer
  `{"<plural>": [...], "total", "limit", "offset", "next_cursor"}`.
- Every error is `{"error": "one line", "details": ...}`: 400 bad input, 401 no or bad token, 403
  forbidden, 404 unknown id, 409 conflict, 413 too large, 415 unsupported format, 421 unknown `Host`,
  429 rate limited (`Retry-After`), 502 the store failed, 503 a store is unreachable, 504 timeout.
- An unknown query parameter is a 400 naming it; an unknown JSON body field is ignored and named in the
  `Stage1-Ignored-Fields` response header (a 400 under `STAGE1_STRICT_BODIES=true`).
- Writes that may be retried honour an `Idempotency-Key` header.
- Every answer carries an `X-Request-ID`: the one the client sent, when it is 1 to 128 of `A-Z a-z 0-9 . _ : -`,
  else a new one. The service's log lines about the request, and about the jobs it queued, carry it.
- Streams take `format=csv|json|ndjson|arrow` or the `Accept` header and are sent chunked.
- `sample_by` on bars: `open` is the first, `high` the max, `low` the min, `close` the last and `volume`
  the sum of each bucket; indicators take the last value, or `aggregate=first|last|min|max|mean`. Units:
  `s`, `m` (minute), `h`, `d`, `w`, `M` (month), `y`; `D`, `H`, `W` work too. See [sampling.md](sampling.md).
- `POST /api/questdb/query` and `/export` speak the store's own SQL: QuestDB's dialect on QuestDB, DuckDB's
  on the embedded default; only reads are accepted. See [sql.md](sql.md).
- The search language of `filter=` is described in [search.md](search.md).
"""


def _schema_text(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "oneOf" in schema:
        return " or ".join(_schema_text(s) for s in schema["oneOf"] if s.get("type") != "null")
    kind = schema.get("type", "")
    if kind == "array":
        return f"list of {_schema_text(schema.get('items', {}))}"
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    return str(kind)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render(document: dict[str, Any]) -> str:
    # The document's own description: what has no operation of its own, such as the WebSocket route.
    lines = [INTRO, (document.get("info", {}).get("description") or "").strip() + "\n"]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                operation = item[method]
                tag = (operation.get("tags") or ["other"])[0]
                by_tag.setdefault(tag, []).append((method.upper(), path, operation))
    for tag in sorted(by_tag):
        lines.append(f"## {tag}\n")
        for method, path, operation in sorted(by_tag[tag], key=lambda row: (row[1], row[0])):
            lines.append(f"### `{method} {path}`\n")
            summary = operation.get("summary") or ""
            description = operation.get("description") or ""
            lines.append(_cell(summary) + ("\n\n" + description.strip() if description else "") + "\n")
            parameters = [p for p in operation.get("parameters", []) if p.get("in") in ("query", "path", "header")]
            if parameters:
                lines.append("| parameter | in | type | meaning |\n|---|---|---|---|")
                for p in parameters:
                    meaning = _cell(p.get("description") or p.get("schema", {}).get("description") or "")
                    lines.append(f"| `{p['name']}` | {p['in']} | {_schema_text(p.get('schema', {}))} | {meaning} |")
                lines.append("")
            statuses = ", ".join(sorted(operation.get("responses", {})))
            if statuses:
                lines.append(f"Answers: {statuses}.\n")
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "openapi.json"
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "docs" / "api.md"
    target.write_text(render(json.loads(source.read_text(encoding="utf-8"))), encoding="utf-8")


if __name__ == "__main__":
    main()

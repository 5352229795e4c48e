"""What runs and simulations share: saving a record with its frame, search, compare, update and delete."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any, Literal

import msgspec

from stage1_client._core import Call, Op, compact
from stage1_client.frames import As, frame_from_records, frame_part

# Nested objects of a record and the prefix their keys take as search fields (and as frame columns).
FLATTENED = {
    "hyperparameters": "params",
    "summary_metrics": "metrics",
    "walk_config": "walk",
    "tags": "tags",
    "config": "config",
}
# The list columns kept when a search projects the metrics or params it names.
BASE_FIELDS = {
    "runs": ("name", "status", "dataset.slug", "fold_count", "created_at", "completed_at"),
    "simulations": ("name", "status", "run_id", "trade_count", "created_at", "completed_at"),
}
# Past this length an expression goes in a POST body rather than the URL.
LONG_QUERY = 1500


def save_call(path: str, head_part: str, frame_name: str, record: dict[str, Any], frame: Any, background: bool) -> Call:
    """A record as JSON, or with its frame as multipart: the record as a JSON part next to an Arrow part."""
    params = {"async": True} if background else None
    if frame is None:
        return Call("POST", path, params=params, json=record)
    return Call(
        "POST",
        path,
        params=params,
        data={head_part: msgspec.json.encode(record).decode()},
        files={frame_name: frame_part(frame, frame_name)},
    )


def dataset_field(value: Any) -> dict[str, str]:
    """A dataset named by UUID goes as `dataset_id`, by slug as `dataset_slug`; a Dataset record by its id."""
    for attribute in ("dataset_id", "dataset_slug"):
        found = getattr(value, attribute, None)
        if isinstance(found, str):
            return {attribute: found}
    text = str(value)
    try:
        uuid.UUID(text)
    except ValueError:
        return {"dataset_slug": text}
    return {"dataset_id": text}


def flatten(item: dict[str, Any], prefix: str = "", record: bool = True) -> dict[str, Any]:
    """A record as one row whose nested values take their search-field names: `{"summary_metrics":
    {"sharpe": 1.2}}` → `metrics.sharpe`, `{"run": {"hyperparameters": {"eta": 0.1}}}` → `run.params.eta`,
    `{"trade_buckets": [{"bucket": "all", "total_pnl": 3}]}` → `buckets.all.total_pnl`."""
    row: dict[str, Any] = {}
    for key, value in item.items():
        name = FLATTENED.get(key, key) if record else key
        if record and key == "trade_buckets" and isinstance(value, list):
            for bucket in value:
                if isinstance(bucket, dict) and "bucket" in bucket:
                    stem = f"{prefix}buckets.{bucket['bucket']}."
                    row.update({stem + k: v for k, v in bucket.items() if k != "bucket"})
        elif record and key == "dataset" and isinstance(value, dict):
            row.update({f"{prefix}dataset.{k.removeprefix('dataset_')}": v for k, v in value.items()})
        elif isinstance(value, dict):
            # `run` is a record of its own; the keys inside params, metrics, tags are the user's.
            row.update(flatten(value, f"{prefix}{name}.", record=record and key == "run"))
        elif not isinstance(value, list):
            row[prefix + name] = value
    return row


# Group fields (`metrics.sharpe`, `run.params.eta`, `buckets.all.total_pnl`) named in an expression.
GROUP_FIELD = re.compile(r"\b(?:run\.)?(?:params|metrics|walk|tags|config|buckets\.(?:all|long|short))\.[A-Za-z_][\w]*")


def projection(base: Sequence[str], *expressions: str | None) -> list[str] | None:
    """Without `fields=` the server answers the list shape, which has no metrics or params. When the filter
    or the order names some, ask for the base columns plus those, so they come back as columns."""
    named = [m.group(0) for text in expressions if text for m in GROUP_FIELD.finditer(text)]
    return [*base, *dict.fromkeys(named)] if named else None


def search(
    path: str,
    plural: str,
    filter: str | None,
    order_by: str | Sequence[str] | None,
    fields: Sequence[str] | None,
    limit: int | None,
    offset: int | None,
    after: str | None,
    count: bool | None,
    as_: As | Literal["records"],
) -> Op[Any]:
    order = order_by if isinstance(order_by, str) or order_by is None else ", ".join(order_by)
    if fields is None:
        fields = projection(BASE_FIELDS[plural], filter, order)
    field_list = None if fields is None else ",".join(fields)
    body = compact(
        filter=filter, order_by=order, fields=field_list, limit=limit, offset=offset, after=after, count=count
    )
    if len(filter or "") + len(order or "") + len(field_list or "") > LONG_QUERY:
        reply = yield Call("POST", f"{path}/search", json=body)
    else:
        reply = yield Call("GET", path, params=body)
    items = (reply.json() or {}).get(plural) or []
    return frame_from_records([flatten(item) for item in items], as_)


def update_body(
    status: str | None,
    name: str | None,
    tags: dict[str, str | None] | None,
    notes: str | None,
    metrics: dict[str, Any] | None,
    started_at: Any,
    completed_at: Any,
) -> dict[str, Any]:
    body = compact(status=status, name=name, tags=tags, notes=notes, summary_metrics=metrics)
    body.update(compact(started_at=_iso(started_at), completed_at=_iso(completed_at)))
    return body


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def delete_call(path: str, cascade: bool | None, dry_run: bool | None) -> Call:
    return Call("DELETE", path, params=compact(cascade=cascade, dry_run=dry_run))


def compare_call(path: str, ids: Sequence[Any], attribute: str) -> Call:
    keys = [value if isinstance(value, str) else str(getattr(value, attribute)) for value in ids]
    return Call("GET", f"{path}/compare", params={"ids": keys})

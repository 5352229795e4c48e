"""What the run and simulation lists share: the dataset and status they are narrowed to by the old list
filters, and their page and search (`LIST_QUERY`). A list handler declares `RECORD_LIST` and takes
`within: RecordScope` where those filters stand in its query, then its own filters."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final
from uuid import UUID

from litestar.di import Provide

from domain.errors import InvalidInput
from entrypoints.http import parameters as p
from entrypoints.http.search import LIST_QUERY


def parse_uuid(value: str | None, field: str) -> UUID | None:
    if value is None:
        return None
    try:
        return UUID(value)
    except ValueError as exc:
        raise InvalidInput(f"{field} must be a UUID", {"field": field}) from exc


def dataset_named(dataset_id: str | None, dataset_slug: str | None) -> tuple[UUID | None, str | None]:
    """`?dataset_id=` takes the dataset's id or its slug, like the `{id}` of `/api/datasets/{id}`."""
    if dataset_id is None:
        return None, dataset_slug
    try:
        return UUID(dataset_id), dataset_slug
    except ValueError:
        if dataset_slug is not None and dataset_slug != dataset_id:
            raise InvalidInput("dataset_id and dataset_slug name different datasets", {"field": "dataset_id"}) from None
        return None, dataset_id


@dataclass(frozen=True, slots=True)
class RecordScope:
    """The records of one dataset (by id or slug) in one status; a filter left out narrows nothing."""

    dataset_id: UUID | None
    dataset_slug: str | None
    status: str | None

    def filters(self) -> dict[str, Any]:
        return asdict(self)


def record_scope(
    dataset_id: p.DatasetId = None, dataset_slug: p.DatasetSlug = None, status: p.Status = None
) -> RecordScope:
    return RecordScope(*dataset_named(dataset_id, dataset_slug), status)


RECORD_LIST: Final = {"within": Provide(record_scope, sync_to_thread=False), **LIST_QUERY}

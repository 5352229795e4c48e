"""`PATCH /api/runs/{id}` and `PATCH /api/simulations/{id}`: status moves, name, tags, notes, metrics.

Absent fields stay as they are; `tags` and `summary_metrics` merge (a key set to null is removed). The
answer is the same detail as `GET`, and a retried `Idempotency-Key` gets the first answer back.
The handlers sit on the runs and simulations routers (one router per path, so OPTIONS is answered once).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final

import msgspec
from litestar import Request, patch, post
from msgspec import UNSET, Meta, UnsetType

from domain import lifecycle
from domain.runs import Fold, WalkforwardRun
from entrypoints.http import parameters as p
from entrypoints.http import presenters as present
from entrypoints.http.errors import error_responses
from entrypoints.http.examples import RUN_EXAMPLE
from entrypoints.http.inputs import idempotency_key, sha256
from entrypoints.http.openapi_extras import described
from entrypoints.http.schemas.common import Json, Label, Notes, RunStatusName, ShortText, doc
from entrypoints.http.schemas.runs import FoldIn
from entrypoints.http.use_cases import UseCase

TagChanges = Annotated[dict[Annotated[str, Meta(min_length=1, max_length=256)], ShortText | None], Meta(max_length=50)]


class UpdateIn(msgspec.Struct, forbid_unknown_fields=False):
    """What to change; a field left out stays as it is."""

    status: Annotated[RunStatusName, doc("The new status; COMPLETED and FAILED are final.")] | UnsetType = UNSET
    name: Annotated[Label, doc("A human name; null clears it.")] | UnsetType | None = UNSET
    tags: Annotated[TagChanges, doc("Tags to set; a null value removes that tag.")] | UnsetType = UNSET
    notes: Annotated[Notes, doc("Free text notes; null clears them.")] | UnsetType | None = UNSET
    summary_metrics: Annotated[Json, doc("Metrics to merge into the summary.")] | UnsetType = UNSET
    started_at: Annotated[datetime, doc("When the work started (UTC).")] | UnsetType | None = UNSET
    completed_at: Annotated[datetime, doc("When the work ended (UTC).")] | UnsetType | None = UNSET

    def update(self) -> lifecycle.Update:
        given = {name: getattr(self, name) for name in self.__struct_fields__}
        return lifecycle.Update(**{name: value for name, value in given.items() if value is not UNSET})


def _run_detail(run: Any) -> dict[str, Any]:
    detail: dict[str, Any] = msgspec.to_builtins(present.run_out(run, ""))
    return detail


def _simulation_detail(simulation: Any) -> dict[str, Any]:
    detail: dict[str, Any] = msgspec.to_builtins(present.simulation_out(simulation, ""))
    return detail


PATCH_DOC: Final[dict[str, Any]] = {
    "responses": error_responses(404, 409),
    "opt": described(
        idempotent=True, example={"status": "COMPLETED", "tags": {"model": "xgb"}, "summary_metrics": {"auc": 0.57}}
    ),
}


@patch("/{run_id:str}", summary="Update a run: status, name, tags, notes, summary metrics", **PATCH_DOC)
async def patch_run(
    request: Request[Any, Any, Any], data: UpdateIn, update_run: UseCase[dict[str, Any]], run_id: p.RunId
) -> Any:
    key = idempotency_key(request, "runs.update", sha256(run_id.encode() + b"\n" + await request.body()))
    return await update_run(run_id, data.update(), key, _run_detail)


class FoldsIn(msgspec.Struct, forbid_unknown_fields=False):
    """Folds to add; a fold whose number exists replaces it."""

    folds: Annotated[list[FoldIn], Meta(min_length=1, max_length=100_000), doc("The folds, 1 to 100,000.")]


@post(
    "/{run_id:str}/folds",
    status_code=200,
    summary="Add or replace folds of a run that is not final",
    responses=error_responses(404, 409),
    opt=described(example={"folds": RUN_EXAMPLE["folds"]}),
)
async def post_folds(data: FoldsIn, add_folds: UseCase[WalkforwardRun], run_id: p.RunId) -> Any:
    folds = msgspec.convert(data.folds, list[Fold], from_attributes=True)
    return _run_detail(await add_folds(run_id, folds))


@patch("/{simulation_id:str}", summary="Update a simulation: status, name, tags, notes, metrics", **PATCH_DOC)
async def patch_simulation(
    request: Request[Any, Any, Any],
    data: UpdateIn,
    update_simulation: UseCase[dict[str, Any]],
    simulation_id: p.SimulationId,
) -> Any:
    raw = await request.body()
    key = idempotency_key(request, "simulations.update", sha256(simulation_id.encode() + b"\n" + raw))
    return await update_simulation(simulation_id, data.update(), key, _simulation_detail)

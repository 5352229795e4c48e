"""`DELETE` of a dataset, a run, a simulation, a free measurement and a finished job, and
`GET /api/maintenance/orphans`. The record handlers sit on their resources' routers (one router per path,
so OPTIONS is answered once); the answer of a delete sent with an `Idempotency-Key` is replayed for a retry.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

import msgspec
from litestar import Request, Router, delete, get
from litestar.params import Parameter

from application.deletion import DeleteOptions
from application.maintenance import Orphans
from domain.jobs import Job
from entrypoints.http import parameters as p
from entrypoints.http import presenters as present
from entrypoints.http.errors import error_responses
from entrypoints.http.inputs import idempotency_key, sha256
from entrypoints.http.openapi_extras import described
from entrypoints.http.schemas.deletes import DeletedOut, OrphansOut
from entrypoints.http.schemas.jobs import JobOut
from entrypoints.http.use_cases import UseCase

Cascade = Annotated[bool, Parameter(required=False, description="Delete what it owns too.")]
DryRun = Annotated[bool, Parameter(required=False, description="Answer what would go; delete nothing.")]


async def _delete(
    request: Request[Any, Any, Any],
    delete_record: UseCase[dict[str, Any]],
    kind: str,
    ref: str,
    flags: tuple[bool, bool],
) -> DeletedOut:
    cascade, dry_run = flags
    key = idempotency_key(request, f"{kind}s.delete", sha256(f"{ref}\n{cascade}".encode()))
    answer = await delete_record(kind, ref, DeleteOptions(cascade=cascade, dry_run=dry_run, idempotency=key))
    return msgspec.convert(answer, DeletedOut)


# A record with dependants (without cascade) or a name in use is a 409; a retried Idempotency-Key answers again.
DELETE_RECORD: Final[dict[str, Any]] = {"responses": error_responses(404, 409), "opt": described(idempotent=True)}


@delete(
    "/{ref:str}",
    status_code=200,
    summary="Delete a dataset; with cascade=true its runs and simulations too",
    **DELETE_RECORD,
)
async def delete_dataset(
    request: Request[Any, Any, Any],
    delete_record: UseCase[dict[str, Any]],
    ref: p.DatasetRef,
    cascade: Cascade = False,
    dry_run: DryRun = False,
) -> DeletedOut:
    return await _delete(request, delete_record, "dataset", ref, (cascade, dry_run))


@delete(
    "/{run_id:str}", status_code=200, summary="Delete a run; with cascade=true its simulations too", **DELETE_RECORD
)
async def delete_run(
    request: Request[Any, Any, Any],
    delete_record: UseCase[dict[str, Any]],
    run_id: p.RunId,
    cascade: Cascade = False,
    dry_run: DryRun = False,
) -> DeletedOut:
    return await _delete(request, delete_record, "run", run_id, (cascade, dry_run))


@delete("/{simulation_id:str}", status_code=200, summary="Delete a simulation and its trades", **DELETE_RECORD)
async def delete_simulation(
    request: Request[Any, Any, Any],
    delete_record: UseCase[dict[str, Any]],
    simulation_id: p.SimulationId,
    cascade: Cascade = False,
    dry_run: DryRun = False,
) -> DeletedOut:
    return await _delete(request, delete_record, "simulation", simulation_id, (cascade, dry_run))


@delete(
    "/measurement/{name:str}",
    status_code=200,
    summary="Drop a measurement no record owns",
    responses=error_responses(404, 409),
)
async def delete_measurement(delete_measurement: UseCase[dict[str, Any]], name: p.MeasurementName) -> DeletedOut:
    return msgspec.convert(await delete_measurement(name), DeletedOut)


@delete(
    "/{job_id:str}",
    status_code=200,
    summary="Delete a finished job (and the upload a failed one kept)",
    responses=error_responses(404, 409),
)
async def delete_job(delete_job: UseCase[Job], job_id: p.JobId) -> JobOut:
    """Answers the job as it was."""
    return present.job_out(await delete_job(job_id))


@get("/orphans", summary="Measurements no record accounts for, and records whose measurement is missing")
async def orphans(find_orphans: UseCase[Orphans]) -> OrphansOut:
    return msgspec.convert((await find_orphans()).as_dict(), OrphansOut)


maintenance_router = Router(path="/api/maintenance", route_handlers=[orphans], tags=["maintenance"])

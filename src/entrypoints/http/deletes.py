"""`DELETE` of a dataset, a run, a simulation, a free measurement and a finished job, and
`GET /api/maintenance/orphans`. The record handlers sit on their resources' routers (one router per path,
so OPTIONS is answered once); the answer of a delete sent with an `Idempotency-Key` is replayed for a retry.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Final

import msgspec
from litestar import Request, Router, delete, get
from litestar.di import Provide
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


class RecordDeletion:
    """A DELETE of one record as its request asks for it: `?cascade=`, `?dry_run=` and its Idempotency-Key.

    A dependency, so that the three record handlers declare only their path and what they delete.
    """

    def __init__(self, request: Request[Any, Any, Any], delete_record: UseCase[dict[str, Any]], flags: DeleteOptions):
        self._request = request
        self._delete_record = delete_record
        self._flags = flags

    async def __call__(self, kind: str, ref: str) -> DeletedOut:
        key = idempotency_key(self._request, f"{kind}s.delete", sha256(f"{ref}\n{self._flags.cascade}".encode()))
        answer = await self._delete_record(kind, ref, replace(self._flags, idempotency=key))
        return msgspec.convert(answer, DeletedOut)


async def record_deletion(
    request: Request[Any, Any, Any],
    delete_record: UseCase[dict[str, Any]],
    cascade: Cascade = False,
    dry_run: DryRun = False,
) -> RecordDeletion:
    return RecordDeletion(request, delete_record, DeleteOptions(cascade=cascade, dry_run=dry_run))


# A record with dependants (without cascade) or a name in use is a 409; a retried Idempotency-Key answers again.
DELETE_RECORD: Final[dict[str, Any]] = {
    "responses": error_responses(404, 409),
    "opt": described(idempotent=True),
    "dependencies": {"deletion": Provide(record_deletion)},
}


@delete(
    "/{ref:str}",
    status_code=200,
    summary="Delete a dataset; with cascade=true its runs and simulations too",
    **DELETE_RECORD,
)
async def delete_dataset(ref: p.DatasetRef, deletion: RecordDeletion) -> DeletedOut:
    return await deletion("dataset", ref)


@delete(
    "/{run_id:str}", status_code=200, summary="Delete a run; with cascade=true its simulations too", **DELETE_RECORD
)
async def delete_run(run_id: p.RunId, deletion: RecordDeletion) -> DeletedOut:
    return await deletion("run", run_id)


@delete("/{simulation_id:str}", status_code=200, summary="Delete a simulation and its trades", **DELETE_RECORD)
async def delete_simulation(simulation_id: p.SimulationId, deletion: RecordDeletion) -> DeletedOut:
    return await deletion("simulation", simulation_id)


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

"""Async saves and imports go through jobs the client can poll, cancel, retry and follow on SSE."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import anyio
import pytest
from litestar.testing import AsyncTestClient

pytestmark = pytest.mark.anyio

CSV = "timestamp,open,high,low,close,volume\n" + "".join(f"{1704067200 + i * 60},1,2,0.5,1.5,{i}\n" for i in range(500))


async def finished(client: AsyncTestClient, poll_url: str, tries: int = 200) -> dict:  # type: ignore[type-arg]
    for _ in range(tries):
        job = (await client.get(poll_url)).json()
        if job["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
            return job  # type: ignore[no-any-return]
        await asyncio.sleep(0.02)
    raise AssertionError(job)


async def test_an_async_import_is_a_job_that_completes_with_the_import_result(client: AsyncTestClient, world) -> None:  # type: ignore[no-untyped-def, type-arg]
    accepted = await client.post(
        "/api/questdb/import/async", json={"measurement": "bars", "data": CSV, "kind": "ohlcv"}
    )
    assert accepted.status_code == 202
    body = accepted.json()
    assert set(body) == {"job_id", "status", "message", "poll_url"} and body["status"] == "PENDING"
    job = await finished(client, body["poll_url"])
    assert job["status"] == "COMPLETED" and job["result"]["rows_written"] == 500
    assert job["type"] == "questdb_import" and job["attempts"] == 1
    assert "file" not in job["payload"] and "uploads" not in job["payload"]
    same = (await client.get(f"/api/questdb/jobs/{body['job_id']}")).json()
    assert same == job
    assert (await world.store.describe("bars")).row_count == 500
    assert world.leftover_uploads() == []
    listed = (await client.get("/api/jobs", params={"status": "COMPLETED", "type": "questdb_import"})).json()
    assert [j["job_id"] for j in listed["jobs"]] == [body["job_id"]]


async def test_an_async_import_of_a_bad_frame_fails_at_once_with_the_reason(client: AsyncTestClient, world) -> None:  # type: ignore[no-untyped-def, type-arg]
    accepted = await client.post(
        "/api/questdb/import/async",
        json={"measurement": "bars", "data": "timestamp,open\n1704067200,1\n", "kind": "ohlcv"},
    )
    job = await finished(client, accepted.json()["poll_url"])
    assert job["status"] == "FAILED" and "missing columns" in job["error"] and job["attempts"] == 1
    # A failed job keeps its upload for a retry; it goes with the job.
    assert len(world.leftover_uploads()) == 1
    retried = await client.post(f"/api/jobs/{job['job_id']}/retry")
    assert retried.status_code == 200 and retried.json()["status"] in ("PENDING", "RUNNING", "FAILED")
    again = await finished(client, accepted.json()["poll_url"])
    assert again["status"] == "FAILED" and "missing columns" in again["error"]
    assert (await client.delete(f"/api/jobs/{job['job_id']}")).status_code == 200
    assert world.leftover_uploads() == []


async def test_a_completed_job_can_be_neither_cancelled_nor_retried(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    accepted = await client.post("/api/questdb/import/async", json={"measurement": "m", "data": CSV})
    job = await finished(client, accepted.json()["poll_url"])
    assert (await client.post(f"/api/jobs/{job['job_id']}/cancel")).status_code == 409
    assert (await client.post(f"/api/jobs/{job['job_id']}/retry")).status_code == 409


async def test_the_same_idempotency_key_answers_the_same_job(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    body = {"measurement": "m2", "data": CSV}
    first = await client.post("/api/questdb/import/async", json=body, headers={"Idempotency-Key": "abc"})
    second = await client.post("/api/questdb/import/async", json=body, headers={"Idempotency-Key": "abc"})
    assert first.json()["job_id"] == second.json()["job_id"]


@pytest.fixture
async def live_url(world):  # type: ignore[no-untyped-def]
    """The app on a real socket: the in-process test client buffers whole responses, SSE never ends."""
    import socket

    import uvicorn

    from entrypoints.http.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(world.settings, world.container()), log_level="warning"))
    async with anyio.create_task_group() as group:
        group.start_soon(server.serve, [sock])
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
        server.should_exit = True
    sock.close()


async def test_sse_subscribers_see_every_update_of_a_job_in_order_and_can_resume(live_url: str) -> None:
    import httpx

    seen: list[tuple[int | None, dict]] = []  # type: ignore[type-arg]

    async def listen(client: httpx.AsyncClient, headers: dict[str, str], until: int) -> None:
        async with client.stream("GET", "/api/events", params={"types": "job.updated"}, headers=headers) as stream:
            event: dict[str, str] = {}
            async for line in stream.aiter_lines():
                if line.startswith("id:"):
                    event["id"] = line[3:].strip()
                elif line.startswith("data:"):
                    event["data"] = line[5:].strip()
                elif line == "" and "data" in event:
                    seen.append((int(event["id"]) if "id" in event else None, json.loads(event["data"])))
                    event = {}
                    if len(seen) >= until and seen[-1][1]["status"] == "COMPLETED":
                        return

    async with httpx.AsyncClient(base_url=live_url, timeout=10) as client:
        with anyio.fail_after(15):
            async with anyio.create_task_group() as group:
                group.start_soon(listen, client, {}, 1)
                await asyncio.sleep(0.3)
                await client.post("/api/questdb/import/async", json={"measurement": "sse", "data": CSV})
        statuses = [data["status"] for _, data in seen]
        assert statuses[0] == "PENDING" and statuses[-1] == "COMPLETED" and "RUNNING" in statuses
        ids = [event_id for event_id, _ in seen if event_id is not None]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        # Progress goes live only, without an id (not kept for a resume); each status change is kept, with an id.
        assert [data["status"] for event_id, data in seen if event_id is not None] == ["PENDING", "RUNNING", "COMPLETED"]

        # A client that reconnects with the first id it saw gets every kept event after it, in order, again.
        kept = [(event_id, data) for event_id, data in seen if event_id is not None]
        seen.clear()
        with anyio.fail_after(15):
            await listen(client, {"Last-Event-ID": str(kept[0][0])}, len(kept) - 1)
        assert seen == kept[1:]


async def test_job_events_and_job_bodies_never_show_server_file_paths(client: AsyncTestClient, world) -> None:  # type: ignore[no-untyped-def, type-arg]
    accepted = await client.post("/api/questdb/import/async", json={"measurement": "quiet", "data": CSV})
    await finished(client, accepted.json()["poll_url"])
    events = [event.data for event in world.events.events]
    assert events and all(set(data["payload"]) == {"measurement", "kind", "mode"} for data in events)
    assert str(world.uploads) not in str(events)


async def test_an_idle_event_stream_gets_a_keepalive_comment(live_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    from entrypoints.http import events

    monkeypatch.setattr(events, "KEEPALIVE_SECONDS", 0.2)
    comments = 0
    async with httpx.AsyncClient(base_url=live_url, timeout=10) as client:
        with anyio.fail_after(10):
            async with client.stream("GET", "/api/events") as stream:
                async for line in stream.aiter_lines():
                    if line.startswith(":"):
                        comments += 1
                        if comments == 2:
                            break
    assert comments == 2


async def test_keepalive_waits_for_the_pending_item_instead_of_dropping_it() -> None:
    from entrypoints.http.events import with_keepalive

    async def slow() -> AsyncIterator[int]:
        for number in (1, 2):
            await asyncio.sleep(0.15)
            yield number

    seen = [item async for item in with_keepalive(slow(), 0.1)]
    assert [item for item in seen if item is not None] == [1, 2] and None in seen


async def test_the_feed_filtered_by_a_dataset_carries_only_its_own_events(live_url: str) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=live_url, timeout=10) as client:
        for slug in ("mine", "other"):
            assert (await client.post("/api/datasets", json={"dataset_slug": slug})).status_code == 201
        assert (await client.get("/api/events", params={"dataset": "nope"})).status_code == 404
        seen: list[tuple[str, dict]] = []  # type: ignore[type-arg]

        async def listen() -> None:
            async with client.stream("GET", "/api/events", params={"dataset": "mine", "last_event_id": 0}) as stream:
                event: dict[str, str] = {}
                async for line in stream.aiter_lines():
                    if line.startswith(("event:", "data:")):
                        key, _, value = line.partition(":")
                        event[key] = value.strip()
                    elif line == "" and "data" in event:
                        seen.append((event["event"], json.loads(event["data"])))
                        event = {}
                        if seen[-1][0] == "run.created":
                            return

        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(listen)
                await client.post("/api/datasets", json={"dataset_slug": "other", "source": "x"})
                await client.post("/api/runs", json={"dataset_slug": "other"})
                await client.post("/api/runs", json={"dataset_slug": "mine"})
    slugs = {data.get("dataset_slug") for kind, data in seen if kind == "dataset.updated"}
    assert slugs == {"mine"} and [kind for kind, _ in seen][-1] == "run.created"
    assert {data["dataset_id"] for _, data in seen} == {seen[0][1]["dataset_id"]}

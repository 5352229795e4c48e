"""`create_app()`: the one place the HTTP service is assembled."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig

from adapters.worker_metrics import PrometheusWorkerMetrics
from application.credential_guard import CredentialGuard
from domain.lockout import LockoutPolicy
from entrypoints.container import Container, open_ports
from entrypoints.housekeeping import leftovers_swept
from entrypoints.http import (
    auth,
    datasets,
    deletes,
    events,
    jobs,
    measurements,
    metrics,
    operations,
    runs,
    search,
    simulations,
    streams,
    use_cases,
)
from entrypoints.http.access_log import access_log
from entrypoints.http.allow_header import allow_every_method
from entrypoints.http.body_timeout import body_timeout
from entrypoints.http.dashboard import browser_routers
from entrypoints.http.dashboard_docs import docs_render_plugins
from entrypoints.http.errors import EXCEPTION_HANDLERS
from entrypoints.http.openapi_document import with_full_openapi
from entrypoints.http.operations import VERSION
from entrypoints.http.request_guard import request_guard
from entrypoints.http.security_headers import security_headers
from entrypoints.http.strict_input import StrictInput
from entrypoints.settings import Settings
from entrypoints.worker_runtime import in_process_worker

log = logging.getLogger("stage1")


def create_app(settings: Settings | None = None, container: Container | None = None) -> Litestar:
    settings = settings or Settings()
    container = container or Container(settings=settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_ports(settings, container) as ports:
            app.state.use_cases = use_cases.bind_routed(ports)
            app.state.worker_metrics = PrometheusWorkerMetrics()
            app.state.credential_guard = CredentialGuard(
                ports.attempts,
                LockoutPolicy(settings.auth_lockout_after, settings.auth_lockout_seconds),
                settings.auth_rate_limit_per_minute,
                ports.clock,
            )
            async with leftovers_swept(ports, settings), in_process_worker(ports, settings, app.state.worker_metrics):
                yield

    def provide_settings() -> Settings:
        return settings

    cors = (
        CORSConfig(
            allow_origins=settings.cors_origins,
            allow_credentials=False,
            allow_headers=["*"],
            expose_headers=["Retry-After", "Location", "X-Request-ID"],
        )
        if settings.cors_origins
        else None
    )
    strict_input = StrictInput(strict_bodies=settings.strict_bodies)
    app = Litestar(
        route_handlers=[
            datasets.router,
            search.router,
            runs.router,
            simulations.router,
            measurements.router,
            jobs.router,
            operations.router,
            auth.router,
            events.router,
            streams.router,
            deletes.maintenance_router,
            metrics.metrics,
            *browser_routers(),
        ],
        middleware=[
            security_headers,
            request_guard(settings),
            body_timeout,
            metrics.PROMETHEUS.middleware,
            # Authentication first, so the general limit keys on a token only once the store recognised it.
            *([auth.auth_middleware()] if settings.auth_required else []),
            auth.rate_limit(settings).middleware,
            # Innermost: a caller the limits or the token refuse hears that, not about a parameter's name.
            strict_input.middleware,
        ],
        dependencies={
            **use_cases.dependencies(),
            "settings": Provide(provide_settings, sync_to_thread=False, use_cache=True),
        },
        lifespan=[lifespan],
        before_request=strict_input.before_request,
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        openapi_config=OpenAPIConfig(
            title="Stage1",
            version=VERSION,
            path="/schema",
            description="Datasets, walk-forward runs, simulations and jobs of the quant-research platform.",
            render_plugins=docs_render_plugins(),
        ),
        cors_config=cors,
        # Logging is set up once per process by `entrypoints.logs` (serve, worker, CLI), not per app.
        logging_config=None,
        # The upload limit holds for every body, JSON included; open routes set a far smaller one.
        request_max_body_size=settings.max_upload_bytes,
        debug=False,
    )
    app.state.trusted_proxies = tuple(settings.trusted_proxies)
    # Outermost, around the router itself: every answer (a 404 for an unknown path included) has an id and a line.
    app.asgi_handler = access_log(app.asgi_handler)
    return with_full_openapi(strict_input.learn(allow_every_method(app)))

"""create_app(settings): the Starlette app, whose lifespan opens and closes every client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette

from orchestrator.api.errors import handle_mlworker_error, handle_unexpected
from orchestrator.api.routes import routes
from orchestrator.callback.poster import CallbackPoster
from orchestrator.dsl.parser import PipelineParser
from orchestrator.dsl.plan_cache import PlanCache
from orchestrator.errors import MLWorkerError
from orchestrator.processor import TaskProcessor
from orchestrator.runner import Runner
from orchestrator.settings import Settings
from orchestrator.steps.library import build_registry
from orchestrator.storage.gcs import GcsBlobStore
from orchestrator.triton.client import TritonClient


def create_app(settings: Settings) -> Starlette:
    """The MLWorker HTTP app for ``settings``."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        triton = TritonClient(
            settings.triton_url, settings.triton_timeout_s, settings.model_metadata_ttl_s
        )
        store = GcsBlobStore(settings.bucket, settings.gcs_endpoint, settings.gcs_project)
        http = httpx.AsyncClient(timeout=settings.callback_timeout_s)
        registry = build_registry()
        plans = PlanCache(
            PipelineParser(registry, settings.limits), settings.limits.plan_cache_size
        )
        runner = Runner(triton, settings.limits, settings.cpu_workers)
        poster = CallbackPoster(http, settings.callback_attempts, settings.callback_backoff_s)
        app.state.registry = registry
        app.state.triton = triton
        app.state.processor = TaskProcessor(settings, plans, triton, store, runner, poster)
        try:
            yield
        finally:
            await http.aclose()
            await store.close()
            await triton.close()

    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={MLWorkerError: handle_mlworker_error, Exception: handle_unexpected},
    )

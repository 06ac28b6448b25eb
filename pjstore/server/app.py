"""The application factory. uvicorn calls `create_app()` in each worker process (`factory=True`),
so each worker reads its settings from the environment and opens its own store after it starts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from pjstore.server import errors, page, routes_images, routes_ops
from pjstore.server.backpressure import Admission
from pjstore.server.ingest_pool import IngestPool
from pjstore.server.metrics import Metrics, MetricsMiddleware
from pjstore.server.refiner import Refiners
from pjstore.server.settings import ServerSettings
from pjstore.server.state import ServerState
from pjstore.storage import open_storage

DESCRIPTION = ("Each JPEG is stored once as a progressive file; 10/25/50% sizes are served as baseline JPEGs "
               "made from a stored prefix by the recipe chosen at upload, so what is served meets the quality target.")


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """The pjstore API over the store `settings` name (default: from the environment)."""
    settings = settings or ServerSettings.from_env()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_storage(settings.store)
        uploads = IngestPool(settings.store, settings.prepare_workers, settings.upload_queue,
                             provisional=settings.refine_workers > 0)
        refiners = Refiners(settings.store, settings.refine_workers, settings.ingest_options, settings.refine_lease)
        render_pool = ThreadPoolExecutor(settings.render_threads, thread_name_prefix="pjstore-render")
        renders = Admission(settings.render_threads, settings.render_queue, "image renders")
        app.state.pjstore = ServerState(settings, store, uploads, metrics, render_pool, renders, settings.signer)
        try:
            yield
        finally:
            refiners.close()
            uploads.close()
            render_pool.shutdown(wait=True, cancel_futures=True)
            store.close()

    # Swagger UI and ReDoc from the package's own copies, not a CDN: /docs works offline.
    app = FastAPIOffline(title="pjstore", description=DESCRIPTION, version="1", lifespan=lifespan)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    errors.install(app)
    for module in (routes_images, routes_ops, page):
        app.include_router(module.router)
    return app

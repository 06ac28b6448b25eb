"""The application factory. uvicorn calls `create_app()` in each worker process (`factory=True`),
so each worker reads its settings from the environment and opens its own store after it starts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import CapacityLimiter
from fastapi import FastAPI

from pjstore.server import errors, page, routes_images, routes_ops
from pjstore.server.ingest_pool import IngestPool
from pjstore.server.metrics import Metrics, MetricsMiddleware
from pjstore.server.settings import ServerSettings
from pjstore.server.state import ServerState
from pjstore.storage import open_storage

DESCRIPTION = ("Each JPEG is stored once as a progressive file; 10/25/50% sizes are served as baseline JPEGs "
               "read from the shortest prefix meeting the quality target.")


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """The pjstore API over the store `settings` name (default: from the environment)."""
    settings = settings or ServerSettings.from_env()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_storage(settings.store)
        uploads = IngestPool(settings.store, settings.prepare_workers)
        app.state.pjstore = ServerState(settings, store, uploads, metrics, CapacityLimiter(settings.render_threads))
        try:
            yield
        finally:
            uploads.close()
            store.close()

    app = FastAPI(title="pjstore", description=DESCRIPTION, version="1", lifespan=lifespan)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    errors.install(app)
    for module in (routes_images, routes_ops, page):
        app.include_router(module.router)
    return app

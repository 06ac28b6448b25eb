"""What request handlers share in one server process: settings, the open store, the ingest pool,
the metrics, the render threads and their queue, and the URL signer. Built by the app's lifespan,
so each worker process opens its own store."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from pjstore.ingest import IngestOptions
from pjstore.server.backpressure import Admission
from pjstore.server.ingest_pool import IngestPool
from pjstore.server.metrics import Metrics
from pjstore.server.settings import ServerSettings
from pjstore.storage import Storage
from pjstore.url_signing import UrlSigner


@dataclass(frozen=True)
class ServerState:
    settings: ServerSettings
    store: Storage
    uploads: IngestPool
    metrics: Metrics
    render_pool: ThreadPoolExecutor  # `render_threads` threads: renders at once in this process
    renders: Admission  # renders running or waiting for a thread
    signer: UrlSigner | None  # checks image URLs' signatures; None: URLs are not signed

    @property
    def ingest_options(self) -> IngestOptions:
        """The CLI's defaults (scheme, quality target) under this server's limits and egress policy."""
        return IngestOptions(max_pixels=self.settings.max_pixels, max_bytes=self.settings.max_upload_bytes,
                             egress=self.settings.egress)


async def state(request: Request) -> ServerState:
    """A dependency: this process's ServerState. Async because FastAPI would run a plain function
    dependency in its thread pool, a thread hop per request for an attribute lookup."""
    return request.app.state.pjstore


State = Annotated[ServerState, Depends(state)]  # how a handler asks for it

"""Operations endpoints: `/healthz` for load balancers and `/metrics` for Prometheus."""

from __future__ import annotations

from fastapi import APIRouter, Response

from pjstore.server.state import State

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the store answers")
def healthz(s: State) -> dict:
    s.store.list(limit=1)  # raises (-> 500) if the store cannot be read
    return {"status": "ok"}


@router.get("/metrics", response_class=Response, summary="Prometheus metrics (text format)")
def metrics(s: State) -> Response:
    body, content_type = s.metrics.render()
    return Response(body, media_type=content_type)

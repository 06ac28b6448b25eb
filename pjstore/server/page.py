"""`GET /`: a small page to upload photos and see the stored ones at each size.

The page is static HTML with a little JavaScript that uses the public API (list, info, upload),
so it shows exactly what any client gets.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter()

_PAGE = files("pjstore.server").joinpath("page.html").read_text(encoding="utf-8")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def page() -> HTMLResponse:
    return HTMLResponse(_PAGE)

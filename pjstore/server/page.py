"""`GET /`: the gallery, rendered on the server so it works without JavaScript.

Each image shows its sizes (`srcset`, with the pixels and stored bytes each size reads, against
the upload), and the page opens with the store's totals (stored bytes against the uploads; bytes
read per size against the whole files). `page.js` adds uploads, delete and copy-link without a
reload, fetching the same server-rendered fragments (`/page/figure/{id}`, `/page/totals`), so
there is one renderer. Image URLs are the record's own (signed when URLs must be).
"""

from __future__ import annotations

from html import escape
from importlib.resources import files

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from pjstore import ids, reads
from pjstore.record import ImageRecord
from pjstore.server.routes_images import PREFIX, document
from pjstore.server.state import ServerState, State

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 24
TOTALS_LIMIT = 1000  # records read per page view for the totals; a larger store says over how many
_STATIC = files("pjstore.server")
_PAGE = _STATIC.joinpath("page.html").read_text(encoding="utf-8")
_SCRIPT = _STATIC.joinpath("page.js").read_text(encoding="utf-8")


def _n(value: int) -> str:
    return f"{value:,}"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _upright(record: ImageRecord, width: int, height: int) -> tuple[int, int]:
    """Served sizes are upright: orientations 5-8 swap the stored axes."""
    return (height, width) if record.orientation >= 5 else (width, height)


def figure(record: ImageRecord, s: ServerState) -> str:
    rows = document(record, s.signer)["scales"]
    shown = rows[min(1, len(rows) - 1)]  # the second size: sharp in a gallery cell, yet small
    width, height = _upright(record, rows[-1]["width"], rows[-1]["height"])
    srcset = ", ".join(f"{escape(r['url'])} {_upright(record, r['width'], r['height'])[0]}w" for r in rows)
    # AVIF, then WebP, where every size has one: the browser takes the first type it supports.
    sizes = "(max-width: 600px) 92vw, 300px"
    sources = "".join(
        f'<source type="image/{f}" sizes="{sizes}" srcset="'
        + ", ".join(f"{escape(r['format_urls'][f])} {_upright(record, r['width'], r['height'])[0]}w" for r in rows)
        + '">'
        for f in ("avif", "webp") if all(f in r.get("format_urls", {}) for r in rows))
    table = ["<table><tr><th>size</th><th>pixels</th><th>bytes read</th><th>of upload</th></tr>"]
    for r in rows:
        w, h = _upright(record, r["width"], r["height"])
        table.append(f'<tr class="size" data-scale="{r["scale"]:g}"><td><a href="{escape(r["url"])}">'
                     f'{r["scale"] * 100:g}%</a></td><td>{w}\u00d7{h}</td><td>{_n(r["offset"])}</td>'
                     f'<td>{_pct(r["offset"], record.source_bytes)}</td></tr>')
    table.append("</table>")
    note = ""
    if record.provisional:  # every size reads the whole file for now: say why, not "one prefix"
        note = ('<p class="note provisional">Provisional: every size is served from the whole file, at a '
                "quality verified to meet the target, until this upload's recipe search has run.</p>")
    elif reads.one_prefix_for_all_sizes(record):
        note = (f'<p class="note">Every size reads the same {_n(rows[0]["offset"])} bytes: the first scans '
                "(the DC scan, an eighth-scale image) alone meet every size's quality target.</p>")
    return (f'<figure data-id="{record.id}"><picture>{sources}<img src="{escape(shown["url"])}" srcset="{srcset}" '
            f'sizes="{sizes}" width="{width}" height="{height}" alt="image {record.id[:12]}" '
            f'loading="lazy"></picture><figcaption><code>{record.id[:16]}</code> \u00b7 '
            f'upload {_n(record.source_bytes)} B, '
            f'stored {_n(record.stored_bytes)} B ({_pct(record.stored_bytes, record.source_bytes)})'
            f'{"".join(table)}{note}<p class="actions" hidden>'
            f'<button type="button" class="copy" data-url="{escape(rows[-1]["url"])}">copy link</button> '
            f'<button type="button" class="delete">delete</button></p></figcaption></figure>')


def totals(s: ServerState) -> str:
    listed = s.store.list(limit=TOTALS_LIMIT + 1)
    t = reads.totals(s.store.info(i) for i in listed[:TOTALS_LIMIT])
    if not t.images:
        return '<section id="totals"><p>No images stored yet: upload one above.</p></section>'
    over = f"the first {_n(t.images)} images" if len(listed) > TOTALS_LIMIT else f"{_n(t.images)} images"
    rows = "".join(f'<tr class="total" data-scale="{r.scale:g}"><td>{r.scale * 100:g}%</td>'
                   f"<td>{_n(r.read_bytes)}</td><td>{_pct(r.read_bytes, t.stored_bytes)}</td>"
                   f"<td>{_pct(r.read_bytes, t.source_bytes)}</td></tr>" for r in t.sizes)
    return (f'<section id="totals"><p>{over}: uploads {_n(t.source_bytes)} B, stored {_n(t.stored_bytes)} B '
            f'(<b>{_pct(t.stored_bytes, t.source_bytes)}</b> of the uploads).</p>'
            f'<table><tr><th>size</th><th>bytes read</th><th>of whole files</th>'
            f"<th>of uploads</th></tr>{rows}</table></section>")


@router.get("/", response_class=HTMLResponse)
def page(s: State, after: str | None = Query(None, description="show images after this id")) -> HTMLResponse:
    listed = s.store.list(after=ids.validate(after) if after else None, limit=PAGE_SIZE + 1)
    shown = listed[:PAGE_SIZE]
    more = (f'<p><a id="more" href="/?after={shown[-1]}">More images</a></p>' if len(listed) > PAGE_SIZE else "")
    gallery = "".join(figure(s.store.info(i), s) for i in shown)
    body = _PAGE.replace("{{totals}}", totals(s)).replace("{{gallery}}", gallery).replace("{{more}}", more)
    return HTMLResponse(body.replace("{{api}}", PREFIX))


@router.get("/page/figure/{image_id}", response_class=HTMLResponse)
def figure_fragment(image_id: str, s: State) -> HTMLResponse:
    return HTMLResponse(figure(s.store.info(ids.validate(image_id)), s))


@router.get("/page/totals", response_class=HTMLResponse)
def totals_fragment(s: State) -> HTMLResponse:
    return HTMLResponse(totals(s))


@router.get("/page.js")
def script() -> Response:
    return Response(_SCRIPT, media_type="text/javascript", headers={"Cache-Control": "no-cache"})

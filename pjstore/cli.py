"""The `pjstore` command line: ingest, info, get, export, ls, rm, fsck, serve, sign-url, and the demo main job."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sys
from pathlib import Path

import click

from pjstore import ids
from pjstore.batch.loop import run_batch
from pjstore.batch.outcome import Outcome, Status
from pjstore.batch.pool import LocalPool
from pjstore.batch.progress import Progress
from pjstore.batch.report import FailureReport, failure_row
from pjstore.corpus import walk
from pjstore.errors import InvalidRequest, NotFound, PjstoreError
from pjstore.ingest import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, DEFAULT_SCHEME, SCHEMES, IngestOptions
from pjstore.quality.contract import QualityTarget
from pjstore.quality.sizes import DEFAULT_SCALES
from pjstore.read_path.pipeline import render
from pjstore.record import CONTRACTS
from pjstore.rendition.choose import DEFAULT_EGRESS
from pjstore.rendition.formats import FORMATS
from pjstore.scan_search.options import OBJECTIVES, SearchOptions
from pjstore.server.settings import (API_KEY_ENV, DEFAULT_PREPARE_WORKERS, DEFAULT_RENDER_QUEUE,
                                     DEFAULT_RENDER_THREADS, DEFAULT_REQUEST_TIMEOUT, DEFAULT_UPLOAD_QUEUE,
                                     EGRESS_ENV, MAX_PIXELS_ENV, MAX_RESULT_DIMENSION_ENV, MAX_UPLOAD_BYTES_ENV,
                                     PREPARE_WORKERS_ENV, RENDER_QUEUE_ENV, RENDER_THREADS_ENV,
                                     REQUEST_TIMEOUT_ENV, UPLOAD_QUEUE_ENV, URL_KEY_ENV, URL_SALT_ENV, ServerSettings)
from pjstore.storage import DEFAULT_LOCATION, ENV_VAR, Storage, open_storage
from pjstore.url_signing import UrlSigner

@click.group()
@click.option("--store", "location", envvar=ENV_VAR, default=DEFAULT_LOCATION, show_default=True,
              help=f"Store directory or s3://BUCKET/PREFIX (or ${ENV_VAR}).")
@click.pass_context
def main(ctx: click.Context, location: str) -> None:
    """pjstore: store JPEGs once as tuned progressive files; serve 10/25/50% sizes from prefixes."""
    ctx.obj = location


def _store(ctx: click.Context) -> Storage:
    return open_storage(ctx.obj)


def _floats(text: str, what: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise click.BadParameter(f"{what} must be comma-separated numbers, not {text!r}") from None


def _target(scales: str, threshold: str, metric: str) -> QualityTarget:
    scale_values = _floats(scales, "--scales")
    thresholds = _floats(threshold, "--threshold")
    if len(thresholds) == 1:
        thresholds *= len(scale_values)
    try:
        return QualityTarget(scale_values, thresholds, metric)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _resolve(store: Storage, text: str) -> str:
    """A full id, or a unique prefix of at least 6 hex digits."""
    text = text.strip().lower()
    if len(text) == 64:
        return ids.validate(text)
    if len(text) < 6 or any(c not in "0123456789abcdef" for c in text):
        raise InvalidRequest(f"{text!r} is not an image id or a prefix of at least 6 hex digits")
    matches = [i for i in store.list(after=text, limit=2) if i.startswith(text)]
    if not matches:
        raise NotFound(f"no image id starts with {text}")
    if len(matches) > 1:
        raise InvalidRequest(f"{text} is ambiguous; give more digits")
    return matches[0]


def _fail(exc: PjstoreError) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(2 if isinstance(exc, (InvalidRequest, NotFound)) else 1)


def _read_fractions(record) -> str:
    return " ".join(f"{e.scale:g}:{e.offset / record.source_bytes:.1%}" for e in record.offsets.entries[:-1])


@main.command("ingest")
@click.argument("paths", nargs=-1, required=True)
@click.option("--scheme", type=click.Choice(sorted(SCHEMES)), default=DEFAULT_SCHEME, show_default=True)
@click.option("--scales", default=",".join(map(str, DEFAULT_SCALES)), show_default=True)
@click.option("--threshold", default="32", show_default=True, help="One value, or one per scale.")
@click.option("--metric", type=click.Choice(["psnr", "ssim"]), default="psnr", show_default=True)
@click.option("--max-pixels", type=click.IntRange(min=1), default=DEFAULT_MAX_PIXELS, show_default=True)
@click.option("--c-depth", type=click.IntRange(1, 63), default=SearchOptions.c_depth, show_default=True,
              help="Custom search: coefficients tried beyond the highest one included.")
@click.option("--a-depth", type=click.IntRange(1, 14), default=SearchOptions.a_depth, show_default=True,
              help="Custom search: successive-approximation depth of AC coefficients.")
@click.option("--objective", type=click.Choice(OBJECTIVES), default=SearchOptions.objective, show_default=True,
              help="Custom search: best quality per step (the dissertation) or per byte.")
@click.option("--contract", type=click.Choice(CONTRACTS), default="served", show_default=True,
              help="served: what a user receives meets the threshold; prefix: the decoded prefix does "
                   "(0.1.0 and the dissertation), served at quality 85.")
@click.option("--egress", type=click.FloatRange(min=1), default=DEFAULT_EGRESS, show_default=True,
              help="Served bytes at most this times the smallest JPEG of the size meeting the threshold.")
@click.option("--keep-profile", is_flag=True, help="Keep a non-sRGB ICC profile in renditions (default: convert to sRGB).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per input on stdout.")
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes [default: all cores].")
@click.option("--dask-scheduler", metavar="ADDRESS",
              help="Prepare on a dask.distributed cluster (tcp://HOST:PORT) instead of local workers.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, writable=True),
              help="Write one JSON line per failed file to this file.")
@click.pass_context
def ingest_cmd(ctx, paths, scheme, scales, threshold, metric, max_pixels, c_depth, a_depth, objective,
               contract, egress, keep_profile, as_json, workers, dask_scheduler, report_path) -> None:
    """Ingest JPEG files and directories in parallel; bad files are reported and skipped.

    Files already stored are skipped without preparing them again, so rerunning an interrupted
    batch completes it. Ctrl-C stops cleanly: every image written so far stays valid.
    """
    if workers and dask_scheduler:
        raise click.UsageError("give --workers or --dask-scheduler, not both")
    search = SearchOptions(c_depth=c_depth, a_depth=a_depth, objective=objective)
    options = IngestOptions(scheme, _target(scales, threshold, metric), max_pixels, search=search,
                            contract=contract, egress=egress, keep_profile=keep_profile)
    files = walk(paths)
    with contextlib.ExitStack() as stack:
        store = stack.enter_context(_store(ctx))
        runner = stack.enter_context(_runner(workers, dask_scheduler))
        report = stack.enter_context(FailureReport(report_path)) if report_path else None
        progress = stack.enter_context(Progress(len(files)))

        def show(outcome: Outcome) -> None:
            progress.advance(outcome)
            if outcome.status is Status.FAILED:
                if report:
                    report.write(outcome)
                if as_json:
                    progress.echo(json.dumps(failure_row(outcome)))
                else:
                    progress.echo(f"FAIL {outcome.path}: {type(outcome.error).__name__}: {outcome.error}", err=True)
                return
            record, created = outcome.record, outcome.status is Status.OK
            if as_json:
                progress.echo(json.dumps({"path": str(outcome.path), "created": created, **record.to_json()}))
            else:
                progress.echo(f"{'ok  ' if created else 'same'} {record.id[:12]} {outcome.path}  "
                              f"{record.source_bytes} -> {record.stored_bytes} B, "
                              f"{record.scans} scans, read {_read_fractions(record)}")

        summary = run_batch(store, files, options, runner, show)
    # With --json, stdout is for machines and stderr stays quiet unless a person is watching.
    if not as_json or sys.stderr.isatty():
        for line in summary.lines():
            click.echo(line, err=True)
    if summary.interrupted:
        sys.exit(130)
    if summary.failed or not files:
        sys.exit(1)


def _runner(workers: int | None, dask_scheduler: str | None):
    if dask_scheduler:
        from pjstore.batch.dask_runner import DaskRunner  # distributed is slow to import; only when asked

        return DaskRunner(dask_scheduler)
    return LocalPool(workers)


@main.command()
@click.argument("image_id")
@click.pass_context
def info(ctx, image_id) -> None:
    """Print an image's record as JSON."""
    try:
        with _store(ctx) as store:
            click.echo(json.dumps(store.info(_resolve(store, image_id)).to_json(), indent=2))
    except PjstoreError as exc:
        _fail(exc)


@main.command()
@click.argument("image_id")
@click.option("--scale", type=float, help="A stored scale (e.g. 0.1, 0.25, 0.5, 1).")
@click.option("--width", type=int, help="Any upright width up to the original's.")
@click.option("--height", type=int, help="Any upright height up to the original's.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="jpeg", show_default=True,
              help="Baseline JPEG, or WebP/AVIF at the setting verified for the scale.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), required=True)
@click.pass_context
def get(ctx, image_id, scale, width, height, fmt, output) -> None:
    """Write the image at a scale or size, read from the stored prefix only, as its recipe says
    (exactly what the server sends for that format)."""
    if sum(x is not None for x in (scale, width, height)) != 1:
        raise click.UsageError("give exactly one of --scale, --width, --height")
    try:
        with _store(ctx) as store:
            r = render(store, _resolve(store, image_id), scale=scale, width=width, height=height, format=fmt)
    except PjstoreError as exc:
        _fail(exc)
    Path(output).write_bytes(r.data)
    click.echo(f"wrote {output}: {r.format} {r.width}x{r.height}, read {r.bytes_read} stored bytes "
               f"(scale {r.scale:g})", err=True)


@main.command()
@click.argument("image_id")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), required=True)
@click.pass_context
def export(ctx, image_id, output) -> None:
    """Write the whole stored progressive file."""
    try:
        with _store(ctx) as store:
            record = store.info(_resolve(store, image_id))
            data = store.get_range(record.id, 0, record.stored_bytes)
    except PjstoreError as exc:
        _fail(exc)
    Path(output).write_bytes(data)


@main.command("ls")
@click.option("--long", "-l", "long_", is_flag=True, help="Sizes and scheme too.")
@click.pass_context
def ls(ctx, long_) -> None:
    """List stored image ids."""
    with _store(ctx) as store:
        for image_id in store.list():
            if long_:
                r = store.info(image_id)
                click.echo(f"{image_id}  {r.width}x{r.height}  {r.stored_bytes:>10}  {r.scheme}")
            else:
                click.echo(image_id)


@main.command()
@click.argument("image_ids", nargs=-1, required=True)
@click.pass_context
def rm(ctx, image_ids) -> None:
    """Delete images."""
    try:
        with _store(ctx) as store:
            for text in image_ids:
                image_id = _resolve(store, text)
                store.delete(image_id)
                click.echo(f"removed {image_id}")
    except PjstoreError as exc:
        _fail(exc)


@main.command()
@click.argument("corpus", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("--scheme", type=click.Choice(sorted(SCHEMES)), default=DEFAULT_SCHEME, show_default=True)
@click.option("--serve/--no-serve", default=None,
              help="Then serve the store over HTTP (default: when stdin is a terminal).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.pass_context
def demo(ctx, corpus, scheme, serve, port) -> None:
    """The main job: ingest CORPUS (default: sample photos), show bytes read per scale, then serve."""
    from pjstore.samples import write_samples

    if corpus is None:
        corpus = os.path.join(ctx.obj, "samples")
        write_samples(corpus)
        click.echo(f"sample photos from scikit-image written to {corpus}")
    stored: list[str] = []

    def keep(outcome: Outcome) -> None:
        if outcome.status is Status.FAILED:
            click.echo(f"skipped {outcome.path}: {outcome.error}", err=True)
        else:
            stored.append(outcome.record.id)

    with _store(ctx) as store:
        with LocalPool() as runner:
            run_batch(store, walk((corpus,)), IngestOptions(scheme), runner, keep)
        report_reads(store, stored)
    if serve is None:
        serve = sys.stdin.isatty()  # people at a terminal go on to the server; scripts and CI do not block
    if serve:
        _serve(ServerSettings(store=ctx.obj), "127.0.0.1", port)


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Server processes sharing the store.")
@click.option("--api-key", envvar=API_KEY_ENV, help=f"Require 'Bearer KEY' to upload or delete (or ${API_KEY_ENV}).")
@click.option("--max-upload-bytes", type=click.IntRange(min=1), default=DEFAULT_MAX_BYTES, show_default=True,
              envvar=MAX_UPLOAD_BYTES_ENV, help=f"Request body limit (or ${MAX_UPLOAD_BYTES_ENV}).")
@click.option("--max-pixels", type=click.IntRange(min=1), default=DEFAULT_MAX_PIXELS, show_default=True,
              envvar=MAX_PIXELS_ENV, help=f"Source pixel limit (or ${MAX_PIXELS_ENV}).")
@click.option("--egress", type=click.FloatRange(min=1), default=DEFAULT_EGRESS, show_default=True,
              envvar=EGRESS_ENV, help=f"Uploads' egress policy, as ingest --egress (or ${EGRESS_ENV}).")
@click.option("--prepare-workers", type=click.IntRange(min=1), default=DEFAULT_PREPARE_WORKERS, show_default=True,
              envvar=PREPARE_WORKERS_ENV,
              help=f"Processes per server worker re-encoding uploads (or ${PREPARE_WORKERS_ENV}).")
@click.option("--render-threads", type=click.IntRange(min=1), default=DEFAULT_RENDER_THREADS, show_default=True,
              envvar=RENDER_THREADS_ENV,
              help=f"Images rendered at once per server worker; more wait their turn (or ${RENDER_THREADS_ENV}).")
@click.option("--max-result-dimension", type=click.IntRange(min=0), default=0, show_default=True,
              envvar=MAX_RESULT_DIMENSION_ENV,
              help=f"Widest or tallest image served, 0 for up to the original's (or ${MAX_RESULT_DIMENSION_ENV}).")
@click.option("--request-timeout", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_REQUEST_TIMEOUT,
              show_default=True, envvar=REQUEST_TIMEOUT_ENV,
              help=f"Seconds a client waits for a render or an upload's ingest; then 504 (or ${REQUEST_TIMEOUT_ENV}).")
@click.option("--render-queue", type=click.IntRange(min=0), default=DEFAULT_RENDER_QUEUE, show_default=True,
              envvar=RENDER_QUEUE_ENV,
              help=f"Renders waiting per server worker before 503 + Retry-After (or ${RENDER_QUEUE_ENV}).")
@click.option("--upload-queue", type=click.IntRange(min=0), default=DEFAULT_UPLOAD_QUEUE, show_default=True,
              envvar=UPLOAD_QUEUE_ENV,
              help=f"Uploads waiting per server worker before 503 + Retry-After (or ${UPLOAD_QUEUE_ENV}).")
@click.option("--url-key", envvar=URL_KEY_ENV,
              help=f"Require image URLs signed with this key, see sign-url (or ${URL_KEY_ENV}).")
@click.option("--url-salt", envvar=URL_SALT_ENV, default="", help=f"Salt of URL signatures (or ${URL_SALT_ENV}).")
@click.option("--access-log/--no-access-log", default=False, show_default=True,
              help="Log every request (/metrics counts them either way).")
@click.pass_context
def serve_cmd(ctx, host, port, workers, api_key, max_upload_bytes, max_pixels, egress, prepare_workers,
              render_threads, max_result_dimension, request_timeout, render_queue, upload_queue, url_key, url_salt,
              access_log) -> None:
    """Serve the store over HTTP (API docs at /docs, upload page and gallery at /)."""
    settings = ServerSettings(
        store=ctx.obj, api_key=api_key or None, max_upload_bytes=max_upload_bytes, max_pixels=max_pixels,
        egress=egress, prepare_workers=prepare_workers, render_threads=render_threads,
        max_result_dimension=max_result_dimension or None, request_timeout=request_timeout,
        render_queue=render_queue, upload_queue=upload_queue, url_key=url_key or None, url_salt=url_salt)
    _serve(settings, host, port, workers, access_log)


@main.command("sign-url")
@click.argument("url")
@click.option("--url-key", envvar=URL_KEY_ENV, required=True, help=f"The server's URL key (or ${URL_KEY_ENV}).")
@click.option("--url-salt", envvar=URL_SALT_ENV, default="", help=f"The server's URL salt (or ${URL_SALT_ENV}).")
def sign_url(url, url_key, url_salt) -> None:
    """Print URL (a path and query, e.g. '/v1/images/ID?w=300') with the signature the server wants."""
    click.echo(UrlSigner(url_key.encode(), url_salt.encode()).sign(url))


def _serve(settings: ServerSettings, host: str, port: int, workers: int = 1, access_log: bool = False) -> None:
    from pjstore.server.run import serve  # the web stack loads only for this command

    click.echo(f"serving {settings.store} at http://{host}:{port}/ (API docs at /docs); Ctrl-C stops", err=True)
    serve(settings, host, port, workers, access_log)

def report_reads(store: Storage, image_ids: list[str]) -> None:
    """Serve every image at every stored scale through the read path; print bytes read vs whole."""
    if not image_ids:
        click.echo("no images stored")
        return
    records = [store.info(i) for i in image_ids]
    whole = sum(r.stored_bytes for r in records)
    source = sum(r.source_bytes for r in records)
    click.echo(f"{len(records)} images, {source} source bytes, {whole} stored ({whole / source:.3f}x)")
    click.echo(f"{'scale':>6} {'bytes read':>12} {'of stored':>10} {'of source':>10}")
    for scale in records[0].offsets.scales:
        read = sum(render(store, r.id, scale=scale).bytes_read for r in records)
        click.echo(f"{scale:>6g} {read:>12} {read / whole:>10.3f} {read / source:>10.3f}")


@main.command()
@click.option("--repair", is_flag=True, help="Remove orphan data and re-measure bad offsets.")
@click.pass_context
def fsck(ctx, repair) -> None:
    """Verify every stored image (size, hash, scans, offsets by real decode) and find orphans."""
    from pjstore.fsck import fsck as run_fsck
    from pjstore.storage import LmdbStorage

    with _store(ctx) as store:
        if not isinstance(store, LmdbStorage):
            raise click.UsageError("fsck checks the embedded LMDB store")
        report = run_fsck(store, repair)
    for p in report.problems:
        click.echo(f"{p.kind:12} {p.image_id}  {p.detail}{'  [repaired]' if p.repaired else ''}")
    click.echo(f"{report.checked} images checked, {len(report.problems)} problems", err=True)
    if not report.clean:
        sys.exit(1)


@main.command()
@click.option("--egress", type=click.FloatRange(min=1), default=DEFAULT_EGRESS, show_default=True,
              help="Egress policy of the recipes chosen, as ingest --egress.")
@click.option("--keep-profile", is_flag=True, help="Keep non-sRGB ICC profiles, as ingest --keep-profile.")
@click.pass_context
def migrate(ctx, egress, keep_profile) -> None:
    """Choose served-contract recipes, in place, for records without them (0.1.0 stores, --contract
    prefix). Each image is replaced atomically on its own; a rerun resumes where one stopped."""
    from pjstore.migrate import migrate as run_migrate

    with _store(ctx) as store:
        report = run_migrate(store, IngestOptions(egress=egress, keep_profile=keep_profile),
                             lambda image_id, changed: changed and click.echo(f"upgraded {image_id}"))
    for image_id, why in report.failed:
        click.echo(f"failed {image_id}: {why}", err=True)
    click.echo(f"{report.checked} images checked, {len(report.upgraded)} upgraded, {len(report.failed)} failed",
               err=True)
    if report.failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
@main.command("eval")
@click.argument("corpus", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", default="eval/results", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Where the CSVs, summary.md and figures go.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N images (sorted by path).")
@click.option("--repeats", type=click.IntRange(min=3), default=15, show_default=True,
              help="Timing rounds per image and size (medians).")
@click.option("--keep-stored", is_flag=True, help="Also write what each scheme stores, under OUT/stored/.")
@click.option("--images", type=click.IntRange(min=1), default=1_000_000, show_default=True,
              help="Projection: images the host keeps.")
@click.option("--requests-per-image", type=click.FloatRange(min=0), default=50, show_default=True,
              help="Projection: uncached requests per image.")
@click.option("--mix", default="0.5,0.3,0.15,0.05", show_default=True,
              help="Projection: share of requests at each size (10,25,50%, then the whole image).")
@click.option("--report-only", is_flag=True, help="Redraw summary.md and the figures from OUT's CSVs; measure nothing.")
def eval_cmd(corpus, out, workers, limit, repeats, keep_stored, images, requests_per_image, mix, report_only) -> None:
    """Evaluate the storage schemes of the dissertation's Table 3 on CORPUS (capacity, reads, compute, cost)."""
    from pjstore.evaluation.projection import Workload
    from pjstore.evaluation.report import write_report
    from pjstore.evaluation.run import run

    shares = _floats(mix, "--mix")
    if len(shares) != len(DEFAULT_SCALES) + 1:
        raise click.BadParameter(f"give {len(DEFAULT_SCALES) + 1} shares: one per size, then the whole image")
    try:
        workload = Workload(images, requests_per_image, shares)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if not report_only:
        if corpus is None:
            raise click.UsageError("give CORPUS (or --report-only to redraw an earlier run)")
        try:
            info = run(corpus, out, workers=workers, limit=limit, repeats=repeats, keep_stored=keep_stored,
                       command=_invocation())
        except PjstoreError as exc:
            _fail(exc)
        click.echo(f"measured {info['images']} images in {info['wall_s']:.0f} s", err=True)
    click.echo(f"wrote {write_report(out, workload)}", err=True)


def _invocation() -> str:
    """The command line as typed, for the record (`pjstore ...` or `python eval/run_eval.py ...`)."""
    program = Path(sys.argv[0])
    head = ["python", sys.argv[0]] if program.suffix == ".py" else [program.name]
    return shlex.join(head + sys.argv[1:])

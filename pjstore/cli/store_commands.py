"""The store's commands: ingest, info, get, export, ls, rm. Read commands open the store read-only."""

from __future__ import annotations

import contextlib
import json
import sys

import click

from pjstore import ids
from pjstore.batch.loop import run_batch
from pjstore.batch.outcome import Outcome, Status
from pjstore.batch.pool import LocalPool
from pjstore.batch.progress import Progress
from pjstore.batch.report import FailureReport, failure_row
from pjstore.cli.group import floats, force_option, reading, served_options, write_output, writing
from pjstore.cli.options import search_given, search_options, search_settings, upload_cap_options
from pjstore.corpus import JPEG_SUFFIXES, scan
from pjstore.encoder.transcode import ENTROPIES
from pjstore.errors import InvalidInput
from pjstore.ingest import DEFAULT_MAX_PIXELS, DEFAULT_SCHEME, SCHEMES, IngestOptions
from pjstore.quality.contract import QualityTarget
from pjstore.quality.metrics import DEFAULT_THRESHOLDS, METRICS
from pjstore.quality.sizes import DEFAULT_SCALES
from pjstore.read_path.original import handed_out
from pjstore.read_path.serve import render
from pjstore.record import CONTRACTS, ImageRecord
from pjstore.rendition.formats import FORMATS


def quality_target(scales: str, threshold: str | None, metric: str) -> QualityTarget:
    scale_values = floats(scales, "--scales")
    thresholds = floats(threshold, "--threshold") if threshold is not None else (DEFAULT_THRESHOLDS[metric],)
    if len(thresholds) == 1:
        thresholds *= len(scale_values)
    try:
        return QualityTarget(scale_values, thresholds, metric)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def read_fractions(record: ImageRecord) -> str:
    return " ".join(f"{e.scale:g}:{e.offset / record.source_bytes:.1%}" for e in record.offsets.entries[:-1])


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True)
@click.option("--scheme", type=click.Choice(sorted(SCHEMES)), default=DEFAULT_SCHEME, show_default=True)
@click.option("--scales", default=",".join(map(str, DEFAULT_SCALES)), show_default=True)
@click.option("--threshold", help="One value, or one per scale. [default: "
              + ", ".join(f"{metric} {t:g}" for metric, t in DEFAULT_THRESHOLDS.items()) + "]")
@click.option("--metric", type=click.Choice(sorted(METRICS)), default="psnr", show_default=True)
@click.option("--max-pixels", type=click.IntRange(min=1), default=DEFAULT_MAX_PIXELS, show_default=True)
@click.option("--contract", type=click.Choice(CONTRACTS), default="served", show_default=True,
              help="served: what a user receives meets the threshold; prefix: the decoded prefix does "
                   "(0.1.0 and the dissertation), served at quality 85.")
@served_options
@click.option("--accept-damaged", is_flag=True,
              help="Store a JPEG libjpeg decodes only with warnings (damaged or truncated data) as uploaded, "
                   "flagged, every scale served from the whole file (default: refuse it).")
@click.option("--entropy", type=click.Choice(ENTROPIES), default="huffman", show_default=True,
              help="The stored files' entropy coding: arithmetic stores and reads ~5% fewer bytes; "
                   "export and /original then hand out Huffman-coded copies (browsers decode no other).")
@upload_cap_options
@search_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per input on stdout.")
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes [default: all cores].")
@click.option("--dask-scheduler", metavar="ADDRESS",
              help="Prepare on a dask.distributed cluster (tcp://HOST:PORT) instead of local workers.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="Write one JSON line per failed file to this file.")
@click.pass_context
def ingest(ctx, paths, scheme, scales, threshold, metric, max_pixels, contract, egress, keep_profile, formats,
           accept_damaged, entropy, as_json, workers, dask_scheduler, report_path, max_source_scans, max_app_segments,
           max_icc_bytes, **search) -> None:
    """Ingest JPEG files and directories in parallel; bad files are reported and skipped.

    Directories are walked for JPEG-named files; other files there are counted and left out.
    Files already stored are skipped without preparing them again, so rerunning an interrupted
    batch completes it. Ctrl-C stops cleanly: every image written so far stays valid.
    """
    if workers and dask_scheduler:
        raise click.UsageError("give --workers or --dask-scheduler, not both")
    try:  # IngestOptions validates the combination (a cap below 1, damaged under the prefix contract)
        options = IngestOptions(scheme, quality_target(scales, threshold, metric), max_pixels,
                                search=search_settings(search_given(search)), contract=contract, egress=egress,
                                keep_profile=keep_profile, formats=formats, accept_damaged=accept_damaged,
                                entropy=entropy, max_scans=max_source_scans, max_app_segments=max_app_segments,
                                max_icc_bytes=max_icc_bytes)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    found = scan(paths)
    if found.left_out:
        kinds = ", ".join(f"{n} {suffix or 'unnamed'}" for suffix, n in found.left_out_by_suffix())
        click.echo(f"left out {len(found.left_out)} files not named like JPEGs ({kinds})", err=True)
    if not found.files:
        raise InvalidInput(f"no JPEG files ({', '.join(sorted(JPEG_SUFFIXES))}) in {' '.join(paths)}")
    with contextlib.ExitStack() as stack:
        # The report first: a path that cannot be written stops the batch before a store is made.
        report = stack.enter_context(FailureReport(report_path)) if report_path else None
        store = stack.enter_context(writing(ctx, create=True))
        runner = stack.enter_context(_runner(workers, dask_scheduler))
        progress = stack.enter_context(Progress(len(found.files)))

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
            record, created = outcome.stored, outcome.status is Status.OK
            if as_json:
                progress.echo(json.dumps({"path": str(outcome.path), "created": created, **record.to_json()}))
            else:
                progress.echo(f"{'ok  ' if created else 'same'} {record.id[:12]} {outcome.path}  "
                              f"{record.source_bytes} -> {record.stored_bytes} B, "
                              f"{record.scans} scans, read {read_fractions(record)}"
                              f"{'  DAMAGED: stored as uploaded' if record.damaged else ''}")

        summary = run_batch(store, found.files, options, runner, show)
    # With --json, stdout is for machines and stderr stays quiet unless a person is watching.
    if not as_json or sys.stderr.isatty():
        for line in summary.lines():
            click.echo(line, err=True)
    if summary.interrupted:
        sys.exit(130)
    if summary.failed:
        sys.exit(1)


def _runner(workers: int | None, dask_scheduler: str | None):
    if dask_scheduler:
        from pjstore.batch.dask_runner import DaskRunner  # distributed is slow to import; only when asked

        return DaskRunner(dask_scheduler)
    return LocalPool(workers)


@click.command()
@click.argument("image_id")
@click.pass_context
def info(ctx, image_id) -> None:
    """Print an image's record as JSON (IMAGE_ID may be a unique prefix of 6+ hex digits)."""
    with reading(ctx) as store:
        click.echo(json.dumps(store.info(ids.resolve(store, image_id)).to_json(), indent=2))


@click.command()
@click.argument("image_id")
@click.option("--scale", type=float, help="A stored scale (e.g. 0.1, 0.25, 0.5, 1).")
@click.option("--width", type=int, help="Any upright width up to the original's.")
@click.option("--height", type=int, help="Any upright height up to the original's.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="jpeg", show_default=True,
              help="Baseline JPEG, or WebP/AVIF at the setting verified for the scale (ingest --formats).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
@force_option
@click.pass_context
def get(ctx, image_id, scale, width, height, fmt, output, force) -> None:
    """Write a baseline JPEG of the image at a scale or size, read from the stored prefix only, as
    its recipe says (exactly what the server sends)."""
    if sum(x is not None for x in (scale, width, height)) != 1:
        raise click.UsageError("give exactly one of --scale, --width, --height")
    with reading(ctx) as store:
        r = render(store, ids.resolve(store, image_id), scale=scale, width=width, height=height, format=fmt)
    write_output(output, r.data, force)
    click.echo(f"wrote {output}: {r.format} {r.width}x{r.height}, read {r.bytes_read} stored bytes "
               f"(scale {r.scale:g})", err=True)


@click.command()
@click.argument("image_id")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
@force_option
@click.pass_context
def export(ctx, image_id, output, force) -> None:
    """Write the whole stored progressive file (an arithmetic-coded store's as Huffman, which
    browsers decode: what /original sends)."""
    with reading(ctx) as store:
        handout = handed_out(store, store.info(ids.resolve(store, image_id)))
        data = handout.read(0, handout.length)
    write_output(output, data, force)


@click.command("ls")
@click.option("--long", "-l", "long_", is_flag=True, help="Sizes and scheme too.")
@click.pass_context
def ls(ctx, long_) -> None:
    """List stored image ids."""
    with reading(ctx) as store:
        for image_id in store.list():
            if long_:
                r = store.info(image_id)
                click.echo(f"{image_id}  {r.width}x{r.height}  {r.stored_bytes:>10}  {r.scheme}")
            else:
                click.echo(image_id)


@click.command()
@click.argument("image_ids", nargs=-1, required=True)
@click.pass_context
def rm(ctx, image_ids) -> None:
    """Delete images; every id is resolved before any is deleted."""
    with writing(ctx, create=False) as store:
        resolved = [ids.resolve(store, text) for text in image_ids]
        for image_id in resolved:
            store.delete(image_id)
            click.echo(f"removed {image_id}")

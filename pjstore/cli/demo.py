"""The main job: ingest a corpus (default: sample photos), show bytes read per size, then serve."""

from __future__ import annotations

import json
import os
import sys

import click

from pjstore import reads
from pjstore.batch.loop import run_batch
from pjstore.batch.outcome import Outcome, Status
from pjstore.batch.pool import LocalPool
from pjstore.cli.group import STORE, writing
from pjstore.cli.serving import start_server
from pjstore.corpus import walk
from pjstore.errors import InvalidInput
from pjstore.ingest import DEFAULT_SCHEME, SCHEMES, IngestOptions
from pjstore.read_path.serve import render
from pjstore.server.settings import ServerSettings


@click.command()
@click.argument("corpus", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("--scheme", type=click.Choice(sorted(SCHEMES)), default=DEFAULT_SCHEME, show_default=True)
@click.option("--serve/--no-serve", default=None,
              help="Then serve the store over HTTP (default: when stdin is a terminal).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="The totals as one JSON object on stdout.")
@click.pass_context
def demo(ctx, corpus, scheme, serve, port, as_json) -> None:
    """The main job: ingest CORPUS (default: sample photos), show bytes read per scale, then serve.

    Every size is served through the read path, and what it read is counted.
    """
    from pjstore.samples import write_samples

    if corpus is None:
        corpus = os.path.join(ctx.obj, "samples")
        write_samples(corpus)
        click.echo(f"sample photos from scikit-image written to {corpus}", err=True)
    files = walk((corpus,))
    if not files:
        raise InvalidInput(f"no JPEG files in {corpus}")
    stored: dict[str, None] = {}  # ids in order, each once: a photo found twice is one image

    def keep(outcome: Outcome) -> None:
        if outcome.status is Status.FAILED:
            click.echo(f"skipped {outcome.path}: {type(outcome.error).__name__}: {outcome.error}", err=True)
        else:
            stored[outcome.stored.id] = None

    with writing(ctx, create=True) as store:
        with LocalPool() as runner:
            run_batch(store, files, IngestOptions(scheme), runner, keep)
        served = reads.totals((store.info(i) for i in stored),
                              read=lambda record, scale: render(store, record.id, scale=scale).bytes_read)
    if as_json:
        click.echo(json.dumps({"images": served.images, "source_bytes": served.source_bytes,
                               "stored_bytes": served.stored_bytes,
                               "sizes": [{"scale": s.scale, "read_bytes": s.read_bytes} for s in served.sizes]}))
    else:
        _print(served)
    if serve is None:
        serve = sys.stdin.isatty()  # people at a terminal go on to the server; scripts and CI do not block
    if serve:
        start_server(ServerSettings.from_env({**os.environ, STORE.env: ctx.obj}), "127.0.0.1", port)


def _print(t: reads.Totals) -> None:
    if not t.images:
        click.echo("no images stored")
        return
    click.echo(f"{t.images} images, {t.source_bytes} source bytes, {t.stored_bytes} stored "
               f"({t.stored_bytes / t.source_bytes:.3f}x)")
    click.echo(f"{'scale':>6} {'bytes read':>12} {'of stored':>10} {'of source':>10}")
    for s in t.sizes:
        click.echo(f"{s.scale:>6g} {s.read_bytes:>12} {s.of(t.stored_bytes):>10.3f} {s.of(t.source_bytes):>10.3f}")

"""`pjstore eval`: the dissertation's evaluation of the storage schemes on a corpus."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from pjstore.cli.group import floats
from pjstore.errors import InvalidInput, ToolError
from pjstore.quality.sizes import DEFAULT_SCALES

DEFAULT_OUT = "pjstore-eval"  # in the working directory: never the committed eval/results unless asked


@click.command("eval")
@click.argument("corpus", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", default=DEFAULT_OUT, show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Where the CSVs, summary.md and figures go.")
@click.option("--force", is_flag=True, help="Measure again into an OUT that holds an earlier run.")
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
def eval_command(corpus, out, force, workers, limit, repeats, keep_stored, images, requests_per_image, mix,
                 report_only) -> None:
    """Evaluate the storage schemes of the dissertation's Table 3 on CORPUS (capacity, reads, compute, cost)."""
    try:
        from pjstore.evaluation.projection import Workload
        from pjstore.evaluation.report import write_report
        from pjstore.evaluation.run import RUN_JSON, run
    except ModuleNotFoundError as exc:
        raise ToolError(f"pjstore eval needs {exc.name}, from the eval extra: "
                        "pip install 'pjstore[eval]' (in a checkout: .venv/bin/pip install -e '.[eval]')") from None

    shares = floats(mix, "--mix")
    if len(shares) != len(DEFAULT_SCALES) + 1:
        raise click.BadParameter(f"give {len(DEFAULT_SCALES) + 1} shares: one per size, then the whole image")
    try:
        workload = Workload(images, requests_per_image, shares)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if report_only:
        if not (out / RUN_JSON).is_file():
            raise InvalidInput(f"{out} holds no run to redraw (no {RUN_JSON}); measure one first")
    else:
        if corpus is None:
            raise click.UsageError("give CORPUS (or --report-only to redraw an earlier run)")
        if (out / RUN_JSON).exists() and not force:
            raise InvalidInput(f"{out} holds an earlier run; give --force to replace it, or another --out")
        info = run(corpus, out, workers=workers, limit=limit, repeats=repeats, keep_stored=keep_stored,
                   command=_invocation())
        for name, error in info["errors"].items():
            click.echo(f"FAIL {name}: {error['error_type']}: {error['error']}", err=True)
        click.echo(f"measured {info['images']} images ({len(info['errors'])} failed) in {info['wall_s']:.0f} s",
                   err=True)
    click.echo(f"wrote {write_report(out, workload)}", err=True)


def _invocation() -> str:
    """The command line as typed, for the record (`pjstore ...` or `python eval/run_eval.py ...`)."""
    program = Path(sys.argv[0])
    if program.name == "__main__.py":  # python -m pjstore: the same command as the script
        head = ["pjstore"]
    else:
        head = ["python", sys.argv[0]] if program.suffix == ".py" else [program.name]
    return shlex.join(head + sys.argv[1:])

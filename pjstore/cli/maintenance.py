"""Maintenance: fsck, which checks the embedded store without changing it unless asked to repair."""

from __future__ import annotations

import sys

import click

from pjstore.cli.group import reading, writing


@click.command()
@click.option("--repair", is_flag=True, help="Remove orphan data and re-measure bad offsets.")
@click.pass_context
def fsck(ctx, repair) -> None:
    """Verify every stored image (size, hash, scans, offsets by real decode) and find orphans."""
    from pjstore.fsck import fsck as run_fsck
    from pjstore.storage import LmdbStorage

    with (writing(ctx, create=False) if repair else reading(ctx)) as store:
        if not isinstance(store, LmdbStorage):
            raise click.UsageError("fsck checks the embedded LMDB store")
        report = run_fsck(store, repair)
    for p in report.problems:
        click.echo(f"{p.kind:12} {p.image_id}  {p.detail}{'  [repaired]' if p.repaired else ''}")
    click.echo(f"{report.checked} images checked, {len(report.problems)} problems", err=True)
    if not report.clean:
        sys.exit(1)

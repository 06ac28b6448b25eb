"""Maintenance: fsck, which checks the embedded store without changing it unless asked to repair, and
migrate, which brings records of older versions up to the served contract in place."""

from __future__ import annotations

import sys
import time

import click

from pjstore.cli.group import reading, served_options, writing


@click.command()
@click.option("--repair", is_flag=True, help="Remove orphan data, re-measure bad offsets, drop stale refinement "
                                            "queue entries and queue provisional images without one.")
@click.pass_context
def fsck(ctx, repair) -> None:
    """Verify every stored image (size, hash, scans, offsets by real decode), find orphans, and report
    the refinement queue (uploads served with provisional recipes until their search has run)."""
    from pjstore.fsck import fsck as run_fsck
    from pjstore.storage import LmdbStorage

    with (writing(ctx, create=False) if repair else reading(ctx)) as store:
        if not isinstance(store, LmdbStorage):
            raise click.UsageError("fsck checks the embedded LMDB store")
        report = run_fsck(store, repair)
    for p in report.problems:
        click.echo(f"{p.kind:12} {p.image_id}  {p.detail}{'  [repaired]' if p.repaired else ''}")
    now = time.time()
    for entry in report.queued:
        held = f"leased for {entry.lease_until - now:.0f} s more" if entry.lease_until > now else "waiting"
        click.echo(f"{'queued':12} {entry.image_id}  {held}, {now - entry.enqueued:.0f} s in the queue, "
                   f"{entry.attempts} attempts")
    click.echo(f"{report.checked} images checked, {len(report.problems)} problems, "
               f"{len(report.queued)} queued for refinement", err=True)
    if not report.clean:
        sys.exit(1)


@click.command()
@served_options
@click.pass_context
def migrate(ctx, egress, keep_profile, formats) -> None:
    """Choose served-contract recipes, in place, for records without them (0.1.0 stores, --contract
    prefix), chosen by an older recipe search (before restoration filters), or without a setting for
    each of --formats. Records already under the served contract keep their own egress policy and
    profile handling. Each image is replaced atomically on its own; a rerun resumes where one stopped."""
    from pjstore.ingest import IngestOptions
    from pjstore.migrate import migrate as run_migrate

    with writing(ctx, create=False) as store:
        options = IngestOptions(egress=egress, keep_profile=keep_profile, formats=formats)
        report = run_migrate(store, options, _say_upgraded)
    for image_id, why in report.failed:
        click.echo(f"failed {image_id}: {why}", err=True)
    click.echo(f"{report.checked} images checked, {len(report.upgraded)} upgraded, {len(report.failed)} failed",
               err=True)
    if report.failed:
        sys.exit(1)


def _say_upgraded(image_id: str, changed: bool) -> None:
    if changed:
        click.echo(f"upgraded {image_id}")

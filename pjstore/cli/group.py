"""The command group and the one error path every command shares, plus what commands share.

Every PjstoreError and OSError a command raises becomes one `error: ...` line on stderr and a
non-zero exit (2 for a bad id, request or setting, 1 otherwise), never a traceback; click's own usage
errors are reported as click does. Commands therefore just raise.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import click

from pjstore.errors import ConfigError, InvalidRequest, NotFound, PjstoreError
from pjstore.server.settings import BY_NAME
from pjstore.storage import Storage, open_storage

STORE = BY_NAME["store"]


def describe(exc: BaseException) -> str:
    """One line naming the problem: OSErrors as `reason: path`, not `[Errno 2] ...`."""
    if isinstance(exc, OSError) and exc.strerror:
        where = exc.filename if exc.filename is not None else ""
        return f"{exc.strerror}: {where}" if where != "" else exc.strerror
    return str(exc) or type(exc).__name__


def exit_code(exc: BaseException) -> int:
    return 2 if isinstance(exc, (InvalidRequest, NotFound, ConfigError)) else 1


class Commands(click.Group):
    """A click group whose `invoke` is the one error path of every subcommand."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (PjstoreError, OSError) as exc:
            click.echo(f"error: {describe(exc)}", err=True)
            ctx.exit(exit_code(exc))


@click.group(cls=Commands)
@click.option("--store", "location", metavar="DIR|s3://BUCKET/PREFIX",
              help=f"{STORE.help} [default: ${STORE.env}, else {STORE.default}]")
@click.pass_context
def main(ctx: click.Context, location: str | None) -> None:
    """pjstore: store JPEGs once as tuned progressive files; serve 10/25/50% sizes from prefixes."""
    ctx.obj = location or STORE.from_env(os.environ)


def reading(ctx: click.Context) -> Storage:
    """The store, opened read-only: a mistyped path is refused ("no store at PATH"), never created."""
    return open_storage(ctx.obj, readonly=True)


def writing(ctx: click.Context, *, create: bool) -> Storage:
    """The store, opened for writing; `create=False` refuses a store that is not there yet."""
    if not create:
        reading(ctx).close()
    return open_storage(ctx.obj)


def floats(text: str, what: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise click.BadParameter(f"{what} must be comma-separated numbers, not {text!r}") from None


def write_output(path: str | os.PathLike, data: bytes, force: bool) -> None:
    """Write a command's output file; an existing one is kept unless `force`."""
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(errno.EEXIST, "exists (give --force to overwrite)", str(path))
    path.write_bytes(data)


def force_option(f):
    return click.option("--force", is_flag=True, help="Overwrite the output if it exists.")(f)


def served_options(f):
    """The served contract's write-time choices, shared by `ingest` and `migrate`."""
    from pjstore.rendition.choose import DEFAULT_EGRESS
    from pjstore.server.settings import format_list

    def formats(ctx: click.Context, param: click.Parameter, text: str) -> tuple[str, ...]:
        try:
            return format_list(text)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    f = click.option("--formats", default="", callback=formats, metavar="webp,avif",
                     help="Modern formats to choose a verified setting for at every scale, besides JPEG "
                          "(served by format= or Accept; costs several times the write) [default: none].")(f)

    f = click.option("--keep-profile", is_flag=True,
                     help="Keep a non-sRGB ICC profile in renditions (default: convert to sRGB).")(f)
    return click.option("--egress", type=click.FloatRange(min=1), default=DEFAULT_EGRESS, show_default=True,
                        help="Served bytes at most this times the floor: the smallest baseline JPEG of the "
                             "size meeting the threshold, made from the whole source.")(f)

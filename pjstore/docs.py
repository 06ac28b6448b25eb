"""The reference pages made from the tables that define what they document, never written by hand.

    python -m pjstore.docs configuration > docs/configuration.md

`configuration`: every server setting (SETTINGS), every search option (SearchOptions, with its
`PJSTORE_SEARCH_*` variable), every command's other options as `--help` shows them (from the
click commands themselves), and the few environment variables read elsewhere.
tests/test_docs.py fails when a committed page differs from what this makes.
"""

from __future__ import annotations

import sys

import click

from pjstore.cli import main
from pjstore.cli.options import SEARCH_FIELDS, field_help
from pjstore.scan_search.options import SearchOptions
from pjstore.server.settings import BY_NAME, SEARCH_ENV_PREFIX, SETTINGS, _text
from tools.jpegtran_wrapper import ENV_VAR as JPEGTRAN_ENV

COMMAND = "python -m pjstore.docs configuration > docs/configuration.md"

# Variables read outside the settings table: (names, who reads them, what they do).
OTHER_VARIABLES = (
    ((JPEGTRAN_ENV,), "whatever runs jpegtran: ingest, uploads, migrate, an arithmetic-coded store's export",
     "Path of the jpegtran binary (default: the one on `PATH`); it must support `-scans` (libjpeg-turbo's does)."),
    (("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"), "an `s3://` store",
     "Endpoint, credentials and region, with the rest of boto3's usual chain (`~/.aws`, an instance role); "
     "any S3-compatible service."),
    (("PROMETHEUS_MULTIPROC_DIR",), "`serve --workers N`", "Set by `serve` itself to a temporary directory so "
     "`/metrics` sums over workers; do not set it."),
    (("PJSTORE_SHARED",), "the test suite", "Where the shared corpora are (default `../shared` beside the "
     "checkout); tests needing them skip when absent."),
    (("PJSTORE_FUZZ_N",), "the test suite", "Write-path fuzz inputs per run (default 120; the slow run 3000)."),
    (("PJSTORE_HOSTILE_N",), "the test suite", "Inputs per hostile generator in the slow run (default 400)."),
    (("PJSTORE_SCREENSHOTS",), "the test suite", "A directory for the browser test's screenshots, for a person to "
     "look at."),
)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _shown(value: object) -> str:
    return "unset" if value in (None, "", ()) else f"`{_text(value)}`"


def settings_table() -> list[str]:
    lines = ["| option | variable | kind | default | what it does | imgproxy |", "|---|---|---|---|---|---|"]
    for s in SETTINGS:
        lines.append(f"| `{s.option}` | `{s.env}` | {_cell(s.kind.name)} | {_shown(s.default)} | {_cell(s.help)} | "
                     f"{f'`{s.imgproxy}`' if s.imgproxy else ''} |")
    return lines


def search_table() -> list[str]:
    helps = field_help(SearchOptions)
    lines = ["| option | variable | type | default | what it does |", "|---|---|---|---|---|"]
    for f in SEARCH_FIELDS:
        option = "--" + f.name.replace("_", "-")
        if isinstance(f.default, bool):
            option += f"/--no-{option[2:]}"
        lines.append(f"| `{option}` | `{SEARCH_ENV_PREFIX}{f.name.upper()}` | `{_cell(str(f.type))}` "
                     f"| {_shown(f.default)} | {_cell(helps.get(f.name, ''))}. |")
    return lines


def _is_row(param: click.Parameter) -> bool:
    """An option made from a settings row (its help starts with the row's)."""
    row = BY_NAME.get(param.name or "")
    return row is not None and isinstance(param, click.Option) and (param.help or "").startswith(row.help)


def command_table(command: click.Command, ctx: click.Context) -> list[str]:
    lines, rows, search = [], [], False
    for param in command.get_params(ctx):
        if not isinstance(param, click.Option) or param is command.get_help_option(ctx):
            continue
        if (param.name or "").startswith("search_"):
            search = True
            continue
        if _is_row(param):
            rows.append(f"`{param.opts[0]}`")
            continue
        record = param.get_help_record(ctx)
        if record:
            lines.append(f"| `{_cell(record[0])}` | {_cell(record[1])} |")
    if lines:
        lines = ["| option | what it does |", "|---|---|", *lines]
    also = ([f"the server settings {', '.join(rows)}"] if rows else []) + (["every search option"] if search else [])
    if also:
        lines += ["", f"Also {' and '.join(also)} (tables above)."]
    return lines or ["No options."]


def commands() -> list[str]:
    root = click.Context(main, info_name="pjstore")
    lines = ["### `pjstore` (before the command)", "", *command_table(main, root), ""]
    for name, command in main.commands.items():
        ctx = click.Context(command, info_name=name, parent=root)
        summary = (command.help or "").split("\n\n")[0]
        lines += [f"### `pjstore {name}`", "", _cell(summary), "", *command_table(command, ctx), ""]
    return lines


def configuration() -> str:
    lines = [
        "# Configuration reference", "",
        f"Generated by `{COMMAND}` from the tables that define the options; do not edit by hand "
        "(tests/test_docs.py fails when this page is out of date).", "",
        "An option given on the command line wins over its environment variable, which wins over the "
        "default; an empty variable means unset. `--store` is given before the command "
        "(`pjstore --store DIR ingest ...`). A bad value stops the command, before it does anything, with an "
        "error saying which value is wrong (exit 2).", "",
        "## Server settings", "",
        "`serve`'s options and the variables its worker processes read (pjstore/server/settings.py, "
        "`SETTINGS`), with imgproxy's nearest setting. `PJSTORE_STORE` is read by every command. The "
        "upload settings (`egress`, `formats`, `entropy`, the limits) apply to uploads over HTTP; `ingest` "
        "has options of its own for most of them (below).", "",
        *settings_table(), "",
        "## Search options", "",
        "How the tuned (`custom`) scheme plans the scans (pjstore/scan_search/options.py, `SearchOptions`): "
        "options of `ingest` and `serve`, and variables `serve` reads. A boolean variable is `true`/`false` "
        "(or `1`/`0`), a list is comma-separated, an empty one means unset.", "",
        *search_table(), "",
        "## Command options", "",
        "As `pjstore COMMAND --help` shows them (default and range in brackets).", "",
        *commands(),
        "## Other environment variables", "",
        "| variable | read by | what it does |", "|---|---|---|",
        *[f"| {', '.join(f'`{n}`' for n in names)} | {who} | {what} |" for names, who, what in OTHER_VARIABLES],
    ]
    return "\n".join(lines) + "\n"


PAGES = {"configuration": configuration}


def run(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in PAGES:
        print(f"usage: python -m pjstore.docs {{{','.join(PAGES)}}}  (the page goes to stdout)", file=sys.stderr)
        return 2
    sys.stdout.write(PAGES[argv[0]]())
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))

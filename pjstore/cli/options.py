"""Options made from the tables that define them, never written out by hand.

`serve`'s options come from the server's SETTINGS table, and the tuned search's options (for
`ingest` and `serve`) from SearchOptions' fields, their help from its docstring. Options carry
text: the values are parsed and validated where the settings are (ServerSettings, SearchOptions).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import click

from pjstore.scan_search.options import SearchOptions
from pjstore.server.settings import BY_NAME, SETTINGS, SettingsError, int_list

SERVE_SETTINGS = tuple(s for s in SETTINGS if s.name != "store")  # --store belongs to every command


def _stack(f: Callable, options: list) -> Callable:
    for option in reversed(options):
        f = option(f)
    return f


def settings_options(f: Callable) -> Callable:
    """One option per server setting; unset ones fall back to the variable, then the default."""
    return _stack(f, [click.option(s.option, s.name, metavar=s.kind.name.split(",")[0].upper(),
                                   help=f"{s.help} [env: {s.env}; default: {s.shown_default()}]")
                      for s in SERVE_SETTINGS])


def settings_env(values: dict[str, str | None]) -> dict[str, str]:
    """The options given, as the variables ServerSettings.from_env reads.

    An empty variable means "unset", so an option given empty where unset means "off" (`--api-key ""`
    would run the server open without a word) is refused here, where the difference is still seen."""
    for s in SERVE_SETTINGS:
        if values.get(s.name) == "" and s.kind.unset is None:
            raise SettingsError(f"{s.option} is empty: give a value, or leave the option out")
    return {s.env: value for s in SERVE_SETTINGS if (value := values.get(s.name)) is not None}


def field_help(cls: type) -> dict[str, str]:
    """First sentence of each `name: text` paragraph of a dataclass's docstring (`a, b: text` documents both)."""
    name = "|".join(f.name for f in dataclasses.fields(cls))
    head = re.compile(rf"^\s*((?:{name})(?:, (?:{name}))*): ", re.M)
    doc = cls.__doc__ or ""
    starts = list(head.finditer(doc))
    helps = {}
    for m, after in zip(starts, [*starts[1:], None], strict=True):
        text = " ".join(doc[m.end():after.start() if after else len(doc)].split())
        for field_name in m[1].split(", "):
            helps[field_name] = text.split(". ")[0].rstrip(".")
    return helps


# The caps on an upload's structure: `ingest` options made from the same rows of the settings table
# as `serve`'s (so both say the same), passed on under their names.
UPLOAD_CAPS = ("max_source_scans", "max_app_segments", "max_icc_bytes")


def upload_cap_options(f: Callable) -> Callable:
    """One integer option per upload cap, its default and help from the settings table."""
    caps = [BY_NAME[name] for name in UPLOAD_CAPS]
    return _stack(f, [click.option(s.option, s.name, type=click.IntRange(min=0), default=s.default,
                                   show_default=True, help=s.help) for s in caps])


SEARCH_FIELDS = tuple(dataclasses.fields(SearchOptions))
_SEARCH_HELP = field_help(SearchOptions)


class _IntList(click.ParamType):
    name = "N,N,..."

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            return int_list(value)
        except ValueError:
            self.fail(f"{value!r} is not a comma-separated list of integers", param, ctx)


_INT_LIST = _IntList()


def _search_option(f: dataclasses.Field):
    name = "--" + f.name.replace("_", "-")
    default = f.default
    text = f"Custom search: {_SEARCH_HELP.get(f.name, f.name)} [default: {default}]"
    if isinstance(default, bool):
        return click.option(f"{name}/--no-{name[2:]}", f"search_{f.name}", default=None, help=text)
    kind = {int: click.INT, float: click.FLOAT, tuple: _INT_LIST}.get(type(default), click.STRING)
    return click.option(name, f"search_{f.name}", type=kind, help=text)


def search_options(f: Callable) -> Callable:
    """One option per SearchOptions field, passed on as `search_<field>` arguments."""
    return _stack(f, [_search_option(field) for field in SEARCH_FIELDS])


def search_given(values: dict) -> dict[str, Any]:
    """The search options given on the command line (pops them from `values`)."""
    given = {f.name: values.pop(f"search_{f.name}") for f in SEARCH_FIELDS}
    return {name: value for name, value in given.items() if value is not None}


def search_settings(given: dict[str, Any], base: SearchOptions | None = None) -> SearchOptions:
    """`base` (default: the defaults) with the options given, validated by SearchOptions itself."""
    try:
        return dataclasses.replace(base or SearchOptions(), **given)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"search options: {exc}") from None

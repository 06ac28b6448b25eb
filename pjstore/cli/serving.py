"""Serving: `serve` (options made from the settings table) and `sign-url`."""

from __future__ import annotations

import dataclasses
import os
import re

import click

from pjstore import ids
from pjstore.cli.group import STORE, reading
from pjstore.cli.options import search_given, search_options, search_settings, settings_env, settings_options
from pjstore.server.settings import BY_NAME, ServerSettings
from pjstore.url_signing import UrlSigner

URL_KEY, URL_SALT = BY_NAME["url_key"], BY_NAME["url_salt"]


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Server processes sharing the store.")
@click.option("--access-log/--no-access-log", default=False, show_default=True,
              help="Log every request (/metrics counts them either way).")
@settings_options
@search_options
@click.pass_context
def serve(ctx, host, port, workers, access_log, **values) -> None:
    """Serve the store over HTTP (API docs at /docs, upload page and gallery at /).

    Every setting is also an environment variable; options given here win over them.
    """
    search = search_given(values)
    settings = ServerSettings.from_env({**os.environ, **settings_env(values), STORE.env: ctx.obj})
    start_server(dataclasses.replace(settings, search=search_settings(search, settings.search)), host, port,
                 workers, access_log)


def start_server(settings: ServerSettings, host: str, port: int, workers: int = 1, access_log: bool = False) -> None:
    from pjstore.server.run import serve as run  # the web stack loads only for the commands serving

    click.echo(f"serving {settings.store} at http://{host}:{port}/ (API docs at /docs); Ctrl-C stops", err=True)
    run(settings, host, port, workers, access_log)


_IMAGE_PATH = re.compile(r"(/v1/images/)([^/?#]+)(.*)", re.S)


@click.command("sign-url")
@click.argument("url")
@click.option("--url-key", default=lambda: URL_KEY.from_env(os.environ), required=True,
              help=f"The server's URL key [default: ${URL_KEY.env}].")
@click.option("--url-salt", default=lambda: URL_SALT.from_env(os.environ),
              help=f"The server's URL salt [default: ${URL_SALT.env}].")
@click.pass_context
def sign_url(ctx, url, url_key, url_salt) -> None:
    """Print URL (a path and query, e.g. '/v1/images/ID?w=300') with the signature the server wants.

    An id prefix (6+ hex digits) is resolved in the store first, as every command does, since
    the server signs and serves full ids only.
    """
    m = _IMAGE_PATH.fullmatch(url)
    if m and len(m[2]) != 64:
        with reading(ctx) as store:
            url = m[1] + ids.resolve(store, m[2]) + m[3]
    click.echo(UrlSigner(url_key.encode(), url_salt.encode()).sign(url))

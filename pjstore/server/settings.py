"""ServerSettings: everything the service is configured with, from one table.

Each setting is written once, as a row of SETTINGS (name, environment variable, kind, default,
help), as imgproxy's config.go does: `serve`'s click options, `from_env`/`to_env` (how every
uvicorn worker process, which builds its own app through the factory, sees the same
configuration) and docs/configuration.md (`pjstore.docs`) are all made from it, and the dataclass
validates the values in one place whichever way they came in. The tuned search's options ride
along as `PJSTORE_SEARCH_<FIELD>` variables (`search_env`), so uploads are planned as `ingest`
plans them.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pjstore.encoder.metadata import DEFAULT_MAX_ICC_BYTES
from pjstore.encoder.structure import DEFAULT_MAX_APP_SEGMENTS, DEFAULT_MAX_SCANS
from pjstore.encoder.transcode import ENTROPIES
from pjstore.errors import ConfigError
from pjstore.ingest import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, IngestOptions
from pjstore.rendition.choose import DEFAULT_EGRESS
from pjstore.rendition.formats import AVAILABLE
from pjstore.scan_search.options import SearchOptions
from pjstore.url_signing import UrlSigner

DEFAULT_LOCATION = "./pjstore-data"


class SettingsError(ConfigError):
    """A setting's value (an option or environment variable) is not valid."""


@dataclass(frozen=True)
class Kind:
    """How a setting's text becomes a value and back; `unset` is what an empty or absent text means."""

    name: str  # as shown in docs/configuration.md and `--help`
    parse: Callable[[str], Any]
    unset: Any = None  # the value an empty text stands for

    def read(self, text: str) -> Any:
        return self.unset if text == "" else self.parse(text)

    def write(self, value: Any) -> str:
        return "" if value == self.unset else _text(value)


INT = Kind("integer", int)
SECONDS = Kind("seconds", float)
NUMBER = Kind("number", float)
TEXT = Kind("text", str, "")
OPTIONAL_TEXT = Kind("text", str)  # None when unset
OFF_AT_ZERO = Kind("integer, 0 = off", lambda text: int(text) or None)


def format_list(text: str) -> tuple[str, ...]:
    """"webp,avif" -> ("webp", "avif"): modern formats this Pillow encodes (ValueError otherwise)."""
    names = tuple(dict.fromkeys(x.strip().lower() for x in text.split(",") if x.strip()))
    unknown = [n for n in names if n not in AVAILABLE]
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: formats are among {', '.join(AVAILABLE) or 'none here'}")
    return names


FORMAT_LIST = Kind("formats", format_list, ())


def entropy_name(text: str) -> str:
    """"huffman" or "arithmetic" (ValueError otherwise)."""
    name = text.strip().lower()
    if name not in ENTROPIES:
        raise ValueError(f"{text!r}: entropy coding is one of {', '.join(ENTROPIES)}")
    return name


ENTROPY = Kind("huffman|arithmetic", entropy_name)


@dataclass(frozen=True)
class Setting:
    name: str  # the ServerSettings field; the option is `--name-with-dashes`
    env: str
    kind: Kind
    default: Any
    help: str
    imgproxy: str = ""  # imgproxy's nearest setting, for people who know it
    secret: bool = False  # kept out of repr

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    def from_env(self, env: Mapping[str, str]) -> Any:
        """This setting's value in `env`, or its default when unset or empty."""
        text = env.get(self.env, "")
        return self.default if text == "" else _parse(self.kind, text, f"{self.env} / {self.option}")

    def shown_default(self) -> str:
        return "unset" if self.default in (None, "", ()) else str(self.default)


SETTINGS: tuple[Setting, ...] = (
    Setting("store", "PJSTORE_STORE", TEXT, DEFAULT_LOCATION,
            "The store: an LMDB directory or s3://BUCKET/PREFIX (for every command, given before it)."),
    Setting("api_key", "PJSTORE_API_KEY", OPTIONAL_TEXT, None,
            "Uploads and deletes need `Authorization: Bearer KEY` (401 otherwise); reads stay public.",
            secret=True),
    Setting("max_upload_bytes", "PJSTORE_MAX_UPLOAD_BYTES", INT, DEFAULT_MAX_BYTES,
            "413 past this request body, checked against Content-Length and while the body streams.",
            "MAX_SRC_FILE_SIZE"),
    Setting("max_pixels", "PJSTORE_MAX_PIXELS", INT, DEFAULT_MAX_PIXELS,
            "413 past this many source pixels, from the frame header before decoding.", "MAX_SRC_RESOLUTION"),
    Setting("max_source_scans", "PJSTORE_MAX_SOURCE_SCANS", INT, DEFAULT_MAX_SCANS,
            "Uploads with more scans are refused (413, TooLarge), counted from their markers before decoding."),
    Setting("max_app_segments", "PJSTORE_MAX_APP_SEGMENTS", INT, DEFAULT_MAX_APP_SEGMENTS,
            "Uploads with more APPn/COM (metadata) segments are refused (413, TooLarge)."),
    Setting("max_icc_bytes", "PJSTORE_MAX_ICC_BYTES", INT, DEFAULT_MAX_ICC_BYTES,
            "A bigger ICC profile is dropped, with a warning in the record (renditions keeping it would "
            "each carry it)."),
    Setting("max_result_dimension", "PJSTORE_MAX_RESULT_DIMENSION", OFF_AT_ZERO, None,
            "400 for any rendition wider or taller, by w, h or scale (unset: up to the original).",
            "MAX_RESULT_DIMENSION"),
    Setting("egress", "PJSTORE_EGRESS", NUMBER, DEFAULT_EGRESS,
            "Uploads: each served rendition is at most this many times the floor, the smallest baseline "
            "JPEG of its size meeting the threshold made from the whole source.", ""),
    Setting("formats", "PJSTORE_FORMATS", FORMAT_LIST, (),
            "Uploads: modern formats (webp, avif) given a verified setting at every scale besides JPEG, "
            "served by format= or Accept; each costs several times the rest of an upload's work."),
    Setting("entropy", "PJSTORE_ENTROPY", ENTROPY, "huffman",
            "Uploads: the stored files' entropy coding; arithmetic stores and reads ~5% fewer bytes, and "
            "/original then sends a Huffman-coded copy made on each request (browsers decode no other)."),
    Setting("prepare_workers", "PJSTORE_PREPARE_WORKERS", INT, 1,
            "Processes per server worker re-encoding uploads."),
    Setting("render_threads", "PJSTORE_RENDER_THREADS", INT, 4,
            "Images rendered at once per server worker; it bounds memory (a 100 MP original holds about "
            "0.5 GB), and later requests wait their turn in order.", "WORKERS"),
    Setting("request_timeout", "PJSTORE_REQUEST_TIMEOUT", SECONDS, 30.0,
            "504 for a render or an upload's ingest taking longer; 408 for an upload body.", "TIMEOUT"),
    Setting("render_queue", "PJSTORE_RENDER_QUEUE", INT, 64,
            "503 + Retry-After: 1 once render-threads renders run and this many wait (per worker).",
            "REQUESTS_QUEUE_SIZE"),
    Setting("upload_queue", "PJSTORE_UPLOAD_QUEUE", INT, 4,
            "503 + Retry-After: 1 once prepare-workers ingests run and this many wait (per worker, checked "
            "before the body is read)."),
    Setting("url_key", "PJSTORE_URL_KEY", OPTIONAL_TEXT, None,
            "403 for an image URL without its signature made with this key (see sign-url).", "KEY", True),
    Setting("url_salt", "PJSTORE_URL_SALT", TEXT, "", "Salt of URL signatures.", "SALT", True),
)
BY_NAME = {s.name: s for s in SETTINGS}
SEARCH_ENV_PREFIX = "PJSTORE_SEARCH_"


def _field(name: str) -> Any:
    """A ServerSettings field with the table's default (secrets kept out of repr)."""
    setting = BY_NAME[name]
    return field(default=setting.default, repr=not setting.secret)


@dataclass(frozen=True)
class ServerSettings:
    """Validated here, whether the values came from options, the environment or code."""

    store: str = _field("store")
    api_key: str | None = _field("api_key")  # None: uploads and deletes are open
    max_upload_bytes: int = _field("max_upload_bytes")  # request body limit, enforced while reading it
    max_pixels: int = _field("max_pixels")  # source pixel limit, checked from the frame header
    max_source_scans: int = _field("max_source_scans")  # source scan limit, from its markers
    max_app_segments: int = _field("max_app_segments")  # source APPn/COM segment limit
    max_icc_bytes: int = _field("max_icc_bytes")  # a bigger profile is dropped
    max_result_dimension: int | None = _field("max_result_dimension")  # None: up to the original's
    egress: float = _field("egress")  # uploads: served bytes at most this times the floor
    formats: tuple[str, ...] = _field("formats")  # uploads: modern formats besides JPEG
    entropy: str = _field("entropy")  # uploads: the stored files' entropy coding
    prepare_workers: int = _field("prepare_workers")  # processes per server worker doing uploads' work
    render_threads: int = _field("render_threads")  # renders at once per server worker; FIFO beyond
    request_timeout: float = _field("request_timeout")  # seconds a client waits for a render or an ingest
    render_queue: int = _field("render_queue")  # renders waiting per worker beyond the running ones
    upload_queue: int = _field("upload_queue")  # uploads waiting per worker beyond the ingesting ones
    url_key: str | None = _field("url_key")  # set: image URLs need a `sig` made with it
    url_salt: str = _field("url_salt")
    search: SearchOptions = field(default_factory=SearchOptions)  # how uploads are planned

    def __post_init__(self) -> None:
        if not self.store:
            raise SettingsError("the store location cannot be empty")
        if min(self.max_upload_bytes, self.max_pixels, self.max_source_scans, self.max_app_segments,
               self.prepare_workers, self.render_threads) < 1 or self.max_icc_bytes < 0 or \
                (self.max_result_dimension is not None and self.max_result_dimension < 1):
            raise SettingsError("limits and worker counts must be positive")
        if min(self.render_queue, self.upload_queue) < 0 or not self.request_timeout > 0:
            raise SettingsError("queue sizes cannot be negative and the request timeout must be positive")
        if not self.egress >= 1:
            raise SettingsError(f"egress must be at least 1 (the floor itself), not {self.egress}")
        if self.entropy not in ENTROPIES:
            raise SettingsError(f"entropy must be one of {ENTROPIES}, not {self.entropy!r}")
        for name in ("api_key", "url_key"):  # "" would silently mean "no key": an open server
            if getattr(self, name) == "":
                raise SettingsError(f"{name} is empty: give a key, or leave it unset for none")

    @property
    def signer(self) -> UrlSigner | None:
        """What checks image URLs' signatures; None when URLs are not signed."""
        return UrlSigner(self.url_key.encode(), self.url_salt.encode()) if self.url_key else None

    @property
    def ingest_options(self) -> IngestOptions:
        """The CLI's defaults (scheme, quality target) under this server's limits, search options and egress policy."""
        return IngestOptions(max_pixels=self.max_pixels, max_bytes=self.max_upload_bytes, search=self.search,
                             max_scans=self.max_source_scans, max_app_segments=self.max_app_segments,
                             max_icc_bytes=self.max_icc_bytes,
                             egress=self.egress, formats=self.formats, entropy=self.entropy)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServerSettings:
        """Settings from `env` (default: os.environ); unset or empty variables keep their defaults."""
        env = os.environ if env is None else env
        return cls(**{s.name: s.from_env(env) for s in SETTINGS}, search=search_from_env(env))

    def to_env(self) -> dict[str, str]:
        """The inverse of `from_env`: variables that make a worker process rebuild these settings.

        Every variable is written ("" for unset), so none left in the environment from before wins."""
        return {**{s.env: s.kind.write(getattr(self, s.name)) for s in SETTINGS}, **search_env(self.search)}


def _parse(kind: Kind, text: str, where: str) -> Any:
    try:
        return kind.read(text)
    except ValueError:
        raise SettingsError(f"{where}: {text!r} is not a valid {kind.name}") from None


# The search options' variables follow their field names; the default's type parses the text.
_BOOL = {"true": True, "1": True, "false": False, "0": False}
_SEARCH_PARSERS: dict[type, Callable[[str], Any]] = {int: int, float: float, str: str,
                                                     bool: lambda text: _BOOL[text.lower()],
                                                     tuple: lambda text: int_list(text)}


def int_list(text: str) -> tuple[int, ...]:
    """"3,2,1,0" -> (3, 2, 1, 0): how a tuple-valued option is written (ValueError otherwise)."""
    return tuple(int(x) for x in text.split(",") if x.strip())


def search_env(search: SearchOptions) -> dict[str, str]:
    """`PJSTORE_SEARCH_<FIELD>` for every search option."""
    return {SEARCH_ENV_PREFIX + f.name.upper(): _text(getattr(search, f.name)) for f in dataclasses.fields(search)}


def search_from_env(env: Mapping[str, str]) -> SearchOptions:
    """SearchOptions from `PJSTORE_SEARCH_<FIELD>` variables; an empty one means None."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(SearchOptions):
        name = SEARCH_ENV_PREFIX + f.name.upper()
        if name in env:
            try:
                values[f.name] = None if env[name] == "" else _SEARCH_PARSERS[type(f.default)](env[name])
            except (ValueError, KeyError):
                raise SettingsError(f"{name}={env[name]!r} is not a valid {type(f.default).__name__}") from None
    try:
        return SearchOptions(**values)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"search options: {exc}") from None


def _text(value: Any) -> str:
    """A value as from_env reads it back."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # round-trips exactly, inf included
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value).lower() if isinstance(value, bool) else str(value)

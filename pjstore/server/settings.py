"""ServerSettings: everything the service is configured with, read from the environment.

The CLI's `serve` writes its options into these variables so that every uvicorn worker process,
which builds its own app through the factory, sees the same configuration.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from pjstore.ingest import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS
from pjstore.rendition.choose import DEFAULT_EGRESS
from pjstore.storage import DEFAULT_LOCATION, ENV_VAR as STORE_ENV
from pjstore.url_signing import UrlSigner

API_KEY_ENV = "PJSTORE_API_KEY"
MAX_UPLOAD_BYTES_ENV = "PJSTORE_MAX_UPLOAD_BYTES"
MAX_PIXELS_ENV = "PJSTORE_MAX_PIXELS"
EGRESS_ENV = "PJSTORE_EGRESS"
PREPARE_WORKERS_ENV = "PJSTORE_PREPARE_WORKERS"
RENDER_THREADS_ENV = "PJSTORE_RENDER_THREADS"
MAX_RESULT_DIMENSION_ENV = "PJSTORE_MAX_RESULT_DIMENSION"
REQUEST_TIMEOUT_ENV = "PJSTORE_REQUEST_TIMEOUT"
RENDER_QUEUE_ENV = "PJSTORE_RENDER_QUEUE"
UPLOAD_QUEUE_ENV = "PJSTORE_UPLOAD_QUEUE"
URL_KEY_ENV = "PJSTORE_URL_KEY"
URL_SALT_ENV = "PJSTORE_URL_SALT"

DEFAULT_PREPARE_WORKERS = 1
DEFAULT_RENDER_THREADS = 4
DEFAULT_REQUEST_TIMEOUT = 30.0
DEFAULT_RENDER_QUEUE = 64
DEFAULT_UPLOAD_QUEUE = 4


@dataclass(frozen=True)
class ServerSettings:
    store: str = DEFAULT_LOCATION
    api_key: str | None = field(default=None, repr=False)  # None: uploads and deletes are open
    max_upload_bytes: int = DEFAULT_MAX_BYTES  # request body limit, enforced while reading it
    max_pixels: int = DEFAULT_MAX_PIXELS  # source pixel limit, checked from the frame header
    egress: float = DEFAULT_EGRESS  # uploads: served bytes at most this times the floor
    prepare_workers: int = DEFAULT_PREPARE_WORKERS  # processes per server worker doing uploads' write-time work
    render_threads: int = DEFAULT_RENDER_THREADS  # renders at once per server worker (bounds memory); FIFO beyond
    max_result_dimension: int | None = None  # widest or tallest image served; None: up to the original's
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT  # seconds a client waits for a render or an ingest
    render_queue: int = DEFAULT_RENDER_QUEUE  # renders waiting per worker beyond the running ones; then 503
    upload_queue: int = DEFAULT_UPLOAD_QUEUE  # uploads waiting per worker beyond the ingesting ones; then 503
    url_key: str | None = field(default=None, repr=False)  # set: image URLs need a `sig` made with it
    url_salt: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if min(self.max_upload_bytes, self.max_pixels, self.prepare_workers, self.render_threads) < 1 or \
                (self.max_result_dimension is not None and self.max_result_dimension < 1):
            raise ValueError("limits and worker counts must be positive")
        if min(self.render_queue, self.upload_queue) < 0 or self.request_timeout <= 0:
            raise ValueError("queue sizes cannot be negative and the request timeout must be positive")
        if not self.egress >= 1:
            raise ValueError(f"egress must be at least 1, not {self.egress}")

    @property
    def signer(self) -> UrlSigner | None:
        """What checks image URLs' signatures; None when URLs are not signed."""
        return UrlSigner(self.url_key.encode(), self.url_salt.encode()) if self.url_key else None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "ServerSettings":
        """Settings from `env` (default: os.environ); unset variables keep their defaults."""
        env = os.environ if env is None else env
        defaults = cls()
        return cls(
            store=env.get(STORE_ENV) or defaults.store,
            api_key=env.get(API_KEY_ENV) or None,
            max_upload_bytes=int(env.get(MAX_UPLOAD_BYTES_ENV, defaults.max_upload_bytes)),
            max_pixels=int(env.get(MAX_PIXELS_ENV, defaults.max_pixels)),
            egress=float(env.get(EGRESS_ENV, defaults.egress)),
            prepare_workers=int(env.get(PREPARE_WORKERS_ENV, defaults.prepare_workers)),
            render_threads=int(env.get(RENDER_THREADS_ENV, defaults.render_threads)),
            max_result_dimension=int(env.get(MAX_RESULT_DIMENSION_ENV) or 0) or None,  # 0: off, as imgproxy
            request_timeout=float(env.get(REQUEST_TIMEOUT_ENV, defaults.request_timeout)),
            render_queue=int(env.get(RENDER_QUEUE_ENV, defaults.render_queue)),
            upload_queue=int(env.get(UPLOAD_QUEUE_ENV, defaults.upload_queue)),
            url_key=env.get(URL_KEY_ENV) or None,
            url_salt=env.get(URL_SALT_ENV, defaults.url_salt),
        )

    def to_env(self) -> dict[str, str]:
        """The inverse of `from_env`: variables that make a worker process rebuild these settings."""
        env = {
            STORE_ENV: self.store,
            MAX_UPLOAD_BYTES_ENV: str(self.max_upload_bytes),
            MAX_PIXELS_ENV: str(self.max_pixels),
            EGRESS_ENV: repr(self.egress),
            PREPARE_WORKERS_ENV: str(self.prepare_workers),
            RENDER_THREADS_ENV: str(self.render_threads),
            REQUEST_TIMEOUT_ENV: repr(self.request_timeout),
            RENDER_QUEUE_ENV: str(self.render_queue),
            UPLOAD_QUEUE_ENV: str(self.upload_queue),
        }
        if self.max_result_dimension:
            env[MAX_RESULT_DIMENSION_ENV] = str(self.max_result_dimension)
        if self.api_key:
            env[API_KEY_ENV] = self.api_key
        if self.url_key:
            env[URL_KEY_ENV], env[URL_SALT_ENV] = self.url_key, self.url_salt
        return env

"""ServerSettings: everything the service is configured with, read from the environment.

The CLI's `serve` writes its options into these variables so that every uvicorn worker process,
which builds its own app through the factory, sees the same configuration.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from pjstore.ingest import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS
from pjstore.read_path.encode import DEFAULT_QUALITY
from pjstore.storage import DEFAULT_LOCATION, ENV_VAR as STORE_ENV

API_KEY_ENV = "PJSTORE_API_KEY"
MAX_UPLOAD_BYTES_ENV = "PJSTORE_MAX_UPLOAD_BYTES"
MAX_PIXELS_ENV = "PJSTORE_MAX_PIXELS"
QUALITY_ENV = "PJSTORE_QUALITY"
PREPARE_WORKERS_ENV = "PJSTORE_PREPARE_WORKERS"
RENDER_THREADS_ENV = "PJSTORE_RENDER_THREADS"

DEFAULT_PREPARE_WORKERS = 1
DEFAULT_RENDER_THREADS = 4


@dataclass(frozen=True)
class ServerSettings:
    store: str = DEFAULT_LOCATION
    api_key: str | None = field(default=None, repr=False)  # None: uploads and deletes are open
    max_upload_bytes: int = DEFAULT_MAX_BYTES  # request body limit, enforced while reading it
    max_pixels: int = DEFAULT_MAX_PIXELS  # source pixel limit, checked from the frame header
    quality: int = DEFAULT_QUALITY  # baseline JPEG quality of served images
    prepare_workers: int = DEFAULT_PREPARE_WORKERS  # processes per server worker doing uploads' write-time work
    render_threads: int = DEFAULT_RENDER_THREADS  # renders at once per server worker (bounds memory); FIFO beyond

    def __post_init__(self) -> None:
        if min(self.max_upload_bytes, self.max_pixels, self.prepare_workers, self.render_threads) < 1:
            raise ValueError("limits and worker counts must be positive")
        if not 1 <= self.quality <= 100:
            raise ValueError(f"quality must be 1..100, not {self.quality}")

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
            quality=int(env.get(QUALITY_ENV, defaults.quality)),
            prepare_workers=int(env.get(PREPARE_WORKERS_ENV, defaults.prepare_workers)),
            render_threads=int(env.get(RENDER_THREADS_ENV, defaults.render_threads)),
        )

    def to_env(self) -> dict[str, str]:
        """The inverse of `from_env`: variables that make a worker process rebuild these settings."""
        env = {
            STORE_ENV: self.store,
            MAX_UPLOAD_BYTES_ENV: str(self.max_upload_bytes),
            MAX_PIXELS_ENV: str(self.max_pixels),
            QUALITY_ENV: str(self.quality),
            PREPARE_WORKERS_ENV: str(self.prepare_workers),
            RENDER_THREADS_ENV: str(self.render_threads),
        }
        if self.api_key:
            env[API_KEY_ENV] = self.api_key
        return env

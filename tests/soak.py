"""A sustained-load run against a real `pjstore serve`: uploaders and readers for a fixed time, then
a check that nothing was lost or corrupted. Used by the slow soak test and `eval/soak_server.py`.

Uploaders send distinct generated JPEGs; readers fetch known images at a stored scale (checking
the bytes read against the record) or at a random width, and decode every response at its
expected size. The memory of the server's whole process tree is sampled once a second. All traffic
goes to 127.0.0.1; the duration, the client count and each request's timeout bound the run.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import random
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from PIL import Image

from pjstore.samples import distinct

from killing import assert_store_verifies
from serving import running_server

JPEG = {"Content-Type": "image/jpeg"}
WARMUP_ROUNDS = 2  # of one upload per uploader, before the clock starts: readers have images, pools are up
REQUEST_TIMEOUT = 120.0
SAMPLE_SECONDS = 1.0


@dataclass(frozen=True)
class Latencies:
    count: int
    per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @classmethod
    def of(cls, seconds: list[float], duration: float) -> Latencies:
        cuts = statistics.quantiles(seconds, n=100, method="inclusive") if len(seconds) > 1 else [seconds[0]] * 99
        return cls(len(seconds), len(seconds) / duration, 1000 * cuts[49], 1000 * cuts[94], 1000 * cuts[98])


@dataclass(frozen=True)
class Memory:
    """One series of memory samples of the server's process tree, once a second, in MB."""

    samples_mb: tuple[float, ...]

    @property
    def start(self) -> float:
        return self.samples_mb[0]

    @property
    def peak(self) -> float:
        return max(self.samples_mb)

    @property
    def end(self) -> float:
        return self.samples_mb[-1]

    @property
    def growth(self) -> float:
        """Mean of the last third of the samples over the mean of the first third."""
        third = max(1, len(self.samples_mb) // 3)
        return statistics.mean(self.samples_mb[-third:]) / statistics.mean(self.samples_mb[:third])


@dataclass(frozen=True)
class SoakResult:
    seconds: float
    uploads: Latencies
    reads: Latencies
    failures: tuple[str, ...]  # every unexpected answer: status 5xx or otherwise, wrong size, bad bytes
    server_errors: int  # 5xx answers among them
    images_stored: int
    memory: Memory  # resident set size: heap, plus the store's pages mapped in (they grow with the store)
    heap: Memory  # anonymous memory only (RSS less file-backed pages): what a leak would grow


@dataclass
class _Tally:
    known: list[dict] = field(default_factory=list)  # upload answers (the info documents)
    created: list[dict] = field(default_factory=list)  # those answered 201 during the timed run
    upload_seconds: list[float] = field(default_factory=list)
    read_seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    server_errors: int = 0

    def fail(self, what: str, response: httpx.Response) -> None:
        self.server_errors += response.status_code >= 500
        self.failures.append(f"{what}: {response.status_code} {response.text[:200]}")


def soak(store: Path, seconds: float = 60.0, uploaders: int = 8, readers: int = 32,
         serve_args: tuple[str, ...] = ()) -> SoakResult:
    """Run `pjstore serve --workers 2 SERVE_ARGS` on `store` under load for `seconds`; then check
    every created image is listed, has the offsets it was created with and is served, and the
    store verifies."""
    with running_server(store, "--workers", "2", *serve_args) as server:
        tally, duration, memory = asyncio.run(_load(server.url, server.pid, seconds, uploaders, readers))
        _check_kept(server.url, tally)
    listed = assert_store_verifies(store)
    return SoakResult(duration, Latencies.of(tally.upload_seconds, duration),
                      Latencies.of(tally.read_seconds, duration), tuple(tally.failures), tally.server_errors,
                      len(listed), *memory)


async def _load(url: str, pid: int, seconds: float, uploaders: int, readers: int) -> \
        tuple[_Tally, float, tuple[Memory, Memory]]:
    tally, seeds, rng = _Tally(), itertools.count(), random.Random(5)
    limits = httpx.Limits(max_connections=uploaders + readers, max_keepalive_connections=uploaders + readers)
    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT, limits=limits) as client:
        for _ in range(WARMUP_ROUNDS):  # no more at once than the uploaders will send: no 503 from warming up
            await asyncio.gather(*(_upload(client, tally, next(seeds)) for _ in range(uploaders)))
        sampler = _MemorySampler(pid)
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(_uploader(client, tally, seeds, deadline) for _ in range(uploaders)),
                             *(_reader(client, tally, random.Random(rng.random()), deadline) for _ in range(readers)))
        duration = time.perf_counter() - started
        return tally, duration, sampler.stop()


async def _upload(client: httpx.AsyncClient, tally: _Tally, seed: int, timed: bool = False) -> None:
    data = distinct(seed)
    started = time.perf_counter()
    response = await client.post("/v1/images", content=data, headers=JPEG)
    if timed:
        tally.upload_seconds.append(time.perf_counter() - started)
    if response.status_code not in (200, 201):
        tally.fail("upload", response)
        return
    tally.known.append(response.json())
    if timed and response.status_code == 201:
        tally.created.append(response.json())


async def _uploader(client: httpx.AsyncClient, tally: _Tally, seeds: itertools.count, deadline: float) -> None:
    while time.perf_counter() < deadline:
        await _upload(client, tally, next(seeds), timed=True)


async def _reader(client: httpx.AsyncClient, tally: _Tally, rng: random.Random, deadline: float) -> None:
    while time.perf_counter() < deadline:
        info = rng.choice(tally.known)
        row = rng.choice(info["scales"])
        by_width = rng.random() < 0.3
        params = {"w": rng.randint(1, info["width"])} if by_width else {"scale": row["scale"]}
        started = time.perf_counter()
        response = await client.get(f"/v1/images/{info['id']}", params=params)
        tally.read_seconds.append(time.perf_counter() - started)
        if response.status_code != 200:
            tally.fail("read", response)
            continue
        problem = _wrong_rendition(response, info, None if by_width else row, params.get("w"))
        if problem:
            tally.failures.append(f"read {info['id']} {params}: {problem}")


def _wrong_rendition(response: httpx.Response, info: dict, row: dict | None, width: int | None) -> str | None:
    """What is wrong with a served image, if anything: its size, its bytes read, or its decoding."""
    try:
        image = Image.open(io.BytesIO(response.content))
        image.load()
    except (OSError, SyntaxError, ValueError) as exc:  # what Pillow raises for bad data
        return f"does not decode: {exc}"
    if row is not None:
        if int(response.headers["x-pjstore-bytes-read"]) != row["offset"]:
            return f"read {response.headers['x-pjstore-bytes-read']} bytes, the record says {row['offset']}"
        if image.size != (row["width"], row["height"]):
            return f"size {image.size}, the record says {row['width']}x{row['height']}"
    elif image.width != width:
        return f"width {image.width}, asked for {width}"
    return None


def _check_kept(url: str, tally: _Tally) -> None:
    """Every image created under load is listed, has the offsets it was created with, and is served."""
    with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT) as client:
        listed, after = set(), None
        while True:
            page = client.get("/v1/images", params={"limit": 1000, **({"after": after} if after else {})}).json()
            listed.update(page["ids"])
            if not (after := page["next"]):
                break
        for info in tally.created:
            if info["id"] not in listed:
                tally.failures.append(f"lost: {info['id']}")
                continue
            if client.get(f"/v1/images/{info['id']}/info").json()["scales"] != info["scales"]:
                tally.failures.append(f"offsets changed: {info['id']}")
            row = info["scales"][0]
            response = client.get(f"/v1/images/{info['id']}", params={"scale": row["scale"]})
            problem = _wrong_rendition(response, info, row, None) if response.status_code == 200 else "not served"
            if problem:
                tally.failures.append(f"after the run, {info['id']}: {problem}")


class _MemorySampler:
    """Samples the memory of a process and all its descendants, once a second, in a thread."""

    def __init__(self, pid: int) -> None:
        self._root, self._samples, self._stop = psutil.Process(pid), [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample_mb(self) -> tuple[float, float]:
        """(RSS, anonymous RSS) of the tree: `shared` is the file-backed part, here mostly LMDB's map."""
        rss = anonymous = 0
        for process in [self._root, *self._root.children(recursive=True)]:
            try:
                info = process.memory_info()
            except psutil.NoSuchProcess:
                continue
            rss, anonymous = rss + info.rss, anonymous + info.rss - info.shared
        return rss / 2**20, anonymous / 2**20

    def _run(self) -> None:
        while True:
            self._samples.append(self._sample_mb())
            if self._stop.wait(SAMPLE_SECONDS):
                return

    def stop(self) -> tuple[Memory, Memory]:
        """The RSS and the anonymous memory series."""
        self._stop.set()
        self._thread.join()
        return Memory(tuple(s[0] for s in self._samples)), Memory(tuple(s[1] for s in self._samples))

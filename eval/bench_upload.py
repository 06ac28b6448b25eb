"""Benchmark: uploads through the real server, beside libvips static copies and jpegtran in the same run.

    python eval/bench_upload.py [CORPUS_DIR] [--limit N] [--concurrency 4] [--refined-within 1500]
                                [--out eval/results/bench_upload.md] [--profile]

CORPUS_DIR defaults to ../shared/corpus/hires ($PJSTORE_SHARED/corpus/hires where that is set).
Each phase gets a fresh store and `pjstore serve` with its default settings on a free loopback port:

  sequential  every photo POSTed in turn: the answer's latency; the CPU the answer cost (every process
              of the server's tree but the refiners, which run niced: the server, its upload pool and
              their jpegtran runs); the upload process's peak RSS (VmHWM, reset before each upload);
              then how long after its answer each photo is refined (`provisional` false in its
              record) and the refiners' CPU.
  concurrent  the same photos from --concurrency clients at once: latency p50/p95/worst, throughput
              against 0.9 x cores / (CPU per upload), the issue's target.

Beside them: libvips static copies (thumbnail_buffer at 10, 25 and 50%, quality 80, one thread) and
`jpegtran -optimize -progressive`, CPU per megapixel. --profile instead measures where one upload's
CPU goes (cProfile of the answer's work and of the refinement, on the corpus photo nearest 12 MP,
their threads run in the calling one so the profiler sees them), into bench_upload-profile.md.

Bounded: every POST has a time limit, a 503 is retried at most 3 times after its Retry-After, and
the wait for refinement ends after --refined-within seconds. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import queue
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import httpx  # noqa: E402

from pjstore.corpus import walk  # noqa: E402
from pjstore.encoder.structure import parse  # noqa: E402

from helpers import SHARED  # noqa: E402
from serving import running_server  # noqa: E402

DEFAULT_CORPUS = SHARED / "corpus" / "hires"
JPEG = {"Content-Type": "image/jpeg"}
POST_TIMEOUT = 120.0
RETRIES = 3
TICK = os.sysconf("SC_CLK_TCK")
NICE_FIELD, UTIME_FIELD = 16, 11  # /proc/PID/stat fields after the command name (proc(5) 19 and 14)


@dataclass(frozen=True)
class Photo:
    name: str
    data: bytes
    megapixels: float


@dataclass(frozen=True)
class Upload:
    photo: Photo
    seconds: float  # request sent to answer read
    status: int
    image_id: str | None
    answered_at: float  # time.monotonic()
    peak_rss_mb: float | None = None  # the upload process's, sequential phase only


def _stat(pid: int) -> tuple[int, float, list[int]] | None:
    """(niceness, CPU seconds of the process and its reaped children, child pids); None if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        # every thread's children: the refiners are started from a watching thread
        children = [c for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        return None
    cpu = sum(int(x) for x in fields[UTIME_FIELD:UTIME_FIELD + 4]) / TICK  # utime stime cutime cstime
    return int(fields[NICE_FIELD]), cpu, [int(c) for c in children]


def tree(pid: int) -> dict[int, tuple[int, float]]:
    """pid -> (niceness, CPU seconds) for `pid` and its live descendants."""
    found, pending = {}, [pid]
    while pending:
        current = pending.pop()
        stat = _stat(current)
        if stat is not None:
            found[current] = stat[:2]
            pending += stat[2]
    return found


def split_cpu(pid: int) -> tuple[float, float]:
    """(CPU of the answering processes, CPU of the refiners, niced below the server) of its tree."""
    procs = tree(pid)
    base = procs[pid][0]
    return (sum(c for n, c in procs.values() if n == base), sum(c for n, c in procs.values() if n > base))


def upload_processes(pid: int) -> list[int]:
    """The server's descendants at its own priority: its upload pool (and multiprocessing's helpers)."""
    procs = tree(pid)
    return [p for p, (nice, _) in procs.items() if p != pid and nice == procs[pid][0]]


def reset_peaks(pids: list[int]) -> None:
    for p in pids:
        try:
            Path(f"/proc/{p}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        except OSError:
            pass


def peak_mb(pids: list[int]) -> float:
    peaks = []
    for p in pids:
        try:
            line = next(x for x in Path(f"/proc/{p}/status").read_text().splitlines() if x.startswith("VmHWM"))
        except (OSError, StopIteration):
            continue
        peaks.append(int(line.split()[1]) / 1024)
    return max(peaks, default=0.0)


def post(client: httpx.Client, photo: Photo) -> Upload:
    for _ in range(RETRIES + 1):
        started = time.monotonic()
        response = client.post("/v1/images", content=photo.data, headers=JPEG, timeout=POST_TIMEOUT)
        seconds = time.monotonic() - started
        if response.status_code != 503:
            break
        time.sleep(float(response.headers.get("retry-after", "1")))
    ok = response.status_code in (200, 201)
    return Upload(photo, seconds, response.status_code, response.json()["id"] if ok else None, time.monotonic())


def sequential(photos: list[Photo], refined_within: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp, running_server(Path(tmp) / "store") as server, \
            httpx.Client(base_url=server.url) as client:
        time.sleep(3.0)  # the upload pool and refiners finish starting (their imports are not an upload's)
        idle_refiners = split_cpu(server.pid)[1]
        uploads = []
        answer_cpu = 0.0
        for photo in photos:
            pool = upload_processes(server.pid)
            reset_peaks(pool)
            before = split_cpu(server.pid)[0]
            done = post(client, photo)
            answer_cpu += split_cpu(server.pid)[0] - before
            uploads.append(Upload(done.photo, done.seconds, done.status, done.image_id, done.answered_at,
                                  peak_mb(pool)))
        refined_after = wait_refined(client, uploads, refined_within)
        refine_cpu = split_cpu(server.pid)[1] - idle_refiners
    return {"uploads": uploads, "answer_cpu": answer_cpu, "refined_after": refined_after, "refine_cpu": refine_cpu}


def wait_refined(client: httpx.Client, uploads: list[Upload], within: float) -> dict[str, float]:
    """image id -> seconds from its answer until its record was no longer provisional (bounded)."""
    waiting = {u.image_id: u.answered_at for u in uploads if u.image_id}
    refined: dict[str, float] = {}
    deadline = time.monotonic() + within
    while waiting and time.monotonic() < deadline:
        for image_id in list(waiting):
            if not client.get(f"/v1/images/{image_id}/info").json()["provisional"]:
                refined[image_id] = time.monotonic() - waiting.pop(image_id)
        time.sleep(1.0)
    return refined


def concurrent(photos: list[Photo], clients: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp, running_server(Path(tmp) / "store") as server:
        time.sleep(3.0)
        todo: queue.Queue[Photo] = queue.Queue()
        for photo in photos:
            todo.put(photo)
        uploads: list[Upload] = []
        lock = threading.Lock()

        def client_loop() -> None:
            with httpx.Client(base_url=server.url) as client:
                while True:
                    try:
                        photo = todo.get_nowait()
                    except queue.Empty:
                        return
                    done = post(client, photo)
                    with lock:
                        uploads.append(done)

        before = split_cpu(server.pid)[0]
        started = time.monotonic()
        threads = [threading.Thread(target=client_loop) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - started
        answer_cpu = split_cpu(server.pid)[0] - before
    return {"uploads": uploads, "wall": wall, "answer_cpu": answer_cpu}


def vips_copies(photo: Photo) -> float:
    """CPU seconds for libvips' three static copies (10/25/50%, Q80) of `photo`, one thread."""
    import pyvips

    pyvips.cache_set_max(0)
    frame = parse(photo.data, header_only=True).frame
    started = time.process_time()
    for scale in (0.1, 0.25, 0.5):
        w, h = (max(1, round(n * scale)) for n in (frame.width, frame.height))
        thumb = pyvips.Image.thumbnail_buffer(photo.data, w, height=h, size="force", no_rotate=True)
        thumb.write_to_buffer(".jpg", Q=80, optimize_coding=True, strip=True)
    return time.process_time() - started


def jpegtran_progressive(photo: Photo) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(["jpegtran", "-copy", "none", "-optimize", "-progressive"], input=photo.data,
                   capture_output=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


class Serial:
    """An executor running each call at once in the calling thread: cProfile sees only that one."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __enter__(self) -> Serial:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def map(self, fn, *iterables):
        return list(map(fn, *iterables))

    def submit(self, fn, *args):
        done: Future = Future()
        done.set_result(fn(*args))
        return done


def profile(photo: Photo) -> str:
    """Where one upload's CPU goes: the answer's work and the refinement, top functions by own time."""
    from pjstore import ingest
    from pjstore.ingest import prepare, refined
    from pjstore.rendition import provisional

    ingest.ThreadPoolExecutor = provisional.ThreadPoolExecutor = Serial  # type: ignore[misc]
    lines: list[str] = []
    prepared = _profiled("answer (prepare, provisional)", lambda: prepare(photo.data, provisional=True), lines)
    _profiled("refinement (refined: scan search, layout, offsets, recipe search)",
              lambda: refined(prepared.record, prepared.blob), lines)
    return "\n".join(lines)


def _profiled(label: str, work, lines: list[str]):
    profiler = cProfile.Profile(time.process_time)  # CPU, not wall: the machine is shared
    started = time.process_time()
    result = profiler.runcall(work)
    own = time.process_time() - started
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    lines.append(f"\n{label}: {own:.2f} CPU s in this process (jpegtran's not included), under the profiler\n")
    lines.append("| own CPU s | calls | function |\n|---|---|---|")
    rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:12]  # type: ignore[attr-defined]
    for (path, line, name), (_, calls, tottime, _, _) in rows:
        lines.append(f"| {tottime:.2f} | {calls} | `{Path(path).name}:{line}({name})` |")
    return result


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(photos: list[Photo], seq: dict, conc: dict, vips_cpu: float, jt_cpu: float, clients: int) -> str:
    mp = sum(p.megapixels for p in photos)
    seq_ok = [u for u in seq["uploads"] if u.image_id]
    conc_ok = [u for u in conc["uploads"] if u.image_id]
    twelve = [u for u in seq_ok if 10 <= u.photo.megapixels <= 14]
    cpu_per_upload = seq["answer_cpu"] / max(1, len(seq_ok))
    target_rate = 0.9 * (os.cpu_count() or 1) / cpu_per_upload
    refined = list(seq["refined_after"].values())
    lines = [
        f"{len(photos)} photos, {mp:.1f} MP in all ({min(p.megapixels for p in photos):.1f}-"
        f"{max(p.megapixels for p in photos):.1f} MP), `pjstore serve` with its defaults on {os.cpu_count()} cores.",
        "",
        "| | p50 s | p95 s | worst s | CPU s/MP | answers |",
        "|---|---|---|---|---|---|",
        _row("POST, sequential", [u.seconds for u in seq_ok], seq["answer_cpu"] / mp, seq["uploads"]),
        _row(f"POST, {clients} concurrent clients", [u.seconds for u in conc_ok], conc["answer_cpu"] / mp,
             conc["uploads"]),
    ]
    if twelve:
        lines.append(_row("POST of the 10-14 MP photos, sequential", [u.seconds for u in twelve], None, twelve))
    lines += [
        f"| libvips static copies (10/25/50%, Q80) | | | | {vips_cpu / mp:.3f} | |",
        f"| jpegtran -optimize -progressive | | | | {jt_cpu / mp:.3f} | |",
        "",
        f"- Refinement (the whole search, a niced refiner per server worker): {seq['refine_cpu'] / mp:.2f} CPU s/MP; "
        + (f"refined {pct(refined, 0.5):.0f} s (p50), {max(refined):.0f} s (worst) after the answer, "
           f"{len(refined)} of {len(seq_ok)} within the wait" if refined else "none refined within the wait"),
        f"- Peak RSS of the upload process per upload: p50 {pct([u.peak_rss_mb or 0 for u in seq_ok], 0.5):.0f} MB, "
        f"worst {max(u.peak_rss_mb or 0 for u in seq_ok):.0f} MB (imports included)",
        f"- Throughput, {clients} clients: {len(conc_ok) / conc['wall']:.3f} uploads/s; target 0.9 x cores / "
        f"(CPU per upload, {cpu_per_upload:.2f} s) = {target_rate:.3f} uploads/s",
    ]
    return "\n".join(lines)


def _row(label: str, seconds: list[float], cpu_per_mp: float | None, uploads: list[Upload]) -> str:
    statuses: dict[int, int] = {}
    for u in uploads:
        statuses[u.status] = statuses.get(u.status, 0) + 1
    answers = ", ".join(f"{n}x {s}" for s, n in sorted(statuses.items()))
    cpu = "" if cpu_per_mp is None else f"{cpu_per_mp:.3f}"
    return (f"| {label} | {statistics.median(seconds):.2f} | {pct(seconds, 0.95):.2f} | {max(seconds):.2f} | "
            f"{cpu} | {answers} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=None, help="the first N photos (by name)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--refined-within", type=float, default=1500.0)
    parser.add_argument("--out", type=Path, default=REPO / "eval" / "results" / "bench_upload.md")
    parser.add_argument("--profile", action="store_true", help="only the profile of one upload")
    args = parser.parse_args()
    if not args.corpus.exists():
        parser.error(f"no corpus at {args.corpus}")
    if (args.limit is not None and args.limit < 1) or args.concurrency < 1 or not args.refined_within > 0:
        parser.error("--limit and --concurrency must be at least 1, --refined-within positive")
    photos = []
    for path in sorted(walk((args.corpus,)))[:args.limit]:
        data = path.read_bytes()
        frame = parse(data, header_only=True).frame
        photos.append(Photo(path.name, data, frame.width * frame.height / 1e6))
    started = time.process_time()
    if args.profile:
        photo = min(photos, key=lambda p: abs(p.megapixels - 12))
        text = f"{photo.name}, {photo.megapixels:.1f} MP\n" + profile(photo)
        args.out = args.out.with_name(args.out.stem + "-profile.md")
    else:
        vips_cpu = sum(vips_copies(p) for p in photos)
        jt_cpu = sum(jpegtran_progressive(p) for p in photos)
        seq = sequential(photos, args.refined_within)
        conc = concurrent(photos, args.concurrency)
        text = report(photos, seq, conc, vips_cpu, jt_cpu, args.concurrency)
    command = "python eval/bench_upload.py " + " ".join(sys.argv[1:])
    text = f"`{command}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n\n{text}\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    print(f"(this process: {time.process_time() - started:.0f} CPU s)", file=sys.stderr)


if __name__ == "__main__":
    main()

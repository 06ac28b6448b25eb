"""What users receive, under both contracts, and the egress frontier.

    python eval/served.py ../shared/corpus/photos --limit 40 --out eval/results/served-photos
    python eval/served.py ../shared/corpus/hires --limit 5 --out eval/results/served-hires

For every image one stored file is made (today's scan layout) and measured under the prefix
contract (0.1.0: offsets by decoded prefix, served at quality 85) and under the served contract
for each egress policy k (`--egress`); see pjstore/evaluation/served.py. Writes served.csv,
summary.md (renditions below the threshold, bytes read per scale against the source, served
bytes against the floor, sizes between stored scales) and frontier.png (bytes read against served
bytes per scale as k varies).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from dataclasses import asdict, fields  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pjstore.corpus import walk  # noqa: E402
from pjstore.encoder.transcode import ENTROPIES  # noqa: E402
from pjstore.errors import PjstoreError  # noqa: E402
from pjstore.evaluation.served import ServedRow, measure  # noqa: E402
from pjstore.rendition.choose import DEFAULT_EGRESS  # noqa: E402


def _one(path: Path, egresses: tuple[float, ...], widths: int,
         entropy: str) -> tuple[list[ServedRow], float, str | None]:
    start = time.process_time()
    try:
        rows = measure(path.name, path.read_bytes(), egresses, widths, entropy=entropy)
    except PjstoreError as exc:
        return [], time.process_time() - start, f"{path.name}: {type(exc).__name__}: {exc}"
    return rows, time.process_time() - start, None


def summarize(rows: list[ServedRow], command: str, cpu_s: float, failures: list[str], tune: int = 0) -> str:
    images = len({r.image for r in rows})
    scales = sorted({r.scale for r in rows if r.stored_scale})
    policies = sorted({r.policy for r in rows}, key=lambda p: (p != "prefix", float(p[2:]) if p != "prefix" else 0))
    lines = [f"# Served contract: {images} images", "", f"    {command}", "",
             f"CPU time {cpu_s:.0f} s in total. Each figure: renditions made by the read path, decoded, graded "
             "against the reference in the served colour space. *read* = stored bytes read / source bytes "
             "(mean over images); *served/floor* = sum of served bytes / sum of floors (the smallest "
             "baseline JPEG of the size meeting the threshold, from the whole source), and the worst image.",
             "",
             "*restored* = renditions whose recipe carries a restoration filter.", "",
             *_table(rows, policies, scales)]
    if tune:
        # The first `tune` images (by name) are the ones the search's constants were chosen on.
        names = sorted({r.image for r in rows})
        tuned = set(names[:tune])
        default = [p for p in policies if p == f"k={DEFAULT_EGRESS:g}"]
        for label, keep in ((f"tune (first {len(tuned)})", True), (f"held out ({len(names) - len(tuned)})", False)):
            lines += ["", f"{label}:", "", *_table([r for r in rows if (r.image in tuned) == keep], default, scales)]
    between = [r for r in rows if not r.stored_scale]
    if between:
        ok = sum(r.score >= r.threshold for r in between)
        lines += ["", f"Sizes between stored scales (`w=`, {between[0].policy}, random widths): "
                      f"{ok}/{len(between)} = {ok / len(between):.1%} meet the threshold "
                      f"(worst {min(r.score for r in between):.2f} dB; served/floor of the covering scale "
                      f"is not defined for them)."]
    if failures:
        lines += ["", "Not measured:", *[f"- {f}" for f in failures]]
    return "\n".join(lines) + "\n"


def _table(rows: list[ServedRow], policies: list[str], scales: list[float]) -> list[str]:
    lines = ["| policy | scale | below threshold | worst score | mean read | served/floor (sum) | worst served/floor "
             "| restored |", "|---|---|---|---|---|---|---|---|"]
    by = defaultdict(list)
    for r in rows:
        if r.stored_scale:
            by[(r.policy, r.scale)].append(r)
    for policy in policies:
        for scale in scales:
            rs = by[(policy, scale)]
            if not rs:
                continue
            below = sum(r.score < r.threshold - 1e-9 for r in rs)
            read = sum(r.read / r.source_bytes for r in rs) / len(rs)
            ratio = sum(r.served_bytes for r in rs) / sum(r.floor_bytes for r in rs)
            worst = max(r.served_bytes / r.floor_bytes for r in rs)
            lines.append(f"| {policy} | {scale:g} | {below}/{len(rs)} | {min(r.score for r in rs):.2f} | "
                         f"{read:.3f} | {ratio:.3f} | {worst:.3f} | {sum(r.restored for r in rs)} |")
    return lines


def frontier(rows: list[ServedRow], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    scales = sorted({r.scale for r in rows if r.stored_scale and r.scale < 1})
    for scale in scales:
        points = defaultdict(list)
        for r in rows:
            if r.stored_scale and r.scale == scale:
                points[r.policy].append(r)
        xs, ys, labels = [], [], []
        for policy, rs in points.items():
            if policy == "prefix":
                continue
            xs.append(sum(r.read / r.source_bytes for r in rs) / len(rs))
            ys.append(sum(r.served_bytes for r in rs) / sum(r.floor_bytes for r in rs))
            labels.append(policy)
        order = sorted(range(len(xs)), key=lambda i: xs[i])
        line, = ax.plot([xs[i] for i in order], [ys[i] for i in order], "o-", label=f"{scale:g} served contract")
        for i in order:
            ax.annotate(labels[i], (xs[i], ys[i]), fontsize=7, textcoords="offset points", xytext=(3, 3))
        rs = points["prefix"]
        ax.plot([sum(r.read / r.source_bytes for r in rs) / len(rs)],
                [sum(r.served_bytes for r in rs) / sum(r.floor_bytes for r in rs)], "x", color=line.get_color(),
                markersize=9, label=f"{scale:g} prefix contract, q85 (most below the threshold)")
    ax.plot([1.0], [1.0], "s", color="black", label="dynamic baseline (whole source, serves the floor)")
    for scale in scales:  # a static copy is the floor, read whole (and stored beside the source)
        rs = [r for r in rows if r.stored_scale and r.scale == scale and r.policy == "prefix"]
        ax.plot([sum(r.floor_bytes / r.source_bytes for r in rs) / len(rs)], [1.0], "^", color="grey")
    ax.plot([], [], "^", color="grey", label="static copies (the floor, stored as well)")
    ax.set_xlabel("stored bytes read / source bytes (mean)")
    ax.set_ylabel("served bytes / floor (sum)")
    ax.set_title("Egress frontier: bytes read against bytes served, per scale, k = 1.0 .. 2.5")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--out", type=Path, default=Path("eval/results/served"))
    ap.add_argument("--limit", type=int)
    ap.add_argument("--egress", default="1.0,1.1,1.25,1.5,2.0,2.5")
    ap.add_argument("--widths", type=int, default=5, help="random widths between stored scales per image")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--entropy", choices=ENTROPIES, default="huffman", help="the stored file's entropy coding")
    ap.add_argument("--plot-only", action="store_true", help="redraw frontier.png from OUT/served.csv")
    ap.add_argument("--tune", type=int, default=0,
                    help="the first N images (by name) tuned the search: report them and the rest apart")
    a = ap.parse_args()
    if a.tune < 0:
        ap.error(f"--tune counts images: give 0 or more, not {a.tune}")
    if a.plot_only:
        types = {f.name: f.type for f in fields(ServedRow)}
        convert = {"str": str, "float": float, "int": int, "bool": lambda v: v == "True"}
        with open(a.out / "served.csv", newline="") as f:
            rows = [ServedRow(**{k: convert[types[k]](v) for k, v in r.items()}) for r in csv.DictReader(f)]
        frontier(rows, a.out / "frontier.png")
        return
    egresses = tuple(float(x) for x in a.egress.split(","))
    files = walk((a.corpus,))[: a.limit]
    a.out.mkdir(parents=True, exist_ok=True)
    rows, failures, cpu = [], [], 0.0
    with ProcessPoolExecutor(a.workers) as pool:
        for got, seconds, failure in pool.map(_one, files, [egresses] * len(files), [a.widths] * len(files),
                                              [a.entropy] * len(files)):
            rows += got
            cpu += seconds
            if failure:
                failures.append(failure)
            print(f"{len({r.image for r in rows})}/{len(files)}", end="\r", file=sys.stderr, flush=True)
    with open(a.out / "served.csv", "w", newline="") as f:
        w = csv.DictWriter(f, [x.name for x in fields(ServedRow)])
        w.writeheader()
        w.writerows(asdict(r) for r in rows)
    command = shlex.join(["python", *sys.argv])
    (a.out / "summary.md").write_text(summarize(rows, command, cpu, failures, a.tune))
    frontier(rows, a.out / "frontier.png")
    print((a.out / "summary.md").read_text())


if __name__ == "__main__":
    main()

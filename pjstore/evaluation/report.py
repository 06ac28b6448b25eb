"""summary.md and the figures, drawn from a run's output directory alone (CSVs and run.json).

The dissertation's and the reference measurements' figures are quoted beside ours; they are
citations (chapter 4 text, shared/reference/measurements.md), never inputs to our numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pjstore.evaluation import aggregate, compute_cost, plots
from pjstore.evaluation.aggregate import SchemeData
from pjstore.evaluation.projection import Projection, Workload, project
from pjstore.evaluation.run import RUN_JSON
from pjstore.evaluation.schemes import BASELINE, BY_NAME, CUSTOM, PROGRESSIVE, STATIC
from pjstore.evaluation.tables import STORAGE_CSV, TIMING_CSV, pct, read_csv

SUMMARY_MD = "summary.md"

# Dissertation ch. 4 (MIRFLICKR, 24,988 images; its PSNR pipeline differs, so compare ratios).
DISSERTATION_CAPACITY = {PROGRESSIVE.name: "-6.0%", CUSTOM.name: "+0.3%"}
DISSERTATION_DYNAMIC_VS_STATIC = "41% saved"
DISSERTATION_READS_SAVED_10 = {PROGRESSIVE.name: "59%", CUSTOM.name: "83%"}
DISSERTATION_SERVER = "1.0-2.4x"
DISSERTATION_CLIENT = "up to 13.6x"
# shared/reference/measurements.md: the same contract on these photos.
REFERENCE_CAPACITY = {PROGRESSIVE.name: "0.941", STATIC.name: "~1.18"}
REFERENCE_READS = {PROGRESSIVE.name: (0.086, 0.168, 0.386), STATIC.name: (0.028, 0.062, 0.141)}
REFERENCE_CORPUS = ("shared", "corpus", "photos")  # the corpus those figures were measured on
REFERENCE_IMAGES = 200


def on_reference_corpus(info: dict) -> bool:
    """Whether the run measured all of the shared photos, so the reference figures compare."""
    return (Path(info["corpus"]).resolve().parts[-3:] == REFERENCE_CORPUS
            and info["images"] + len(info["errors"]) == REFERENCE_IMAGES)


def write_report(out: Path, workload: Workload) -> Path:
    info = json.loads((out / RUN_JSON).read_text())
    scales = tuple(info["scales"])
    thresholds = np.array(info["thresholds"])
    data = aggregate.load_storage(read_csv(out / STORAGE_CSV), scales)
    timing = aggregate.load_timing(read_csv(out / TIMING_CSV))
    prefix_scheme = CUSTOM.name  # the tuned progressive file is what pjstore serves from
    projected = {n: project(float(d.stored.mean()), d.reads.mean(axis=0), workload) for n, d in data.items()}

    plots.capacity(data, out)
    plots.reads(data, scales, out)
    plots.psnr(data, scales, float(thresholds.min()), out)
    plots.compute(timing, prefix_scheme, out)
    plots.write_cost(data, out)
    plots.projection(projected, f"{_workload_text(workload, scales)}", out)

    reference = on_reference_corpus(info)
    sections = [_header(info, data, reference), _capacity(data, reference), _reads(data, scales, thresholds, reference),
                _compute(timing, prefix_scheme, info), _write_cost(data), _at_scale(projected, workload, scales),
                _files()]
    path = out / SUMMARY_MD
    path.write_text("\n\n".join(sections) + "\n")
    return path


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def _signed(ratio: float) -> str:
    return f"{(ratio - 1) * 100:+.1f}%"


def _header(info: dict, data: dict[str, SchemeData], reference: bool) -> str:
    n = len(data[BASELINE.name].images)
    v = info["versions"]
    lines = [
        f"# pjstore evaluation: {n} images from `{info['corpus']}`",
        "",
        f"Produced by `{info['command']}`",
        "",
        f"Finished {info['finished']} in {info['wall_s']:.0f} s with {info['workers']} worker(s) on "
        f"{info['cpus']} cores (pjstore {v['pjstore_git']}, Python {v['python']}, Pillow {v['pillow']} with "
        f"libjpeg-turbo {v['libjpeg_turbo']}, libvips {v['libvips'] or 'absent'}).",
        "",
        "Quality contract (pjstore's, for every scheme): what a request reads, decoded and resized with Pillow "
        "LANCZOS, "
        f"reaches {info['metric'].upper()} >= {'/'.join(f'{t:g}' for t in info['thresholds'])} dB at "
        f"{'/'.join(pct(s) + '%' for s in info['scales'])} against the source decoded and resized the same way.",
        "",
        "*dissertation*: chapter 4's figures (MIRFLICKR, 24,988 images, its own PSNR pipeline: compare ratios, "
        "not absolute fractions)" + ("; *reference*: `shared/reference/measurements.md`, the same contract on the "
                                     "shared photos." if reference else "."),
        "",
        "Schemes (dissertation Table 3): " + "; ".join(
            f"**{BY_NAME[s].label}** ({BY_NAME[s].stores})" for s in info["schemes"]) + ".",
    ]
    if info["errors"]:
        lines += ["", f"{len(info['errors'])} file(s) left out of every scheme (the error `pjstore ingest` "
                      "gives each):", ""] + [f"- `{k}`: {e['error_type']}: {e['error']}"
                                             for k, e in info["errors"].items()]
    return "\n".join(lines)


def _capacity(data: dict[str, SchemeData], reference: bool) -> str:
    base = data[BASELINE.name]
    rows = []
    for name, d in data.items():
        c = aggregate.capacity(d, base)
        rows.append([BY_NAME[name].label, f"{d.stored.sum() / 1e6:.2f}", f"{c:.3f}",
                     "" if name == BASELINE.name else _signed(c), DISSERTATION_CAPACITY.get(name, "")]
                    + ([REFERENCE_CAPACITY.get(name, "")] if reference else []))
    static = aggregate.capacity(data[STATIC.name], base)
    return "\n".join([
        "## 1. Capacity (Fig. 9 left, `capacity.png`)",
        "",
        _table(["scheme", "total MB", "/ dynamic baseline", "change", "dissertation"]
               + (["reference (measurements.md)"] if reference else []), rows),
        "",
        f"Dynamic resizing (storing sources only) saves **{(1 - 1 / static) * 100:.1f}%** of the static "
        f"scheme's capacity (dissertation: {DISSERTATION_DYNAMIC_VS_STATIC}; its static copies were ImageMagick's "
        "at a tuned quality, ours the lowest Pillow quality meeting the contract).",
    ])


def _reads(data: dict[str, SchemeData], scales: tuple[float, ...], thresholds: np.ndarray, reference: bool) -> str:
    base = data[BASELINE.name]
    head = ["scheme"] + [f"read @{pct(s)}%" for s in (*scales, 1.0)] + [f"saved @{pct(scales[0])}%",
                                                                      f"dissertation saved @{pct(scales[0])}%"]
    rows = []
    for name, d in data.items():
        mean = aggregate.mean_read_fraction(d)
        saved = aggregate.reads_saved(d, base)
        rows.append([BY_NAME[name].label] + [f"{m:.3f}" for m in mean]
                    + ["" if name == BASELINE.name else f"{saved[0] * 100:.0f}%",
                       DISSERTATION_READS_SAVED_10.get(name, "")])
    for name, ref in REFERENCE_READS.items() if reference else ():
        rows.append([f"*reference {BY_NAME[name].label}*"] + [f"*{r:.3f}*" for r in ref] + ["", "", ""])

    qhead = ["scheme", "PSNR of"] + [f"@{pct(s)}% mean / min" for s in scales] + ["images below threshold"]
    qrows = []
    for what, field in (("bytes read", "scores"), ("file received", "served_scores")):
        for name, d in data.items():
            st = aggregate.score_stats(getattr(d, field), thresholds)
            cells = ["lossless (inf)" if np.isnan(m) else f"{m:.2f} / {lo:.2f} dB"
                     for m, lo in zip(st.mean, st.min, strict=True)]
            qrows.append([BY_NAME[name].label, what] + cells + [" / ".join(str(int(b)) for b in st.below)])

    static = data[STATIC.name]
    with_icc = int((static.icc > 0).sum())
    no_icc = (static.reads[:, :-1] - static.icc[:, None]) / static.source[:, None]
    flagged = int((static.qualities == 100).sum())
    return "\n".join([
        "## 2. Read bandwidth (Fig. 9 right, `reads.png`; quality reached, `psnr.png`)",
        "",
        "Bytes read per request / source bytes, mean over images; *saved* is against the dynamic baseline, "
        "which reads the whole source for every size.",
        "",
        _table(head, rows),
        "",
        _table(qhead, qrows),
        "",
        "*bytes read* is what the offsets (and the static quality search) are chosen by; *file received* is "
        "what the user gets: the static copy itself, or for the dynamic schemes the read path's baseline "
        "re-encode (`make_rendition`, its default quality and Pillow's default chroma subsampling), which adds its own "
        "loss on top.",
        "",
        f"Static copies carry the source's ICC profile, as pjstore's prefixes and renditions do (images with "
        f"one: {with_icc}); without it the static reads would be "
        + "/".join(f"{x:.3f}" for x in no_icc.mean(axis=0))
        + f". The static search tries 4:4:4 and 4:2:0 chroma and keeps the smaller passing copy: 4:4:4 won "
        f"{int(static.full_chroma.sum())} of {static.full_chroma.size} copies. Copies at quality 100: {flagged}; "
        "those still under the threshold are the ones counted above (kept at 100 and flagged, as in the "
        "dissertation).",
    ])


def _compute(timing: dict[float, dict[str, np.ndarray]], prefix_scheme: str, info: dict) -> str:
    scales = tuple(timing)
    server = [v for v in compute_cost.SERVER if np.isfinite(timing[scales[0]][v]).any()]
    label = BY_NAME[prefix_scheme].label

    def cell(r: aggregate.Ratio) -> str:
        return f"{r.median:.2f}x ({r.q25:.2f}-{r.q75:.2f})"

    srows = [[f"{pct(s)}%", f"{np.nanmedian(timing[s]['server_source']) * 1000:.2f} ms"]
             + [cell(aggregate.ratio(timing[s][v], timing[s]["server_source"])) for v in server if v != "server_source"]
             for s in scales]
    crows = [[f"{pct(s)}%", f"{np.nanmedian(timing[s]['client_static']) * 1000:.3f} ms",
              f"{np.nanmedian(timing[s]['client_prefix']) * 1000:.2f} ms",
              cell(aggregate.ratio(timing[s]["client_prefix"], timing[s]["client_static"]))] for s in scales]
    vips = ("" if info["timing"]["vips_error"] is None else
            f" libvips could not be loaded (`{info['timing']['vips_error']}`): its column is left out.")
    return "\n".join([
        "## 3. Compute overheads (Fig. 10, `compute.png`)",
        "",
        f"Server side: time to make the exact-size baseline JPEG, relative to pjstore's read path on the whole "
        f"baseline source (per-image ratio, median and interquartile range over images). *prefix* is the "
        f"{label} prefix; *DCT* is libjpeg's DCT-domain downscaling (Pillow `draft`, `dct_scaling=True`). "
        f"Dissertation: {DISSERTATION_SERVER} for the custom prefix against a baseline decode.{vips}",
        "",
        _table(["scale", "whole source (1.0x)"] + [plots.SERVER_LOOK[v][0] for v in server if v != "server_source"],
               srows),
        "",
        f"Client side: decoding the {label} prefix (served as is) against decoding the static scheme's "
        f"pre-resized copy. Dissertation: {DISSERTATION_CLIENT}.",
        "",
        _table(["scale", "static copy decode", "prefix decode", "prefix / copy"], crows),
        "",
        f"Wall-clock medians of up to {info['timing']['repeats']} round-robin rounds per image and scale, one "
        f"untimed warm-up; {info['workers']} worker process(es) on {info['cpus']} shared cores, so absolute times "
        "carry load from other processes; variants alternate within each round so that load falls on all alike.",
    ])


def _write_cost(data: dict[str, SchemeData]) -> str:
    rows = [[BY_NAME[n].label, f"{np.median(d.write_s) * 1000:.1f}", f"{d.write_s.mean() * 1000:.1f}",
             f"{d.write_s.max() * 1000:.1f}", f"{d.write_s.sum():.1f}"] for n, d in data.items()]
    return "\n".join([
        "## 4. Write cost (`write_cost.png`)",
        "",
        "Ingest time per upload in one process: pjstore's `prepare` for the progressive schemes (plan, "
        "transcode, offsets verified by decoding), the quality search and encoding of the copies for the static "
        "scheme; the dynamic baseline stores the upload as is.",
        "",
        _table(["scheme", "median ms", "mean ms", "max ms", "total s"], rows),
    ])


def _workload_text(w: Workload, scales: tuple[float, ...]) -> str:
    mix = ", ".join(f"{m * 100:g}% at {pct(s)}%" for m, s in zip(w.mix, (*scales, 1.0), strict=True))
    return f"{w.images:,} images, {w.requests_per_image:g} uncached requests each ({mix})"


def _at_scale(projected: dict[str, Projection], w: Workload, scales: tuple[float, ...]) -> str:
    base, static = projected[BASELINE.name], projected[STATIC.name]
    rows = [[BY_NAME[n].label, f"{p.stored_bytes / 1e12:.3f}",
             f"{(1 - p.stored_bytes / static.stored_bytes) * 100:.1f}%", f"{p.read_bytes / 1e12:.2f}",
             f"{(1 - p.read_bytes / base.read_bytes) * 100:.1f}%"] for n, p in projected.items()]
    return "\n".join([
        "## 5. At an image host's scale (`projection.png`)",
        "",
        f"Workload: {_workload_text(w, scales)}; the measured per-image means times the workload "
        "(`--images`, `--requests-per-image`, `--mix`; redraw with `--report-only`).",
        "",
        _table(["scheme", "capacity TB", "capacity saved vs static", "read traffic TB",
                "reads saved vs dynamic baseline"], rows),
    ])


def _files() -> str:
    return "\n".join([
        "## Files",
        "",
        f"- `{STORAGE_CSV}`: per image and scheme: bytes stored, bytes read and PSNR reached per size, static "
        "copies' quality, ingest seconds.",
        f"- `{TIMING_CSV}`: per image and size: median seconds of each compute variant.",
        f"- `{RUN_JSON}`: the command, versions and the files left out.",
        "- `capacity.png`, `reads.png`, `psnr.png`, `compute.png`, `write_cost.png`, `projection.png`.",
    ])

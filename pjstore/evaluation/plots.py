"""The PNG figures, drawn from the aggregated arrays; each scheme keeps its colour in every figure.

Figure 9 of the dissertation becomes `capacity.png` and `reads.png` (with `psnr.png` showing the
quality each read really reached), Figure 10 becomes `compute.png`; `write_cost.png` and
`projection.png` add the write cost and the workload projection.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display, same output everywhere
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from pjstore.evaluation import aggregate, compute_cost  # noqa: E402
from pjstore.evaluation.aggregate import SchemeData  # noqa: E402
from pjstore.evaluation.projection import Projection  # noqa: E402
from pjstore.evaluation.schemes import BASELINE, BY_NAME  # noqa: E402
from pjstore.evaluation.tables import pct  # noqa: E402

DPI = 120
SERVER_LOOK = {  # variant -> (label, whose colour, hatch): hatching marks DCT scaling and libvips
    "server_prefix": ("prefix", None, ""),
    "server_prefix_dct": ("prefix + DCT scaling", None, "//"),
    "server_source": ("whole source", BASELINE.name, ""),
    "server_source_dct": ("whole source + DCT scaling", BASELINE.name, "//"),
    "server_vips": ("libvips thumbnail of source", BASELINE.name, "xx"),
}


def _save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def _tick(name: str) -> str:
    """A scheme's label wrapped to fit under its bar, so neighbouring labels never run together."""
    return textwrap.fill(BY_NAME[name].label, 12)


def _legend_below(fig, *axes, columns: int = 4) -> None:
    """One legend for the figure, under the axes: never over the data, whatever the corpus."""
    seen: dict[str, Artist] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, handle)
    fig.legend(list(seen.values()), list(seen), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=columns,
               fontsize=8, frameon=False)


def _values_above(ax, bars, values, tops=None, fmt: str = "{:.3f}") -> None:
    """Each bar's value, rotated, just above the bar (or above `tops`, e.g. error bars)."""
    for bar, value, top in zip(bars, values, tops if tops is not None else [None] * len(values), strict=True):
        y = bar.get_height() if top is None else top
        ax.annotate(fmt.format(value), (bar.get_x() + bar.get_width() / 2, y), xytext=(0, 4),
                    textcoords="offset points", ha="center", va="bottom", rotation=90, fontsize=7)


def _scale_labels(scales: tuple[float, ...]) -> list[str]:
    return [f"{pct(s)}%" for s in scales]


def _grouped_x(groups: int, members: int, width: float = 0.8) -> tuple[np.ndarray, float]:
    """Bar centres (members, groups) for `members` bars side by side in each of `groups` groups."""
    w = width / members
    offsets = (np.arange(members) - (members - 1) / 2) * w
    return np.arange(groups)[None, :] + offsets[:, None], w


def _boxes(ax, per_scheme: dict[str, list[np.ndarray]], labels: list[str]) -> None:
    """Grouped box plots: one group per label, one box per scheme in its colour."""
    xs, w = _grouped_x(len(labels), len(per_scheme))
    for (name, columns), x in zip(per_scheme.items(), xs, strict=True):
        colour = BY_NAME[name].colour
        ax.boxplot(columns, positions=x, widths=w * 0.85, patch_artist=True, manage_ticks=False,
                   boxprops=dict(facecolor=colour, alpha=0.75), medianprops=dict(color="black"),
                   flierprops=dict(marker=".", markersize=3, markerfacecolor=colour, markeredgecolor=colour))
        ax.plot([], [], "s", color=colour, label=BY_NAME[name].label)  # legend handle
    ax.set_xticks(range(len(labels)), labels)


def capacity(data: dict[str, SchemeData], out: Path) -> Path:
    baseline = data[BASELINE.name]
    names = list(data)
    values = [aggregate.capacity(data[n], baseline) for n in names]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    bars = ax.bar([_tick(n) for n in names], values,
                  color=[BY_NAME[n].colour for n in names])
    ax.bar_label(bars, labels=[f"{v:.3f}" for v in values], label_type="center", color="white")
    ax.axhline(1.0, color="black", lw=0.8, ls="--")
    ax.set_ylabel("total bytes stored / dynamic baseline (sources)")
    ax.set_title(f"Storage capacity, {len(baseline.images)} images (cf. dissertation Fig. 9 left)")
    return _save(fig, out / "capacity.png")


def reads(data: dict[str, SchemeData], scales: tuple[float, ...], out: Path) -> Path:
    all_scales = (*scales, 1.0)
    labels = _scale_labels(all_scales)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12.8, 4.6))
    xs, w = _grouped_x(len(all_scales), len(data))
    for (name, d), x in zip(data.items(), xs, strict=True):
        mean = aggregate.mean_read_fraction(d)
        _values_above(left, left.bar(x, mean, w, color=BY_NAME[name].colour, label=BY_NAME[name].label), mean)
    left.set_ylim(0, 1.2)
    left.set_xticks(range(len(labels)), labels)
    left.set_xlabel("requested size (% of source width and height)")
    left.set_ylabel("bytes read / source bytes (mean over images)")
    left.set_title("Read bandwidth per request: mean")

    varying = {n: d for n, d in data.items() if n != BASELINE.name}  # the baseline always reads 1.0
    _boxes(right, {n: list(aggregate.read_fractions(d)[:, :-1].T) for n, d in varying.items()},
           _scale_labels(scales))
    right.axhline(1.0, color=BASELINE.colour, lw=1.5, ls="--", label=f"{BASELINE.label} (whole source)")
    right.set_yscale("log")
    right.set_xlabel("requested size (% of source width and height)")
    right.set_ylabel("bytes read / source bytes (log scale)")
    right.set_title("Read bandwidth per request: distribution over images")
    _legend_below(fig, left, right, columns=5)
    fig.suptitle("Bytes read to meet PSNR >= 32 dB (cf. dissertation Fig. 9 right)")
    return _save(fig, out / "reads.png")


def psnr(data: dict[str, SchemeData], scales: tuple[float, ...], threshold: float, out: Path) -> Path:
    fig, (read, received) = plt.subplots(1, 2, figsize=(12.8, 4.6), sharey=True)
    lossy = {n: d for n, d in data.items() if np.isfinite(d.scores).any()}
    _boxes(read, {n: [c[np.isfinite(c)] for c in d.scores.T] for n, d in lossy.items()}, _scale_labels(scales))
    read.set_title(f"Bytes read: overshoot above the threshold\n({BASELINE.label}: identical to the reference, "
                   "not shown)")
    read.set_ylabel("PSNR vs the contract reference (dB)")
    _boxes(received, {n: list(d.served_scores.T) for n, d in data.items()}, _scale_labels(scales))
    received.set_title("File the user receives\n(dynamic schemes: the read path's baseline re-encode)")
    for ax in (read, received):
        ax.axhline(threshold, color="black", lw=1, ls="--", label=f"threshold {threshold:g} dB")
        ax.set_xlabel("requested size (% of source width and height)")
    _legend_below(fig, received, read, columns=5)
    fig.suptitle("Quality actually reached, per image", y=1.04)
    return _save(fig, out / "psnr.png")


def compute(timing: dict[float, dict[str, np.ndarray]], prefix_scheme: str, out: Path) -> Path:
    scales = tuple(timing)
    labels = _scale_labels(scales)
    server = [v for v in compute_cost.SERVER if np.isfinite(timing[scales[0]][v]).any()]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12.8, 4.6), gridspec_kw={"width_ratios": [3, 2]})
    xs, w = _grouped_x(len(scales), len(server))
    for variant, x in zip(server, xs, strict=True):
        label, owner, hatch = SERVER_LOOK[variant]
        r = [aggregate.ratio(timing[s][variant], timing[s]["server_source"]) for s in scales]
        bars = left.bar(x, [q.median for q in r], w, yerr=_iqr(r), capsize=2, hatch=hatch, edgecolor="white",
                        color=BY_NAME[owner or prefix_scheme].colour,
                        label=label if owner else f"{BY_NAME[prefix_scheme].label} {label}")
        _values_above(left, bars, [q.median for q in r], [q.q75 for q in r], "{:.2f}x")
    left.axhline(1.0, color="black", lw=0.8, ls="--")
    left.set_xticks(range(len(labels)), labels)
    left.set_xlabel("requested size (% of source width and height)")
    left.set_ylabel("time / whole-source transcode (median, IQR bars)")
    left.set_title(f"Server: make the scaled baseline JPEG ({BY_NAME[prefix_scheme].label} prefix)")
    left.set_ylim(0, 1.15 * max(aggregate.ratio(timing[s][v], timing[s]["server_source"]).q75
                                for s in scales for v in server) + 0.25)
    left.legend(fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)

    r = [aggregate.ratio(timing[s]["client_prefix"], timing[s]["client_static"]) for s in scales]
    bars = right.bar(labels, [q.median for q in r], yerr=_iqr(r), capsize=3, color=BY_NAME[prefix_scheme].colour)
    right.bar_label(bars, labels=[f"{q.median:.1f}x" for q in r], padding=2, label_type="center", color="white")
    right.axhline(1.0, color="black", lw=0.8, ls="--")
    right.set_xlabel("requested size (% of source width and height)")
    right.set_ylabel("prefix decode time / static copy decode time")
    right.set_title("Client: decode the prefix vs the pre-resized copy")
    fig.suptitle("Compute overheads, medians over images (cf. dissertation Fig. 10)")
    return _save(fig, out / "compute.png")


def _iqr(ratios: list[aggregate.Ratio]) -> np.ndarray:
    return np.array([[q.median - q.q25 for q in ratios], [q.q75 - q.median for q in ratios]])


def write_cost(data: dict[str, SchemeData], out: Path) -> Path:
    working = {n: d for n, d in data.items() if d.write_s.any()}  # the dynamic baseline stores as is
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    names = list(working)
    parts = ax.boxplot([working[n].write_s * 1000 for n in names], patch_artist=True,
                       medianprops=dict(color="black"))
    for box, n in zip(parts["boxes"], names, strict=True):
        box.set(facecolor=BY_NAME[n].colour, alpha=0.75)
    ax.set_xticks(range(1, len(names) + 1), [_tick(n) for n in names])
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if str(v)[0] in "25" else ""))
    ax.set_ylabel("ingest time per image (ms, log scale)")
    ax.set_title(f"Write cost per upload, one process\n({BASELINE.label} stores the upload as is: no work)")
    return _save(fig, out / "write_cost.png")


def projection(projected: dict[str, Projection], title: str, out: Path) -> Path:
    names = list(projected)
    colours = [BY_NAME[n].colour for n in names]
    ticks = [_tick(n) for n in names]
    fig, axes = plt.subplots(1, 2, figsize=(12.8, 4.4))
    for ax, what, values in ((axes[0], "capacity", [projected[n].stored_bytes for n in names]),
                             (axes[1], "read traffic", [projected[n].read_bytes for n in names])):
        tb = np.array(values) / 1e12
        bars = ax.bar(ticks, tb, color=colours)
        ax.bar_label(bars, labels=[f"{v:.3g}" for v in tb], padding=2)
        ax.set_ylim(0, tb.max() * 1.15)
        ax.set_ylabel(f"{what} (TB, 10^12 bytes)")
        ax.set_title(f"Storage {what}")
    fig.suptitle(title)
    return _save(fig, out / "projection.png")

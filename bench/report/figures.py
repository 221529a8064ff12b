"""The report's figures (matplotlib, Agg, no pyplot state): PNG and PDF each.

Drawn with the object-oriented API (``Figure`` + Agg canvas) so that nothing
depends on a display or on pyplot's global state. Metadata that would change
on every build (creation date, software version) is left out; the figures'
bytes may still differ between matplotlib versions, the tables' never.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

PNG_METADATA = {"Software": None}
PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None}
Key = tuple[str, str]


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _legend(figure, axes, fontsize: str = "small") -> None:
    """One legend for the whole figure, above the panels, so that it never hides a bar."""
    handles, labels = [], []
    for axis in axes:
        for handle, label in zip(*axis.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    if handles:
        figure.legend(handles, labels, loc="outside upper center", ncols=min(len(labels), 4), fontsize=fontsize)


def _save(figure, folder: Path, stem: str) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    figure.savefig(folder / f"{stem}.png", dpi=150, metadata=PNG_METADATA)
    figure.savefig(folder / f"{stem}.pdf", metadata=PDF_METADATA)
    return [f"{stem}.png", f"{stem}.pdf"]


#: one marker, line style and hatch per system, in order, so that a figure printed in grey (or read by
#: someone who does not tell the colours apart) still separates the systems
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":")
HATCHES = ("", "//", "..", "xx", "\\\\", "++", "oo", "--")


def _no_data(axis, what: str = "no data") -> None:
    """Say so in a panel that has nothing to draw, instead of leaving it blank."""
    axis.text(0.5, 0.5, what, ha="center", va="center", transform=axis.transAxes, color="0.4")
    axis.set_xticks([])
    axis.set_yticks([])


def _grid(n: int, width: float = 3.6, height: float = 3.0):
    columns = 2 if n == 4 else min(n, 3)
    rows = (n + columns - 1) // columns
    figure = _figure(width * columns, height * rows)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for extra in axes[n:]:
        extra.set_visible(False)
    return figure, axes[:n]


def acc_at_k_curves(
    folder: Path,
    values: Mapping[Key, Mapping[int, float | None]],
    labels: Sequence[str],
    benchmarks: Sequence[str],
) -> list[str]:
    """acc@k against k, one panel per benchmark, one line per system."""
    figure, axes = _grid(len(benchmarks))
    for axis, benchmark in zip(axes, benchmarks):
        drawn = 0
        for i, label in enumerate(labels):
            curve = values.get((label, benchmark))
            ks = sorted(k for k, v in (curve or {}).items() if v is not None)
            if not ks:
                continue
            axis.plot(
                ks,
                [100 * curve[k] for k in ks],
                marker=MARKERS[i % len(MARKERS)],
                linestyle=LINESTYLES[i % len(LINESTYLES)],
                markersize=4,
                label=label,
            )
            drawn += 1
        axis.set_title(benchmark)
        if not drawn:
            _no_data(axis)
            continue
        axis.set_xticks(sorted({k for (_, b), curve in values.items() if b == benchmark for k in curve}))
        axis.set_xlabel("k")
        axis.set_ylabel("acc@k (%)")
        axis.grid(alpha=0.3)
    _legend(figure, axes)
    return _save(figure, folder, "acc_at_k")


def _grouped_bars(axis, groups: Sequence[str], labels: Sequence[str], heights, errors=None) -> None:
    width = 0.8 / max(len(labels), 1)
    x = np.arange(len(groups))
    if all(v is None for row in heights for v in row):
        _no_data(axis)
        return
    for i, label in enumerate(labels):
        h = np.array([np.nan if v is None else 100 * v for v in heights[i]], dtype=float)
        yerr = None
        if errors is not None:
            yerr = np.array([[0, 0] if e is None else [100 * e[0], 100 * e[1]] for e in errors[i]], dtype=float).T
        axis.bar(
            x + (i - (len(labels) - 1) / 2) * width,
            h,
            width,
            yerr=yerr,
            capsize=2,
            label=label,
            hatch=HATCHES[i % len(HATCHES)],
            edgecolor="black",
            linewidth=0.5,
        )
    axis.set_xticks(x, groups, rotation=20, ha="right")
    axis.grid(axis="y", alpha=0.3)


def accuracy_bars(
    folder: Path,
    intervals: Mapping[Key, Mapping[str, float]],
    labels: Sequence[str],
    benchmarks: Sequence[str],
) -> list[str]:
    """acc@1 per benchmark and system, with the bootstrap interval over mentions as error bars."""
    figure = _figure(max(5.0, 1.2 * len(benchmarks) * max(1, len(labels)) / 2 + 2), 3.6)
    axis = figure.subplots()
    heights, errors = [], []
    for label in labels:
        row_h, row_e = [], []
        for benchmark in benchmarks:
            interval = intervals.get((label, benchmark))
            row_h.append(None if interval is None else interval["acc"])
            row_e.append(
                None if interval is None else (interval["acc"] - interval["low"], interval["high"] - interval["acc"])
            )
        heights.append(row_h)
        errors.append(row_e)
    _grouped_bars(axis, benchmarks, labels, heights, errors)
    axis.set_ylabel("acc@1 (%), 95% CI")
    _legend(figure, [axis])
    return _save(figure, folder, "acc1_bars")


def leakage_bars(
    folder: Path,
    values: Mapping[Key, Mapping[str, float | None]],
    labels: Sequence[str],
    benchmarks: Sequence[str],
    subsets: Sequence[str],
) -> list[str]:
    """acc@1 on the seen/unseen subsets, one panel per benchmark."""
    figure, axes = _grid(len(benchmarks), 4.2, 3.2)
    for axis, benchmark in zip(axes, benchmarks):
        heights = [[(values.get((label, benchmark)) or {}).get(s) for s in subsets] for label in labels]
        _grouped_bars(axis, [s.replace("_", " ") for s in subsets], labels, heights)
        axis.set_title(benchmark)
        axis.set_ylabel("acc@1 (%)")
    _legend(figure, axes)
    return _save(figure, folder, "leakage")


CHUNK_PANELS = (
    ("dev_acc1", "dev acc@1 (%)", 100.0),
    ("pairs", "preference pairs", 1.0),
    ("dpo_reward_margin", "DPO reward margin", 1.0),
    ("dpo_reward_accuracy", "DPO reward accuracy (%)", 100.0),
)


def angel_chunks(folder: Path, histories: Sequence[tuple[str, str, int, Sequence[Mapping[str, Any]]]]) -> list[str]:
    """ANGEL's per-chunk training curves: one line per (system, benchmark, seed)."""
    from matplotlib.ticker import MaxNLocator

    figure, axes = _grid(len(CHUNK_PANELS), 3.6, 2.8)
    for axis, (key, title, scale) in zip(axes, CHUNK_PANELS):
        drawn = 0
        for i, (label, benchmark, seed, history) in enumerate(histories):
            points = [
                (r["chunk"], scale * r[key])
                for r in history
                if isinstance(r.get(key), (int, float)) and np.isfinite(r[key]) and "chunk" in r
            ]
            if points:
                xs, ys = zip(*points)
                style = {"marker": MARKERS[i % len(MARKERS)], "linestyle": LINESTYLES[i % len(LINESTYLES)]}
                axis.plot(xs, ys, markersize=3, label=f"{label} {benchmark} s{seed}", **style)
                drawn += 1
        axis.set_title(title)
        if not drawn:
            _no_data(axis)
            continue
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_xlabel("chunk")
        axis.grid(alpha=0.3)
    _legend(figure, axes, "x-small")
    return _save(figure, folder, "angel_chunks")

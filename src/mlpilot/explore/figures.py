"""The exploration figures of the book's chapter 2, one function each, as PNG bytes.

Every function takes plain data, builds one :class:`~matplotlib.figure.Figure` in the shared
style (:mod:`mlpilot.explore.style`) and returns it; :func:`build_figures` renders them all.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import blended_transform_factory
from pandas.plotting import scatter_matrix as pandas_scatter_matrix

from .stats import as_float
from .style import (
    ACCENT,
    CMAP,
    DIVERGING_CMAP,
    NEGATIVE,
    PANEL_H,
    PANEL_W,
    POSITIVE,
    figure_style,
    new_figure,
    short,
    to_png,
)

#: Points drawn at most in a scatter plot / in the scatter matrix (a random sample above).
MAX_SCATTER_POINTS = 50_000
MAX_MATRIX_POINTS = 10_000
MAX_HEATMAP_ANNOTATED = 14


def _compact(x: float, _pos: object = None) -> str:
    """Tick label: 500k, 1.2M, 0.25."""
    ax = abs(x)
    if ax >= 1e6:
        return f"{x / 1e6:g}M"
    if ax >= 1e4:
        return f"{x / 1e3:g}k"
    return f"{x:g}"


COMPACT = FuncFormatter(_compact)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _sample(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    return frame if len(frame) <= n else frame.sample(n, random_state=0)


def _grid(n: int, max_cols: int = 3) -> tuple[int, int]:
    cols = min(max_cols, max(n, 1))
    return math.ceil(n / cols), cols


def histograms(hists: dict[str, dict[str, list[float]]], ncols: int = 3) -> Figure:
    """One 50-bin histogram per numeric column (the book's Figure 2-8), from the stats' bins."""
    rows, cols = _grid(len(hists), ncols)
    fig = new_figure(PANEL_W * cols, PANEL_H * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, (name, hist) in zip(axes, hists.items(), strict=False):
        if hist["counts"]:
            ax.stairs(hist["counts"], hist["edges"], fill=True, color=ACCENT, alpha=0.85)
        ax.set_title(short(name, 40))
        ax.xaxis.set_major_formatter(COMPACT)
        ax.yaxis.set_major_formatter(COMPACT)
    for ax in axes[len(hists):]:
        ax.set_visible(False)
    fig.suptitle("Distribution of each numeric column (50 bins)")
    return fig


def category_bars(counts: dict[str, pd.Series], ncols: int = 2) -> Figure:
    """Horizontal bars of the most frequent values of each category column."""
    rows, cols = _grid(len(counts), ncols)
    tallest = max((len(s) for s in counts.values()), default=1)
    fig = new_figure(6.0 * cols, max(2.2, 0.28 * tallest + 1.0) * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, (name, series) in zip(axes, counts.items(), strict=False):
        labels = [short(v, 24) for v in series.index[::-1]]
        ax.barh(labels, series.to_numpy()[::-1], color=ACCENT)
        ax.set_title(short(name, 40))
        ax.xaxis.set_major_formatter(COMPACT)
        ax.grid(axis="y", visible=False)
        for y, v in enumerate(series.to_numpy()[::-1]):
            ax.annotate(f" {int(v):,}", (v, y), va="center", fontsize=8, color="#444444")
        ax.margins(x=0.15)
    for ax in axes[len(counts):]:
        ax.set_visible(False)
    fig.suptitle("Most frequent values of each category column")
    return fig


def geo_scatter(frame: pd.DataFrame, lat: str, lon: str, size_by: str | None,
                color_by: str | None) -> Figure:
    """Longitude/latitude scatter, size by ``size_by``, colour by ``color_by`` (Figure 2-13)."""
    data = _sample(frame, MAX_SCATTER_POINTS)
    x = pd.to_numeric(data[lon], errors="coerce")
    y = pd.to_numeric(data[lat], errors="coerce")
    fig = new_figure(10, 7)
    ax = fig.subplots()
    kwargs: dict[str, Any] = {"alpha": 0.2, "linewidths": 0}
    size_note = ""
    if size_by is not None:
        s = pd.to_numeric(data[size_by], errors="coerce").clip(lower=0)
        median = float(s.median()) or 1.0
        kwargs["s"] = (10 * s / median).clip(0.5, 400).fillna(1.0).to_numpy()
        size_note = f"marker size ∝ {size_by}"
    else:
        kwargs["s"] = 6
    color_note = ""
    if color_by is not None and pd.api.types.is_numeric_dtype(data[color_by]) and \
            not pd.api.types.is_bool_dtype(data[color_by]):
        points = ax.scatter(x, y, c=pd.to_numeric(data[color_by], errors="coerce"), cmap=CMAP,
                            **kwargs)
        # An opaque colour bar: the points' alpha would wash it out.
        bar = fig.colorbar(ScalarMappable(norm=points.norm, cmap=points.cmap), ax=ax,
                           format=COMPACT)
        bar.set_label(color_by)
        color_note = f"colour = {color_by}"
    elif color_by is not None:
        values = data[color_by].astype("object").where(data[color_by].notna(), "(missing)")
        values = values.astype(str)
        top = values.value_counts().index[:10]
        palette = [f"C{i}" for i in range(10)]
        for i, value in enumerate(top):
            mask = (values == value).to_numpy()
            sizes = kwargs["s"][mask] if isinstance(kwargs["s"], np.ndarray) else kwargs["s"]
            ax.scatter(x[mask], y[mask], color=palette[i], label=short(value, 24),
                       **{**kwargs, "s": sizes})
        legend = ax.legend(title=color_by, loc="best")
        for handle in legend.legend_handles:  # opaque, equal-size markers in the legend
            if isinstance(handle, PathCollection):
                handle.set_alpha(1.0)
                handle.set_sizes([30])
        color_note = f"colour = {color_by}"
    else:
        ax.scatter(x, y, color=ACCENT, **kwargs)
    ax.set_xlabel(lon)
    ax.set_ylabel(lat)
    # Degrees of longitude shrink with latitude: keep the map's proportions.
    ax.set_aspect(1 / max(math.cos(math.radians(float(y.mean()) if y.notna().any() else 0)),
                          0.2), adjustable="box")
    notes = ", ".join(n for n in (size_note, color_note) if n)
    ax.set_title("Geographic scatter" + (f" ({notes})" if notes else ""))
    return fig


def target_correlation_bars(correlations: pd.DataFrame, target: str,
                            max_rows: int = 30) -> Figure:
    """Pearson (bars) and Spearman (dots) correlation of each feature with the target."""
    table = correlations.head(max_rows).iloc[::-1]
    fig = new_figure(9, max(2.5, 0.34 * len(table) + 1.2))
    ax = fig.subplots()
    labels = [short(v, 32) for v in table.index]
    colors = [POSITIVE if v >= 0 else NEGATIVE for v in table["pearson"]]
    ax.barh(labels, table["pearson"], color=colors)
    ax.scatter(table["spearman"], labels, color="black", s=18, zorder=3)
    # The numbers sit in a column right of the axes, clear of bars and dots.
    column = blended_transform_factory(ax.transAxes, ax.transData)
    ax.text(1.02, len(table) - 0.4, "Pearson  Spearman", transform=column, fontsize=8.5,
            fontweight="bold", va="bottom")
    for y, (p, s) in enumerate(zip(table["pearson"], table["spearman"], strict=True)):
        ax.text(1.02, y, f"{p:+.3f}    {s:+.3f}", transform=column, va="center",
                fontsize=8.5, family="monospace", color="#333333")
    ax.axvline(0, color="#666666", linewidth=0.8)
    low = min(-0.1, float(table[["pearson", "spearman"]].min().min()) - 0.05)
    high = max(0.1, float(table[["pearson", "spearman"]].max().max()) + 0.05)
    ax.set_xlim(max(low, -1.05), min(high, 1.05))
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(f"correlation with {target}")
    ax.legend(handles=[Patch(color=POSITIVE, label="Pearson > 0"),
                       Patch(color=NEGATIVE, label="Pearson < 0"),
                       Line2D([], [], marker="o", linestyle="", color="black", markersize=5,
                              label="Spearman")], loc="lower right")
    ax.set_title(f"Correlation with {short(target, 40)}")
    return fig


def correlation_heatmap(matrix: pd.DataFrame) -> Figure:
    """Pearson correlation matrix of the numeric columns."""
    n = len(matrix)
    side = min(max(4.5, 0.55 * n + 2.5), 16)
    fig = new_figure(side + 1.2, side)
    ax = fig.subplots()
    image = ax.imshow(matrix.to_numpy(), cmap=DIVERGING_CMAP, vmin=-1, vmax=1)
    labels = [short(c, 24) for c in matrix.columns]
    ax.set_xticks(range(n), labels, rotation=45, ha="right")
    ax.set_yticks(range(n), labels)
    ax.grid(False)
    if n <= MAX_HEATMAP_ANNOTATED:
        for i in range(n):
            for j in range(n):
                v = matrix.iat[i, j]
                if np.isfinite(v):
                    ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8,
                            color="white" if abs(v) > 0.6 else "black")
    fig.colorbar(image, ax=ax, shrink=0.8, label="Pearson correlation")
    ax.set_title("Correlation matrix")
    return fig


def scatter_matrix(frame: pd.DataFrame, columns: list[str]) -> Figure:
    """Pairwise scatter plots (pandas' scatter_matrix) of the target and its best features."""
    data = _sample(frame[columns].apply(as_float), MAX_MATRIX_POINTS)
    n = len(columns)
    fig = new_figure(2.6 * n + 0.5, 2.3 * n + 0.5, layout=None)
    axes = fig.subplots(n, n)
    pandas_scatter_matrix(data, ax=axes, alpha=0.15, s=4, color=ACCENT,
                          hist_kwds={"bins": 50, "color": ACCENT})
    for i, ax in enumerate(np.ravel(axes)):
        ax.xaxis.label.set_text(short(ax.get_xlabel(), 22))
        ax.yaxis.label.set_text(short(ax.get_ylabel(), 22))
        ax.xaxis.set_major_formatter(COMPACT)
        ax.tick_params(axis="x", labelrotation=0)
        if i == 0 and n > 1:
            # pandas puts the first row's value ticks on this histogram: keep their positions,
            # write their labels compactly.
            ticks = ax.get_yticks()
            labels = [_compact(float(t.get_text())) if _is_number(t.get_text()) else
                      t.get_text() for t in ax.get_yticklabels()]
            ax.set_yticks(ticks, labels)
        else:
            ax.yaxis.set_major_formatter(COMPACT)
        ax.grid(False)
    fig.suptitle("Scatter matrix: the target and its most correlated features", y=0.995)
    fig.subplots_adjust(left=0.09, bottom=0.09, right=0.99, top=0.95, wspace=0.05, hspace=0.05)
    return fig


def target_vs_feature(frame: pd.DataFrame, feature: str, target: str,
                      binary: bool = False) -> Figure:
    """The target against its most correlated feature, alpha 0.1 (the book's Figure 2-15)."""
    fig = new_figure(8, 5.5)
    ax = fig.subplots()
    data = _sample(frame[[feature, target]], MAX_SCATTER_POINTS)
    x = pd.to_numeric(data[feature], errors="coerce")
    if binary:
        y = data[target]
        for i, value in enumerate(sorted(y.dropna().unique(), key=str)):
            ax.hist(x[y == value].dropna(), bins=50, alpha=0.5, color=f"C{i}",
                    label=f"{target} = {value}")
        ax.set_ylabel("rows")
        ax.legend()
    else:
        ax.scatter(x, pd.to_numeric(data[target], errors="coerce"), alpha=0.1, s=8,
                   color=ACCENT, linewidths=0)
        ax.set_ylabel(target)
        ax.yaxis.set_major_formatter(COMPACT)
    ax.set_xlabel(feature)
    ax.xaxis.set_major_formatter(COMPACT)
    ax.set_title(f"{short(target, 30)} vs its strongest feature {short(feature, 30)}")
    return fig


def render(builders: dict[str, Callable[[], Figure]]) -> dict[str, bytes]:
    """Build and render each figure in the shared style; name → PNG bytes."""
    out: dict[str, bytes] = {}
    for name, build in builders.items():
        with figure_style():
            fig = build()
            out[name] = to_png(fig)
    return out

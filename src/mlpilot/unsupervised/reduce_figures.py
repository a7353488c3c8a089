"""Figures of a dimensionality reduction: how many dimensions, what the map looks like, what
compression costs (book figures 8-8, 8-9, 8-10/8-11).

Plots people would rather look at than read: the cumulative explained-variance curve with the
chosen d and the target line, the first two components (or the t-SNE map) coloured by a label,
and for image-like rows the originals beside their decompressed copies.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mlpilot.explore.style import ACCENT, CMAP, NEGATIVE, figure_style, new_figure, short

__all__ = ["embedding_map", "is_categorical", "reconstruction_grid", "tuning_curve",
           "variance_curve"]

#: Points drawn on a map at most (a random subset beyond): more only blurs the picture.
MAX_MAP_POINTS = 5_000
#: Integer labels with at most this many values are classes (digits 0–9), not a scale.
MAX_CLASSES = 20


def variance_curve(cumulative: np.ndarray, d: int, target: float | None = None) -> Figure:
    """Cumulative explained variance against the number of dimensions (book fig 8-8)."""
    cumulative = np.asarray(cumulative, dtype=float)
    dims = np.arange(1, len(cumulative) + 1)
    with figure_style():
        fig = new_figure(6.0, 3.8)
        ax = fig.add_subplot()
        ax.plot(dims, cumulative, color=ACCENT, linewidth=2)
        kept = float(cumulative[min(d, len(cumulative)) - 1])
        ax.plot([d, d], [0, kept], "k:")
        ax.plot([0, d], [kept, kept], "k:")
        ax.plot(d, kept, "ko")
        ax.annotate(f"d = {d} ({kept:.1%})", xy=(d, kept), xytext=(8, -16),
                    textcoords="offset points", fontsize=9)
        if target is not None:
            ax.axhline(target, color=NEGATIVE, linestyle="--", linewidth=1)
            ax.annotate(f"{target:.0%} of the variance", xy=(dims[-1], target),
                        xytext=(0, 4), textcoords="offset points", ha="right", fontsize=8.5,
                        color=NEGATIVE)
        elbow = _elbow(cumulative)
        if elbow is not None and elbow != d and len(cumulative) > 8:
            ax.annotate("elbow", xy=(elbow, cumulative[elbow - 1]),
                        xytext=(elbow + len(cumulative) * 0.08, cumulative[elbow - 1] - 0.25),
                        arrowprops={"arrowstyle": "->", "color": "#555555"}, fontsize=9)
        ax.set_xlim(0, len(cumulative) + 0.5)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("dimensions")
        ax.set_ylabel("explained variance (cumulative)")
    return fig


def _elbow(cumulative: np.ndarray) -> int | None:
    """The point farthest above the chord from the first to the last point (1-based)."""
    n = len(cumulative)
    if n < 3:
        return None
    x = np.arange(n) / (n - 1)
    y = (cumulative - cumulative[0]) / max(cumulative[-1] - cumulative[0], 1e-12)
    return int(np.argmax(y - x)) + 1


def is_categorical(values: pd.Series) -> bool:
    """Classes (legend) rather than a scale (colour bar): text, booleans, few integers."""
    if isinstance(values.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(values):
        return True
    if pd.api.types.is_bool_dtype(values):
        return True
    whole = pd.api.types.is_integer_dtype(values) or bool(
        np.all(np.mod(values.dropna().to_numpy(dtype=float), 1) == 0))
    return whole and values.nunique() <= MAX_CLASSES


def embedding_map(Z: np.ndarray, labels: pd.Series | None = None, *, title: str = "",
                  axis_names: tuple[str, str] = ("z1", "z2"),
                  random_state: int = 42) -> Figure:
    """The first two columns of ``Z`` as a scatter, coloured by ``labels`` when given.

    Classes get a legend, a numeric label a colour bar (book figs 8-10, 8-11).
    """
    Z = np.asarray(Z, dtype=float)
    if Z.shape[1] == 1:
        jitter = np.random.default_rng(random_state).uniform(-1, 1, len(Z))
        Z = np.column_stack([Z[:, 0], jitter])
        axis_names = (axis_names[0], "(jitter)")
    shown = np.arange(len(Z))
    if len(Z) > MAX_MAP_POINTS:
        shown = np.sort(np.random.default_rng(random_state).choice(
            len(Z), MAX_MAP_POINTS, replace=False))
    x, y = Z[shown, 0], Z[shown, 1]
    size = 12 if len(shown) > 1_000 else 22
    with figure_style():
        fig = new_figure(6.4, 4.8)
        ax = fig.add_subplot()
        if labels is None:
            ax.scatter(x, y, s=size, color=ACCENT, alpha=0.6, linewidths=0)
        elif is_categorical(labels):
            values = labels.iloc[shown].astype("object").fillna("(missing)").astype(str)
            classes = sorted(values.unique(), key=_natural)
            palette = "tab10" if len(classes) <= 10 else "tab20"
            cmap = matplotlib.colormaps[palette]
            for i, name in enumerate(classes):
                mask = (values == name).to_numpy()
                ax.scatter(x[mask], y[mask], s=size, color=cmap(i % cmap.N), alpha=0.7,
                           linewidths=0, label=short(name, 18))
            if len(classes) <= MAX_CLASSES:
                ax.legend(title=short(labels.name or "label", 18), loc="center left",
                          bbox_to_anchor=(1.0, 0.5), markerscale=2)
        else:
            values = pd.to_numeric(labels.iloc[shown], errors="coerce").to_numpy(dtype=float)
            points = ax.scatter(x, y, s=size, c=values, cmap=CMAP, alpha=0.8, linewidths=0)
            fig.colorbar(points, ax=ax, label=short(labels.name or "label", 24))
        ax.set_xlabel(axis_names[0])
        ax.set_ylabel(axis_names[1])
        if title:
            ax.set_title(title)
    return fig


def _natural(name: str) -> tuple[int, float | str]:
    try:
        return (0, float(name))
    except ValueError:
        return (1, name)


def reconstruction_grid(originals: np.ndarray, reconstructions: np.ndarray,
                        side: int) -> Figure:
    """Image rows beside their decompressed copies, as two tiled grids (book fig 8-9)."""
    with figure_style():
        fig = new_figure(8.0, 4.2)
        # The originals' range: decompressed pixels a little below 0 stay white.
        vmin, vmax = float(np.min(originals)), float(np.max(originals))
        for i, (images, name) in enumerate(((originals, "Original"),
                                            (reconstructions, "Compressed, then decompressed"))):
            ax = fig.add_subplot(1, 2, i + 1)
            ax.imshow(_tile(images, side), cmap="binary", vmin=vmin, vmax=vmax,
                      interpolation="nearest")
            ax.set_title(name)
            ax.axis("off")
    return fig


def _tile(images: np.ndarray, side: int) -> np.ndarray:
    """Rows of ``side²`` values as one mosaic image, up to 5 per row, a pixel of gap."""
    n = len(images)
    per_row = min(5, n)
    rows = -(-n // per_row)
    cell = side + 1
    mosaic = np.full((rows * cell, per_row * cell), np.nan)
    for k, image in enumerate(images):
        r, c = divmod(k, per_row)
        mosaic[r * cell:r * cell + side, c * cell:c * cell + side] = image.reshape(side, side)
    return mosaic


def tuning_curve(table: pd.DataFrame, score: str, *, lower_is_better: bool) -> Figure:
    """The tuning score against gamma, one line per kernel (kernel PCA, book's two ways)."""
    with figure_style():
        fig = new_figure(6.0, 3.6)
        ax = fig.add_subplot()
        for kernel, rows in table.groupby("kernel", sort=True):
            rows = rows.sort_values("gamma")
            ax.plot(rows["gamma"], rows[score], marker="o", label=str(kernel))
        best = (table[score].idxmin() if lower_is_better else table[score].idxmax())
        ax.plot(table.loc[best, "gamma"], table.loc[best, score], "k*", markersize=14,
                label="best")
        ax.set_xlabel("gamma")
        ax.set_ylabel(score)
        ax.legend()
    return fig

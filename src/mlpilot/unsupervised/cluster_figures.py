"""The chapter 9 clustering figures, one function each: curves to choose k, maps, diagrams.

Each function takes plain numbers (and, for maps, a fitted model), builds one
:class:`~matplotlib.figure.Figure` in the shared style and returns it. Nothing here fits a
clustering; :mod:`.cluster` does, and the report (:mod:`.page`) embeds what is drawn here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_samples

from mlpilot.explore.style import (
    ACCENT,
    DIVERGING_CMAP,
    NEGATIVE,
    PANEL_H,
    PANEL_W,
    figure_style,
    new_figure,
    short,
)

__all__ = [
    "bgm_weights_figure",
    "cluster_colors",
    "cluster_map",
    "criteria_figure",
    "density_figure",
    "inertia_figure",
    "kdistance_figure",
    "profile_heatmap",
    "segmentation_figure",
    "silhouette_diagrams",
    "silhouette_figure",
]

#: Points drawn at most in a map; rows used at most for a silhouette diagram (O(n²)).
MAX_MAP_POINTS = 20_000
MAX_DIAGRAM_ROWS = 3_000
#: Grid resolution of decision regions and density contours on 2-D data.
GRID = 300
NOISE_COLOR = "#b0b0b0"


def cluster_colors(n: int) -> list[Any]:
    """One distinct colour per cluster (tab10, then tab20 beyond ten clusters)."""
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(max(n, 1))]


def _mark_chosen(ax: Any, rows: pd.DataFrame, column: str, chosen: int | None,
                 label: str) -> None:
    """Circle the chosen k on a score-vs-k curve (with a legend entry)."""
    if chosen is None or chosen not in set(rows["k"]):
        return
    y = float(rows.loc[rows["k"] == chosen, column].iloc[0])
    ax.plot([chosen], [y], "o", ms=11, mfc="none", mec=NEGATIVE, mew=1.8,
            label=label.format(k=chosen, y=y))
    ax.legend()


def _k_curve(rows: pd.DataFrame, column: str, ylabel: str, title: str) -> tuple[Figure, Any]:
    fig = new_figure(6.0, 3.6)
    ax = fig.add_subplot()
    ax.plot(rows["k"], rows[column], "o-", color=ACCENT)
    ax.set_xlabel("k (number of clusters)")
    ax.set_ylabel(ylabel)
    ax.set_xticks(list(rows["k"]))
    ax.set_title(title)
    return fig, ax


def inertia_figure(scores: pd.DataFrame, elbow: int | None, chosen: int | None) -> Figure:
    """Inertia vs k with the elbow marked (the book's figure 9-8)."""
    with figure_style():
        fig, ax = _k_curve(scores, "inertia", "inertia", "Inertia vs k: look for the elbow")
        if elbow is not None and elbow in set(scores["k"]):
            y = float(scores.loc[scores["k"] == elbow, "inertia"].iloc[0])
            span = float(scores["inertia"].max() - scores["inertia"].min()) or 1.0
            ax.annotate("elbow", xy=(elbow, y), xytext=(elbow + 0.8, y + 0.35 * span),
                        arrowprops={"arrowstyle": "->", "color": "black"}, fontsize=11)
        if chosen != elbow:
            _mark_chosen(ax, scores, "inertia", chosen, "chosen k = {k}")
    return fig


def silhouette_figure(scores: pd.DataFrame, chosen: int | None) -> Figure:
    """Silhouette score vs k, the chosen k marked (figure 9-9)."""
    rows = scores.dropna(subset=["silhouette"])
    with figure_style():
        fig, ax = _k_curve(rows, "silhouette", "silhouette score",
                           "Silhouette score vs k (higher is better)")
        _mark_chosen(ax, rows, "silhouette", chosen, "best: k = {k} ({y:.3f})")
    return fig


def silhouette_diagrams(X: np.ndarray, labels_by_k: Mapping[int, np.ndarray], *,
                        random_state: int = 42) -> Figure:
    """One silhouette diagram per k: a knife per cluster, the mean as a dashed line (9-10).

    A knife's height is the cluster's size, its width each row's coefficient (sorted). Good
    clusterings have knives of similar height that all reach past the dashed line.
    """
    ks = sorted(labels_by_k)
    rows = np.arange(len(X))
    if len(X) > MAX_DIAGRAM_ROWS:
        rows = np.sort(np.random.default_rng(random_state).choice(len(X), MAX_DIAGRAM_ROWS,
                                                                  replace=False))
    ncols = min(len(ks), 2)
    nrows = math.ceil(len(ks) / ncols)
    with figure_style():
        fig = new_figure(PANEL_W * ncols + 0.5, (PANEL_H + 0.3) * nrows)
        axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
        for ax, k in zip(axes, ks, strict=False):
            labels = np.asarray(labels_by_k[k])[rows]
            members = labels != -1  # noise rows belong to no cluster: no coefficient
            labels, points = labels[members], X[rows][members]
            clusters = sorted(set(labels.tolist()))
            if len(clusters) < 2 or len(clusters) >= len(labels):
                ax.set_axis_off()
                continue
            coeffs = silhouette_samples(points, labels)
            mean = float(coeffs.mean())
            colors = cluster_colors(len(clusters))
            pos = 0
            gap = max(len(rows) // 60, 2)
            ticks = []
            for i, c in enumerate(clusters):
                values = np.sort(coeffs[labels == c])
                ax.fill_betweenx(np.arange(pos, pos + len(values)), 0, values,
                                 facecolor=colors[i], edgecolor=colors[i], alpha=0.75)
                ticks.append(pos + len(values) / 2)
                pos += len(values) + gap
            ax.axvline(mean, color=NEGATIVE, linestyle="--", linewidth=1.5)
            ax.set_yticks(ticks, [str(c) for c in clusters])
            ax.set_xlim(min(-0.1, float(coeffs.min()) - 0.02), 1.0)
            ax.set_title(f"k = {k} (mean {mean:.3f})")
            ax.set_xlabel("silhouette coefficient")
            ax.set_ylabel("cluster")
            ax.grid(axis="y", visible=False)
        for ax in axes[len(ks):]:
            ax.set_axis_off()
    return fig


def _project(X: np.ndarray, extra: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None,
                                                               str, str, PCA | None]:
    """The rows (and centres) in 2-D: as they are, or on the first two principal components."""
    if X.shape[1] == 2:
        return X, extra, "x0", "x1", None
    if X.shape[1] == 1:
        flat = np.column_stack([X[:, 0], np.zeros(len(X))])
        more = None if extra is None else np.column_stack([extra[:, 0], np.zeros(len(extra))])
        return flat, more, "x0", "", None
    pca = PCA(n_components=2, random_state=0).fit(X)
    share = pca.explained_variance_ratio_
    return (pca.transform(X), None if extra is None else pca.transform(extra),
            f"PC1 ({share[0]:.0%} of variance)", f"PC2 ({share[1]:.0%})", pca)


def cluster_map(X: np.ndarray, labels: np.ndarray, *, centers: np.ndarray | None = None,
                predictor: Any = None, feature_names: Sequence[str] = ("x0", "x1"),
                title: str = "Clusters") -> Figure:
    """Rows coloured by cluster, centroids as ×, noise grey; decision regions on 2-D data.

    With more than two features the map shows the first two principal components (regions
    are then left out: they live in the full space).
    """
    labels = np.asarray(labels)
    points, cents, xlabel, ylabel, _ = _project(X, centers)
    if X.shape[1] == 2:
        xlabel, ylabel = (short(n, 30) for n in feature_names[:2])
    shown = np.arange(len(points))
    if len(points) > MAX_MAP_POINTS:
        shown = np.random.default_rng(0).choice(len(points), MAX_MAP_POINTS, replace=False)
    clusters = sorted(set(labels.tolist()) - {-1})
    colors = cluster_colors(len(clusters))
    with figure_style():
        fig = new_figure(6.4, 4.8)
        ax = fig.add_subplot()
        if predictor is not None and X.shape[1] == 2:
            _regions(ax, X, predictor)
        for i, c in enumerate(clusters):
            sel = shown[labels[shown] == c]
            ax.scatter(points[sel, 0], points[sel, 1], s=6, color=colors[i], label=str(c),
                       linewidths=0)
        noise = shown[labels[shown] == -1]
        if len(noise):
            ax.scatter(points[noise, 0], points[noise, 1], s=14, marker="x", color=NOISE_COLOR,
                       linewidths=0.9, label="noise")
        if cents is not None:
            ax.scatter(cents[:, 0], cents[:, 1], s=160, marker="o", color="white", zorder=10,
                       edgecolors="black", linewidths=0.8, alpha=0.9)
            ax.scatter(cents[:, 0], cents[:, 1], s=60, marker="x", color="black", zorder=11,
                       linewidths=2)
        if len(clusters) <= 12:
            ax.legend(title="cluster", markerscale=2.5, loc="best", fontsize=8)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
    return fig


def _grid(X: np.ndarray, margin: float = 0.08) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = (hi - lo) * margin + 1e-9
    return np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], GRID),
                       np.linspace(lo[1] - pad[1], hi[1] + pad[1], GRID))


def _regions(ax: Any, X: np.ndarray, predictor: Any) -> None:
    """Decision regions of ``predictor`` over the data's box (the book's Voronoi figure)."""
    xx, yy = _grid(X)
    grid = np.c_[xx.ravel(), yy.ravel()]
    try:
        z = np.asarray(predictor.predict(grid))
    except Exception:  # a model that cannot predict on bare arrays: no regions, still a map
        return
    _, codes = np.unique(z, return_inverse=True)
    codes = codes.reshape(xx.shape)
    ax.contourf(xx, yy, codes, levels=np.arange(codes.max() + 2) - 0.5, cmap="Pastel2",
                alpha=0.55)
    ax.contour(xx, yy, codes, levels=np.arange(codes.max() + 1) + 0.5, colors="k",
               linewidths=0.6)


def kdistance_figure(distances: np.ndarray, eps: float, min_samples: int,
                     knee: int | None) -> Figure:
    """Sorted distance of each row to its min_samples-th neighbour, the chosen eps marked."""
    with figure_style():
        fig = new_figure(6.0, 3.6)
        ax = fig.add_subplot()
        ax.plot(np.arange(len(distances)), distances, color=ACCENT)
        ax.axhline(eps, color=NEGATIVE, linestyle="--", linewidth=1.3, label=f"eps = {eps:.4g}")
        if knee is not None:
            ax.plot([knee], [distances[knee]], "o", ms=9, mfc="none", mec=NEGATIVE, mew=1.8,
                    label="knee")
        ax.set_xlabel("rows, sorted by distance")
        ax.set_ylabel(f"distance to neighbour #{min_samples}")
        ax.set_title("k-distance plot: rows above eps become noise or border points")
        ax.legend()
    return fig


def criteria_figure(scores: pd.DataFrame) -> Figure:
    """BIC and AIC vs k, the minimum of each marked (figure 9-20)."""
    with figure_style():
        fig = new_figure(6.0, 3.6)
        ax = fig.add_subplot()
        for name, style, color in (("bic", "o-", ACCENT), ("aic", "s--", NEGATIVE)):
            ax.plot(scores["k"], scores[name], style, color=color, label=name.upper())
            best = scores.loc[scores[name].idxmin()]
            ax.plot([best["k"]], [best[name]], "o", ms=12, mfc="none", mec=color, mew=1.5)
        ax.set_xlabel("k (number of components)")
        ax.set_ylabel("information criterion")
        ax.set_xticks(list(scores["k"]))
        ax.set_title("BIC and AIC vs k (lower is better)")
        ax.legend()
    return fig


def bgm_weights_figure(weights: np.ndarray, threshold: float) -> Figure:
    """The Bayesian mixture's component weights: unneeded components fall to about 0."""
    with figure_style():
        fig = new_figure(6.0, 3.2)
        ax = fig.add_subplot()
        idx = np.arange(len(weights))
        colors = [ACCENT if w > threshold else NOISE_COLOR for w in weights]
        ax.bar(idx, weights, color=colors)
        ax.axhline(threshold, color=NEGATIVE, linestyle="--", linewidth=1,
                   label=f"effective above {threshold:g}")
        ax.set_xticks(idx)
        ax.set_xlabel("component")
        ax.set_ylabel("weight")
        ax.set_title("Bayesian Gaussian mixture: component weights")
        ax.legend()
    return fig


def density_figure(X: np.ndarray, mixture: Any) -> Figure:
    """Density contours (−log density, log-spaced levels), means and boundaries (9-16)."""
    xx, yy = _grid(X, 0.12)
    grid = np.c_[xx.ravel(), yy.ravel()]
    z = -mixture.score_samples(grid).reshape(xx.shape)
    pred = mixture.predict(grid).reshape(xx.shape)
    with figure_style():
        fig = new_figure(6.4, 4.8)
        ax = fig.add_subplot()
        levels = np.logspace(0, 2, 12)
        ax.contourf(xx, yy, np.clip(z, 1.0, None), norm=LogNorm(vmin=1.0, vmax=30.0),
                    levels=levels, cmap="viridis_r", alpha=0.8)
        ax.contour(xx, yy, np.clip(z, 1.0, None), norm=LogNorm(vmin=1.0, vmax=30.0),
                   levels=levels, linewidths=0.6, colors="k")
        ax.contour(xx, yy, pred, linewidths=1.5, colors=NEGATIVE, linestyles="dashed")
        shown = np.arange(len(X)) if len(X) <= MAX_MAP_POINTS else \
            np.random.default_rng(0).choice(len(X), MAX_MAP_POINTS, replace=False)
        ax.scatter(X[shown, 0], X[shown, 1], s=2, color="black", alpha=0.5)
        means = np.asarray(mixture.means_)
        weights = np.asarray(mixture.weights_)
        keep = weights > weights.max() / 10
        ax.scatter(means[keep, 0], means[keep, 1], s=160, marker="o", color="white",
                   edgecolors="black", zorder=10)
        ax.scatter(means[keep, 0], means[keep, 1], s=60, marker="x", color="black", zorder=11,
                   linewidths=2)
        ax.set_title("Gaussian mixture: density contours, means, boundaries (dashed)")
        ax.set_xlabel("x0")
        ax.set_ylabel("x1")
        ax.grid(False)
    return fig


def profile_heatmap(z: pd.DataFrame, max_features: int = 30) -> Figure:
    """Clusters × features: each cluster's mean in standard deviations from the overall mean."""
    if z.shape[1] > max_features:
        z = z[z.abs().max().sort_values(ascending=False).index[:max_features]]
    n_rows, n_cols = z.shape
    with figure_style():
        fig = new_figure(min(max(5.0, 0.55 * n_cols + 2.5), 16),
                         min(max(2.6, 0.45 * n_rows + 1.8), 12))
        ax = fig.add_subplot()
        values = z.to_numpy(dtype=float)
        top = max(float(np.nanmax(np.abs(values))) if values.size else 1.0, 0.5)
        image = ax.imshow(values, cmap=DIVERGING_CMAP, vmin=-top, vmax=top, aspect="auto")
        ax.set_xticks(range(n_cols), [short(c, 22) for c in z.columns], rotation=45,
                      ha="right")
        ax.set_yticks(range(n_rows), [str(i) for i in z.index])
        ax.set_ylabel("cluster")
        ax.grid(False)
        if n_cols * n_rows <= 300:
            for i in range(n_rows):
                for j in range(n_cols):
                    v = values[i, j]
                    if np.isfinite(v):
                        ax.text(j, i, f"{v:+.1f}", ha="center", va="center", fontsize=7.5,
                                color="white" if abs(v) > 0.6 * top else "black")
        fig.colorbar(image, ax=ax, shrink=0.85, label="cluster mean − overall mean (sd)")
        ax.set_title("What distinguishes each cluster")
    return fig


def segmentation_figure(original: np.ndarray, segmented: Mapping[int, np.ndarray]) -> Figure:
    """The original image, then the image in fewer and fewer colours (figure 9-12)."""
    panels = [("Original image", original)] + [
        (f"{n} colors", img) for n, img in sorted(segmented.items(), reverse=True)]
    ncols = 3 if len(panels) > 4 else len(panels)
    nrows = math.ceil(len(panels) / ncols)
    h, w = original.shape[:2]
    with figure_style():
        fig = new_figure(3.4 * ncols, 3.4 * nrows * h / w + 0.5 * nrows)
        axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
        for ax, (title, img) in zip(axes, panels, strict=False):
            shown = img if np.issubdtype(img.dtype, np.integer) else np.clip(img, 0, 1)
            ax.imshow(shown)
            ax.set_title(title)
            ax.set_axis_off()
        for ax in axes[len(panels):]:
            ax.set_axis_off()
    return fig

"""Figures of the anomalies report: where the threshold cuts, where the anomalies lie.

A score histogram with the threshold, a 2-D map with anomalies as red stars (the book's
fig 9-18; first two principal components when there are more than two features, the
detector's boundary drawn when the map is the feature space itself), the top anomalies as
images when rows are images, the precision/recall curve against known anomalies, and the
BIC curve that chose the mixture's size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.decomposition import PCA

from mlpilot.explore.style import ACCENT, HIST_BINS, NEGATIVE, figure_style, new_figure
from mlpilot.unsupervised.image_grid import image_grid
from mlpilot.unsupervised.page import Section

if TYPE_CHECKING:
    from mlpilot.unsupervised.anomalies import Anomalies

__all__ = ["anomaly_images", "anomaly_map", "bic_curve", "pr_curve", "report_sections",
           "score_histogram"]

GREY = "#9a9a9a"


def score_histogram(scores: np.ndarray, threshold: float, *, known: np.ndarray | None = None,
                    new_scores: np.ndarray | None = None, title: str = "Anomaly scores") -> Figure:
    """Histogram of the scores (log counts) with the threshold as a red dashed line."""
    with figure_style():
        fig = new_figure(7.5, 3.4)
        ax = fig.add_subplot()
        finite = scores[np.isfinite(scores)]
        pool = finite if new_scores is None else np.r_[finite, new_scores[np.isfinite(new_scores)]]
        bins = np.histogram_bin_edges(pool, bins=HIST_BINS)
        if known is not None and np.isfinite(known).any():
            mask = np.isfinite(scores)
            k = known[mask]
            ax.hist(finite[k == 0], bins=bins, color=ACCENT, alpha=0.8, label="known normal")
            ax.hist(finite[k == 1], bins=bins, color=NEGATIVE, alpha=0.8, label="known anomaly")
        else:
            ax.hist(finite, bins=bins, color=ACCENT, alpha=0.85, label="fitted rows")
        if new_scores is not None:
            ax.hist(new_scores, bins=bins, histtype="step", color="black", linewidth=1.4,
                    label="new rows")
        ax.axvline(threshold, color=NEGATIVE, linestyle="--", linewidth=1.5,
                   label=f"threshold {threshold:.4g}")
        ax.set_yscale("log")
        ax.set_xlabel("anomaly score (higher = more anomalous)")
        ax.set_ylabel("rows (log scale)")
        ax.set_title(title)
        ax.legend(loc="upper right")
    return fig


def anomaly_map(result: Anomalies) -> Figure:
    """Rows on a 2-D map, anomalies as red stars (fig 9-18); new rows as triangles."""
    X = result.features.X
    scored = result.scored
    new_X = None
    if scored is not None:
        new_X = result.features.transform(scored.frame if result.features.transformer is not None
                                          else np.asarray(scored.frame, float))
    with figure_style():
        fig = new_figure(6.4, 5.0)
        ax = fig.add_subplot()
        if X.shape[1] == 1:
            coords = np.c_[X[:, 0], result.scores]
            names = (result.features.feature_names[0], "anomaly score")
            new_coords = None if new_X is None else np.c_[new_X[:, 0], scored.scores]  # type: ignore[union-attr]
            ax.axhline(result.threshold, color=NEGATIVE, linestyle="--", linewidth=1.2)
        elif X.shape[1] == 2:
            coords, new_coords, names = _plane(result, X, new_X)
            _boundary(ax, result, coords)
        else:
            pca = PCA(n_components=2, random_state=0).fit(X)
            coords = pca.transform(X)
            new_coords = None if new_X is None else pca.transform(new_X)
            ratio = pca.explained_variance_ratio_
            names = (f"PC1 ({ratio[0]:.0%} of variance)", f"PC2 ({ratio[1]:.0%})")
        flags = result.flags
        ax.scatter(coords[~flags, 0], coords[~flags, 1], s=6, color=ACCENT, alpha=0.6,
                   linewidths=0, label="normal")
        ax.scatter(coords[flags, 0], coords[flags, 1], s=90, marker="*", color=NEGATIVE,
                   edgecolors="white", linewidths=0.4, label=f"anomaly ({flags.sum():,})")
        if scored is not None and new_coords is not None:
            nf = scored.flags
            ax.scatter(new_coords[~nf, 0], new_coords[~nf, 1], s=28, marker="^",
                       facecolors="none", edgecolors="black", linewidths=0.8,
                       label="new row, normal")
            ax.scatter(new_coords[nf, 0], new_coords[nf, 1], s=36, marker="^", color=NEGATIVE,
                       edgecolors="black", linewidths=0.6, label=f"new row, flagged ({nf.sum():,})")
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
        ax.set_title(f"{result.method}: {flags.sum():,} anomalies of {len(flags):,} rows")
        ax.legend(loc="best", markerscale=1.0)
    return fig


def _plane(result: Anomalies, X: np.ndarray,
           new_X: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None, tuple[str, str]]:
    """Two features: the map in their own units when they are two numeric columns."""
    frame = result.frame
    numeric = frame.select_dtypes("number")
    if result.features.transformer is None or numeric.shape[1] != 2 or frame.shape[1] != 2:
        return X, new_X, (result.features.feature_names[0], result.features.feature_names[1])
    new = None
    if result.scored is not None:
        new = result.scored.frame[numeric.columns].to_numpy(dtype=float)
    names = (str(numeric.columns[0]), str(numeric.columns[1]))
    return numeric.to_numpy(dtype=float), new, names


def _boundary(ax: Any, result: Anomalies, coords: np.ndarray) -> None:
    """Score contours over the 2-D map and the threshold line (dashed red)."""
    det = result.detector
    if det.method == "lof" and not det.novelty:
        return  # LOF in outlier mode cannot score new points
    finite = coords[np.isfinite(coords).all(axis=1)]
    if len(finite) == 0:
        return
    lo, hi = finite.min(axis=0), finite.max(axis=0)
    pad = 0.1 * (hi - lo + 1e-9)
    xx, yy = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], 200),
                         np.linspace(lo[1] - pad[1], hi[1] + pad[1], 200))
    grid = np.c_[xx.ravel(), yy.ravel()]
    if result.features.transformer is not None:  # the map is in the columns' own units
        grid = result.features.transform(pd.DataFrame(grid, columns=list(result.frame.columns)))
    zz = det.anomaly_score(grid).reshape(xx.shape)
    top = np.percentile(zz, 95)
    bottom = zz.min()
    if top > bottom:
        levels = np.linspace(bottom, top, 12)
        ax.contourf(xx, yy, np.clip(zz, bottom, top), levels=levels, cmap="Greys", alpha=0.35)
    if zz.min() < result.threshold < zz.max():
        ax.contour(xx, yy, zz, levels=[result.threshold], colors=NEGATIVE, linestyles="dashed",
                   linewidths=1.2)


def anomaly_images(images: np.ndarray, scores: np.ndarray, rows: list[Any],
                   title: str = "Top anomalies") -> Figure:
    """Rows shown as images (up to 20, highest score first), row id and score above each."""
    n = min(len(images), 20)
    return image_grid(images[:n], [f"{rows[i]}\n{scores[i]:.3g}" for i in range(n)], title)


def pr_curve(metrics: dict[str, Any]) -> Figure:
    """Precision against recall over every threshold; the current flags as a red dot."""
    precision, recall = metrics["curve"]
    with figure_style():
        fig = new_figure(5.2, 4.2)
        ax = fig.add_subplot()
        ax.plot(recall, precision, color=ACCENT, linewidth=1.8,
                label=f"all thresholds (AP {metrics['average_precision']:.3f})")
        ax.scatter([metrics["recall"]], [metrics["precision"]], s=60, color=NEGATIVE, zorder=3,
                   label=f"current threshold (F1 {metrics['f1']:.3f})")
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("recall (share of known anomalies flagged)")
        ax.set_ylabel("precision (share of flags that are anomalies)")
        ax.set_title("Flags against known anomalies")
        ax.legend(loc="lower left")
    return fig


def bic_curve(bic: dict[int, float], chosen: int) -> Figure:
    """BIC by number of mixture components; the lowest is kept (fig 9-20)."""
    ks = sorted(bic)
    with figure_style():
        fig = new_figure(5.2, 3.2)
        ax = fig.add_subplot()
        ax.plot(ks, [bic[k] for k in ks], marker="o", color=ACCENT)
        ax.scatter([chosen], [bic[chosen]], s=90, color=NEGATIVE, zorder=3, label=f"k = {chosen}")
        ax.set_xlabel("mixture components k")
        ax.set_ylabel("BIC (lower is better)")
        ax.set_title("Choosing the mixture's size")
        ax.set_xticks(ks)
        ax.legend()
    return fig


def _images(frame: pd.DataFrame, side: int, top: pd.DataFrame) -> np.ndarray:
    rows = frame.loc[top["row"].tolist()] if frame.index.is_unique else frame.iloc[:0]
    return rows.to_numpy(dtype=float).reshape(-1, side, side)


def report_sections(result: Anomalies) -> list[Section]:
    """The report's sections, figures included."""
    sections = [Section("Detector", result.summary())]
    det = result.detector
    if det.bic_:
        sections[0].figures = [("BIC by number of components",
                                bic_curve(det.bic_, int(det.estimator_.n_components)),
                                "The mixture with the lowest BIC is kept.")]
    known = result.known if result.metrics is not None else None
    sections.append(Section("Scores", [
        "Every row gets a score; rows above the dashed line are flagged. Move the threshold "
        "with --contamination."],
        figures=[("Score distribution", score_histogram(result.scores, result.threshold,
                                                        known=known),
                  f"{result.n_flagged:,} rows above the threshold {result.threshold:.4g}.")]))
    sections.append(Section("Map", [
        "Anomalies as red stars. With more than two features the map shows the first two "
        "principal components; with two, the detector's boundary is the dashed line."],
        figures=[("Anomalies on the map", anomaly_map(result),
                  "Red stars: flagged rows (the book's figure 9-18).")]))
    top = Section("Top anomalies", [
        "The highest-scoring rows; 'why' lists the features furthest from the median in "
        "robust z-scores (median and 1.4826 × MAD)."], tables={"Top anomalies": result.top})
    side = result.image_side
    if side and len(result.top):
        images = _images(result.frame, side, result.top)
        if len(images):
            top.figures = [("Top anomalies as images",
                            anomaly_images(images, result.top["score"].to_numpy(),
                                           result.top["row"].tolist()),
                            "Row id and score above each image.")]
    sections.append(top)
    if result.metrics is not None:
        m = result.metrics
        table = pd.DataFrame([{k: m[k] for k in ("n_known", "n_anomalies", "n_flagged",
                                                   "precision", "recall", "f1",
                                                   "average_precision")}])
        sections.append(Section("Known anomalies", [
            "The label column marks known anomalies: how well do the flags find them?"],
            tables={"Flags against the label": table},
            figures=[("Precision/recall curve", pr_curve(m),
                      "Lower the threshold for more recall, raise it for more precision.")]))
    if result.scored is not None:
        s = result.scored
        new = Section("New rows (novelty detection)", s.summary(),
                      tables={"Top new rows": s.top},
                      figures=[("New rows' scores",
                                score_histogram(result.scores, result.threshold,
                                                new_scores=s.scores,
                                                title="New rows against the fitted rows"),
                                "Black outline: new rows; bars: the rows the detector learned.")])
        if side and len(s.top):
            images = _images(s.frame, side, s.top)
            if len(images):
                new.figures = [*new.figures, ("Top new rows as images",
                                              anomaly_images(images, s.top["score"].to_numpy(),
                                                             s.top["row"].tolist()), "")]
        sections.append(new)
    return sections

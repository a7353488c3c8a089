"""Chapter 3's figures of a classifier, as PNG bytes, in the shared style.

Why from the summary dict (:func:`mlpilot.evaluate.classification.classification_summary`)
rather than from the test set: the report can redraw them at any time from stored JSON.
Every function takes that dict; ``threshold`` (a decision threshold on the stored scores)
defaults to the summary's stored :class:`~mlpilot.evaluate.threshold.ThresholdChoice`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from mlpilot.explore.figures import MAX_HEATMAP_ANNOTATED
from mlpilot.explore.style import ACCENT, NEGATIVE, figure_style, new_figure, short, to_png

PRECISION_COLOR = ACCENT
RECALL_COLOR = "#2a9d55"
F1_COLOR = "#e0892b"
MUTED = "#888888"
MATRIX_CMAP = "Blues"
#: Classes drawn at most in the per-class bar chart (the worst by F1 above that).
MAX_BAR_CLASSES = 40


def _png(build: Callable[[], Figure]) -> bytes:
    with figure_style():
        return to_png(build())


def _threshold(summary: dict[str, Any], threshold: float | None) -> float | None:
    """The threshold to mark: the argument, else the summary's stored choice, else none."""
    if threshold is not None:
        return float(threshold)
    stored = summary.get("threshold") or {}
    return None if stored.get("threshold") is None else float(stored["threshold"])


def _curves(summary: dict[str, Any]) -> dict[str, Any]:
    curves = summary.get("curves")
    if not curves:
        raise ValueError("this summary has no PR/ROC curves (binary task with scores only)")
    return curves


def _pr_point(curves: dict[str, Any], t: float) -> tuple[float, float]:
    """(precision, recall) at threshold ``t``: the first stored threshold ≥ t."""
    thresholds = np.asarray(curves["pr"]["threshold"], dtype=float)
    i = int(np.searchsorted(thresholds, t).clip(0, len(thresholds) - 1))
    return float(curves["pr"]["precision"][i]), float(curves["pr"]["recall"][i])


def _roc_point(curves: dict[str, Any], t: float) -> tuple[float, float]:
    """(FPR, TPR) at threshold ``t``, from the same PR point so both figures agree.

    TPR is the recall; false positives are TP·(1/precision − 1) out of the negatives.
    """
    precision, recall = _pr_point(curves, t)
    positives = curves["n_positive"]
    negatives = max(curves["n_rows"] - positives, 1)
    false_pos = recall * positives * (1 / precision - 1) if precision > 0 else negatives
    return float(false_pos / negatives), recall


def _fmt_threshold(t: float) -> str:
    return f"{t:.3g}" if abs(t) < 1000 else f"{t:,.0f}"


# --------------------------------------------------------------------------------------------
# Confusion matrices
# --------------------------------------------------------------------------------------------

def _heatmap(ax: Axes, matrix: np.ndarray, labels: list[str], title: str, percent: bool) -> None:
    """One confusion matrix: rows true, columns predicted; cells annotated when few classes."""
    k = len(labels)
    image = ax.imshow(matrix, cmap=MATRIX_CMAP, vmin=0, interpolation="nearest")
    ax.grid(False)
    ax.set_title(title)
    ticks = [short(label, 14) for label in labels]
    ax.set_xticks(range(k), ticks, rotation=45 if k > 3 else 0, ha="right" if k > 3 else "center")
    ax.set_yticks(range(k), ticks)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if k <= MAX_HEATMAP_ANNOTATED:
        top = float(np.nanmax(matrix)) or 1.0
        size = 9 if k <= 6 else 7
        for (i, j), value in np.ndenumerate(matrix):
            if value == 0 and percent:
                continue
            text = f"{value:.0%}" if percent else f"{int(value):,}"
            ax.text(j, i, text, ha="center", va="center", fontsize=size,
                    color="white" if value > top / 2 else "black")
    ax.figure.colorbar(image, ax=ax, shrink=0.8,
                       format=PercentFormatter(1.0, decimals=0) if percent else None)


def _multilabel_confusion(summary: dict[str, Any]) -> Figure:
    rows = summary["confusion"]["per_label"]
    cols = min(4, len(rows))
    nrows = math.ceil(len(rows) / cols)
    fig = new_figure(3.2 * cols, 3.0 * nrows)
    axes = np.atleast_1d(fig.subplots(nrows, cols, squeeze=False)).ravel()
    for ax, row in zip(axes, rows, strict=False):
        matrix = np.array([[row["tn"], row["fp"]], [row["fn"], row["tp"]]], dtype=float)
        _heatmap(ax, matrix, ["no", "yes"], f"label {short(row['label'], 20)}", percent=False)
    for ax in axes[len(rows):]:
        ax.set_visible(False)
    fig.suptitle("Confusion matrix per label (rows: truth)")
    return fig


def confusion_figure(summary: dict[str, Any]) -> bytes:
    """Counts, row-normalised % and errors-only % side by side (the book's Fig 3-9 and 3-10).

    Why three: counts show where the rows are; row-normalised shows each class's recall and
    where it leaks; errors-only (correct cells weigh zero) shows which mistakes dominate
    (left out for two classes, where it is always 100 % off the diagonal).
    """
    def build() -> Figure:
        if "per_label" in summary["confusion"]:
            return _multilabel_confusion(summary)
        confusion = summary["confusion"]
        labels = [str(label) for label in confusion["labels"]]
        # Two classes: every error is the other class, so an errors-only panel says nothing.
        panels = 3 if len(labels) > 2 else 2
        side = max(4.2, 0.42 * len(labels) + 2.4)
        fig = new_figure(panels * side, side)
        axes = fig.subplots(1, panels)
        _heatmap(axes[0], np.asarray(confusion["counts"], dtype=float), labels, "Counts", False)
        _heatmap(axes[1], np.asarray(confusion["row_normalized"], dtype=float), labels,
                 "% of each true class", True)
        if panels == 3:
            _heatmap(axes[2], np.asarray(confusion["errors_only"], dtype=float), labels,
                     "Errors only, % of each row's errors", True)
        fig.suptitle(f"Confusion matrices ({summary['n_rows']:,} rows; rows: true class)")
        return fig
    return _png(build)


# --------------------------------------------------------------------------------------------
# Curves
# --------------------------------------------------------------------------------------------

def pr_curve_figure(summary: dict[str, Any], threshold: float | None = None) -> bytes:
    """Precision against recall (Fig 3-6), with the chosen threshold's point marked."""
    curves = _curves(summary)
    t = _threshold(summary, threshold)

    def build() -> Figure:
        fig = new_figure(6, 5)
        ax = fig.subplots()
        ax.plot(curves["pr"]["recall"], curves["pr"]["precision"], color=PRECISION_COLOR,
                linewidth=2, label=f"average precision {curves['average_precision']:.3f}")
        base = curves["n_positive"] / max(curves["n_rows"], 1)
        ax.axhline(base, color=MUTED, linestyle=":", label=f"random classifier ({base:.1%})")
        if t is not None:
            precision, recall = _pr_point(curves, t)
            ax.plot([recall], [precision], "o", color=NEGATIVE, markersize=8,
                    label=f"threshold {_fmt_threshold(t)}: P {precision:.1%}, R {recall:.1%}")
        ax.set(xlim=(0, 1.01), ylim=(0, 1.02), xlabel="recall", ylabel="precision",
               title=f"Precision against recall (positive: {short(curves['pos_label'], 20)})")
        ax.legend(loc="lower left")
        return fig
    return _png(build)


def roc_figure(summary: dict[str, Any], threshold: float | None = None) -> bytes:
    """The ROC curve (Fig 3-7): diagonal of a random classifier, AUC, the threshold's point."""
    curves = _curves(summary)
    t = _threshold(summary, threshold)

    def build() -> Figure:
        fig = new_figure(6, 5)
        ax = fig.subplots()
        ax.plot(curves["roc"]["fpr"], curves["roc"]["tpr"], color=PRECISION_COLOR, linewidth=2,
                label=f"ROC curve (AUC {curves['roc_auc']:.4f})")
        ax.plot([0, 1], [0, 1], color=MUTED, linestyle=":", label="random classifier")
        if t is not None:
            fpr, tpr = _roc_point(curves, t)
            ax.plot([fpr], [tpr], "o", color=NEGATIVE, markersize=8,
                    label=f"threshold {_fmt_threshold(t)}: TPR {tpr:.1%}, FPR {fpr:.1%}")
        ax.set(xlim=(-0.01, 1), ylim=(0, 1.01), xlabel="false positive rate (fall-out)",
               ylabel="true positive rate (recall)", title="ROC curve")
        ax.legend(loc="lower right")
        return fig
    return _png(build)


def threshold_figure(summary: dict[str, Any], threshold: float | None = None) -> bytes:
    """Precision (dashed) and recall (solid) against the decision threshold (Fig 3-5).

    Why: it shows what moving the threshold costs — precision can dip as it rises, recall
    only falls.
    """
    curves = _curves(summary)
    t = _threshold(summary, threshold)

    def build() -> Figure:
        fig = new_figure(7.5, 4.5)
        ax = fig.subplots()
        x = curves["pr"]["threshold"]
        ax.plot(x, curves["pr"]["precision"], "--", color=PRECISION_COLOR, linewidth=2,
                label="precision")
        ax.plot(x, curves["pr"]["recall"], "-", color=RECALL_COLOR, linewidth=2, label="recall")
        if t is not None:
            precision, recall = _pr_point(curves, t)
            ax.axvline(t, color="black", linestyle=":", linewidth=1,
                       label=f"threshold {_fmt_threshold(t)}")
            ax.plot([t, t], [precision, recall], "o", color="black", markersize=5)
        ax.set(ylim=(0, 1.02), xlabel="decision threshold (score)", ylabel="value",
               title="Precision and recall against the decision threshold")
        ax.legend(loc="center left")
        return fig
    return _png(build)


def calibration_figure(summary: dict[str, Any]) -> bytes:
    """Reliability diagram: predicted probability against observed frequency, rows per bin.

    Why: ``predict_proba`` gives *estimated* probabilities; points off the diagonal say by
    how much they are over- (below) or under-confident (above).
    """
    calibration = summary.get("calibration")
    if not calibration:
        raise ValueError("this summary has no calibration table (the model gives no "
                         "probabilities)")
    bins = calibration["bins"]

    def build() -> Figure:
        fig = new_figure(6, 6.2)
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
        predicted = [b["mean_predicted"] for b in bins]
        observed = [b["observed"] for b in bins]
        top.plot([0, 1], [0, 1], color=MUTED, linestyle=":", label="perfectly calibrated")
        top.plot(predicted, observed, "o-", color=ACCENT, label="model")
        binary = summary["task"] == "binary"
        top.set(xlim=(0, 1), ylim=(0, 1.02),
                ylabel="share of positives" if binary else "share correct",
                title=f"Calibration ({calibration['kind']})")
        top.legend(loc="upper left")
        centres = [(b["bin_low"] + b["bin_high"]) / 2 for b in bins]
        widths = [(b["bin_high"] - b["bin_low"]) * 0.9 for b in bins]
        bottom.bar(centres, [b["count"] for b in bins], width=widths, color=ACCENT, alpha=0.6)
        bottom.set(xlabel="mean predicted probability" if binary else "confidence",
                   ylabel="rows")
        return fig
    return _png(build)


def per_class_figure(summary: dict[str, Any]) -> bytes:
    """Precision, recall and F1 per class (per label) as grouped bars, macro F1 as a line."""
    rows = [r for r in summary["per_class"] if not str(r["class"]).endswith(" avg")]
    macro = next((r for r in summary["per_class"] if r["class"] == "macro avg"), None)
    clipped = len(rows) > MAX_BAR_CLASSES
    if clipped:
        rows = sorted(rows, key=lambda r: r["f1"])[:MAX_BAR_CLASSES]

    def build() -> Figure:
        fig = new_figure(7.5, max(3.0, 0.42 * len(rows) + 1.4))
        ax = fig.subplots()
        y = np.arange(len(rows))
        height = 0.26
        for offset, key, color in ((-height, "precision", PRECISION_COLOR),
                                   (0.0, "recall", RECALL_COLOR), (height, "f1", F1_COLOR)):
            ax.barh(y + offset, [r[key] for r in rows], height=height, color=color,
                    label=key if key != "f1" else "F1")
        if macro is not None:
            ax.axvline(macro["f1"], color="black", linestyle="--", linewidth=1,
                       label=f"macro F1 {macro['f1']:.3f}")
        ax.set_yticks(y, [f"{short(r['class'], 18)} (n={r['support']:,})" for r in rows])
        ax.invert_yaxis()
        ax.set(xlim=(0, 1.0), xlabel="score",
               title="Precision, recall and F1 per class"
               + (f" ({MAX_BAR_CLASSES} worst by F1)" if clipped else ""))
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=4)
        return fig
    return _png(build)


def build_classification_figures(summary: dict[str, Any],
                                 threshold: float | None = None) -> dict[str, bytes]:
    """Every figure that applies to this summary, by name (what the report embeds)."""
    figures = {"confusion": confusion_figure(summary), "per_class": per_class_figure(summary)}
    if summary.get("curves"):
        figures["threshold"] = threshold_figure(summary, threshold)
        figures["pr_curve"] = pr_curve_figure(summary, threshold)
        figures["roc"] = roc_figure(summary, threshold)
    if summary.get("calibration"):
        figures["calibration"] = calibration_figure(summary)
    return figures

"""Figures of a regressor's errors and of per-slice scores, as PNG bytes, in the shared style.

Why from the summary dict (:func:`mlpilot.evaluate.regression.regression_summary`) and the
slice table rather than from the test set: the report can redraw them at any time without
reading the test rows again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mlpilot.evaluate.slices import format_number
from mlpilot.explore.figures import COMPACT
from mlpilot.explore.style import ACCENT, NEGATIVE, figure_style, new_figure, short, to_png

MUTED = "#888888"


def _png(build: Callable[[], Figure]) -> bytes:
    with figure_style():
        return to_png(build())


def _point_alpha(n: int) -> float:
    """Denser clouds get fainter points, so their structure (and the caps) shows."""
    return float(np.clip(300 / max(n, 1), 0.12, 0.6))


def _draw_caps(ax: Axes, summary: dict[str, Any], axis: str) -> None:
    """A dashed line at each cap of the target (``axis`` "x" or "y": where the truth is)."""
    for cap in summary.get("caps", []):
        text = f"{cap['side']} {format_number(cap['value'], 6)}: {cap['share']:.1%} of rows"
        line = ax.axvline if axis == "x" else ax.axhline
        line(cap["value"], color=NEGATIVE, linestyle="--", linewidth=1, alpha=0.8)
        if axis == "x":
            ax.annotate(text, (cap["value"], 0.02), xycoords=("data", "axes fraction"),
                        rotation=90, ha="right", va="bottom", fontsize=8, color=NEGATIVE)
        else:
            ax.annotate(text, (0.02, cap["value"]), xycoords=("axes fraction", "data"),
                        ha="left", va="bottom", fontsize=8, color=NEGATIVE)


def predicted_vs_actual_figure(summary: dict[str, Any]) -> bytes:
    """Prediction against truth with the y = x diagonal: off-diagonal bands show where it fails."""
    def build() -> Figure:
        truth = np.asarray(summary["sample"]["truth"])
        pred = np.asarray(summary["sample"]["prediction"])
        fig = new_figure(6.5, 6)
        ax = fig.subplots()
        ax.scatter(truth, pred, s=9, alpha=_point_alpha(len(truth)), color=ACCENT,
                   linewidths=0)
        spans = summary["range"]
        low = min(spans["truth"][0], spans["prediction"][0])
        high = max(spans["truth"][1], spans["prediction"][1])
        ax.plot([low, high], [low, high], color="black", linewidth=1, label="perfect (y = x)")
        _draw_caps(ax, summary, "x")
        ax.set_xlabel("actual")
        ax.set_ylabel("predicted")
        ax.xaxis.set_major_formatter(COMPACT)
        ax.yaxis.set_major_formatter(COMPACT)
        ax.legend(loc="upper left")
        r = summary["residuals"]
        ax.set_title(f"Predicted vs actual (R² {r['r2']:.3f}, {_sample_note(summary)})")
        return fig
    return _png(build)


def _sample_note(summary: dict[str, Any]) -> str:
    shown, n = len(summary["sample"]["truth"]), summary["residuals"]["n"]
    return f"{n:,} rows" if shown == n else f"{shown:,} of {n:,} rows shown"


def residuals_figure(summary: dict[str, Any]) -> bytes:
    """Error against prediction, zero line and mean error per bin: bias and fanning show up."""
    def build() -> Figure:
        truth = np.asarray(summary["sample"]["truth"])
        pred = np.asarray(summary["sample"]["prediction"])
        fig = new_figure(7.5, 5)
        ax = fig.subplots()
        ax.scatter(pred, pred - truth, s=9, alpha=_point_alpha(len(pred)), color=ACCENT,
                   linewidths=0)
        ax.axhline(0, color="black", linewidth=1)
        trend = summary["trend"]
        ax.plot(trend["prediction"], trend["mean_error"], color=NEGATIVE, linewidth=2,
                marker="o", markersize=3, label="mean error per bin of predictions")
        ax.set_xlabel("predicted")
        ax.set_ylabel("error (predicted − actual)")
        ax.xaxis.set_major_formatter(COMPACT)
        ax.yaxis.set_major_formatter(COMPACT)
        ax.legend(loc="upper left")
        ax.set_title(f"Residuals vs predicted ({_sample_note(summary)})")
        return fig
    return _png(build)


def residual_histogram_figure(summary: dict[str, Any]) -> bytes:
    """Distribution of all errors (not only the sample), with zero and the mean error (bias)."""
    def build() -> Figure:
        hist = summary["histogram"]
        r = summary["residuals"]
        fig = new_figure(7.5, 4.5)
        ax = fig.subplots()
        ax.stairs(hist["counts"], hist["edges"], fill=True, color=ACCENT, alpha=0.85)
        ax.axvline(0, color="black", linewidth=1)
        ax.axvline(r["bias"], color=NEGATIVE, linestyle="--", linewidth=1.5,
                   label=f"mean error (bias) {format_number(r['bias'])}")
        ax.set_xlabel("error (predicted − actual)")
        ax.set_ylabel("rows")
        ax.xaxis.set_major_formatter(COMPACT)
        ax.legend(loc="upper right")
        ax.set_title(f"Errors: RMSE {format_number(r['rmse'], 4)}, "
                     f"MAE {format_number(r['mae'], 4)}, {r['within_10pct']:.0%} within ±10 %")
        return fig
    return _png(build)


def slices_figure(table: pd.DataFrame, metric_label: str) -> bytes:
    """Per feature, each slice's score with its interval; the overall line; flagged in red.

    Serves regression and classification alike (the slice table of
    :func:`mlpilot.evaluate.slices.slice_metrics`).
    """
    def build() -> Figure:
        features = list(dict.fromkeys(table["feature"]))
        heights = [max(1.2, 0.32 * int((table["feature"] == f).sum()) + 0.7)
                   for f in features] or [1.0]
        fig = new_figure(7.5, sum(heights) + 0.6)
        axes = fig.subplots(len(heights), 1, squeeze=False,
                            gridspec_kw={"height_ratios": heights})[:, 0]
        for ax, feature in zip(axes, features, strict=False):
            _slice_panel(ax, table[table["feature"] == feature], feature, metric_label)
        if not features:
            axes[0].set_visible(False)
        fig.suptitle(f"{metric_label} per slice ({_confidence(table)} intervals)")
        return fig
    return _png(build)


def _confidence(table: pd.DataFrame) -> str:
    return f"{table.attrs.get('confidence', 0.95):.0%}"


def _slice_panel(ax: Axes, rows: pd.DataFrame, feature: str, metric_label: str) -> None:
    labels = [f"{short(s, 24)}  (n={n:,})" for s, n in zip(rows["slice"], rows["n"],
                                                             strict=True)]
    y = np.arange(len(rows))[::-1]
    # Also read back from JSON records, where NaN became None.
    score, low, high = (pd.to_numeric(rows[c], errors="coerce").to_numpy(dtype=float)
                        for c in ("score", "low", "high"))
    colors = [NEGATIVE if w else ACCENT for w in rows["worse"]]
    for yi, s, lo, hi, c in zip(y, score, low, high, colors, strict=True):
        if np.isfinite(s):
            if np.isfinite(lo) and np.isfinite(hi):
                ax.plot([lo, hi], [yi, yi], color=c, linewidth=2, alpha=0.6)
            ax.plot([s], [yi], "o", color=c, markersize=6)
        else:
            ax.annotate("not scored", (0.01, yi), xycoords=("axes fraction", "data"),
                        va="center", fontsize=8, color=MUTED)
    overall = pd.to_numeric(rows["overall"], errors="coerce").astype(float).iloc[0]
    if np.isfinite(overall):
        ax.axvline(overall, color="black", linestyle="--", linewidth=1)
        ax.set_title(f"overall (dashed) {format_number(overall, 4)}", loc="right",
                     fontsize=9, fontweight="normal", color=MUTED)
    ax.set_yticks(y, labels)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.grid(axis="y", visible=False)
    ax.xaxis.set_major_formatter(COMPACT)
    ax.set_xlabel(metric_label)
    ax.set_title(short(feature, 40), loc="left")

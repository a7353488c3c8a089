"""The report's own figures: the leaderboard and the feature importances.

(Diagnostic figures belong to :mod:`mlpilot.evaluate`; these two summarise training.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlpilot.evaluate.metrics import Metric
from mlpilot.explore.style import ACCENT, figure_style, new_figure, short, to_png

#: Bars shown at most (the rest are in the tables).
TOP = 15


def leaderboard_figure(board: pd.DataFrame, metric: Metric, chosen: str | None = None) -> bytes:
    """CV score ± std per model on its largest rung, best on top; the final model in red.

    Points with whiskers rather than bars: scores like ROC AUC do not start at zero, and
    bars from zero would make 0.85 and 0.88 look the same.
    """
    column = f"cv_{metric.name}_mean"
    rows = board[(board["status"] == "done") & board[column].notna()]
    rows = rows.sort_values(column, ascending=not metric.greater_is_better).head(TOP)[::-1]
    with figure_style():
        fig = new_figure(7.5, 0.36 * len(rows) + 1.3)
        ax = fig.add_subplot()
        labels = [f"{short(m)} ({int(r):,} rows)" if pd.notna(r) else short(m)
                  for m, r in zip(rows["model"], rows["rows"], strict=True)]
        y = np.arange(len(rows))
        std = rows[f"cv_{metric.name}_std"].fillna(0.0).to_numpy()
        for i, (model, mean, s) in enumerate(zip(rows["model"], rows[column], std,
                                                 strict=True)):
            color = "#d0543a" if model == chosen else ACCENT
            ax.errorbar(mean, i, xerr=s, fmt="o", color=color, capsize=3, markersize=6)
        ax.set_yticks(y, labels)
        ax.set_xlabel(f"cross-validated {metric.label} (mean ± std over folds)")
        if metric.name in ("rmse", "mae"):
            ax.xaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
        ax.set_title("What was tried" + (" (higher is better)" if metric.greater_is_better
                                         else " (lower is better)"))
        return to_png(fig)


def importances_figure(table: pd.DataFrame, metric: Metric) -> bytes:
    """Permutation importance (mean ± std over repeats) of the top input columns."""
    top = table.sort_values("permutation_importance", ascending=False).head(TOP)[::-1]
    with figure_style():
        fig = new_figure(7.5, 0.34 * len(top) + 1.2)
        ax = fig.add_subplot()
        values = top["permutation_importance"].to_numpy(dtype=float)
        ax.barh([short(f) for f in top["feature"]], values,
                xerr=top.get("permutation_std", pd.Series(np.zeros(len(top)))).to_numpy(),
                color=[ACCENT if v >= 0 else "#d0543a" for v in values], alpha=0.85, capsize=3)
        ax.set_xlabel(f"loss of {metric.label} when the column is shuffled")
        if metric.name in ("rmse", "mae"):
            ax.xaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
        ax.set_title("Which inputs the model relies on")
        return to_png(fig)

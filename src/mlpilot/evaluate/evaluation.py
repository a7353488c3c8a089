"""The final look at the test set: score with an interval, every metric, slices, diagnostics.

Pure functions of a model's predictions: the project reads the locked rows once, hands
them here, and stores what comes back, so the report and later readers never need the test
rows again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlpilot.data.schema import NUMERIC_KINDS, ColumnKind, Schema
from mlpilot.evaluate.intervals import CONFIDENCE, Interval, metric_interval
from mlpilot.evaluate.metrics import METRICS, Metric
from mlpilot.evaluate.predictions import Predictions, score

if TYPE_CHECKING:
    from mlpilot.evaluate.threshold import ThresholdChoice

#: Metrics shown beside the project's own, per task (each with its interval).
COMPANION_METRICS: dict[str, tuple[str, ...]] = {
    "regression": ("rmse", "mae", "r2"),
    "binary": ("roc_auc", "accuracy", "f1", "log_loss"),
    "multiclass": ("accuracy", "balanced_accuracy", "f1_macro", "log_loss"),
    "multilabel": ("f1_macro", "f1_micro"),
}
#: Slice by category columns with at most this many values, and by this many numbers.
MAX_SLICE_LEVELS = 50
N_NUMERIC_SLICES = 3
#: Numeric columns with at most this many values are sliced by value, like categories.
FEW_VALUES = 8
#: Quantile buckets per numeric column (the book's income categories are 5), and the rows a
#: slice needs to be scored.
N_BUCKETS = 5
MIN_SLICE_ROWS = 30
#: Bootstrap resamples for the companion metrics (the headline metric gets the full count).
COMPANION_RESAMPLES = 300


@dataclass
class EvaluationResult:
    """What one look at the test set established, ready to store and to present."""

    task: str
    metric: Metric
    score: float
    interval: Interval
    n_rows: int
    cv_mean: float | None
    cv_std: float | None
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    slices: pd.DataFrame | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    importances: pd.DataFrame | None = None  # permutation importances on the test rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task, "metric": self.metric.name, "score": self.score,
            "interval": self.interval.to_dict(), "n_rows": self.n_rows,
            "cv_mean": self.cv_mean, "cv_std": self.cv_std, "metrics": self.metrics,
            "warnings": self.warnings, "diagnostics": self.diagnostics,
            "slices": [] if self.slices is None else records(self.slices),
            "importances": [] if self.importances is None else records(self.importances),
        }


def evaluate_predictions(
    p: Predictions,
    X: pd.DataFrame,
    metric: Metric,
    *,
    cv_mean: float | None = None,
    cv_std: float | None = None,
    categorical: Sequence[str] = (),
    numeric: Sequence[str] = (),
    y_train: Any = None,
    threshold: ThresholdChoice | None = None,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> EvaluationResult:
    """Score ``p`` (the test rows ``X``) overall, per slice, and with the task's diagnostics."""
    from mlpilot.evaluate.slices import slice_metrics

    headline = score(metric, p)
    interval = metric_interval(metric, p, confidence, seed=seed)
    result = EvaluationResult(p.task, metric, headline, interval, len(p), cv_mean, cv_std)
    result.metrics = companion_metrics(p, metric, confidence, seed)
    result.warnings = validation_gap_warnings(metric, headline, interval, cv_mean, cv_std)
    if p.task != "multilabel" and (categorical or numeric):
        # Fewer buckets on small test sets, so that each still has enough rows to be scored.
        buckets = max(2, min(N_BUCKETS, len(p) // MIN_SLICE_ROWS))
        result.slices = slice_metrics(X, p, metric, categorical=categorical, numeric=numeric,
                                      n_buckets=buckets, min_rows=MIN_SLICE_ROWS,
                                      confidence=confidence, seed=seed)
    result.diagnostics = diagnostics(p, X, metric, y_train, threshold)
    return result


def slice_columns(schema: Schema, X: pd.DataFrame, importances: pd.DataFrame | None, *,
                  first: Sequence[str] = (), max_levels: int = MAX_SLICE_LEVELS,
                  n_numeric: int = N_NUMERIC_SLICES) -> tuple[list[str], list[str]]:
    """Which columns to slice by: every low-cardinality category, the most important numbers.

    Numbers are ranked by permutation importance when it was measured, else taken in table
    order; columns in ``first`` come first (the split's stratification column: the book
    slices housing by its income categories).
    """
    present = [c for c in X.columns if c in schema.columns]
    # A number with a handful of values (a class 1/2/3, a count of children) reads better
    # sliced by value than in quantile buckets.
    few_values = [c for c in present if schema.kind(c) in NUMERIC_KINDS
                  and X[c].nunique() <= FEW_VALUES]
    categorical = [c for c in present
                   if (schema.kind(c) in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)
                       and X[c].nunique() <= max_levels) or c in few_values]
    numeric = [c for c in present if schema.kind(c) in NUMERIC_KINDS and c not in few_values]
    if importances is not None and "feature" in importances:
        rank = {f: i for i, f in enumerate(importances["feature"])}
        numeric.sort(key=lambda c: rank.get(c, len(rank)))
    chosen = [c for c in first if c in numeric]
    chosen += [c for c in numeric if c not in chosen][:max(n_numeric - len(chosen), 0)]
    return categorical, chosen


def companion_metrics(p: Predictions, metric: Metric, confidence: float,
                      seed: int) -> dict[str, dict[str, Any]]:
    """Each of the task's usual metrics with its interval; ones the model cannot give skipped."""
    out: dict[str, dict[str, Any]] = {}
    names = [metric.name, *[n for n in COMPANION_METRICS[p.task] if n != metric.name]]
    for name in names:
        m = METRICS[name]
        try:
            value = score(m, p)
        except ValueError:  # e.g. log loss of a model without probabilities
            continue
        resamples = 1000 if name == metric.name else COMPANION_RESAMPLES
        ci = metric_interval(m, p, confidence, n_resamples=resamples, seed=seed)
        out[name] = {"label": m.label, "value": value, "low": ci.low, "high": ci.high,
                     "method": ci.method, "greater_is_better": m.greater_is_better}
    return out


def validation_gap_warnings(metric: Metric, test: float, interval: Interval,
                            cv_mean: float | None, cv_std: float | None) -> list[str]:
    """Warn when the test score is clearly worse than cross-validation promised.

    Clearly worse: the whole test interval lies on the worse side of the CV mean. That is
    the sign of a model (or a choice among many models) fitted to the validation folds —
    the book's warning about tuning on the test set, one step earlier.
    """
    if cv_mean is None or math.isnan(interval.low) or math.isnan(interval.high):
        return []
    worse_bound = interval.low if metric.greater_is_better else interval.high
    best_bound = interval.high if metric.greater_is_better else interval.low
    if metric.better(cv_mean, best_bound):
        return [f"test {metric.label} {metric.format(test)} (95 % interval "
                f"{metric.format(interval.low)}–{metric.format(interval.high)}) is clearly worse "
                f"than the cross-validation estimate {metric.format(cv_mean)} ± "
                f"{metric.format(cv_std or 0.0)}: the model or its selection may have overfit "
                "the validation folds, or the test rows differ from the training rows"]
    if metric.better(worse_bound, cv_mean):
        return [f"test {metric.label} {metric.format(test)} is clearly better than the "
                f"cross-validation estimate {metric.format(cv_mean)}: check that the test rows "
                "are not easier than the training rows (or leaked into them)"]
    return []


def diagnostics(p: Predictions, X: pd.DataFrame, metric: Metric, y_train: Any,
                threshold: ThresholdChoice | None = None) -> dict[str, Any]:
    """The task's diagnostic bundle (JSON-ready): residuals for regression, chapter 3 else.

    A stored decision threshold (chosen out-of-fold) is measured again on these rows: does
    its precision or recall target hold on new data?
    """
    if p.task == "regression":
        from mlpilot.evaluate.regression import regression_summary

        return regression_summary(X, p)
    from mlpilot.evaluate.classification import classification_summary
    from mlpilot.evaluate.threshold import measure_threshold

    if threshold is not None and p.scores is not None:
        threshold = measure_threshold(threshold, p.y_true, p.scores, pos_label=p.positive)
    return classification_summary(p, y_train=y_train, metric=metric, threshold=threshold)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (NaN → None, numpy scalars → Python)."""
    clean = frame.astype(object).where(frame.notna(), None)
    return [{k: plain(v) for k, v in row.items()} for row in clean.to_dict("records")]


def plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value

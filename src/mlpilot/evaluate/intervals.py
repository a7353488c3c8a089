"""How precise is a test score? Confidence intervals for a metric on a finite test set.

RMSE gets the book's interval (chapter 2): a Student t-interval on the mean of the squared
errors, square-rooted. Every other metric gets a percentile bootstrap over test rows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from mlpilot.evaluate.metrics import Metric, get_metric
from mlpilot.evaluate.predictions import Predictions, score

CONFIDENCE = 0.95
N_RESAMPLES = 1000


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    confidence: float
    method: str

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rmse_t_interval(y_true: Any, y_pred: Any, confidence: float = CONFIDENCE) -> Interval:
    """The book's interval: ``sqrt(t.interval(conf, n-1, mean(se), sem(se)))`` on squared errors.

    A lower bound below zero (possible on tiny sets) is clipped to zero before the root.
    """
    squared = (np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float)) ** 2
    low, high = stats.t.interval(confidence, len(squared) - 1, loc=squared.mean(),
                                 scale=stats.sem(squared))
    return Interval(float(np.sqrt(max(low, 0.0))), float(np.sqrt(high)), confidence,
                    "t-interval on squared errors")


def bootstrap_interval(metric: Metric | str, predictions: Predictions,
                       confidence: float = CONFIDENCE, n_resamples: int = N_RESAMPLES,
                       seed: int = 0) -> Interval:
    """Percentile bootstrap over rows: resample rows with replacement, re-score, take quantiles.

    Written out rather than ``scipy.stats.bootstrap`` because small slices produce degenerate
    resamples (one class only, where ROC AUC is undefined); those are skipped, not fatal.
    """
    rng = np.random.default_rng(seed)
    n = len(predictions)
    values = np.full(n_resamples, np.nan)
    for i in range(n_resamples):
        rows = rng.integers(0, n, n)
        try:
            values[i] = score(metric, predictions.take(rows))
        except ValueError:
            continue
    values = values[np.isfinite(values)]
    if len(values) < n_resamples // 2:
        return Interval(float("nan"), float("nan"), confidence, "bootstrap (undefined)")
    alpha = (1 - confidence) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return Interval(float(low), float(high), confidence,
                    f"bootstrap percentile, {n_resamples} resamples")


def metric_interval(metric: Metric | str, predictions: Predictions,
                    confidence: float = CONFIDENCE, n_resamples: int = N_RESAMPLES,
                    seed: int = 0) -> Interval:
    """The interval the evaluation reports: the book's t-interval for RMSE, else bootstrap."""
    metric = get_metric(metric) if isinstance(metric, str) else metric
    if metric.name == "rmse":
        return rmse_t_interval(predictions.y_true, predictions.y_pred, confidence)
    return bootstrap_interval(metric, predictions, confidence, n_resamples, seed)

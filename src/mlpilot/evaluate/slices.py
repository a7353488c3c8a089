"""Scores per slice of the data: is the model much worse for some kind of row?

Why: the book (chapter 2) asks to check the errors per category of district (rich/poor,
rural/urban, ...) before launching, because a good overall score can hide a group the model
serves badly. Each slice gets the metric and its confidence interval (the same
:func:`~mlpilot.evaluate.intervals.metric_interval` as the whole test set), and is *flagged*
only when that interval lies entirely on the worse side of the overall score, so small slices,
whose scores are noisy, are not flagged by chance.

Slices: each category of a categorical column (categories with fewer than ``min_rows`` rows
pooled as ``"other (rare)"``), quantile buckets of a numeric column, and a ``"missing"`` slice
for missing values. A slice that still has fewer than ``min_rows`` rows is listed with its
count and a note but not scored.

Sign convention: ``gap`` is positive when the slice is *worse* than the whole, in the metric's
units (RMSE 52,000 against 41,000 overall: gap +11,000; accuracy 0.80 against 0.90: +0.10).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from mlpilot.evaluate.intervals import CONFIDENCE, metric_interval
from mlpilot.evaluate.metrics import Metric, get_metric
from mlpilot.evaluate.predictions import Predictions, score

RARE = "other (rare)"
MISSING = "missing"
COLUMNS = ["feature", "slice", "kind", "n", "share", "score", "low", "high", "overall", "gap",
           "worse", "note"]


def slice_metrics(X: pd.DataFrame, p: Predictions, metric: Metric | str, *,
                  categorical: Sequence[str] = (), numeric: Sequence[str] = (),
                  n_buckets: int = 5, min_rows: int = 30, confidence: float = CONFIDENCE,
                  n_resamples: int = 300, seed: int = 0) -> pd.DataFrame:
    """One row per slice (see :data:`COLUMNS`), features in the order given, slices in order.

    ``X`` holds the rows of ``p`` in the same order (its index is ignored).
    """
    metric = get_metric(metric) if isinstance(metric, str) else metric
    if len(X) != len(p):
        raise ValueError(f"X has {len(X)} rows but there are {len(p)} predictions")
    overall = _safe_score(metric, p)
    rows = [_slice_row(feature, label, kind, mask, note, p, metric, overall, min_rows,
                       confidence, n_resamples, seed)
            for feature, label, kind, mask, note in slice_groups(
                X, categorical=categorical, numeric=numeric, n_buckets=n_buckets,
                min_rows=min_rows)]
    table = pd.DataFrame(rows, columns=COLUMNS)
    table.attrs.update(metric=metric.name, overall=overall, confidence=confidence)
    return table


def slice_groups(X: pd.DataFrame, *, categorical: Sequence[str] = (),
                 numeric: Sequence[str] = (), n_buckets: int = 5, min_rows: int = 30
                 ) -> list[tuple[str, str, str, np.ndarray, str]]:
    """The slices themselves: ``(feature, label, kind, mask, note)`` for every group.

    Shared by :func:`slice_metrics` and the promotion gate, so both cut the rows alike.
    """
    out: list[tuple[str, str, str, np.ndarray, str]] = []
    for feature in [*categorical, *numeric]:
        kind = "category" if feature in categorical else "bucket"
        column = X[feature]
        groups = (_category_groups(column, min_rows) if kind == "category"
                  else _bucket_groups(column, n_buckets))
        out.extend((feature, label, kind, mask, note) for label, mask, note in groups)
    return out


def worst_slices(table: pd.DataFrame, k: int = 5) -> pd.DataFrame:
    """The ``k`` scored slices that do worst: flagged ones first, then by ``gap``."""
    scored = table[np.isfinite(table["score"].to_numpy(dtype=float))]
    return scored.sort_values(["worse", "gap"], ascending=[False, False],
                              kind="stable").head(k)


# ------------------------------------------------------------------------------ slicing
_Group = tuple[str, np.ndarray, str]  # label, boolean mask, note


def _category_groups(column: pd.Series, min_rows: int) -> list[_Group]:
    """Each frequent category, then the rare ones pooled, then the missing values."""
    values = column.to_numpy(dtype=object)
    missing = np.asarray(column.isna(), dtype=bool)
    counts = pd.Series(values[~missing]).value_counts(sort=False)
    order = _category_order(column.dtype, list(counts.index))
    groups: list[_Group] = []
    rare: list[tuple[Any, int]] = []
    for category in order:
        if counts[category] >= min_rows:
            groups.append((str(category), _equals(values, category, missing), ""))
        else:
            rare.append((category, int(counts[category])))
    if rare:
        mask = np.zeros(len(values), dtype=bool)
        for category, _ in rare:
            mask |= _equals(values, category, missing)
        pooled = ", ".join(f"{c} ({n})" for c, n in rare)
        groups.append((RARE, mask, f"categories with fewer than {min_rows} rows: {pooled}"))
    if missing.any():
        groups.append((MISSING, missing, ""))
    return groups


def _category_order(dtype: Any, present: list[Any]) -> list[Any]:
    """A pandas categorical's own order; otherwise sorted (as text when types are mixed)."""
    if isinstance(dtype, pd.CategoricalDtype):
        return [c for c in dtype.categories if c in set(present)]
    try:
        return sorted(present)
    except TypeError:
        return sorted(present, key=str)


def _equals(values: np.ndarray, category: Any, missing: np.ndarray) -> np.ndarray:
    return (values == category) & ~missing


def _bucket_groups(column: pd.Series, n_buckets: int) -> list[_Group]:
    """Quantile buckets, right-closed (``≤ a``, ``a – b``, ``> b``), then the missing values."""
    x = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    missing = np.isnan(x)
    groups: list[_Group] = []
    if (~missing).any():
        quantiles = np.quantile(x[~missing], np.linspace(0, 1, n_buckets + 1))
        inner = np.unique(quantiles[1:-1])
        # An edge at the maximum would leave an empty last bucket.
        inner = inner[inner < x[~missing].max()]
        labels = bucket_labels(inner)
        index = np.searchsorted(inner, x, side="left")
        for i, label in enumerate(labels):
            mask = (index == i) & ~missing
            if mask.any():
                groups.append((label, mask, ""))
    if missing.any():
        groups.append((MISSING, missing, ""))
    return groups


def bucket_labels(edges: np.ndarray) -> list[str]:
    """Readable labels of the buckets cut at ``edges``: ``≤ 2.35``, ``2.35 – 3.14``, ``> 5.2``."""
    if len(edges) == 0:
        return ["all"]
    text = _edge_texts(edges)
    labels = [f"≤ {text[0]}"]
    labels += [f"{a} – {b}" for a, b in pairwise(text)]
    labels.append(f"> {text[-1]}")
    return labels


def _edge_texts(edges: np.ndarray) -> list[str]:
    """Three significant digits, more only when two edges would otherwise read the same."""
    for digits in range(3, 10):
        text = [format_number(e, digits) for e in edges]
        if len(set(text)) == len(text):
            return text
    return [repr(float(e)) for e in edges]


def format_number(value: float, digits: int = 3) -> str:
    """``digits`` significant digits, thousands separated, no exponent or trailing zeros."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


# ------------------------------------------------------------------------------ scoring
def _safe_score(metric: Metric, p: Predictions) -> float:
    """The metric, or NaN where it is undefined (one class only for ROC AUC ...)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return score(metric, p)
    except ValueError:
        return float("nan")


def _slice_row(feature: str, label: str, kind: str, mask: np.ndarray, note: str,
               p: Predictions, metric: Metric, overall: float, min_rows: int,
               confidence: float, n_resamples: int, seed: int) -> dict[str, Any]:
    n = int(mask.sum())
    row: dict[str, Any] = {"feature": feature, "slice": label, "kind": kind, "n": n,
                           "share": n / len(p), "score": np.nan, "low": np.nan,
                           "high": np.nan, "overall": overall, "gap": np.nan,
                           "worse": False, "note": note}
    if n < min_rows:
        row["note"] = "; ".join(filter(None, [f"not scored: fewer than {min_rows} rows", note]))
        return row
    sub = p.take(mask)
    value = _safe_score(metric, sub)
    if not math.isfinite(value):
        row["note"] = "; ".join(filter(None, [f"{metric.label} undefined on this slice", note]))
        return row
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interval = metric_interval(metric, sub, confidence, n_resamples, seed)
    sign = 1.0 if metric.greater_is_better else -1.0
    worst_end = interval.high if metric.greater_is_better else interval.low
    row.update(score=value, low=interval.low, high=interval.high,
               gap=sign * (overall - value),
               worse=bool(math.isfinite(worst_end) and metric.better(overall, worst_end)))
    return row

"""Regression diagnostics: how big the errors are, which rows get the worst, and their shape.

Why: one RMSE hides whether a model is biased (always too low), whether its errors grow
with the price, or whether a cap in the data (the housing prices stop at 500,001) bends the
predictions. :func:`regression_summary` gathers what the report needs, as plain JSON, so that
its figures (:mod:`mlpilot.evaluate.regression_figures`) can be redrawn later without reading
the test set again. Errors are ``prediction − truth``: positive means the model said too much.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    max_error,
    mean_absolute_error,
    median_absolute_error,
    r2_score,
    root_mean_squared_error,
)

from mlpilot.evaluate.predictions import Predictions

#: Points kept for the scatter plots (a random sample above).
MAX_POINTS = 2_000
#: Bins of the residual histogram and of the residual trend.
HIST_BINS = 50
TREND_BINS = 20
#: A target value counts as a cap when at least this share of rows sits exactly on it.
CAP_SHARE = 0.005
#: "Close enough" for ``within_10pct``: |error| ≤ 10 % of the true value.
WITHIN = 0.10


def _single_target(p: Predictions) -> None:
    if p.task != "regression" or p.y_true.ndim != 1:
        raise ValueError("regression diagnostics take one numeric target at a time")


def worst_errors(X: pd.DataFrame, p: Predictions, k: int = 10) -> pd.DataFrame:
    """The ``k`` rows with the largest absolute error: their inputs, truth, prediction, error.

    ``X`` holds the rows of ``p`` in the same order; its index is kept to name the rows.
    """
    _single_target(p)
    errors = p.errors
    order = np.argsort(-np.abs(errors), kind="stable")[:k]
    table = X.iloc[order].copy()
    table["truth"] = p.y_true[order]
    table["prediction"] = p.y_pred[order]
    table["error"] = errors[order]
    return table


def residual_summary(p: Predictions) -> dict[str, float]:
    """RMSE, MAE, median absolute error, R², bias (mean error), share within ±10 % and more."""
    _single_target(p)
    y, pred, errors = p.y_true, p.y_pred, p.errors
    close = np.abs(errors) <= WITHIN * np.abs(y)
    return {
        "n": len(p),
        "rmse": float(root_mean_squared_error(y, pred)),
        "mae": float(mean_absolute_error(y, pred)),
        "median_abs_error": float(median_absolute_error(y, pred)),
        "max_abs_error": float(max_error(y, pred)),
        "r2": float(r2_score(y, pred)),
        "bias": float(errors.mean()),
        "error_std": float(errors.std(ddof=1)) if len(p) > 1 else 0.0,
        "within_10pct": float(close.mean()),
    }


def regression_summary(X: pd.DataFrame, p: Predictions, *, k: int = 10,
                       max_points: int = MAX_POINTS, seed: int = 0) -> dict[str, Any]:
    """Everything the report shows about a regressor's errors, as JSON-ready values."""
    _single_target(p)
    return {
        "residuals": residual_summary(p),
        "sample": _sample(p, max_points, seed),
        "caps": target_caps(p.y_true),
        "range": {"truth": _span(p.y_true), "prediction": _span(p.y_pred)},
        "histogram": _histogram(p.errors),
        "trend": _trend(p.y_pred, p.errors),
        "worst": _records(worst_errors(X, p, k)),
    }


def target_caps(y: np.ndarray, min_share: float = CAP_SHARE) -> list[dict[str, Any]]:
    """Extreme target values many rows sit on exactly (a censored target, e.g. 500,001)."""
    caps = []
    for side, value in (("max", np.max(y)), ("min", np.min(y))):
        n = int(np.sum(y == value))
        if n >= 2 and n / len(y) >= min_share:
            caps.append({"side": side, "value": float(value), "n": n, "share": n / len(y)})
    return caps


def _span(values: np.ndarray) -> list[float]:
    return [float(np.min(values)), float(np.max(values))]


def _sample(p: Predictions, max_points: int, seed: int) -> dict[str, list[float]]:
    """Truth and prediction of at most ``max_points`` random rows, for the scatter plots."""
    rows = np.arange(len(p))
    if len(p) > max_points:
        rows = np.sort(np.random.default_rng(seed).choice(len(p), max_points, replace=False))
    return {"truth": p.y_true[rows].astype(float).tolist(),
            "prediction": p.y_pred[rows].astype(float).tolist()}


def _histogram(errors: np.ndarray, bins: int = HIST_BINS) -> dict[str, list[float]]:
    counts, edges = np.histogram(errors, bins=bins)
    return {"counts": counts.astype(int).tolist(), "edges": edges.astype(float).tolist()}


def _trend(pred: np.ndarray, errors: np.ndarray,
           bins: int = TREND_BINS) -> dict[str, list[float]]:
    """Mean error per quantile bin of the prediction: a cheap smoother of the residual plot."""
    edges = np.unique(np.quantile(pred, np.linspace(0, 1, bins + 1)))
    index = np.clip(np.searchsorted(edges, pred, side="right") - 1, 0, max(len(edges) - 2, 0))
    frame = pd.DataFrame({"bin": index, "x": pred, "y": errors}).groupby("bin").mean()
    return {"prediction": frame["x"].astype(float).tolist(),
            "mean_error": frame["y"].astype(float).tolist()}


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON objects (NaN as null, dates as ISO text), the original row label as "row"."""
    table = table.rename_axis("row").reset_index()
    result: list[dict[str, Any]] = json.loads(
        table.to_json(orient="records", date_format="iso", default_handler=str))
    return result

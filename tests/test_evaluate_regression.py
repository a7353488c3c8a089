"""Regression diagnostics: worst errors, residual numbers against scikit-learn, figures, JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    mean_absolute_error,
    median_absolute_error,
    r2_score,
    root_mean_squared_error,
)

from mlpilot.evaluate.predictions import Predictions
from mlpilot.evaluate.regression import (
    regression_summary,
    residual_summary,
    target_caps,
    worst_errors,
)
from mlpilot.evaluate.regression_figures import (
    predicted_vs_actual_figure,
    residual_histogram_figure,
    residuals_figure,
    slices_figure,
)
from mlpilot.evaluate.slices import slice_metrics

PNG = b"\x89PNG"


@pytest.fixture
def data() -> tuple[pd.DataFrame, Predictions]:
    """Prices capped at 500,001 like the housing data, a category, dates and missing values."""
    rng = np.random.default_rng(0)
    n = 3_000
    X = pd.DataFrame({"income": rng.uniform(1, 10, n),
                      "kind": rng.choice(["a", "b", "c"], n),
                      "when": pd.date_range("2020-01-01", periods=n, freq="h"),
                      "gap": np.where(rng.random(n) < 0.1, np.nan, 1.0)},
                     index=np.arange(n) + 1_000)
    truth = np.minimum(60_000 * X["income"].to_numpy() + rng.normal(0, 30_000, n), 500_001)
    pred = truth + rng.normal(2_000, 25_000, n)
    return X, Predictions("regression", truth, pred)


def test_worst_errors_are_the_largest(data: tuple[pd.DataFrame, Predictions]) -> None:
    X, p = data
    worst = worst_errors(X, p, k=10)
    assert len(worst) == 10
    assert list(worst.columns) == [*X.columns, "truth", "prediction", "error"]
    threshold = np.abs(worst["error"]).min()
    others = np.abs(p.errors[~X.index.isin(worst.index)])
    assert (others <= threshold).all()
    assert np.abs(worst["error"]).is_monotonic_decreasing
    row = worst.index[0]  # the index names the rows, and the inputs are theirs
    position = X.index.get_loc(row)
    assert worst.loc[row, "truth"] == p.y_true[position]
    assert worst.loc[row, "error"] == pytest.approx(p.y_pred[position] - p.y_true[position])


def test_residual_summary_matches_sklearn(data: tuple[pd.DataFrame, Predictions]) -> None:
    _, p = data
    s = residual_summary(p)
    assert s["rmse"] == pytest.approx(root_mean_squared_error(p.y_true, p.y_pred))
    assert s["mae"] == pytest.approx(mean_absolute_error(p.y_true, p.y_pred))
    assert s["median_abs_error"] == pytest.approx(median_absolute_error(p.y_true, p.y_pred))
    assert s["r2"] == pytest.approx(r2_score(p.y_true, p.y_pred))
    assert s["bias"] == pytest.approx(np.mean(p.y_pred - p.y_true))
    close = np.abs(p.y_pred - p.y_true) <= 0.1 * np.abs(p.y_true)
    assert s["within_10pct"] == pytest.approx(close.mean())
    assert s["n"] == len(p)


def test_summary_is_json_and_downsampled(data: tuple[pd.DataFrame, Predictions]) -> None:
    X, p = data
    summary = regression_summary(X, p, k=5)
    text = json.dumps(summary, allow_nan=False)
    assert json.loads(text)["residuals"]["n"] == len(p)
    assert len(summary["sample"]["truth"]) == 2_000 == len(summary["sample"]["prediction"])
    assert sum(summary["histogram"]["counts"]) == len(p)
    assert len(summary["worst"]) == 5 and summary["worst"][0]["row"] in set(X.index)
    assert summary["caps"][0]["side"] == "max" and summary["caps"][0]["value"] == 500_001


def test_small_sets_keep_every_point() -> None:
    p = Predictions("regression", np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.0, 2.0]))
    summary = regression_summary(pd.DataFrame({"x": [1, 2, 3]}), p)
    assert summary["sample"]["truth"] == [1.0, 2.0, 3.0]
    json.dumps(summary, allow_nan=False)


def test_caps_need_many_rows_on_the_extreme() -> None:
    assert target_caps(np.arange(1_000.0)) == []
    y = np.r_[np.arange(1_000.0), [2_000.0] * 20]
    assert target_caps(y) == [{"side": "max", "value": 2_000.0, "n": 20, "share": 20 / 1_020}]


def test_classification_predictions_are_refused() -> None:
    p = Predictions("binary", np.array([0, 1]), np.array([0, 1]))
    with pytest.raises(ValueError, match="regression"):
        residual_summary(p)


def test_figures_are_png(data: tuple[pd.DataFrame, Predictions]) -> None:
    X, p = data
    summary = json.loads(json.dumps(regression_summary(X, p)))  # as the report reads it back
    for figure in (predicted_vs_actual_figure, residuals_figure, residual_histogram_figure):
        assert figure(summary).startswith(PNG)
    table = slice_metrics(X, p, "rmse", categorical=["kind"], numeric=["income", "gap"],
                          n_resamples=50)
    assert slices_figure(table, "RMSE").startswith(PNG)
    assert slices_figure(table.iloc[:0], "RMSE").startswith(PNG)


def test_slices_figure_from_json_records(data: tuple[pd.DataFrame, Predictions]) -> None:
    """The report redraws the slices from stored JSON, where NaN scores became null."""
    X, p = data
    X = X.assign(kind=np.where(np.arange(len(X)) < 5, "rare", X["kind"]))
    table = slice_metrics(X, p, "rmse", categorical=["kind"], n_resamples=20)
    records = json.loads(table.to_json(orient="records"))
    assert any(r["score"] is None for r in records)
    assert slices_figure(pd.DataFrame(records), "RMSE").startswith(PNG)

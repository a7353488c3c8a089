"""Per-slice metrics: a much worse group is flagged, a fine one is not, every row is counted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlpilot.evaluate.predictions import Predictions
from mlpilot.evaluate.slices import (
    COLUMNS,
    MISSING,
    RARE,
    bucket_labels,
    format_number,
    slice_metrics,
    worst_slices,
)

N = 2_000


def regression_data(seed: int = 0) -> tuple[pd.DataFrame, Predictions]:
    """Region "bad" gets errors four times larger than the others."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["good", "fine", "bad"], N, p=[0.5, 0.3, 0.2])
    X = pd.DataFrame({"region": region, "size": rng.lognormal(0, 1, N)})
    truth = rng.normal(100, 20, N)
    noise = np.where(region == "bad", 40.0, 10.0)
    return X, Predictions("regression", truth, truth + rng.normal(0, noise))


def binary_data(seed: int = 0) -> tuple[pd.DataFrame, Predictions]:
    """Group "bad" gets random labels; group "pure" holds one class only."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["ok", "bad", "pure"], N, p=[0.6, 0.25, 0.15])
    y = np.where(group == "pure", 1, rng.integers(0, 2, N))
    informative = np.where(y == 1, 0.8, 0.2) + rng.normal(0, 0.15, N)
    scores = np.clip(np.where(group == "bad", rng.random(N), informative), 0, 1)
    pred = (scores >= 0.5).astype(int)
    proba = np.column_stack([1 - scores, scores])
    p = Predictions("binary", y, pred, proba, scores, np.array([0, 1]))
    return pd.DataFrame({"group": group}), p


def row(table: pd.DataFrame, feature: str, label: str) -> pd.Series:
    found = table[(table["feature"] == feature) & (table["slice"] == label)]
    assert len(found) == 1, (feature, label)
    return found.iloc[0]


def test_much_worse_category_is_flagged_and_fine_one_is_not() -> None:
    X, p = regression_data()
    table = slice_metrics(X, p, "rmse", categorical=["region"], n_resamples=100)
    assert list(table.columns) == COLUMNS
    bad, fine = row(table, "region", "bad"), row(table, "region", "fine")
    assert bad["worse"] and bad["gap"] > 0 and bad["low"] > bad["overall"]
    assert not fine["worse"] and fine["gap"] < 0
    assert not row(table, "region", "good")["worse"]
    assert worst_slices(table, 1)["slice"].tolist() == ["bad"]
    assert table["share"].sum() == pytest.approx(1.0)


@pytest.mark.parametrize("metric", ["accuracy", "roc_auc"])
def test_classification_metrics_flag_the_bad_group(metric: str) -> None:
    X, p = binary_data()
    table = slice_metrics(X, p, metric, categorical=["group"], n_resamples=100)
    bad = row(table, "group", "bad")
    assert bad["worse"] and bad["gap"] > 0 and bad["high"] < bad["overall"]
    assert not row(table, "group", "ok")["worse"]


def test_one_class_slice_gives_nan_for_roc_auc() -> None:
    X, p = binary_data()
    pure = row(slice_metrics(X, p, "roc_auc", categorical=["group"], n_resamples=50),
               "group", "pure")
    assert np.isnan(pure["score"]) and np.isnan(pure["low"]) and not pure["worse"]
    assert "undefined" in pure["note"]


def test_buckets_cover_every_row_once() -> None:
    X, p = regression_data()
    table = slice_metrics(X, p, "mae", numeric=["size"], n_buckets=4, n_resamples=50)
    assert (table["kind"] == "bucket").all()
    assert table["n"].sum() == N and len(table) == 4
    labels = table["slice"].tolist()
    assert labels[0].startswith("≤ ") and labels[-1].startswith("> ") and " – " in labels[1]
    # the buckets are quantiles: about a quarter of the rows each
    assert table["n"].between(N / 4 - 5, N / 4 + 5).all()


def test_tied_values_give_fewer_buckets() -> None:
    X, p = regression_data()
    X["rooms"] = np.where(np.arange(N) % 10 == 0, 2, 1)
    table = slice_metrics(X, p, "rmse", numeric=["rooms"], n_resamples=20)
    assert table["slice"].tolist() == ["≤ 1", "> 1"] and table["n"].sum() == N


def test_missing_values_get_their_own_slice() -> None:
    X, p = regression_data()
    X.loc[:99, "size"] = np.nan
    X.loc[100:139, "region"] = None
    table = slice_metrics(X, p, "rmse", categorical=["region"], numeric=["size"],
                          n_resamples=20)
    for feature, count in (("size", 100), ("region", 40)):
        missing = row(table, feature, MISSING)
        assert missing["n"] == count and np.isfinite(missing["score"])
        assert table.loc[table["feature"] == feature, "n"].sum() == N
        assert table[table["feature"] == feature]["slice"].iloc[-1] == MISSING


def test_rare_categories_are_pooled() -> None:
    X, p = regression_data()
    X.loc[:9, "region"] = "island"
    X.loc[10:14, "region"] = "lake"
    table = slice_metrics(X, p, "rmse", categorical=["region"], min_rows=30, n_resamples=20)
    rare = row(table, "region", RARE)
    assert rare["n"] == 15 and np.isnan(rare["score"]) and not rare["worse"]
    assert "island (10)" in rare["note"] and "lake (5)" in rare["note"]
    assert "island" not in set(table["slice"])
    assert table["n"].sum() == N


def test_pooled_rare_categories_are_scored_when_enough() -> None:
    X, p = regression_data()
    X.loc[:19, "region"] = "island"
    X.loc[20:39, "region"] = "lake"
    rare = row(slice_metrics(X, p, "rmse", categorical=["region"], n_resamples=20),
               "region", RARE)
    assert rare["n"] == 40 and np.isfinite(rare["score"])


def test_categories_keep_a_categorical_order() -> None:
    X, p = regression_data()
    X["region"] = pd.Categorical(X["region"], categories=["good", "fine", "bad"])
    table = slice_metrics(X, p, "rmse", categorical=["region"], n_resamples=20)
    assert table["slice"].tolist() == ["good", "fine", "bad"]


def test_rows_must_match() -> None:
    X, p = regression_data()
    with pytest.raises(ValueError, match="rows"):
        slice_metrics(X.iloc[:10], p, "rmse", categorical=["region"])


@pytest.mark.parametrize(("value", "text"), [
    (2.3456, "2.35"), (500_001.0, "500,001"), (0.001234, "0.00123"), (18.0, "18"),
    (-4.5, "-4.5"), (0.0, "0"), (1234.5, "1,234")])
def test_format_number(value: float, text: str) -> None:
    assert format_number(value) == text


def test_bucket_labels_add_digits_when_needed() -> None:
    assert bucket_labels(np.array([2.351, 2.354])) == ["≤ 2.351", "2.351 – 2.354", "> 2.354"]
    assert bucket_labels(np.array([])) == ["all"]

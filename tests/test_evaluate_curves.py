"""Learning and validation curves, and the key hyperparameter of each family."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.neighbors import KNeighborsRegressor
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

from mlpilot.evaluate.curves import (
    key_parameter,
    learning_curve_figure,
    learning_curve_table,
    validation_curve_figure,
    validation_curve_table,
)
from mlpilot.evaluate.metrics import get_metric
from mlpilot.models.zoo import ALL_TASKS, Candidate, all_candidates, available, get_candidate
from mlpilot.search.shortlist import build_pipeline

PNG = b"\x89PNG"


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    with threadpool_limits(limits=1):
        yield


def wavy(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A smooth non-linear target: kNN needs many rows to trace it."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.uniform(-3, 3, size=(n, 2)), columns=["a", "b"])
    y = np.sin(2 * X["a"].to_numpy()) * np.cos(X["b"].to_numpy()) + rng.normal(0, 0.1, n)
    return X, y


def noisy_labels(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    y = ((X["a"] + rng.normal(0, 1, n)) > 0).astype(int).to_numpy()
    return X, y


def test_validation_error_falls_with_more_rows() -> None:
    X, y = wavy()
    table = learning_curve_table(KNeighborsRegressor(n_neighbors=10), X, y,
                                 scoring=get_metric("rmse"),
                                 cv=KFold(5, shuffle=True, random_state=0))
    assert list(table.columns) == ["train_size", "train_mean", "train_std", "validation_mean",
                                   "validation_std", "fit_time"]
    assert table["train_size"].tolist() == [48, 120, 240, 360, 480]
    assert (table["validation_mean"] > 0).all()  # RMSE in its natural sign
    assert table["validation_mean"].iloc[-1] < 0.6 * table["validation_mean"].iloc[0]
    assert table["validation_mean"].is_monotonic_decreasing


def test_deep_tree_scores_better_on_training_rows() -> None:
    X, y = noisy_labels()
    table = learning_curve_table(DecisionTreeClassifier(random_state=0), X, y,
                                 scoring=get_metric("accuracy"),
                                 cv=StratifiedKFold(3, shuffle=True, random_state=0),
                                 train_sizes=(0.3, 1.0))
    assert (table["train_mean"] == 1.0).all()
    assert (table["train_mean"] >= table["validation_mean"]).all()
    assert learning_curve_figure(table, "accuracy").startswith(PNG)


def test_validation_curve_over_tree_depth() -> None:
    X, y = noisy_labels()
    values = [1, 2, 4, 8, None]
    table = validation_curve_table(DecisionTreeClassifier(random_state=0), X, y,
                                   param_name="max_depth", values=values,
                                   scoring=get_metric("log_loss"),
                                   cv=StratifiedKFold(3, shuffle=True, random_state=0))
    assert table["value"].tolist() == values
    assert table["train_mean"].is_monotonic_decreasing  # deeper: lower training loss
    assert table["validation_mean"].iloc[-1] > table["validation_mean"].iloc[0]  # overfits
    assert validation_curve_figure(table, "model__max_depth", "log loss").startswith(PNG)


def test_validation_curve_figure_on_a_log_range() -> None:
    X, y = wavy(200)
    table = validation_curve_table(KNeighborsRegressor(), X, y, param_name="n_neighbors",
                                   values=[1, 3, 10, 30, 100], scoring=get_metric("r2"),
                                   cv=KFold(3, shuffle=True, random_state=0))
    assert table["train_mean"].iloc[0] == pytest.approx(1.0)
    assert validation_curve_figure(table, "n_neighbors", "R²").startswith(PNG)


CASES = [(c, task) for c in all_candidates() for task in sorted(ALL_TASKS)
         if c.supports(task) and available(c) and c.key_param is not None]


@pytest.mark.parametrize(("candidate", "task"), CASES,
                         ids=[f"{c.name}-{t}" for c, t in CASES])
def test_key_parameter_is_a_pipeline_parameter(candidate: Candidate, task: str) -> None:
    found = key_parameter(candidate, task)
    if found is None:  # the family has nothing to tune for this task
        key = str(candidate.key_param).split("__")[-1]
        assert not any(k.split("__")[-1] == key for k in candidate.space_for(task))
        return
    name, values = found
    assert name in build_pipeline(candidate, StandardScaler(), task, 0).get_params()
    assert len(values) >= 2 and len(set(map(repr, values))) == len(values)


def test_every_default_family_but_the_baseline_has_a_key_parameter() -> None:
    missing = [c.name for c in all_candidates()
               if c.default and c.family != "baseline" and c.key_param is None]
    assert missing == []


def test_key_parameter_values() -> None:
    assert key_parameter(get_candidate("ridge"), "regression") == (
        "model__alpha", [0.001, 0.03162, 1.0, 31.62, 1000.0])
    name, values = key_parameter(get_candidate("knn"), "binary")  # type: ignore[misc]
    assert name == "model__n_neighbors" and all(isinstance(v, int) for v in values)
    assert key_parameter(get_candidate("svm_rbf"), "regression")[0] == (  # type: ignore[index]
        "model__estimator__regressor__C")
    assert key_parameter(get_candidate("linear"), "regression") is None  # LinearRegression
    assert key_parameter(get_candidate("dummy"), "binary") is None

"""The model zoo: every candidate builds, fits and predicts for each task it claims, its search
space names real parameters, seeds make it deterministic, and the shortlist rules hold."""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import get_scorer
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from mlpilot.errors import ConfigError
from mlpilot.features import CategoryCodes
from mlpilot.models import (
    ALL_TASKS,
    Candidate,
    Subsampled,
    all_candidates,
    available,
    baseline_candidates,
    default_candidates,
    get_candidate,
    zoo,
)
from mlpilot.search.shortlist import build_pipeline

NUMERIC = ["a", "b", "c"]
N_TRAIN = 100
TASK_ORDER = ("regression", "binary", "multiclass", "multilabel")


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """As in the shortlist's parallel folds: OpenMP models (HGB) on one thread each; on a busy
    2-core machine their default thread pool can make a 0.1 s fit take seconds."""
    with threadpool_limits(limits=1):
        yield


# ----------------------------------------------------------------------------- data
def make_table(task: str, seed: int = 0, n: int = 120) -> tuple[pd.DataFrame, Any]:
    """Three numeric columns and one categorical (with missing values); the last rows hold a
    category never seen in training. Labels are strings, as users' CSVs have them."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=NUMERIC)
    city = rng.choice(["paris", "lyon", "nice"], size=n).astype(object)
    city[rng.random(n) < 0.1] = None
    city[N_TRAIN + 15:] = "brest"  # unseen at fit time
    X["city"] = city
    signal = X["a"] + 0.5 * X["b"] + (X["city"] == "paris") + rng.normal(scale=0.3, size=n)
    if task == "regression":
        return X, pd.Series(50_000 + 20_000 * signal, name="price")  # unscaled target
    if task == "binary":
        return X, pd.Series(np.where(signal > 0.3, "yes", "no"), name="label")
    if task == "multiclass":
        return X, pd.Series(pd.qcut(signal, 3, labels=["low", "mid", "high"]).astype(str))
    labels = pd.DataFrame({"large": (signal > 0.3).astype(int),
                           "odd": (X["c"] + rng.normal(scale=0.3, size=n) > 0).astype(int)})
    return X, labels


def preprocessors() -> dict[str, BaseEstimator]:
    scaled = ColumnTransformer([
        ("num", StandardScaler(), NUMERIC),
        ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["city"]),
    ])
    tree = ColumnTransformer([("num", "passthrough", NUMERIC), ("cat", CategoryCodes(), ["city"])],
                             verbose_feature_names_out=False).set_output(transform="pandas")
    return {"scaled": scaled, "tree": tree}


def split(X: pd.DataFrame, y: Any) -> tuple[pd.DataFrame, pd.DataFrame, Any, Any]:
    return X.iloc[:N_TRAIN], X.iloc[N_TRAIN:], y.iloc[:N_TRAIN], y.iloc[N_TRAIN:]


def fitted(candidate: Candidate, task: str, seed: int = 0,
           params: dict[str, Any] | None = None) -> tuple[Pipeline, pd.DataFrame, Any]:
    X, y = make_table(task)
    X_train, X_test, y_train, y_test = split(X, y)
    pipeline = build_pipeline(candidate, preprocessors(), task, seed)
    if params:
        pipeline.set_params(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings on 100 rows
        pipeline.fit(X_train, y_train)
    return pipeline, X_test, y_test


def pairs() -> list[Any]:
    return [pytest.param(candidate, task, id=f"{candidate.name}-{task}")
            for candidate in all_candidates() for task in TASK_ORDER if candidate.supports(task)]


def skip_unavailable(candidate: Candidate) -> None:
    if not available(candidate):
        pytest.skip(f"{candidate.requires} is not installed")


# ----------------------------------------------------------------------------- every family
@pytest.mark.parametrize(("candidate", "task"), pairs())
def test_builds_fits_and_predicts(candidate: Candidate, task: str) -> None:
    skip_unavailable(candidate)
    pipeline, X_test, y_test = fitted(candidate, task)
    pred = pipeline.predict(X_test)
    assert len(pred) == len(X_test)
    if task == "regression":
        assert np.isfinite(np.asarray(pred, dtype=float)).all()
    elif task == "multilabel":
        assert np.asarray(pred).shape == y_test.shape
        assert set(np.unique(pred)) <= {0, 1}
    else:
        assert set(pred) <= set(y_test) | set(make_table(task)[1])
        assert list(pipeline.classes_) == sorted(set(make_table(task)[1]))
    if task == "binary":
        auc = get_scorer("roc_auc")(pipeline, X_test, y_test)
        assert 0.0 <= auc <= 1.0
        if candidate.name != "dummy":
            assert auc > 0.6, "a real model should find the signal"
    if task == "multiclass" and hasattr(pipeline, "predict_proba"):
        proba = pipeline.predict_proba(X_test)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize(("candidate", "task"), pairs())
def test_space_names_are_real_parameters(candidate: Candidate, task: str) -> None:
    skip_unavailable(candidate)
    space = candidate.space_for(task)
    assert set(candidate.space) <= set(space)
    prefix = "model__" + candidate.param_prefix(task)
    pipeline = build_pipeline(candidate, preprocessors(), task, 0)
    for name, dim in space.items():
        for value in dim.grid(3):
            pipeline.set_params(**{prefix + name: value})  # raises on an unknown name
    if not space:
        return
    # the low end of every range is a value the model accepts
    low = {prefix + name: dim.grid(2)[0] for name, dim in space.items()}
    pipeline, X_test, _ = fitted(candidate, task, params=low)
    assert len(pipeline.predict(X_test)) == len(X_test)


@pytest.mark.parametrize("candidate", [pytest.param(c, id=c.name) for c in all_candidates()])
def test_same_seed_same_predictions(candidate: Candidate) -> None:
    skip_unavailable(candidate)
    task = next(t for t in ("regression", "binary") if candidate.supports(t))
    first, X_test, _ = fitted(candidate, task, seed=7)
    second, _, _ = fitted(candidate, task, seed=7)
    np.testing.assert_allclose(scores(first, X_test), scores(second, X_test))


def scores(pipeline: Pipeline, X: pd.DataFrame) -> np.ndarray:
    """Regression predictions, else probabilities (or decision scores where there are none)."""
    for method in ("predict_proba", "decision_function", "predict"):
        if hasattr(pipeline, method):
            return np.asarray(getattr(pipeline, method)(X), dtype=float)
    raise AssertionError("no prediction method")  # pragma: no cover


def test_models_are_single_threaded() -> None:
    for candidate in all_candidates():
        if not available(candidate):
            continue
        for task in candidate.tasks:
            params = candidate.build(task, 0).get_params(deep=True)
            for key, value in params.items():
                if key.endswith("n_jobs") and value is not None:
                    assert value == 1, (candidate.name, task, key)


def test_tree_families_read_the_tree_preparation() -> None:
    prep = {c.name: c.prep for c in all_candidates()}
    for name in ("decision_tree", "random_forest", "extra_trees", "adaboost",
                 "gradient_boosting", "hist_gradient_boosting", "lightgbm", "xgboost"):
        assert prep[name] == "tree"
    for name in ("dummy", "linear", "knn", "svm_rbf", "naive_bayes", "polynomial_ridge"):
        assert prep[name] == "scaled"


# ----------------------------------------------------------------------------- LightGBM / XGBoost
@pytest.mark.parametrize("name", ["lightgbm", "xgboost"])
def test_boosting_libraries_take_string_labels(name: str) -> None:
    candidate = get_candidate(name)
    skip_unavailable(candidate)
    pipeline, X_test, y_test = fitted(candidate, "binary")
    assert list(pipeline.classes_) == ["no", "yes"]
    pred = pipeline.predict(X_test)
    assert set(pred) <= {"no", "yes"}
    proba = pipeline.predict_proba(X_test)
    # the "yes" column is the probability of "yes": it agrees with the predictions
    np.testing.assert_array_equal(np.where(proba[:, 1] > 0.5, "yes", "no"), pred)
    assert get_scorer("roc_auc")(pipeline, X_test, y_test) > 0.6
    # fitted models survive pickling (joblib) and clone keeps the library's parameters
    restored = pickle.loads(pickle.dumps(pipeline))
    np.testing.assert_array_equal(restored.predict(X_test), pred)
    model = pipeline.named_steps["model"]
    assert clone(model).get_params()["n_estimators"] == model.get_params()["n_estimators"]


def test_xgboost_refit_with_other_labels() -> None:
    candidate = get_candidate("xgboost")
    skip_unavailable(candidate)
    X, y = make_table("multiclass")
    X_train, X_test, y_train, _ = split(X, y)
    pipeline = build_pipeline(candidate, preprocessors(), "multiclass", 0)
    pipeline.fit(X_train, y_train)
    assert set(pipeline.predict(X_test)) <= {"low", "mid", "high"}
    pipeline.fit(X_train, y_train.map({"low": 0, "mid": 1, "high": 2}))
    assert list(pipeline.classes_) == [0, 1, 2]


def test_optional_libraries_are_imported_lazily() -> None:
    code = ("import sys, mlpilot.models as m; m.default_candidates('binary', 1000); "
            "m.get_candidate('xgboost').param_prefix; "
            "print('lightgbm' in sys.modules, 'xgboost' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


def test_unavailable_library_is_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    ghost = Candidate("ghost", "boosting", 21, lambda task, seed: Ridge(),
                      requires="no_such_library_for_mlpilot")
    assert not available(ghost)
    real = zoo.all_candidates()
    monkeypatch.setattr(zoo, "all_candidates", lambda: sorted([*real, ghost],
                                                              key=lambda c: c.cost))
    assert "ghost" not in [c.name for c in default_candidates("regression", 1000)]
    with pytest.raises(ConfigError, match="no_such_library_for_mlpilot"):
        default_candidates("regression", 1000, names=["ghost"])


# ----------------------------------------------------------------------------- Subsampled
def _expected_failures(estimator: BaseEstimator) -> dict[str, str]:
    if estimator.get_params()["max_rows"] < 100:  # the checks' data is subsampled
        return {"check_dtype_object": "a bad value in a row left out of the subset is not seen"}
    return {}


@parametrize_with_checks([Subsampled(Ridge(), max_rows=10_000, random_state=0),
                          Subsampled(LogisticRegression(), max_rows=10_000, random_state=0),
                          Subsampled(Ridge(), max_rows=20, random_state=0),
                          Subsampled(LogisticRegression(), max_rows=20, random_state=0)],
                         expected_failed_checks=_expected_failures)
def test_subsampled_passes_estimator_checks(estimator: BaseEstimator, check: Any) -> None:
    check(estimator)


def test_subsampled_fits_on_a_stratified_subset() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 2))
    y = np.array(["a"] * 890 + ["b"] * 100 + ["c"] * 9 + ["d"])
    model = Subsampled(KNeighborsClassifier(), max_rows=100, random_state=0).fit(X, y)
    idx = model.sample_indices_
    assert len(idx) == 100 and len(np.unique(idx)) == 100 and np.all(np.diff(idx) > 0)
    assert model.estimator_.n_samples_fit_ == 100
    counts = pd.Series(y[idx]).value_counts()
    assert counts["a"] in (88, 89, 90) and counts["b"] in (9, 10, 11)
    assert counts["d"] == 1  # a class with one row is kept
    assert list(model.classes_) == ["a", "b", "c", "d"]
    assert model.predict(X).shape == (1000,)
    assert model.predict_proba(X).shape == (1000, 4)
    again = Subsampled(KNeighborsClassifier(), max_rows=100, random_state=0).fit(X, y)
    np.testing.assert_array_equal(again.sample_indices_, idx)
    other = Subsampled(KNeighborsClassifier(), max_rows=100, random_state=1).fit(X, y)
    assert not np.array_equal(other.sample_indices_, idx)


def test_subsampled_regressor_and_small_data() -> None:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(500, 3)), rng.normal(size=500)
    model = Subsampled(KNeighborsRegressor(), max_rows=50, random_state=0).fit(X, y)
    assert len(model.sample_indices_) == 50
    assert model.estimator_.n_samples_fit_ == 50
    assert not hasattr(model, "classes_")
    assert not hasattr(model, "predict_proba")
    small = Subsampled(KNeighborsRegressor(), max_rows=500).fit(X, y)
    assert small.sample_indices_ is None and small.estimator_.n_samples_fit_ == 500


def test_subsampled_forwards_only_what_the_model_has() -> None:
    model = Subsampled(SVC())
    assert hasattr(model, "decision_function") and not hasattr(model, "predict_proba")
    X = np.random.default_rng(0).normal(size=(60, 2))
    y = np.where(X[:, 0] > 0, "yes", "no")
    model.fit(X, y)
    assert get_scorer("roc_auc")(model, X, y) > 0.9


# ----------------------------------------------------------------------------- the shortlist
@pytest.mark.parametrize("task", TASK_ORDER)
def test_default_candidates_sorted_and_for_the_task(task: str) -> None:
    chosen = default_candidates(task, n_rows=5_000, n_features=20)
    costs = [c.cost for c in chosen]
    assert costs == sorted(costs)
    assert all(c.supports(task) and c.default and available(c) for c in chosen)
    assert chosen[0].name == "dummy"
    assert 8 <= len(chosen) <= 12
    names = [c.name for c in chosen]
    assert {"linear", "hist_gradient_boosting", "random_forest", "svm_rbf"} <= set(names)
    assert ("naive_bayes" in names) == (task != "regression")


def test_default_candidates_leave_out_hopeless_families() -> None:
    big = [c.name for c in default_candidates("regression", n_rows=1_000_000, n_features=20)]
    assert "svm_rbf" not in big and "knn" not in big
    assert "hist_gradient_boosting" in big
    wide = [c.name for c in default_candidates("regression", n_rows=5_000, n_features=500)]
    assert "polynomial_ridge" not in wide and "knn" not in wide
    assert "polynomial_ridge" in [c.name for c in default_candidates("regression", 5_000)]


def test_default_candidates_by_name() -> None:
    chosen = default_candidates("binary", 1_000_000, names=["svm_rbf", "dummy", "linear_svm"])
    assert [c.name for c in chosen] == ["dummy", "linear_svm", "svm_rbf"]
    with pytest.raises(ConfigError, match="cannot do regression"):
        default_candidates("regression", 100, names=["naive_bayes"])
    with pytest.raises(ConfigError, match="unknown model"):
        default_candidates("binary", 100, names=["nope"])
    with pytest.raises(ConfigError, match="unknown task"):
        default_candidates("ranking", 100)


def test_get_candidate() -> None:
    assert get_candidate("random_forest").family == "forest"
    with pytest.raises(ConfigError) as excinfo:
        get_candidate("random_forrest")
    assert excinfo.value.hint is not None and "random_forest" in excinfo.value.hint


def test_catalogue_is_consistent() -> None:
    candidates = all_candidates()
    names = [c.name for c in candidates]
    assert len(names) == len(set(names))
    assert [c.cost for c in candidates] == sorted(c.cost for c in candidates)
    for c in candidates:
        assert c.tasks <= ALL_TASKS and c.prep in ("scaled", "tree") and c.summary
        assert set(c.task_spaces) <= c.tasks
    costs = {c.name: c.cost for c in candidates}
    assert costs["dummy"] == 0
    assert costs["linear"] < costs["naive_bayes"] < costs["knn"] < costs["hist_gradient_boosting"]
    assert costs["hist_gradient_boosting"] < costs["lightgbm"] < costs["xgboost"]
    # the RBF SVM trains on at most 10,000 rows: bounded, unlike a forest's full trees
    assert costs["xgboost"] < costs["svm_rbf"] < costs["random_forest"] < costs["extra_trees"]
    assert max(costs.values()) == costs["svm_poly"]
    # histogram boosting grows slower than the rows, forests and kernels faster
    growth = {c.name: c.growth for c in candidates}
    assert growth["lightgbm"] < growth["ridge"] == 1.0 < growth["random_forest"]
    assert growth["random_forest"] < growth["svm_rbf"]


def test_baseline_candidates_unchanged() -> None:
    assert [c.name for c in baseline_candidates()] == ["dummy", "linear",
                                                        "hist_gradient_boosting",
                                                        "random_forest"]


def test_param_prefix_walks_wrappers() -> None:
    svm = get_candidate("svm_rbf")
    assert svm.param_prefix("binary") == "estimator__"
    assert svm.param_prefix("multilabel") == "estimator__estimator__"
    assert svm.param_prefix("regression") == "estimator__"
    assert get_candidate("linear").param_prefix("multilabel") == "estimator__"
    assert get_candidate("random_forest").param_prefix("multilabel") == ""

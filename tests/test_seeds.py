"""Seed averaging: the final refit averages a seed-sensitive model over the seeds the time
left pays for, when the metric is convex in the predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_friedman1
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mlpilot.evaluate.metrics import get_metric
from mlpilot.models.boosting import build_lightgbm
from mlpilot.search.ensemble import WeightedEnsembleRegressor
from mlpilot.search.seeds import affordable_seeds, seed_parameters, with_seed_copies

RMSE = get_metric("rmse")


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]:
    X, y = make_friedman1(n_samples=900, noise=1.0, random_state=0)
    X = pd.DataFrame(X, columns=[f"x{i}" for i in range(10)])
    y = pd.Series(y)
    return X.iloc[:600], y.iloc[:600], X.iloc[600:], y.iloc[600:]


def _pipeline(model) -> Pipeline:  # type: ignore[no-untyped-def]
    return Pipeline([("preprocess", StandardScaler().set_output(transform="pandas")),
                     ("model", model)])


def _lightgbm() -> Pipeline:
    return _pipeline(build_lightgbm("regression", 0).set_params(
        n_estimators=60, subsample=0.7, subsample_freq=1, colsample_bytree=0.5))


def _copies(pipelines, seconds: float, metric=RMSE):  # type: ignore[no-untyped-def]
    return with_seed_copies(pipelines, dict.fromkeys(pipelines, 1.0), sensitive={"lightgbm"},
                            task="regression", metric=metric, seconds_left=seconds, workers=2)


def test_time_left_buys_seeds_and_the_average_beats_the_seeds_average(data) -> None:  # type: ignore[no-untyped-def]
    X, y, X_new, y_new = data
    pipeline = _lightgbm()
    assert seed_parameters(pipeline) == ["model__random_state"]
    members, n_seeds = _copies({"lightgbm": pipeline, "ridge": _pipeline(Ridge())}, 1e9)
    assert n_seeds == 5
    assert members["ridge"].get_params()["model"].__class__ is Ridge  # not seed-sensitive
    model = members["lightgbm"]
    assert isinstance(model, WeightedEnsembleRegressor)
    seeds = [m.get_params()["model__random_state"] for _, m in model.estimators]
    assert seeds == [0, 1, 2, 3, 4]
    model.fit(X, y)
    singles = [est.predict(X_new) for est in model.estimators_]
    assert not np.allclose(singles[0], singles[1])  # the seeds differ
    # squared error is convex: the average is better than the seeds are on average,
    # on rows none of them saw, with no cross-validation needed to know it
    error = float(np.sqrt(np.mean((model.predict(X_new) - y_new) ** 2)))
    mean_single = float(np.sqrt(np.mean([np.mean((p - y_new) ** 2) for p in singles])))
    assert error < mean_single


def test_no_time_left_non_convex_metric_or_no_seed_no_copies(data) -> None:  # type: ignore[no-untyped-def]
    pipeline = _lightgbm()
    assert _copies({"lightgbm": pipeline}, 0.0) == ({"lightgbm": pipeline}, 1)
    accuracy = get_metric("accuracy")
    assert _copies({"lightgbm": pipeline}, 1e9, metric=accuracy)[1] == 1
    linear = _pipeline(LinearRegression())
    assert with_seed_copies({"linear": linear}, {"linear": 1.0}, sensitive={"linear"},
                            task="regression", metric=RMSE, seconds_left=1e9,
                            workers=2) == ({"linear": linear}, 1)  # no seed to vary


def test_seeds_are_counted_in_rounds_of_workers() -> None:
    # one copy refits in 2 s, two run at a time: 5 s pays for 2 rounds, i.e. 4 seeds
    assert affordable_seeds(2.0, 0.0, 5.0, workers=2) == 4
    assert affordable_seeds(2.0, 0.0, 5.0, workers=1) == 2
    assert affordable_seeds(2.0, 4.0, 5.0, workers=2) == 1  # the other members first
    assert affordable_seeds(0.0, 0.0, 100.0, workers=2) == 1  # unknown cost: no copies


def test_members_refitted_in_parallel_predict_the_same(data) -> None:  # type: ignore[no-untyped-def]
    X, y, X_new, _ = data
    members = [("a", _lightgbm()), ("b", _pipeline(Ridge()))]
    serial = WeightedEnsembleRegressor(members).fit(X, y).predict(X_new)
    parallel = WeightedEnsembleRegressor(members, n_jobs=2).fit(X, y).predict(X_new)
    np.testing.assert_allclose(parallel, serial)


def test_a_seed_average_is_still_one_model_of_its_family(data) -> None:  # type: ignore[no-untyped-def]
    """The report and the validation curve look through the seeds to the pipeline."""
    from mlpilot.models.unwrap import ensemble_weights, family_pipeline, seed_count
    from mlpilot.search.ensemble import weighted_ensemble
    from mlpilot.search.train import impurity_importances

    X, y, _, _ = data
    members, _ = _copies({"lightgbm": _lightgbm()}, 1e9)
    seeds = members["lightgbm"].fit(X, y)
    assert ensemble_weights(seeds) == {}
    assert seed_count(seeds) == 5 and seed_count(_lightgbm()) == 1  # the report says so
    importances = impurity_importances(seeds)  # the mean over the seeds
    assert importances is not None and len(importances) == X.shape[1]
    family, pipeline = family_pipeline(seeds, "lightgbm_tuned")
    assert family is not None and family.name == "lightgbm"
    assert pipeline.get_params()["model__random_state"] == 0
    mixed = weighted_ensemble({"lightgbm": seeds, "ridge": _pipeline(Ridge())},
                              {"lightgbm": 0.7, "ridge": 0.3}, "regression")
    assert ensemble_weights(mixed) == {"lightgbm": 0.7, "ridge": 0.3}
    family, pipeline = family_pipeline(mixed, "ensemble")
    assert family is not None and family.name == "lightgbm" and isinstance(pipeline, Pipeline)


def test_the_final_refit_reuses_members_already_fitted_on_the_same_rows(data) -> None:  # type: ignore[no-untyped-def]
    """`tune` re-ensembles with the current model's members: those are fitted already, so
    the refit takes them as they are (no second fit, their seed copies kept) and the saved
    model holds plain pipelines, not frozen wrappers."""
    from sklearn.frozen import FrozenEstimator

    from mlpilot.search.train import final_model, unfreeze

    X, y, X_new, _ = data
    current = _pipeline(Ridge(alpha=1.0)).fit(X, 2 * y)  # fitted on other targets: visible
    pipelines = {"ridge": _pipeline(Ridge(alpha=1.0)), "linear": _pipeline(LinearRegression())}
    model = final_model(pipelines, {"ridge": 0.5, "linear": 0.5}, {}, sensitive=set(),
                        task="regression", metric=RMSE, n_splits=5, n_jobs=1,
                        seconds_left=10.0, fitted={"ridge": current})
    model = unfreeze(model.fit(X, y))
    assert model.named_estimators_["ridge"] is current
    assert model.estimators_[0] is current
    assert not any(isinstance(est, FrozenEstimator)
                   for est in [*model.estimators_, *(e for _, e in model.estimators)])
    fresh = _pipeline(LinearRegression()).fit(X, y)
    expected = 0.5 * current.predict(X_new) + 0.5 * fresh.predict(X_new)
    np.testing.assert_allclose(model.predict(X_new), expected)
    # a single reused member comes back as it was
    alone = unfreeze(final_model(pipelines, {"ridge": 1.0}, {}, sensitive=set(),
                                 task="regression", metric=RMSE, n_splits=5, n_jobs=1,
                                 seconds_left=10.0, fitted={"ridge": current}).fit(X, y))
    assert alone is current

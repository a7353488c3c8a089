"""Seed bagging: leftover tuning time averages the best tuned model over random seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_friedman1
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mlpilot.evaluate.metrics import get_metric
from mlpilot.models.boosting import build_lightgbm
from mlpilot.search.ensemble import WeightedEnsembleRegressor
from mlpilot.search.seeds import bag_seeds, seed_parameters
from mlpilot.search.shortlist import CandidateScore, cross_validate_pipeline, make_cv

RMSE = get_metric("rmse")


@pytest.fixture(scope="module")
def tuned() -> tuple[pd.DataFrame, pd.Series, Pipeline, CandidateScore]:
    X, y = make_friedman1(n_samples=600, noise=1.0, random_state=0)
    X = pd.DataFrame(X, columns=[f"x{i}" for i in range(10)])
    y = pd.Series(y)
    model = build_lightgbm("regression", 0).set_params(
        n_estimators=60, subsample=0.7, subsample_freq=1, colsample_bytree=0.5)
    pipeline = Pipeline([("preprocess", StandardScaler().set_output(transform="pandas")),
                         ("model", model)])
    folds = cross_validate_pipeline(pipeline, X, y, "regression", RMSE,
                                    make_cv("regression", 3, 0), 1, want_oof=True)
    score = CandidateScore("lightgbm_tuned", "boosting", "done", folds.scores,
                           fit_time=float(np.mean(folds.fit_times)), oof=folds.oof)
    return X, y, pipeline, score


def _bag(tuned, seconds: float):  # type: ignore[no-untyped-def]
    X, y, pipeline, score = tuned
    return bag_seeds(pipeline, score, score.fit_time, X, y, task="regression", metric=RMSE,
                     n_splits=3, seed=0, n_jobs=1, workers=1, seconds_left=lambda: seconds)


def test_time_left_buys_seeds_and_their_average_is_kept_when_better(tuned) -> None:  # type: ignore[no-untyped-def]
    X, y, pipeline, score = tuned
    assert seed_parameters(pipeline) == ["model__random_state"]
    bagged = _bag(tuned, seconds=1e9)
    assert bagged is not None
    result, model = bagged
    assert result.name == "lightgbm_tuned_5seeds"
    assert result.mean < score.mean  # a lower RMSE than the single seed's
    assert isinstance(model, WeightedEnsembleRegressor)
    seeds = [m.get_params()["model__random_state"] for _, m in model.estimators]
    assert seeds == [0, 1, 2, 3, 4]
    model.fit(X, y)
    single = pipeline.fit(X, y).predict(X.head(5))
    assert not np.allclose(model.predict(X.head(5)), single)  # the seeds differ


def test_no_time_left_no_seeds(tuned) -> None:  # type: ignore[no-untyped-def]
    assert _bag(tuned, seconds=0.0) is None

"""Fold bagging: the final model can be the cross-validation's own fold models, averaged."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_friedman1
from sklearn.dummy import DummyRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler, TargetEncoder

from mlpilot.evaluate.metrics import get_metric
from mlpilot.models.unwrap import fold_bag_members, is_fold_bag, seed_count
from mlpilot.search.bagging import (
    MAX_FOLD_MODEL_BYTES,
    fitted_fold_bag,
    fold_bag,
    pack_model,
    with_fold_bags,
)
from mlpilot.search.ensemble import WeightedEnsembleRegressor
from mlpilot.search.shortlist import CandidateScore, cross_validate_pipeline
from mlpilot.search.train import final_model, unfreeze

RMSE = get_metric("rmse")
CV = KFold(5, shuffle=True, random_state=0)


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]:
    X, y = make_friedman1(n_samples=700, noise=1.0, random_state=0)
    X = pd.DataFrame(X, columns=[f"x{i}" for i in range(10)])
    X["zone"] = (X["x0"] * 8).astype(int)  # a category whose mean target is learned
    return X.iloc[:500], pd.Series(y[:500]), X.iloc[500:], pd.Series(y[500:])


def _pipeline(model) -> Pipeline:  # type: ignore[no-untyped-def]
    """A preprocessing that learns from the target (like prepare's neighbour prices)."""
    from sklearn.compose import ColumnTransformer

    encoder = TargetEncoder(target_type="continuous", cv=KFold(5, shuffle=True, random_state=0))
    encode = ColumnTransformer([("zone", encoder, ["zone"])], remainder=StandardScaler())
    return Pipeline([("preprocess", encode), ("model", model)])


def test_each_member_of_a_fold_bag_learns_on_its_folds_rows_only(data) -> None:  # type: ignore[no-untyped-def]
    X, y, X_new, _ = data
    bag = fold_bag(DummyRegressor(), CV, "regression").fit(X, y)
    assert is_fold_bag(bag) and seed_count(bag) == 5
    expected = [y.iloc[train].mean() for train, _ in CV.split(X)]
    assert [m.predict(X_new[:1])[0] for m in bag.estimators_] == pytest.approx(expected)
    assert bag.predict(X_new[:1])[0] == pytest.approx(np.mean(expected))
    with pytest.raises(ValueError, match="one split per member"):
        WeightedEnsembleRegressor([("a", Ridge()), ("b", Ridge())], cv=CV).fit(X, y)


def test_the_cross_validations_fold_models_are_the_bag_and_score_as_it_did(data) -> None:  # type: ignore[no-untyped-def]
    """The search keeps each fold's fitted pipeline: their bag costs no fit, and on the
    rows each did not see it predicts exactly the out-of-fold predictions."""
    X, y, X_new, y_new = data
    folds = cross_validate_pipeline(_pipeline(Ridge()), X, y, "regression", RMSE, CV,
                                    n_jobs=2, want_oof=True, keep_models=True)
    assert folds.models is not None and len(folds.models) == 5
    bag = fitted_fold_bag(folds.models, CV, "regression")
    bag = unfreeze(bag.fit(X, y))
    for member, (_, test) in zip(bag.estimators_, CV.split(X), strict=True):
        np.testing.assert_allclose(member.predict(X.iloc[test]), folds.oof[test])
    # the average of the fold models beats them on average, on new rows (convex loss)
    singles = [np.mean((m.predict(X_new) - y_new) ** 2) for m in bag.estimators_]
    assert np.mean((bag.predict(X_new) - y_new) ** 2) <= np.mean(singles)
    # the saved model holds plain pipelines, and unfitted templates as its parameters
    assert not any(isinstance(m, FrozenEstimator) for m in bag.estimators_)
    assert not hasattr(bag.estimators[0][1].named_steps["model"], "coef_")


def test_a_model_too_large_or_unpicklable_is_not_kept() -> None:
    assert pack_model(Ridge()) is not None
    assert pack_model(lambda: None) is None  # type: ignore[arg-type]
    assert len(pack_model(np.zeros(10)) or b"") < MAX_FOLD_MODEL_BYTES


def test_final_model_bags_the_members_whose_fold_models_were_kept(data) -> None:  # type: ignore[no-untyped-def]
    X, y, X_new, _ = data
    folds = cross_validate_pipeline(_pipeline(Ridge()), X, y, "regression", RMSE, CV,
                                    n_jobs=1, want_oof=True, keep_models=True)
    scores = {"ridge": CandidateScore("ridge", "linear", "done", folds.scores, fit_time=1.0,
                                      fold_models=folds.models),
              "linear": CandidateScore("linear", "linear", "done", [1.0], fit_time=1.0)}
    pipelines = {"ridge": _pipeline(Ridge()), "linear": _pipeline(LinearRegression())}
    model = final_model(pipelines, {"ridge": 0.5, "linear": 0.5}, scores, sensitive=set(),
                        task="regression", metric=RMSE, n_splits=5, n_jobs=1,
                        seconds_left=0.0, cv=CV)
    model = unfreeze(model.fit(X, y))
    ridge, linear = model.named_estimators_["ridge"], model.named_estimators_["linear"]
    assert is_fold_bag(ridge) and not is_fold_bag(linear)  # no time to bag the other
    kept = [pickle.loads(blob) for blob in folds.models]
    np.testing.assert_allclose(ridge.predict(X_new),
                               np.mean([m.predict(X_new) for m in kept], axis=0))
    assert fold_bag_members(model) == (1, 2, 5)
    # with time to spare, the other member is bagged too (fitted on the same folds)
    model = final_model(pipelines, {"ridge": 0.5, "linear": 0.5}, scores, sensitive=set(),
                        task="regression", metric=RMSE, n_splits=5, n_jobs=1,
                        seconds_left=100.0, cv=CV)
    assert fold_bag_members(unfreeze(model.fit(X, y))) == (2, 2, 5)


def test_time_bags_the_heaviest_members_first_and_only_for_convex_metrics() -> None:
    pipelines = {"a": Ridge(), "b": LinearRegression()}
    weights = {"a": 0.3, "b": 0.7}
    seconds = {"a": 1.0, "b": 1.0}

    def bagged(left: float, metric: str = "rmse") -> list[str]:
        out, _ = with_fold_bags(pipelines, weights, seconds, task="regression",
                                metric=get_metric(metric), cv=CV, seconds_left=left,
                                workers=2)
        return sorted(name for name, p in out.items() if is_fold_bag(p))

    # plain refits: 2 × 1.25 s; a bag: 3 rounds of 1 s, i.e. 1.75 s more than its refit
    assert bagged(2.5) == []
    assert bagged(2.5 + 1.75) == ["b"]
    assert bagged(2.5 + 3.5) == ["a", "b"]
    assert bagged(1e9, metric="accuracy") == []


def test_a_saved_ensemble_does_not_hold_its_members_twice(data) -> None:  # type: ignore[no-untyped-def]
    X, y, X_new, _ = data
    model = WeightedEnsembleRegressor([("a", Ridge()), ("b", LinearRegression())]).fit(X, y)
    assert "named_estimators_" not in model.__getstate__()
    loaded = pickle.loads(pickle.dumps(model))
    assert loaded.named_estimators_["b"] is loaded.estimators_[1]
    np.testing.assert_allclose(loaded.predict(X_new), model.predict(X_new))

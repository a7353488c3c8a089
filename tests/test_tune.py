"""Fine-tuning: the four strategies, the stored/resumed Optuna study, pruning, the space."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from mlpilot.errors import ConfigError, TrainingError
from mlpilot.evaluate.metrics import get_metric
from mlpilot.features.transformers import ClusterSimilarity, LogTransformer
from mlpilot.models.space import Categorical, Float, Int
from mlpilot.models.zoo import Candidate
from mlpilot.search.tune import TuneResult, preprocessing_space, tune

RMSE = get_metric("rmse")
N_CLUSTERS = "preprocess__columns__geo__clustersimilarity__n_clusters"
GAMMA = "preprocess__columns__geo__clustersimilarity__gamma"
LOG_STEP = "preprocess__columns__log__logtransformer"
ALPHA = "model__alpha"


def _ridge(task: str, seed: int) -> BaseEstimator:
    return Ridge()


RIDGE = Candidate("ridge", "linear", 1, _ridge, space={"alpha": Float(1e-3, 1e3, log=True)})


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """k-means on a few hundred rows is ~20x slower with OpenMP threads on a busy machine."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def geo() -> tuple[pd.DataFrame, pd.Series]:
    """Prices peaking near one spot plus log(income): clusters and the log both matter."""
    rng = np.random.default_rng(0)
    n = 240
    X = pd.DataFrame({"lat": rng.uniform(0, 4, n), "lon": rng.uniform(0, 4, n),
                      "income": rng.lognormal(1, 0.8, n)})
    X.loc[::17, "income"] = np.nan
    peak = np.exp(-((X["lat"] - 1) ** 2 + (X["lon"] - 3) ** 2))
    y = pd.Series(3 * peak + np.log(X["income"].fillna(3)) + rng.normal(0, 0.2, n), name="y")
    return X, y


def _preprocessor() -> Pipeline:
    return Pipeline([("columns", ColumnTransformer([
        ("geo", make_pipeline(SimpleImputer(strategy="median"),
                              ClusterSimilarity(n_clusters=5, random_state=0)), ["lat", "lon"]),
        ("log", make_pipeline(SimpleImputer(strategy="median"), LogTransformer(),
                              StandardScaler()), ["income"]),
    ]))])


def _tune(data: tuple[pd.DataFrame, pd.Series], **kwargs: Any) -> TuneResult:
    X, y = data
    options: dict[str, Any] = {"candidate": RIDGE, "preprocessor": _preprocessor(),
                               "task": "regression", "metric": RMSE, "n_splits": 3,
                               "n_jobs": 1, "n_trials": 6}
    options.update(kwargs)
    return tune(X, y, **options)


# ---------------------------------------------------------------------------- the space
def test_preprocessing_space_finds_clusters_log_and_imputers() -> None:
    pre = _preprocessor()
    space = preprocessing_space(pre)
    assert space[N_CLUSTERS] == Int(4, 50)
    assert space[GAMMA] == Float(0.05, 5.0, log=True)
    log = space[LOG_STEP]
    assert isinstance(log, Categorical)
    assert isinstance(log.choices[0], LogTransformer) and log.choices[1] == "passthrough"
    assert space["preprocess__columns__geo__simpleimputer__strategy"].choices == ("median",
                                                                                 "mean")
    assert set(space) == {N_CLUSTERS, GAMMA, LOG_STEP,
                          "preprocess__columns__geo__simpleimputer__strategy",
                          "preprocess__columns__log__simpleimputer__strategy"}
    # The names are real pipeline parameters: set them (log off) and the pipeline still fits.
    pipe = Pipeline([("preprocess", pre), ("model", Ridge())])
    pipe.set_params(**{N_CLUSTERS: 7, GAMMA: 0.5, LOG_STEP: "passthrough"})
    X = pd.DataFrame({"lat": [0.0, 1, 2, 3, 4, 5, 6, 7], "lon": [1.0, 0, 3, 2, 5, 4, 7, 6],
                      "income": [1.0, 2, 3, 4, 5, 6, 7, 8]})
    pipe.fit(X, np.arange(8.0))
    assert pipe.named_steps["preprocess"].named_steps["columns"].named_transformers_[
        "log"].named_steps["logtransformer"] == "passthrough"
    assert len(pipe.named_steps["preprocess"].get_feature_names_out()) == 7 + 1


def test_preprocessing_space_log_directly_in_column_transformer_and_row_cap() -> None:
    pre = ColumnTransformer([("log", LogTransformer(), ["a"]),
                             ("most", SimpleImputer(strategy="most_frequent"), ["b"]),
                             ("geo", ClusterSimilarity(), ["c", "d"])])
    space = preprocessing_space(pre, n_rows=30)
    assert set(space) == {"preprocess__log", "preprocess__geo__n_clusters",
                          "preprocess__geo__gamma"}  # most_frequent is no numeric imputer
    assert space["preprocess__geo__n_clusters"] == Int(4, 15)


# ---------------------------------------------------------------------------- strategies
@pytest.mark.parametrize("strategy", ["optuna", "grid", "random", "halving"])
def test_each_strategy_beats_or_matches_the_defaults(geo: tuple[pd.DataFrame, pd.Series],
                                                     strategy: str, tmp_path: Path) -> None:
    result = _tune(geo, strategy=strategy)
    assert result.strategy == strategy and result.candidate == "ridge"
    assert result.default_score is not None
    assert not RMSE.better(result.default_score, result.best_score)
    assert result.improvement is not None and result.improvement >= 0
    frame = result.cv_results
    assert len(frame) == result.n_trials
    assert frame["default"].sum() == 1
    for name in (ALPHA, N_CLUSTERS):
        assert name in frame.columns
    assert {"mean_score", "std_score", "mean_fit_time", "rank", "state"} <= set(frame.columns)
    assert (frame["mean_score"].dropna() > 0).all()  # natural sign: an RMSE is positive
    assert set(frame["state"]) <= {"complete", "pruned", "fail"}
    best_row = frame.loc[frame["rank"] == 1].iloc[0]
    assert best_row["mean_score"] == pytest.approx(result.best_score)
    # pipeline(): the untuned pipeline with the best parameters set, ready to fit.
    pipe = result.pipeline()
    assert pipe.get_params()[ALPHA] == pytest.approx(result.best_params[ALPHA])
    assert not hasattr(pipe.named_steps["model"], "coef_")
    pipe.fit(*geo)
    written = result.to_csv(tmp_path / "out" / "cv.csv")
    assert len(pd.read_csv(written)) == len(frame)


def test_grid_counts_and_explicit_param_grid(geo: tuple[pd.DataFrame, pd.Series]) -> None:
    auto = _tune(geo, strategy="grid")
    assert auto.n_trials == 1 + 3 * 3  # defaults + alpha x n_clusters at 3 points
    grid = [{N_CLUSTERS: [4, 8], ALPHA: [0.1, 1.0]}, {N_CLUSTERS: [8], ALPHA: [1.0]}]
    explicit = _tune(geo, strategy="grid", param_grid=grid)
    assert explicit.n_trials == 5  # verbatim, the repeated point kept as in the book's grid
    assert explicit.default_score is None
    points = list(zip(explicit.cv_results[ALPHA], explicit.cv_results[N_CLUSTERS], strict=True))
    assert sorted(points) == [(0.1, 4), (0.1, 8), (1.0, 4), (1.0, 8), (1.0, 8)]


def test_optuna_and_random_are_reproducible(geo: tuple[pd.DataFrame, pd.Series]) -> None:
    for strategy in ("optuna", "random"):
        first = _tune(geo, strategy=strategy, seed=3)
        again = _tune(geo, strategy=strategy, seed=3)
        assert first.best_params.keys() == again.best_params.keys()
        for name, value in first.best_params.items():
            assert type(value) is type(again.best_params[name])
            if not isinstance(value, BaseEstimator):
                assert value == again.best_params[name]
        assert first.best_score == pytest.approx(again.best_score)


def test_optuna_parallel_folds_give_the_same_scores(geo: tuple[pd.DataFrame, pd.Series]) -> None:
    serial = _tune(geo, strategy="optuna", n_trials=3)
    parallel = _tune(geo, strategy="optuna", n_trials=3, n_jobs=2)
    assert list(parallel.cv_results["mean_score"]) == pytest.approx(
        list(serial.cv_results["mean_score"]))


def test_optuna_tries_the_portfolio_after_known_defaults(
        geo: tuple[pd.DataFrame, pd.Series], tmp_path: Path) -> None:
    """Known default scores are recorded, not trained again; the candidate's portfolio comes
    next, with every other setting at its default; the best trial's out-of-fold predictions
    come back with the result; a resumed study tries the portfolio only once."""
    strong = {"alpha": 0.01}
    ridge = Candidate("ridge", "linear", 1, _ridge, space=RIDGE.space, portfolio=(strong,))
    url = f"sqlite:///{tmp_path / 'state.db'}"
    known = [9.0, 9.0, 9.0]  # nothing this poor could have been measured on these folds
    result = _tune(geo, candidate=ridge, n_trials=1, default_scores=known, storage_url=url,
                   study_name="portfolio", tune_preprocessing=False)
    rows = result.cv_results
    assert rows["default"].tolist() == [True, False]
    assert result.default_score == pytest.approx(9.0)  # recorded as given
    assert rows.loc[1, "model__alpha"] == pytest.approx(0.01)
    assert result.best_params["model__alpha"] == pytest.approx(0.01)
    assert result.best_score == pytest.approx(rows.loc[1, "mean_score"])
    assert result.best_score < 9.0
    _, y = geo
    assert result.oof is not None and result.oof.shape == (len(y),)
    assert result.oof_fold_scores is not None and len(result.oof_fold_scores) == 3
    rmse = float(np.sqrt(np.mean((result.oof - y.to_numpy()) ** 2)))
    assert rmse == pytest.approx(result.best_score, rel=0.05)  # pooled vs per-fold mean
    again = _tune(geo, candidate=ridge, n_trials=1, default_scores=known, storage_url=url,
                  study_name="portfolio", tune_preprocessing=False)
    assert again.cv_results["default"].sum() == 1
    assert np.isclose(again.cv_results["model__alpha"].astype(float), 0.01).sum() == 1


def test_optuna_study_persists_and_resumes(geo: tuple[pd.DataFrame, pd.Series],
                                           tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    first = _tune(geo, strategy="optuna", n_trials=4, storage_url=url, study_name="ridge-study")
    second = _tune(geo, strategy="optuna", n_trials=3, storage_url=url, study_name="ridge-study")
    assert (first.n_trials, second.n_trials) == (4, 7)
    assert second.study_name == "ridge-study"
    pd.testing.assert_frame_equal(second.cv_results.iloc[:4].drop(columns="rank"),
                                  first.cv_results.drop(columns="rank"))
    assert second.cv_results["default"].sum() == 1  # defaults enqueued once, not per run
    assert second.default_score == pytest.approx(first.default_score)
    assert not RMSE.better(first.best_score, second.best_score)
    study = optuna.load_study(study_name="ridge-study", storage=url)
    assert len(study.trials) == 7 and study.direction.name == "MINIMIZE"


def test_optuna_prunes_hopeless_trials(geo: tuple[pd.DataFrame, pd.Series]) -> None:
    # Huge alphas are hopeless: after 2 startup trials the median pruner stops such trials
    # after their first fold.
    candidate = Candidate("ridge", "linear", 1, _ridge,
                          space={"alpha": Float(1e-3, 1e6, log=True)})
    result = _tune(geo, strategy="optuna", candidate=candidate, n_trials=16, n_splits=4,
                   tune_preprocessing=False,
                   pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0))
    frame = result.cv_results
    pruned = frame[frame["state"] == "pruned"]
    assert len(pruned) >= 2
    assert (pruned["n_folds"] < 4).all() and pruned["rank"].isna().all()
    assert (frame.loc[frame["state"] == "complete", "n_folds"] == 4).all()
    assert list(frame.columns[3:4]) == [ALPHA]  # no preprocessing knob was tuned


def test_optuna_budget_stops_the_study(geo: tuple[pd.DataFrame, pd.Series]) -> None:
    started = time.perf_counter()
    result = _tune(geo, strategy="optuna", n_trials=None, budget=0.5)
    assert time.perf_counter() - started < 10
    assert result.n_trials >= 1 and result.cv_results["default"].iloc[0]


class _SlowRidge(Ridge):
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> _SlowRidge:
        time.sleep(0.3)
        return super().fit(X, y, sample_weight)


def test_optuna_starts_no_trial_that_cannot_end_within_the_budget(
        geo: tuple[pd.DataFrame, pd.Series]) -> None:
    """Optuna's timeout only stops *starting* trials. A trial takes >= 0.9 s here (3 folds
    of 0.3 s); after the first, 1.2 s of budget leaves less than that, so no second starts
    (Optuna alone would start it and end near 1.8 s)."""
    slow = Candidate("slow_ridge", "linear", 1, lambda task, seed: _SlowRidge(),
                     space={"alpha": Float(1e-3, 1e3, log=True)})
    result = _tune(geo, candidate=slow, strategy="optuna", n_trials=None, budget=1.2,
                   tune_preprocessing=False)
    assert result.n_trials == 1


def test_classification_maximizes(tmp_path: Path) -> None:
    data = load_breast_cancer(as_frame=True)
    X, y = data.data.iloc[:, :8], data.target

    def logistic(task: str, seed: int) -> BaseEstimator:
        return LogisticRegression(max_iter=500)

    candidate = Candidate("logistic", "linear", 1, logistic,
                          space={"C": Float(1e-4, 1e2, log=True)})
    metric = get_metric("roc_auc")
    result = tune(X, y, candidate=candidate, preprocessor=StandardScaler(), task="binary",
                  metric=metric, strategy="optuna", n_trials=4, n_splits=3, n_jobs=1,
                  storage_url=f"sqlite:///{tmp_path / 'cls.db'}")
    assert 0.9 < result.best_score <= 1 and result.best_score >= result.default_score
    assert result.cv_results.loc[result.cv_results["rank"] == 1, "mean_score"].max() == \
        pytest.approx(result.best_score)


def test_base_params_are_fixed_and_left_out(geo: tuple[pd.DataFrame, pd.Series]) -> None:
    events: list[str] = []
    result = _tune(geo, strategy="random", n_trials=3, base_params={N_CLUSTERS: 6},
                   on_event=lambda kind, payload: events.append(kind))
    assert N_CLUSTERS not in result.cv_results.columns
    assert result.pipeline().get_params()[N_CLUSTERS] == 6
    assert events == ["start", "done"]
    optuna_events: list[str] = []
    _tune(geo, strategy="optuna", n_trials=2,
          on_event=lambda kind, payload: optuna_events.append(kind))
    assert optuna_events == ["start", "trial", "trial", "done"]


# ---------------------------------------------------------------------------- errors
def test_unknown_strategy_is_a_config_error(geo: tuple[pd.DataFrame, pd.Series]) -> None:
    with pytest.raises(ConfigError, match="unknown tuning strategy") as info:
        _tune(geo, strategy="bayes")
    assert "optuna" in (info.value.hint or "")


def test_empty_space_is_a_config_error(geo: tuple[pd.DataFrame, pd.Series]) -> None:
    bare = Candidate("ridge", "linear", 1, _ridge)
    with pytest.raises(ConfigError, match="search space is empty"):
        _tune(geo, strategy="grid", candidate=bare, tune_preprocessing=False)


def test_a_model_that_never_fits_is_a_training_error(geo: tuple[pd.DataFrame, pd.Series]) -> None:
    def broken(task: str, seed: int) -> BaseEstimator:
        return Ridge(solver="nope")

    candidate = Candidate("broken", "linear", 1, broken, space={"alpha": Float(0.1, 1.0)})
    with pytest.raises(TrainingError, match="no trial") as info:
        _tune(geo, candidate=candidate, n_trials=2, tune_preprocessing=False)
    assert "solver" in (info.value.hint or "")


# ---------------------------------------------------------------------------- the recipe
@pytest.mark.slow
def test_recipe_ch02_housing_forest(data_home: Path) -> None:
    from mlpilot.recipes.ch02_housing_forest import RECIPE

    result = RECIPE.run()
    failed = [c for c in result.comparisons if not c.ok]
    assert not failed, failed
    assert len(result.comparisons) >= 6

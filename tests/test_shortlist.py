"""The shortlist: successive halving, out-of-fold predictions, budget, resume, Dask."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import cross_val_predict
from sklearn.preprocessing import StandardScaler

from mlpilot.evaluate.metrics import get_metric
from mlpilot.models.zoo import Candidate, get_candidate
from mlpilot.search.shortlist import (
    MAX_FINALISTS,
    MAX_PER_FAMILY,
    MIN_SURVIVORS,
    CandidateScore,
    _expected_seconds,
    build_pipeline,
    halving_rungs,
    make_cv,
    shortlist,
    subset_order,
)
from mlpilot.search.train import train_final

NAMES = ["dummy", "linear", "ridge", "knn", "decision_tree", "hist_gradient_boosting",
         "random_forest"]


@pytest.fixture(scope="module")
def friedman() -> tuple[pd.DataFrame, pd.Series]:
    """Friedman #1: a non-linear target where trees and boosting beat linear models."""
    from sklearn.datasets import make_friedman1

    X, y = make_friedman1(n_samples=2400, noise=1.0, random_state=0)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]), pd.Series(y)


def _run(X: pd.DataFrame, y: pd.Series, **kw: object):  # type: ignore[no-untyped-def]
    options: dict = dict(candidates=[get_candidate(n) for n in NAMES],
                         preprocessor=StandardScaler().set_output(transform="pandas"),
                         task="regression", metric=get_metric("rmse"), n_splits=3, seed=0,
                         budget=600, n_jobs=1, min_rung_rows=250)
    options.update(kw)
    return shortlist(X, y, **options)


def test_rungs_grow_by_three_up_to_all_rows() -> None:
    assert halving_rungs(16_512, 1_500) == [1_835, 5_504, 16_512]
    assert halving_rungs(5_000, 2_000) == [5_000]  # too small to halve
    assert halving_rungs(455) == [455]


def test_subset_prefixes_keep_class_proportions() -> None:
    y = pd.Series(["a"] * 900 + ["b"] * 100)
    order = subset_order(y, "binary", seed=0)
    assert sorted(order) == list(range(1000))
    for size in (50, 100, 333):
        share = (y.iloc[order[:size]] == "b").mean()
        assert abs(share - 0.1) <= 1.5 / size + 0.01


def test_halving_drops_losers_and_keeps_the_best(friedman) -> None:  # type: ignore[no-untyped-def]
    X, y = friedman
    board = _run(X, y)
    rungs = sorted({r.n_rows for r in board.rows})
    assert rungs == [267, 800, 2400]
    promoted = [r.name for r in board.rows if r.n_rows == 800]
    assert len(promoted) == MIN_SURVIVORS  # the best third, at least four
    on_all = [r.name for r in board.rows if r.n_rows == 2400]
    assert "dummy" not in on_all  # the baseline never reaches the last rung
    # the time the survivors leave goes to the others, up to the finalists ensembles want
    assert set(promoted) < set(on_all) and len(on_all) == min(MAX_FINALISTS, len(NAMES) - 1)
    assert all(r.oof is not None for r in board.rows if r.n_rows == 2400)
    # ranked: those that reached all rows first
    ranked = board.ranked()
    assert [r.n_rows for r in ranked] == sorted((r.n_rows for r in ranked), reverse=True)
    assert board.best.name in ("hist_gradient_boosting", "random_forest")
    assert board.best.mean < 0.6 * next(r.mean for r in board.rows if r.name == "dummy")


def test_last_rung_leaves_out_of_fold_predictions(friedman) -> None:  # type: ignore[no-untyped-def]
    X, y = friedman
    board = _run(X, y, candidates=[get_candidate("ridge")], halving=False)
    row = board.best
    expected = cross_val_predict(
        build_pipeline(get_candidate("ridge"), StandardScaler().set_output(transform="pandas"),
                       "regression", 0), X, y, cv=make_cv("regression", 3, 0))
    np.testing.assert_allclose(row.oof, expected, rtol=1e-10)


def test_budget_skips_the_rest_but_keeps_a_result(friedman) -> None:  # type: ignore[no-untyped-def]
    X, y = friedman
    board = _run(X, y, budget=0.01, halving=False)
    statuses = [r.status for r in board.rows]
    assert statuses[0] == "done" and set(statuses[1:]) == {"skipped"}
    assert board.best.name == "dummy"


def test_a_kernel_svm_runs_early_on_a_small_table(friedman) -> None:  # type: ignore[no-untyped-def]
    """On wine (142 rows) the SVM is the best family and one of the quickest: an expensive
    network ahead of it used to spend the budget and leave it skipped."""
    names = ["random_forest", "svm_rbf", "linear"]

    def order(n_rows: int) -> list[str]:
        started: list[str] = []
        X, y = friedman
        _run(X.head(n_rows), y.head(n_rows), candidates=[get_candidate(n) for n in names],
             halving=False, on_event=lambda kind, payload: started.append(payload[0].name)
             if kind == "start" else None)
        return started

    assert order(300) == ["linear", "svm_rbf", "random_forest"]
    # larger, the SVM still goes first: it trains on at most 10,000 rows, a forest on all
    assert order(2400) == ["linear", "svm_rbf", "random_forest"]


class _Slow(BaseEstimator, RegressorMixin):
    """A mean predictor that takes ``seconds`` to fit: an expensive family."""

    def __init__(self, seconds: float = 0.3) -> None:
        self.seconds = seconds

    def fit(self, X: object, y: pd.Series) -> _Slow:
        time.sleep(self.seconds)
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.full(len(X), self.mean_)


def test_a_rung_spends_its_share_so_the_best_reaches_all_rows(friedman) -> None:  # type: ignore[no-untyped-def]
    """Halving gives each rung about the same time: the first rung's slowest candidates are
    skipped once it has used its share, and the leader still gets cross-validated on every
    row instead of the budget running out on small subsets."""
    X, y = friedman
    slow = [Candidate(f"slow{i}", "slow", 90 + i, lambda task, seed: _Slow(0.3))
            for i in range(6)]  # 3 folds x 0.3 s each: ~1 s per candidate and rung
    # Quick real leaders: the sleeps, not a busy machine's fit times, must decide the budget.
    leaders = [get_candidate("ridge"), get_candidate("decision_tree")]
    board = _run(X, y, candidates=[*leaders, *slow], budget=4.0)
    first = [r for r in board.rows if r.n_rows == 267]
    assert any(r.status == "skipped" and r.name.startswith("slow") for r in first)
    full = {r.name for r in board.rows if r.n_rows == len(X) and r.status == "done"}
    assert {"ridge", "decision_tree"} <= full, full


def test_later_rungs_run_the_best_first_at_most_two_of_a_family(friedman) -> None:  # type: ignore[no-untyped-def]
    """Under a short budget the best must not wait behind cheaper, worse candidates; and
    three boosting libraries (near-twins) must not take every place ensembles draw from."""
    X, y = friedman
    names = ["ridge", "knn", "decision_tree", "hist_gradient_boosting", "lightgbm", "xgboost"]
    started: list[tuple[str, int]] = []
    board = _run(X, y, candidates=[get_candidate(n) for n in names],
                 on_event=lambda kind, payload: started.append((payload[0].name, payload[1]))
                 if kind == "start" else None)
    first = {r.name: r.mean for r in board.rows if r.n_rows == 267 and r.status == "done"}
    second = [name for name, rows in started if rows == 800]
    assert second == sorted(second, key=first.__getitem__)  # best first
    boosting = [n for n in second if get_candidate(n).family == "boosting"]
    assert len(boosting) == MAX_PER_FAMILY
    assert len(second) == MIN_SURVIVORS  # the third booster's place went to another family
    best_three = sorted(first, key=first.__getitem__)[:3]
    assert all(get_candidate(n).family == "boosting" for n in best_three)


def test_a_rung_foresees_a_candidates_cost_from_how_it_grows() -> None:
    boosting = get_candidate("lightgbm")  # histogram boosting: time ~ rows ** 0.5
    assert _expected_seconds(boosting, (1_000, 2.0), 9_000, []) == pytest.approx(6.0)
    forest = get_candidate("random_forest")  # full trees grow faster than the rows
    assert _expected_seconds(forest, (1_000, 2.0), 3_000, []) > 6.0
    # not yet timed: the mean of what ran before it on this rung (cheapest first)
    assert _expected_seconds(forest, None, 3_000, [1.0, 3.0]) == 2.0
    assert _expected_seconds(forest, None, 3_000, []) == 0.0


class _MemoryStore:
    def __init__(self, fail_after: int | None = None) -> None:
        self.saved: dict[str, CandidateScore] = {}
        self.fail_after = fail_after

    def get(self, key: str) -> CandidateScore | None:
        return self.saved.get(key)

    def put(self, score: CandidateScore) -> None:
        self.saved[score.key] = score
        if self.fail_after is not None and len(self.saved) >= self.fail_after:
            raise KeyboardInterrupt


def test_killed_midway_resumes_to_the_same_leaderboard(friedman) -> None:  # type: ignore[no-untyped-def]
    X, y = friedman
    store = _MemoryStore(fail_after=len(NAMES) + 2)  # dies on the second rung
    with pytest.raises(KeyboardInterrupt):
        _run(X, y, store=store)
    store.fail_after = None
    resumed = _run(X, y, store=store)
    assert sum(r.reused for r in resumed.rows) == len(NAMES) + 2
    fresh = _run(X, y)
    assert ([(r.name, r.n_rows, r.fold_scores) for r in resumed.ranked()]
            == [(r.name, r.n_rows, r.fold_scores) for r in fresh.ranked()])


def test_dask_local_cluster_gives_the_same_scores(friedman) -> None:  # type: ignore[no-untyped-def]
    distributed = pytest.importorskip("dask.distributed")
    from mlpilot.search.parallel import compute_backend

    X, y = friedman
    small = [get_candidate(n) for n in ("ridge", "decision_tree")]
    local = _run(X, y, candidates=small, halving=False, n_jobs=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            compute_backend(cluster) as client:
        remote = _run(X, y, candidates=small, halving=False, n_jobs=2)
        assert len(client.scheduler_info()["workers"]) == 2
    assert ([(r.name, r.fold_scores) for r in remote.ranked()]
            == [(r.name, r.fold_scores) for r in local.ranked()])


def test_final_model_ensembles_only_when_it_helps() -> None:
    # y = linear part + a sharp step: ridge gets the slope, a tree gets the step; averaged
    # they beat both, and the train step must notice it and keep the ensemble
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(1500, 6)), columns=[f"x{i}" for i in range(6)])
    y = pd.Series(X.sum(axis=1) * 2 + 4 * (X["x0"] > 0.5) + rng.normal(0, 0.5, 1500))
    outcome = train_final(
        X, y, candidates=[get_candidate(n) for n in ("ridge", "knn", "decision_tree")],
        preprocessor=StandardScaler().set_output(transform="pandas"), task="regression",
        metric=get_metric("rmse"), n_splits=3, seed=0, budget=300, n_jobs=1)
    assert outcome.ensemble is not None
    singles = {r.name: r.mean for r in outcome.leaderboard.ranked() if r.name != "ensemble"}
    if outcome.ensemble.kept:
        assert outcome.chosen.name == "ensemble"
        assert outcome.chosen.mean < min(singles.values())
    else:
        assert outcome.chosen.name == min(singles, key=singles.get)  # type: ignore[arg-type]
    assert outcome.model.predict(X.head(5)).shape == (5,)
    assert outcome.importances is not None
    assert outcome.importances.loc[0, "feature"] == "x0"  # the step makes x0 matter most


class _SlowPredict(BaseEstimator, RegressorMixin):
    """Fits at once, takes ``seconds`` per prediction: a big ensemble of seed averages."""

    def __init__(self, seconds: float = 0.02) -> None:
        self.seconds = seconds

    def fit(self, X: pd.DataFrame, y: pd.Series) -> _SlowPredict:
        self.coef_ = np.linalg.lstsq(np.asarray(X), np.asarray(y), rcond=None)[0]
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        time.sleep(self.seconds)
        return np.asarray(X) @ self.coef_


def test_importances_shrink_to_the_time_left(friedman) -> None:  # type: ignore[no-untyped-def]
    """The importances are a courtesy: with little time left they use one shuffle and fewer
    rows instead of pushing `train` past its budget, and they still rank the columns."""
    from mlpilot.search.train import (
        IMPORTANCE_ROWS,
        MIN_IMPORTANCE_ROWS,
        _importance_plan,
        feature_importances,
    )

    X, y = friedman
    model = _SlowPredict(0.05).fit(X, y)
    sample = X.iloc[:IMPORTANCE_ROWS]
    assert _importance_plan(model, sample, 3, seconds=60.0) == (IMPORTANCE_ROWS, 3)
    # 10 columns x 3 shuffles x 0.05 s > 1 s: one shuffle; 10 x 0.05 s fits, on all rows
    assert _importance_plan(model, sample, 3, seconds=1.0) == (IMPORTANCE_ROWS, 1)
    rows, repeats = _importance_plan(model, sample, 3, seconds=0.01)
    assert repeats == 1 and rows == MIN_IMPORTANCE_ROWS
    table = feature_importances(model, X, y, get_metric("rmse"), seed=0, seconds=0.1)
    assert table is not None and set(table["feature"]) == set(X.columns)
    assert table["feature"].iloc[0] in ("x0", "x1", "x3")  # Friedman #1's strongest terms


def test_tune_skips_a_family_whose_first_trial_cannot_fit_even_the_first(friedman) -> None:  # type: ignore[no-untyped-def]
    """Optuna checks its timeout only between trials: a first trial longer than the budget
    would overrun it. The best family is skipped when the shortlist's timings say so, and
    the next one, which fits, is tuned."""
    from sklearn.model_selection import KFold

    from mlpilot.search.train import tune_and_choose

    X, y = friedman
    oof = cross_val_predict(get_candidate("ridge").build("regression", 0), X, y,
                            cv=KFold(3, shuffle=True, random_state=0))
    finalists = [CandidateScore(name, family, "done", [1.0, 1.0, 1.0], fit_time=fit_time,
                                n_rows=len(X), oof=oof)
                 for name, family, fit_time in [("lightgbm", "boosting", 60.0),
                                                ("ridge", "linear", 0.001)]]
    events: list[tuple[str, str]] = []
    report = tune_and_choose(
        X, y, names=["lightgbm", "ridge"], finalists=finalists,
        preprocessor={"scaled": StandardScaler(), "tree": StandardScaler()},
        task="regression", metric=get_metric("rmse"), strategy="optuna", budget=4.0,
        n_trials=None, n_splits=3, seed=0, n_jobs=1, storage_url=None, study_prefix="t",
        current_cv=None, on_event=lambda kind, p: events.append((kind, getattr(p, "name", ""))))
    assert ("skipped", "lightgbm_tuned") in events
    assert [r.candidate for r in report.results] == ["ridge"]

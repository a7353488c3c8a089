"""From a shortlist to one final model: ensemble if it helps, refit on all rows, explain.

The book's order (ch. 2): shortlist promising models, combine the best ones when that helps
(ch. 7), then train the final model on the whole training set and look at what it relies on
(feature importances). The budget covers all of it: the shortlist gets most of it and stops
early enough to leave time for the refit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, clone
from sklearn.frozen import FrozenEstimator
from sklearn.inspection import permutation_importance
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch

from mlpilot.evaluate.metrics import Metric
from mlpilot.models.unwrap import is_fold_bag, unwrap_seeds
from mlpilot.models.zoo import Candidate
from mlpilot.search.bagging import (
    bagging_applies,
    fitted_fold_bag,
    refit_seconds,
    with_fold_bags,
)
from mlpilot.search.ensemble import (
    EnsembleChoice,
    WeightedEnsemble,
    ensemble_candidates,
    score_predictions,
)
from mlpilot.search.ensemble import weighted_ensemble as build_weighted_ensemble
from mlpilot.search.seeds import with_seed_copies
from mlpilot.search.shortlist import (
    MAX_FINALISTS,
    CandidateScore,
    Event,
    Leaderboard,
    ResultStore,
    build_pipeline,
    cross_validate_pipeline,
    make_cv,
    shortlist,
)

#: Share of the budget the shortlist may use; the rest is for ensembling, the members that
#: must be refitted (fold models too large to keep) and the importances. The final model
#: is usually the bag of the search's own fold models, which costs no fit.
SHORTLIST_SHARE = 0.85
#: Share of a tuning budget for the studies; the rest makes the final model and saves it.
STUDY_SHARE = 0.85
#: Share of the budget the importances of ``train`` may use at most. They are a preview
#: (``evaluate`` measures them again on the test rows); with the time left uncapped, a
#: 210 s housing run spent 41 s on them after the shortlist.
IMPORTANCE_SHARE = 0.05
#: A portfolio trial's cost relative to the defaults (boosting: 1,000 trees for 300).
PORTFOLIO_COST = 3.0
#: Share of the time left after the shortlist (or the studies) that seed copies may spend on
#: the refit. Each copy also costs its share of every prediction after it (the importances)
#: and of the saved file: on housing, an ensemble of 4 LightGBM and 4 XGBoost seeds took 9 s
#: to refit, 3 s for its importances and 5 s to save.
REFIT_MARGIN = 0.5
#: Rows used to measure permutation importances (enough for stable ranks, quick to predict).
IMPORTANCE_ROWS = 2_000
#: ... and the fewest it shrinks to when time is short.
MIN_IMPORTANCE_ROWS = 500
#: Above this many input columns (images: one per pixel), each column is shuffled once, not
#: three times: the map of importances matters, not each column's error bar.
WIDE_TABLE_COLUMNS = 100


@dataclass
class TrainOutcome:
    leaderboard: Leaderboard
    model: BaseEstimator  # fitted on all training rows
    chosen: CandidateScore  # what was picked, with its cross-validation scores
    ensemble: EnsembleChoice | None
    importances: pd.DataFrame | None
    seconds: float


def train_final(
    X: pd.DataFrame,
    y: pd.Series | pd.DataFrame,
    *,
    candidates: Sequence[Candidate],
    preprocessor: BaseEstimator | Mapping[str, BaseEstimator],
    task: str,
    metric: Metric,
    n_splits: int,
    seed: int,
    budget: float,
    n_jobs: int = -1,
    store: ResultStore | None = None,
    on_event: Event | None = None,
    ensemble: bool = True,
    halving: bool = True,
) -> TrainOutcome:
    """Shortlist (halving), greedy ensemble selection, refit on all rows, importances."""
    started = time.perf_counter()
    leaderboard = shortlist(X, y, candidates=candidates, preprocessor=preprocessor, task=task,
                            metric=metric, n_splits=n_splits, seed=seed,
                            budget=budget * SHORTLIST_SHARE, n_jobs=n_jobs, store=store,
                            on_event=on_event, halving=halving)
    best = leaderboard.best
    by_name = {c.name: c for c in candidates}
    pipelines = {r.name: build_pipeline(by_name[r.name], preprocessor, task, seed)
                 for r in leaderboard.finalists()}
    choice = None
    chosen, weights = best, {best.name: 1.0}  # the best is ranked on the last rung
    if ensemble and task != "multilabel":
        choice, scored = choose_ensemble(leaderboard, X, y, task, metric, n_splits, seed)
        if choice is not None and choice.kept and scored is not None:
            chosen, weights = scored, choice.weights
            leaderboard.rows.append(scored)
            if on_event is not None:
                on_event("done", scored)
    if on_event is not None:
        on_event("refit", chosen)
    model = final_model(pipelines, weights, {r.name: r for r in leaderboard.finalists()},
                        sensitive={c.name for c in candidates if c.seed_varies}, task=task,
                        metric=metric, n_splits=n_splits, n_jobs=n_jobs,
                        seconds_left=budget - (time.perf_counter() - started),
                        margin=REFIT_MARGIN, cv=make_cv(task, n_splits, seed))
    _drop_fold_models(leaderboard.rows)
    model = unfreeze(model.fit(X, y))
    importances = feature_importances(model, X, y, metric, seed,
                                      seconds=min(budget - (time.perf_counter() - started),
                                                  IMPORTANCE_SHARE * budget))
    return TrainOutcome(leaderboard, model, chosen, choice, importances,
                        time.perf_counter() - started)


def final_model(pipelines: Mapping[str, BaseEstimator], weights: Mapping[str, float],
                scores: Mapping[str, CandidateScore], *, sensitive: set[str], task: str,
                metric: Metric, n_splits: int, n_jobs: int, seconds_left: float,
                margin: float = 1.0,
                fitted: Mapping[str, BaseEstimator] | None = None,
                cv: Any = None) -> BaseEstimator:
    """The unfitted final model: the chosen pipeline, or the weighted ensemble, with as
    many members as ``margin`` × the time left pays for (``margin`` < 1 keeps time for the
    work after the refit) made fold bags on ``cv``, the search's folds (``search/bagging.py``),
    and the other seed-sensitive ones averaged over a few seeds (``search/seeds.py``).

    ``fitted`` holds members already fitted on these same rows (the current model's, when
    ``tune`` re-ensembles), and a member whose score kept its fold models (``fold_models``)
    becomes their bag: both join frozen, so ``fit`` skips them; pass the fitted model
    through :func:`unfreeze` afterwards.
    """
    fitted = fitted or {}
    members = {name: pipelines[name] for name, w in weights.items() if w > 0}
    reused: dict[str, BaseEstimator] = {
        name: FrozenEstimator(fitted[name]) for name in members if name in fitted}
    if cv is not None and bagging_applies(metric, task):
        # The search already fitted these members on cv's folds: their bag costs nothing.
        for name in members:
            blobs = scores[name].fold_models if name in scores else None
            if name not in reused and blobs and len(blobs) == cv.get_n_splits():
                reused[name] = fitted_fold_bag(blobs, cv, task)
    fresh = {name: p for name, p in members.items() if name not in reused}
    fold_seconds = {name: float(scores[name].fit_time or 0.0) if name in scores else 0.0
                    for name in fresh}
    refit = {name: refit_seconds(fold_seconds[name], n_splits) for name in fresh}
    workers = max(1, effective_n_jobs(n_jobs))
    seconds = margin * seconds_left
    if cv is not None:
        fresh, seconds = with_fold_bags(fresh, weights, fold_seconds, task=task,
                                        metric=metric, cv=cv, seconds_left=seconds,
                                        workers=workers)
    plain = {name: p for name, p in fresh.items() if not is_fold_bag(p)}
    seeded, _ = with_seed_copies(plain, refit, sensitive=sensitive, task=task,
                                 metric=metric, seconds_left=seconds, workers=workers)
    fresh = {**fresh, **seeded}
    members = {name: reused.get(name) or fresh[name] for name in members}
    if len(members) == 1:
        return next(iter(members.values()))
    return build_weighted_ensemble(members, {n: weights[n] for n in members}, task)


def unfreeze(model: BaseEstimator) -> BaseEstimator:
    """The fitted final model with :func:`final_model`'s frozen members unwrapped (those of
    its fold bags too), so the saved model holds plain pipelines (reports, export and
    serving read them)."""
    if isinstance(model, FrozenEstimator):
        return unfreeze(model.estimator)
    if isinstance(model, WeightedEnsemble):
        # The members' templates go back to unfitted copies: a frozen member's template
        # is the fitted model itself, which would be saved twice.
        model.estimators = [(name, _unfitted(est)) for name, est in model.estimators]
        model.estimators_ = [unfreeze(est) for est in model.estimators_]
        model.named_estimators_ = Bunch(**{
            name: est for (name, _), est in zip(model.estimators, model.estimators_,
                                                strict=True)})
    return model


def _drop_fold_models(rows: Sequence[CandidateScore]) -> None:
    """Let go of the pickled fold models once the final model holds what it uses: six
    finalists' five folds are hundreds of MB that the leaderboard need not keep."""
    for row in rows:
        row.fold_models = None


def _unfitted(member: BaseEstimator) -> BaseEstimator:
    """An unfitted copy of a member (of a frozen one: of what it wraps), all the way down."""
    inner = member.estimator if isinstance(member, FrozenEstimator) else member
    if isinstance(inner, WeightedEnsemble):
        return clone(inner).set_params(
            estimators=[(name, _unfitted(est)) for name, est in inner.estimators])
    return clone(inner)


def choose_ensemble(leaderboard: Leaderboard, X: pd.DataFrame, y: pd.Series | pd.DataFrame,
                    task: str, metric: Metric, n_splits: int,
                    seed: int) -> tuple[EnsembleChoice | None, CandidateScore | None]:
    """Greedy selection over the finalists' OOF predictions; its per-fold scores."""
    finalists = [r for r in leaderboard.finalists() if r.oof is not None and r.name != "dummy"]
    finalists = finalists[:MAX_FINALISTS]
    if len(finalists) < 2:
        return None, None
    classes = np.unique(np.asarray(y)) if task in ("binary", "multiclass") else None
    oof = {r.name: r.oof for r in finalists}
    choice = ensemble_candidates(oof, y, metric, task, classes, seed=seed)
    members = {n: w for n, w in choice.weights.items() if w > 0}
    blended = sum(w * np.asarray(oof[n], dtype=np.float64) for n, w in members.items())
    folds = _oof_fold_scores(blended, X, y, task, metric, n_splits, seed)
    score = CandidateScore("ensemble", "ensemble", "done", [float(f) for f in folds],
                           fit_time=sum(r.fit_time or 0.0 for r in finalists if r.name in members),
                           score_time=sum(r.score_time or 0.0 for r in finalists
                                          if r.name in members),
                           n_rows=leaderboard.n_rows, oof=blended)
    return choice, score


def _oof_fold_scores(oof: np.ndarray, X: pd.DataFrame, y: pd.Series | pd.DataFrame, task: str,
                     metric: Metric, n_splits: int, seed: int) -> list[float]:
    """The metric of out-of-fold predictions (a blend) on each of the search's folds, so
    they stand on the leaderboard beside cross-validated candidates."""
    classified = task in ("binary", "multiclass")
    classes = np.unique(np.asarray(y)) if classified else None
    y_arr = np.asarray(y)
    return [float(score_predictions(metric, y_arr[test], oof[test], task, classes))
            for _, test in make_cv(task, n_splits, seed).split(X, y if classified else None)]


def feature_importances(model: BaseEstimator, X: pd.DataFrame, y: pd.Series | pd.DataFrame,
                        metric: Metric, seed: int,
                        seconds: float | None = None) -> pd.DataFrame | None:
    """Permutation importance of each input column, and impurity importance where trees tell.

    Permutation importance is measured on a sample of the training rows: it says what the
    final model relies on (its generalization is the evaluation step's job). Wide tables get
    one shuffle per column on fewer rows, so 784 pixels cost about what 200 columns would.
    With ``seconds``, the sample shrinks (one shuffle, then fewer rows, down to
    MIN_IMPORTANCE_ROWS) to fit the time left: an ensemble of seed averages predicts 2,000
    housing districts in ~0.4 s, and 3 shuffles of 10 columns would overrun a 60 s budget.
    """
    wide = X.shape[1] > WIDE_TABLE_COLUMNS
    try:
        n = min(IMPORTANCE_ROWS // 2 if wide else IMPORTANCE_ROWS, len(X))
        rows = np.random.default_rng(seed).choice(len(X), n, replace=False)
        repeats = 1 if wide else 3
        if seconds is not None:
            n, repeats = _importance_plan(model, X.iloc[rows], repeats, seconds)
            rows = rows[:n]
        result = permutation_importance(model, X.iloc[rows], y.iloc[rows],
                                        scoring=metric.scorer, n_repeats=repeats,
                                        random_state=seed, n_jobs=1)
    except Exception:  # importances are a courtesy: never fail a training run for them
        return None
    table = pd.DataFrame({"feature": list(X.columns),
                          "permutation_importance": result.importances_mean,
                          "permutation_std": result.importances_std})
    table = table.sort_values("permutation_importance", ascending=False, ignore_index=True)
    impurity = impurity_importances(model)
    if impurity is not None:
        table.attrs["impurity"] = impurity
    return table


def _importance_plan(model: BaseEstimator, X: pd.DataFrame, repeats: int,
                     seconds: float) -> tuple[int, int]:
    """Rows and shuffles per column that fit ``seconds``, from one timed prediction."""
    started = time.perf_counter()
    model.predict(X)
    per_call = max(time.perf_counter() - started, 1e-3)
    calls = X.shape[1] * repeats + 1
    if per_call * calls > seconds and repeats > 1:
        repeats, calls = 1, X.shape[1] + 1
    n = len(X)
    if per_call * calls > seconds:
        n = max(min(MIN_IMPORTANCE_ROWS, n), int(n * seconds / (per_call * calls)))
    return n, repeats


def impurity_importances(model: BaseEstimator) -> pd.Series | None:
    """``feature_importances_`` of a tree model, named by the prepared features (a seed
    average's: the mean over its seeds)."""
    if unwrap_seeds(model) is not model:
        parts = [impurity_importances(seed) for seed in getattr(model, "estimators_", [])]
        if not parts or any(p is None for p in parts):
            return None
        return (sum(parts) / len(parts)).sort_values(ascending=False)  # type: ignore[operator]
    if not isinstance(model, Pipeline):
        return None
    estimator: Any = model.named_steps.get("model")
    while hasattr(estimator, "estimator") and not hasattr(estimator, "feature_importances_"):
        estimator = estimator.estimator_ if hasattr(estimator, "estimator_") else None
    values = getattr(estimator, "feature_importances_", None)
    if values is None:
        return None
    try:
        names = model.named_steps["preprocess"].get_feature_names_out()
    except Exception:
        names = [f"feature_{i}" for i in range(len(values))]
    if len(names) != len(values):
        return None
    series = pd.Series(np.asarray(values, dtype=float), index=list(names))
    return (series / series.sum() if series.sum() > 0 else series).sort_values(ascending=False)


@dataclass
class TuneReport:
    results: list[Any]  # TuneResult per tuned family
    tuned: list[CandidateScore]  # each tuned pipeline's CV (with OOF predictions)
    ensemble: EnsembleChoice | None
    chosen: CandidateScore  # the best of tuned, ensembled and the current model
    improved: bool  # whether ``chosen`` beats the current model's CV score
    model: BaseEstimator | None  # refitted on all rows when improved, else None
    record: Any = None  # the saved ModelRecord (set by Project.tune)
    seconds: float = 0.0


def _first_trial_seconds(candidate: Any, untuned: CandidateScore | None, n_splits: int,
                         workers: int) -> float | None:
    """About how long the first tuning trial takes: the shortlist's fit time per fold, folds
    run ``workers`` at a time, times the portfolio's extra work (1,000 trees for 300)."""
    if untuned is None or not untuned.fit_time:
        return None
    rounds = math.ceil(n_splits / workers)
    return float(untuned.fit_time) * rounds * (PORTFOLIO_COST if candidate.portfolio else 1.0)


def _tuned_score(result: Any, untuned: CandidateScore | None, X: pd.DataFrame,
                 y: pd.Series | pd.DataFrame, task: str, metric: Metric, n_splits: int,
                 seed: int, n_jobs: int) -> CandidateScore:
    """The tuned pipeline's fold scores and out-of-fold predictions for ensemble selection:
    the search's own when it kept them, the shortlist's when the defaults won, else a new
    cross-validation."""
    name, family = f"{result.candidate}_tuned", untuned.family if untuned else "tuned"
    if result.oof is not None and result.oof_fold_scores is not None:
        return CandidateScore(name, family, "done", list(result.oof_fold_scores),
                              fit_time=_best_trial_fit_seconds(result), n_rows=len(X),
                              oof=result.oof, fold_models=result.fold_models)
    if (untuned is not None and untuned.oof is not None and result.default_score is not None
            and result.best_score == result.default_score):
        return CandidateScore(name, family, "done", list(untuned.fold_scores),
                              fit_time=untuned.fit_time, score_time=untuned.score_time,
                              n_rows=len(X), oof=untuned.oof,
                              fold_models=untuned.fold_models)
    folds = cross_validate_pipeline(result.pipeline(), X, y, task, metric,
                                    make_cv(task, n_splits, seed), n_jobs, want_oof=True,
                                    keep_models=True)
    return CandidateScore(name, family, "done", folds.scores,
                          fit_time=float(np.mean(folds.fit_times)),
                          score_time=float(np.mean(folds.score_times)),
                          n_rows=len(X), oof=folds.oof, fold_models=folds.models)


def _best_trial_fit_seconds(result: Any) -> float | None:
    """The best trial's mean fit time per fold, from the search's table."""
    table = result.cv_results
    if "rank" not in table or "mean_fit_time" not in table:
        return None
    fit = table.loc[table["rank"] == 1, "mean_fit_time"].dropna()
    return float(fit.iloc[0]) if len(fit) else None


def tune_and_choose(
    X: pd.DataFrame,
    y: pd.Series | pd.DataFrame,
    *,
    names: Sequence[str],
    finalists: Sequence[CandidateScore],
    preprocessor: Mapping[str, BaseEstimator],
    task: str,
    metric: Metric,
    strategy: str,
    budget: float,
    n_trials: int | None,
    n_splits: int,
    seed: int,
    n_jobs: int,
    storage_url: str | None,
    study_prefix: str,
    current_cv: float | None,
    on_event: Event | None = None,
    fitted: Mapping[str, BaseEstimator] | None = None,
) -> TuneReport:
    """Tune each named family (budget shared), re-ensemble with the finalists, keep the best.

    A tuned pipeline's out-of-fold predictions come from the same folds as the shortlist's,
    so tuned and untuned models enter one greedy ensemble selection on equal terms.
    ``fitted``: the current model's members by name, already fitted on ``X``; the final
    refit reuses them instead of fitting them again (on housing that is most of the refit).
    A family whose first trial cannot fit its share of the budget is not tuned, even the
    first: Optuna checks its timeout only between trials.
    """
    from mlpilot.models.zoo import get_candidate
    from mlpilot.search.tune import tune

    started = time.perf_counter()
    results, tuned = [], []
    # The shortlist's last rung used these folds on all rows: its scores are the defaults'.
    known = {f.name: f for f in finalists
             if f.status == "done" and f.n_rows == len(X) and f.fold_scores}
    study_budget = budget * STUDY_SHARE
    workers = max(1, min(effective_n_jobs(n_jobs), n_splits))
    for i, name in enumerate(names):
        candidate = get_candidate(name)
        share = (study_budget - (time.perf_counter() - started)) / (len(names) - i)
        untuned = known.get(name)
        first_trial = _first_trial_seconds(candidate, untuned, n_splits, workers)
        if first_trial is not None and first_trial > 1.5 * share:
            # Optuna checks its timeout between trials, so a trial that cannot fit would
            # overrun the budget; the family stays in ensemble selection untuned.
            if on_event is not None:
                on_event("skipped", CandidateScore(
                    f"{name}_tuned", candidate.family, "skipped", n_rows=len(X),
                    error=f"one trial takes about {first_trial:.0f} s; {share:.0f} s left"))
            continue
        result = tune(X, y, candidate=candidate, preprocessor=preprocessor, task=task,
                      metric=metric, strategy=strategy, n_trials=n_trials,
                      budget=max(share * 0.8, 1.0), n_splits=n_splits, seed=seed,
                      storage_url=storage_url if strategy == "optuna" else None,
                      study_name=f"{study_prefix}-{name}", n_jobs=n_jobs, on_event=on_event,
                      default_scores=untuned.fold_scores if untuned else None)
        results.append(result)
        score = _tuned_score(result, untuned, X, y, task, metric, n_splits, seed, n_jobs)
        tuned.append(score)
        if on_event is not None:
            on_event("done", score)
    pipelines = {f"{r.candidate}_tuned": r.pipeline() for r in results}
    pipelines.update({f.name: build_pipeline(get_candidate(f.name), preprocessor, task, seed)
                      for f in finalists})
    board = Leaderboard(metric, [*tuned, *finalists], len(X))
    choice, blended = (choose_ensemble(board, X, y, task, metric, n_splits, seed)
                       if task != "multilabel" else (None, None))
    chosen, model = board.best, None
    if choice is not None and choice.kept and blended is not None:
        chosen = blended
    improved = current_cv is None or metric.better(chosen.mean or 0.0, current_cv)
    if improved:
        if on_event is not None:
            on_event("refit", chosen)
        weights = (choice.weights if chosen.name == "ensemble" and choice is not None
                   else {chosen.name: 1.0})
        sensitive = {name for name in pipelines
                     if get_candidate(name.removesuffix("_tuned")).seed_varies}
        model = final_model(pipelines, weights, {s.name: s for s in board.rows},
                            sensitive=sensitive, task=task, metric=metric, n_splits=n_splits,
                            n_jobs=n_jobs, seconds_left=budget - (time.perf_counter() - started),
                            margin=REFIT_MARGIN, fitted=fitted, cv=make_cv(task, n_splits, seed))
        model = unfreeze(model.fit(X, y))
    _drop_fold_models(board.rows)
    for result in results:
        result.fold_models = None
    return TuneReport(results, tuned, choice, chosen, improved, model,
                      seconds=time.perf_counter() - started)

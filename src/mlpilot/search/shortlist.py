"""Shortlisting: cross-validate candidate models, cheapest first, within a time budget.

Successive halving (Jamieson & Talwalkar; scikit-learn's ``HalvingGridSearchCV`` idea
applied across families): every candidate is first cross-validated on a small subset of the
training rows, only the best third goes on to a subset three times larger, and so on up to
all rows. Losers are dropped for the price of a small fit, and a first leaderboard row comes
within seconds even on a large table. Later rungs run their survivors best first, and each
foresees a candidate's cost from its last rung and how its fit time grows with the rows
(``Candidate.growth``). On the last rung each survivor also leaves its out-of-fold (OOF)
predictions, which ensemble selection uses; time left there goes to the next-best candidates
of the earlier rungs, for more diverse ensembles.

Each finished (candidate, rung) is handed to a :class:`ResultStore` at once, so an
interrupted run resumes where it stopped: a result already stored for the same data, split,
folds, metric and seed is read back, not refitted. Folds run through joblib, so a Dask
cluster (``joblib.parallel_config(backend="dask")``) runs them across machines unchanged.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline

from mlpilot.errors import TrainingError
from mlpilot.evaluate.metrics import Metric
from mlpilot.models.zoo import Candidate
from mlpilot.search.bagging import pack_model

#: Rows of the smallest halving rung (below 3x this, every candidate sees all rows at once).
MIN_RUNG_ROWS = 1_500
#: Each rung keeps the best 1/FACTOR of the candidates and gives them FACTOR times the rows.
FACTOR = 3
#: Never drop below this many candidates before the last rung (ensembles want a few).
MIN_SURVIVORS = 4
#: At most this many candidates of one family go up a rung: ensembles want diverse members,
#: and a family of near-twins (histogram boosting, LightGBM, XGBoost) would fill every place.
MAX_PER_FAMILY = 2
#: Ensemble selection looks at this many finalists, so the time the survivors leave on the
#: last rung goes to other candidates until there are this many.
MAX_FINALISTS = 6


@dataclass
class CandidateScore:
    name: str
    family: str
    status: str  # done | failed | skipped
    fold_scores: list[float] = field(default_factory=list)
    fit_time: float | None = None  # mean seconds per fold
    score_time: float | None = None  # mean seconds to predict and score a fold
    error: str | None = None
    reused: bool = False
    n_rows: int | None = None  # training rows this result was cross-validated on
    oof: np.ndarray | None = field(default=None, repr=False)  # OOF predictions (last rung)
    #: The fitted pipeline of each fold (last rung, pickled; ``search/bagging.py``): the
    #: final model can be their average without fitting anything again. Not stored.
    fold_models: list[bytes] | None = field(default=None, repr=False)

    @property
    def mean(self) -> float | None:
        return float(np.mean(self.fold_scores)) if self.fold_scores else None

    @property
    def std(self) -> float | None:
        return float(np.std(self.fold_scores)) if self.fold_scores else None

    @property
    def key(self) -> str:
        return result_key(self.name, self.n_rows)


def result_key(name: str, n_rows: int | None) -> str:
    """How a (candidate, rung) result is named in the store: ``lightgbm@5504``."""
    return name if n_rows is None else f"{name}@{n_rows}"


class ResultStore(Protocol):
    def get(self, key: str) -> CandidateScore | None: ...
    def put(self, score: CandidateScore) -> None: ...


@dataclass
class Leaderboard:
    metric: Metric
    rows: list[CandidateScore]
    n_rows: int | None = None  # all training rows (the last rung)

    def latest(self) -> list[CandidateScore]:
        """Each candidate's result on the largest rung it reached."""
        best: dict[str, CandidateScore] = {}
        for r in self.rows:
            current = best.get(r.name)
            if current is None or (r.status == "done" and (
                    current.status != "done" or (r.n_rows or 0) >= (current.n_rows or 0))):
                best[r.name] = r
        return list(best.values())

    def ranked(self) -> list[CandidateScore]:
        """Done results, those that went further first, then by score."""
        done = [r for r in self.latest() if r.status == "done" and r.mean is not None]
        sign = -1.0 if self.metric.greater_is_better else 1.0
        return sorted(done, key=lambda r: (-(r.n_rows or 0), sign * r.mean))  # type: ignore[operator]

    @property
    def best(self) -> CandidateScore:
        ranked = self.ranked()
        if not ranked:
            errors = "; ".join(f"{r.name}: {r.error}" for r in self.latest() if r.error)
            raise TrainingError("no candidate model could be cross-validated",
                                errors or "raise the budget")
        return ranked[0]

    def finalists(self) -> list[CandidateScore]:
        """Ranked results on all rows, with their out-of-fold predictions."""
        ranked = self.ranked()
        top = max((r.n_rows or 0 for r in ranked), default=0)
        return [r for r in ranked if (r.n_rows or 0) == top]

    def to_frame(self) -> pd.DataFrame:
        ranked = self.ranked()
        order = {r.name: i for i, r in enumerate(ranked)}
        rows = sorted(self.latest(), key=lambda r: order.get(r.name, len(order)))
        m = self.metric.name
        return pd.DataFrame([{
            "model": r.name, "family": r.family, "status": r.status, "rows": r.n_rows,
            f"cv_{m}_mean": r.mean, f"cv_{m}_std": r.std,
            "fit_time_s": r.fit_time, "predict_time_s": r.score_time,
        } for r in rows])


def make_cv(task: str, n_splits: int, seed: int) -> KFold | StratifiedKFold:
    if task in ("binary", "multiclass"):
        return StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return KFold(n_splits=n_splits, shuffle=True, random_state=seed)


def check_folds(y: pd.Series | pd.DataFrame, task: str, n_splits: int) -> None:
    if len(y) < n_splits:
        raise TrainingError(f"only {len(y)} training rows for {n_splits}-fold cross-validation",
                            "add rows or lower cv_folds in mlpilot.toml")
    if task in ("binary", "multiclass"):
        counts = pd.Series(np.asarray(y)).value_counts()
        if counts.min() < n_splits:
            raise TrainingError(
                f"class {counts.idxmin()!r} has {counts.min()} training rows, fewer than the "
                f"{n_splits} folds", "add rows of that class or lower cv_folds in mlpilot.toml")


def halving_rungs(n_rows: int, min_rows: int = MIN_RUNG_ROWS, factor: int = FACTOR) -> list[int]:
    """Subset sizes, smallest first, ending with all rows: 16,512 -> [1,835, 5,504, 16,512]."""
    rungs = [n_rows]
    while math.ceil(rungs[0] / factor) >= min_rows:
        rungs.insert(0, math.ceil(rungs[0] / factor))
    return rungs


def subset_order(y: pd.Series | pd.DataFrame, task: str, seed: int) -> np.ndarray:
    """A row order whose every prefix is a fair sample (stratified on the class if any).

    Rungs take prefixes of this order, so each rung's rows include the previous rung's.
    """
    rng = np.random.default_rng(seed)
    n = len(y)
    if task not in ("binary", "multiclass"):
        return rng.permutation(n)
    # interleave classes in proportion: sort by (rank within class / class size)
    labels = pd.Series(np.asarray(y)).reset_index(drop=True)
    position = np.empty(n)
    for _, idx in labels.groupby(labels).groups.items():
        idx = rng.permutation(np.asarray(idx))
        position[idx] = (np.arange(len(idx)) + rng.random()) / len(idx)
    return np.argsort(position, kind="stable")


Event = Callable[[str, Any], None]


def shortlist(
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
    halving: bool = True,
    min_rung_rows: int = MIN_RUNG_ROWS,
) -> Leaderboard:
    """Cross-validate each candidate inside ``Pipeline(preprocessor, model)``.

    ``preprocessor`` is one estimator, or one per variant (``candidate.prep``). Events sent
    to ``on_event``: ``("rung", (size, names))``, ``("start", (candidate, size))``,
    ``("done" | "reused" | "skipped", CandidateScore)``.
    """
    check_folds(y, task, n_splits)
    started = time.perf_counter()
    rungs = halving_rungs(len(X), min_rung_rows) if halving else [len(X)]
    order = subset_order(y, task, seed)
    survivors = sorted(candidates, key=lambda c: c.rank(len(X)))
    rows: list[CandidateScore] = []
    last_fit: dict[str, tuple[int, float]] = {}  # each candidate's last (rows, wall seconds)
    workers = max(1, effective_n_jobs(n_jobs))
    for r, size in enumerate(rungs):
        last = r == len(rungs) - 1
        idx = np.sort(order[:size])
        Xr, yr = X.iloc[idx], y.iloc[idx]
        _emit(on_event, "rung", (size, [c.name for c in survivors]))
        # Halving means every rung costs about the same (3x the rows, a third of the
        # candidates), so a rung may spend an even share of the time left and leave the rest
        # to the larger rungs: on housing at 60 s the first rung's last, slowest candidates
        # used to eat the time LightGBM needed to reach all rows. Shares are of the time
        # left, so a first rung that overran (nothing's cost is known before it) does not
        # starve the next one.
        rung_start = time.perf_counter() - started
        rung_limit = rung_start + (budget - rung_start) / (len(rungs) - r)
        # Time the survivors leave on the last rung goes to the next-best candidates of the
        # earlier rungs, up to MAX_FINALISTS: more models with out-of-fold predictions on
        # all rows for ensemble selection.
        reserves = _reserves(candidates, survivors, rows, metric) if last and r else []
        rung_rows: list[CandidateScore] = []
        rung_seconds: list[float] = []  # wall time of each candidate run on this rung
        for i, candidate in enumerate([*survivors, *reserves]):
            reserve = i >= len(survivors)
            key = result_key(candidate.name, size)
            previous = store.get(key) if store else None
            if previous is not None and previous.status == "done" and (
                    not last or previous.oof is not None or task == "multilabel"):
                previous.reused = True
                last_fit[candidate.name] = (size, _wall_seconds(previous, n_splits, workers))
                rung_rows.append(previous)
                _emit(on_event, "reused", previous)
                continue
            spent = time.perf_counter() - started
            expected = _expected_seconds(candidate, last_fit.get(candidate.name), size,
                                         rung_seconds)
            if reserve:
                if sum(s.status == "done" for s in rung_rows) >= MAX_FINALISTS:
                    break
                if spent + expected > budget:
                    continue  # a reserve is a bonus: no row when it does not fit
            elif any(s.status == "done" for s in rung_rows) and (
                    spent >= budget or spent + expected > budget * 1.1
                    or (not last and spent + expected >= rung_limit * 1.1)):
                score = CandidateScore(candidate.name, candidate.family, "skipped",
                                       error=f"budget of {budget:.0f} s spent", n_rows=size)
                rung_rows.append(score)
                _emit(on_event, "skipped", score)
                continue
            _emit(on_event, "start", (candidate, size))
            t0 = time.perf_counter()
            # The baseline fits in milliseconds: in this process, its row shows at once
            # instead of after the worker processes start (2 s on housing).
            jobs = 1 if candidate.family == "baseline" else n_jobs
            score = cross_validate_candidate(
                candidate, Xr, yr, preprocessor, task, metric, make_cv(task, n_splits, seed),
                seed, jobs, want_oof=last, keep_models=last)
            last_fit[candidate.name] = (size, time.perf_counter() - t0)
            rung_seconds.append(last_fit[candidate.name][1])
            score.n_rows = size
            if store is not None:
                store.put(score)
            rung_rows.append(score)
            _emit(on_event, "done", score)
        rows.extend(rung_rows)
        if not last:
            survivors = _promote(survivors, rung_rows, metric)
            if not survivors:
                break
    return Leaderboard(metric, rows, len(X))


def _expected_seconds(candidate: Candidate, last_fit: tuple[int, float] | None,
                      size: int, rung_seconds: Sequence[float]) -> float:
    """A candidate's cross-validation time on ``size`` rows, from its last rung's time and
    how its fit time grows with the rows (``Candidate.growth``). One not yet timed is
    guessed at the mean time of those before it on this rung: a low guess, since they ran
    cheapest first, but it keeps a rung from starting a slow family (a random forest: 6.7 s
    on housing's first rung) when its share is nearly spent."""
    if last_fit is None:
        return float(np.mean(rung_seconds)) if rung_seconds else 0.0
    rows, seconds = last_fit
    return seconds * (size / rows) ** candidate.growth


def _wall_seconds(score: CandidateScore, n_splits: int, workers: int) -> float:
    """About how long a stored result took: its folds, ``workers`` at a time."""
    per_fold = (score.fit_time or 0.0) + (score.score_time or 0.0)
    return per_fold * math.ceil(n_splits / workers)


def _promote(survivors: list[Candidate], results: list[CandidateScore],
             metric: Metric) -> list[Candidate]:
    """The best third (at least MIN_SURVIVORS) of this rung's finished candidates, at most
    MAX_PER_FAMILY of a family, best first, so that the most promising reach the larger
    rungs when time runs short."""
    done = {s.name: s for s in results if s.status == "done" and s.mean is not None}
    sign = -1.0 if metric.greater_is_better else 1.0
    ranked = sorted(done, key=lambda n: sign * done[n].mean)  # type: ignore[operator]
    places = max(MIN_SURVIVORS, math.ceil(len(ranked) / FACTOR))
    by_name = {c.name: c for c in survivors}
    keep: list[Candidate] = []
    per_family: dict[str, int] = {}
    for name in ranked:  # a place a family's cap frees goes to the next best
        family = done[name].family
        if len(keep) == places:
            break
        if per_family.get(family, 0) >= MAX_PER_FAMILY:
            continue
        per_family[family] = per_family.get(family, 0) + 1
        keep.append(by_name[name])
    # the baseline has made its point on the first rung
    return [c for c in keep if c.name != "dummy"]


def _reserves(candidates: Sequence[Candidate], survivors: Sequence[Candidate],
              rows: Sequence[CandidateScore], metric: Metric) -> list[Candidate]:
    """Candidates that finished an earlier rung but were not promoted to the last one,
    those that went further first, then best first (the baseline never)."""
    promoted = {c.name for c in survivors}
    by_name = {c.name: c for c in candidates}
    ranked = Leaderboard(metric, list(rows)).ranked()
    return [by_name[r.name] for r in ranked if r.name not in promoted and r.name != "dummy"]


def build_pipeline(candidate: Candidate,
                   preprocessor: BaseEstimator | Mapping[str, BaseEstimator], task: str,
                   seed: int) -> Pipeline:
    if isinstance(preprocessor, Mapping):
        preprocessor = preprocessor[candidate.prep]
    return Pipeline([("preprocess", clone(preprocessor)),
                     ("model", candidate.build(task, seed))])


def cross_validate_candidate(candidate: Candidate, X: pd.DataFrame, y: pd.Series | pd.DataFrame,
                             preprocessor: BaseEstimator | Mapping[str, BaseEstimator], task: str,
                             metric: Metric, cv: KFold | StratifiedKFold, seed: int, n_jobs: int,
                             want_oof: bool = False, keep_models: bool = False) -> CandidateScore:
    """K-fold scores (and OOF predictions, fitted fold models) of one candidate; a failure
    is a result too."""
    pipeline = build_pipeline(candidate, preprocessor, task, seed)
    try:
        folds = cross_validate_pipeline(pipeline, X, y, task, metric, cv, n_jobs, want_oof,
                                        keep_models and candidate.keeps_fold_models)
    except Exception as exc:  # a family failing must not stop the others
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return CandidateScore(candidate.name, candidate.family, "failed", error=message)
    return CandidateScore(candidate.name, candidate.family, "done", folds.scores,
                          fit_time=float(np.mean(folds.fit_times)),
                          score_time=float(np.mean(folds.score_times)), oof=folds.oof,
                          fold_models=folds.models)


@dataclass
class FoldResults:
    scores: list[float]
    fit_times: list[float]
    score_times: list[float]
    oof: np.ndarray | None
    models: list[bytes] | None = None  # each fold's fitted pipeline, pickled (when kept)


def cross_validate_pipeline(pipeline: BaseEstimator, X: pd.DataFrame,
                            y: pd.Series | pd.DataFrame, task: str, metric: Metric,
                            cv: KFold | StratifiedKFold, n_jobs: int,
                            want_oof: bool = False, keep_models: bool = False) -> FoldResults:
    """Fit and score each fold through joblib (any backend: loky, threads, Dask).

    ``keep_models``: also bring back each fold's fitted pipeline, pickled in the worker
    (``None`` for all when one is too large to keep: see :func:`pack_model`)."""
    splits = list(cv.split(X, y if task in ("binary", "multiclass") else None))
    oof_wanted = want_oof and task != "multilabel"
    with warnings.catch_warnings():
        # A worker's first Keras fit grows it past joblib's leak threshold, so loky restarts
        # it and says so: harmless, and nothing the user can act on.
        warnings.filterwarnings("ignore", message="A worker stopped while some jobs",
                                category=UserWarning)
        results = Parallel(n_jobs=n_jobs)(
            delayed(_fit_fold)(clone(pipeline), X, y, train, test, metric, oof_wanted,
                               keep_models)
            for train, test in splits)
    oof = None
    if oof_wanted:
        oof = assemble_oof([(test, r[3]) for (_, test), r in zip(splits, results, strict=True)],
                           len(X))
    models = [r[4] for r in results]
    return FoldResults([r[0] for r in results], [r[1] for r in results],
                       [r[2] for r in results], oof,
                       models if keep_models and all(m is not None for m in models) else None)


def _fit_fold(pipeline: BaseEstimator, X: pd.DataFrame, y: pd.Series | pd.DataFrame,
              train: np.ndarray, test: np.ndarray, metric: Metric, want_oof: bool,
              keep_model: bool = False,
              ) -> tuple[float, float, float, np.ndarray | None, bytes | None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        t0 = time.perf_counter()
        pipeline.fit(X.iloc[train], y.iloc[train])
        fit_time = time.perf_counter() - t0
        t0 = time.perf_counter()
        Xt, yt = X.iloc[test], y.iloc[test]
        score = metric.from_sklearn(get_scorer(metric.scorer)(pipeline, Xt, yt))
        oof = fold_predictions(pipeline, Xt) if want_oof else None
        score_time = time.perf_counter() - t0
    return score, fit_time, score_time, oof, pack_model(pipeline) if keep_model else None


def assemble_oof(predictions: Sequence[tuple[np.ndarray, np.ndarray | None]],
                 n_rows: int) -> np.ndarray | None:
    """Per-fold held-out predictions back in row order (None when a fold has none)."""
    if not predictions or any(p is None for _, p in predictions):
        return None
    first = predictions[0][1]
    assert first is not None
    out = np.zeros((n_rows, *first.shape[1:]), dtype=np.float64)
    for test, predicted in predictions:
        out[test] = predicted
    return out


def fold_predictions(pipeline: BaseEstimator, X: Any) -> np.ndarray | None:
    """What ensembles blend: predictions (regression) or class probabilities (None for a
    classifier without ``predict_proba``, such as LinearSVC)."""
    if not is_classifier(pipeline):
        return np.asarray(pipeline.predict(X), dtype=np.float64)
    if hasattr(pipeline, "predict_proba"):
        return np.asarray(pipeline.predict_proba(X), dtype=np.float64)
    return None


def _emit(on_event: Event | None, kind: str, payload: Any) -> None:
    if on_event is not None:
        on_event(kind, payload)

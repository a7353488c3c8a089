"""Shortlisting: cross-validate candidate models, cheapest first, within a time budget.

Each finished candidate is handed to a :class:`ResultStore` at once, so an interrupted run
resumes where it stopped: a candidate already scored with the same data, split, folds,
metric and seed is read back, not refitted.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.pipeline import Pipeline

from mlpilot.errors import TrainingError
from mlpilot.evaluate.metrics import Metric
from mlpilot.models.zoo import Candidate


@dataclass
class CandidateScore:
    name: str
    family: str
    status: str  # done | failed | skipped
    fold_scores: list[float] = field(default_factory=list)
    fit_time: float | None = None
    score_time: float | None = None
    error: str | None = None
    reused: bool = False

    @property
    def mean(self) -> float | None:
        return float(np.mean(self.fold_scores)) if self.fold_scores else None

    @property
    def std(self) -> float | None:
        return float(np.std(self.fold_scores)) if self.fold_scores else None


class ResultStore(Protocol):
    def get(self, name: str) -> CandidateScore | None: ...
    def put(self, score: CandidateScore) -> None: ...


@dataclass
class Leaderboard:
    metric: Metric
    rows: list[CandidateScore]

    def ranked(self) -> list[CandidateScore]:
        done = [r for r in self.rows if r.status == "done" and r.mean is not None]
        return sorted(done, key=lambda r: r.mean, reverse=self.metric.greater_is_better)  # type: ignore[arg-type,return-value]

    @property
    def best(self) -> CandidateScore:
        ranked = self.ranked()
        if not ranked:
            errors = "; ".join(f"{r.name}: {r.error}" for r in self.rows if r.error)
            raise TrainingError("no candidate model could be cross-validated",
                                errors or "raise the budget")
        return ranked[0]

    def to_frame(self) -> pd.DataFrame:
        order = {r.name: i for i, r in enumerate(self.ranked())}
        rows = sorted(self.rows, key=lambda r: order.get(r.name, len(order)))
        return pd.DataFrame([{
            "model": r.name, "family": r.family, "status": r.status,
            f"cv_{self.metric.name}_mean": r.mean, f"cv_{self.metric.name}_std": r.std,
            "fit_time_s": r.fit_time, "score_time_s": r.score_time,
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


Event = Callable[[str, CandidateScore | Candidate], None]


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
) -> Leaderboard:
    """Cross-validate each candidate inside ``Pipeline(preprocessor, model)``.

    ``preprocessor`` is one estimator, or one per variant (``candidate.prep``).
    """
    check_folds(y, task, n_splits)
    cv = make_cv(task, n_splits, seed)
    started = time.perf_counter()
    rows: list[CandidateScore] = []
    for candidate in sorted(candidates, key=lambda c: c.cost):
        previous = store.get(candidate.name) if store else None
        if previous is not None and previous.status == "done":
            previous.reused = True
            rows.append(previous)
            _emit(on_event, "reused", previous)
            continue
        spent = time.perf_counter() - started
        if spent >= budget and any(r.status == "done" for r in rows):
            score = CandidateScore(candidate.name, candidate.family, "skipped",
                                   error=f"budget of {budget:.0f} s spent")
            rows.append(score)
            _emit(on_event, "skipped", score)
            continue
        _emit(on_event, "start", candidate)
        score = _cross_validate(candidate, X, y, preprocessor, task, metric, cv, seed, n_jobs)
        if store is not None:
            store.put(score)
        rows.append(score)
        _emit(on_event, "done", score)
    return Leaderboard(metric, rows)


def build_pipeline(candidate: Candidate,
                   preprocessor: BaseEstimator | Mapping[str, BaseEstimator], task: str,
                   seed: int) -> Pipeline:
    if isinstance(preprocessor, Mapping):
        preprocessor = preprocessor[candidate.prep]
    return Pipeline([("preprocess", clone(preprocessor)),
                     ("model", candidate.build(task, seed))])


def _cross_validate(candidate: Candidate, X: pd.DataFrame, y: pd.Series | pd.DataFrame,
                    preprocessor: BaseEstimator | Mapping[str, BaseEstimator], task: str,
                    metric: Metric, cv: KFold | StratifiedKFold, seed: int,
                    n_jobs: int) -> CandidateScore:
    pipeline = build_pipeline(candidate, preprocessor, task, seed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            result = cross_validate(pipeline, X, y, cv=cv, scoring=metric.scorer,
                                    n_jobs=n_jobs, error_score="raise")
    except Exception as exc:  # a family failing must not stop the others
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return CandidateScore(candidate.name, candidate.family, "failed", error=message)
    scores = [metric.from_sklearn(v) for v in result["test_score"]]
    return CandidateScore(candidate.name, candidate.family, "done", scores,
                          fit_time=float(np.mean(result["fit_time"])),
                          score_time=float(np.mean(result["score_time"])))


def _emit(on_event: Event | None, kind: str, payload: CandidateScore | Candidate) -> None:
    if on_event is not None:
        on_event(kind, payload)

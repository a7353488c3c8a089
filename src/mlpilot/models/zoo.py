"""Candidate models for the spine's shortlist: a baseline per family, cheapest first.

Each :class:`Candidate` knows how to build its estimator for a task. The model-zoo issue
extends this list (SVMs, kNN, boosting libraries ...) without changing the shortlist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sklearn.base import BaseEstimator
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.multioutput import MultiOutputClassifier


@dataclass(frozen=True)
class Candidate:
    name: str
    family: str
    cost: int  # relative cost rank: cheap models run first
    build: Callable[[str, int], BaseEstimator]  # (task, seed) -> unfitted estimator
    prep: str = "scaled"  # preprocessing variant: "scaled" or "tree" (no scaling needed)


def _dummy(task: str, seed: int) -> BaseEstimator:
    if task == "regression":
        return DummyRegressor(strategy="mean")
    return DummyClassifier(strategy="prior", random_state=seed)


def _linear(task: str, seed: int) -> BaseEstimator:
    if task == "regression":
        return LinearRegression()
    model = LogisticRegression(max_iter=2000, random_state=seed)
    return MultiOutputClassifier(model) if task == "multilabel" else model


def _forest(task: str, seed: int) -> BaseEstimator:
    if task == "regression":
        return RandomForestRegressor(n_estimators=100, random_state=seed, n_jobs=1)
    return RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1)


def _hist_gb(task: str, seed: int) -> BaseEstimator:
    if task == "regression":
        return HistGradientBoostingRegressor(random_state=seed)
    model = HistGradientBoostingClassifier(random_state=seed)
    return MultiOutputClassifier(model) if task == "multilabel" else model


BASELINE_CANDIDATES: tuple[Candidate, ...] = (
    Candidate("dummy", "baseline", 0, _dummy),
    Candidate("linear", "linear", 1, _linear),
    Candidate("hist_gradient_boosting", "boosting", 2, _hist_gb, prep="tree"),
    Candidate("random_forest", "forest", 3, _forest, prep="tree"),
)


def baseline_candidates() -> list[Candidate]:
    return sorted(BASELINE_CANDIDATES, key=lambda c: c.cost)

"""Baseline: a model that ignores the features.

The book starts every classification with ``DummyClassifier`` (Chapter 3: 90% accuracy on the
5-detector just by always saying "not 5"), which is what any real model must beat. The mean
(regression) and the class priors (classification) are the defaults because they are the best
constant predictions for the squared error and the log loss, and ``prior`` still gives
probabilities, so ROC AUC and log loss can be computed (0.5 AUC: no skill).
"""

from __future__ import annotations

from sklearn.base import BaseEstimator
from sklearn.dummy import DummyClassifier, DummyRegressor

from mlpilot.models.zoo import Candidate


def build_dummy(task: str, seed: int) -> BaseEstimator:
    if task == "regression":
        return DummyRegressor(strategy="mean")
    return DummyClassifier(strategy="prior", random_state=seed)  # multilabel natively


CANDIDATES: tuple[Candidate, ...] = (
    Candidate("dummy", "baseline", 0, build_dummy,
              summary="constant prediction (mean / class priors): the score to beat"),
)

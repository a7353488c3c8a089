"""Gaussian naive Bayes (classification only).

The book lists ``GaussianNB`` among the natively multiclass classifiers (Chapter 3). It fits
in one pass over the data, has nothing to tune but ``var_smoothing`` (searched on a log scale
around scikit-learn's 1e-9 default), and is a sanity check between the dummy and the real
models: it is cheap, so it runs right after the linear model.
"""

from __future__ import annotations

from sklearn.base import BaseEstimator
from sklearn.naive_bayes import GaussianNB

from mlpilot.models.space import Float
from mlpilot.models.zoo import CLASSIFICATION, Candidate, wrap_multilabel


def build_naive_bayes(task: str, seed: int) -> BaseEstimator:
    return wrap_multilabel(GaussianNB(), task)


CANDIDATES: tuple[Candidate, ...] = (
    Candidate("naive_bayes", "bayes", 5, build_naive_bayes, tasks=CLASSIFICATION,
              space={"var_smoothing": Float(1e-12, 1e-3, log=True)},
              key_param="var_smoothing", summary="Gaussian naive Bayes"),
)

"""``Subsampled``: fit a model on at most ``max_rows`` training rows.

The book advises kernel SVMs for small or medium data only: training costs between O(m² n) and
O(m³ n) (Chapter 5), so on 100,000 rows an SVC would run for hours. Wrapped in
:class:`Subsampled`, the SVM trains on a random subset (stratified for classifiers, so rare
classes keep their share and every class appears), the way the book itself trains
``SVC`` on the first 2,000 MNIST images. Prediction still covers every row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.utils import _safe_indexing, check_random_state, get_tags, indexable
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _num_samples, check_consistent_length, check_is_fitted


def _estimator_has(attr: str) -> Callable[[Any], bool]:
    """The fitted inner estimator (or, before fit, the unfitted one) has ``attr``."""

    def check(self: Subsampled) -> bool:
        inner = getattr(self, "estimator_", self.estimator)
        return hasattr(inner, attr)

    return check


class Subsampled(MetaEstimatorMixin, BaseEstimator):
    """Fit a clone of ``estimator`` on at most ``max_rows`` rows drawn at random.

    Classifiers get a stratified draw: each class keeps its share of the rows (at least one row
    each). Regressors and multi-output targets get a plain random draw. With ``max_rows`` or
    fewer rows, the inner estimator sees them all, in order. ``predict``, ``predict_proba``,
    ``decision_function``, ``score`` and ``classes_`` are forwarded when the inner estimator has
    them.

    Parameters
    ----------
    estimator : the scikit-learn estimator to fit.
    max_rows : the largest number of rows it is fitted on.
    random_state : seed of the draw.

    Attributes
    ----------
    estimator_ : the fitted clone.
    sample_indices_ : positions of the training rows used (``None`` when all were used).
    n_features_in_, feature_names_in_ : as seen by the inner estimator.
    """

    def __init__(self, estimator: Any, max_rows: int = 10_000,
                 random_state: int | np.random.RandomState | None = None) -> None:
        self.estimator = estimator
        self.max_rows = max_rows
        self.random_state = random_state

    def fit(self, X: Any, y: Any, **fit_params: Any) -> Self:
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y "
                             "is None")
        if not isinstance(self.max_rows, (int, np.integer)) or self.max_rows < 1:
            raise ValueError(f"max_rows must be a positive integer, got {self.max_rows!r}")
        n_samples = _num_samples(X)
        indices: np.ndarray | None = None
        if n_samples > self.max_rows:
            check_consistent_length(X, y)
            X, y = indexable(X, y)
            if sparse.issparse(X) and X.format not in ("csr", "csc"):
                X = X.tocsr()
            rng = check_random_state(self.random_state)
            indices = _draw(np.asarray(y), n_samples, int(self.max_rows),
                            is_classifier(self.estimator), rng)
            X, y = _safe_indexing(X, indices), _safe_indexing(y, indices)
            fit_params = {k: _safe_indexing(v, indices)
                          if hasattr(v, "__len__") and _num_samples(v) == n_samples else v
                          for k, v in fit_params.items()}
        self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        self.sample_indices_ = indices
        for attr in ("n_features_in_", "feature_names_in_"):
            if hasattr(self.estimator_, attr):
                setattr(self, attr, getattr(self.estimator_, attr))
            else:  # not left over from an earlier fit
                self.__dict__.pop(attr, None)
        return self

    @available_if(_estimator_has("predict"))
    def predict(self, X: Any, **params: Any) -> Any:
        check_is_fitted(self)
        return self.estimator_.predict(X, **params)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X: Any, **params: Any) -> Any:
        check_is_fitted(self)
        return self.estimator_.predict_proba(X, **params)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X: Any, **params: Any) -> Any:
        check_is_fitted(self)
        return self.estimator_.predict_log_proba(X, **params)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X: Any, **params: Any) -> Any:
        check_is_fitted(self)
        return self.estimator_.decision_function(X, **params)

    @available_if(_estimator_has("score"))
    def score(self, X: Any, y: Any, **params: Any) -> float:
        check_is_fitted(self)
        return float(self.estimator_.score(X, y, **params))

    @property
    def classes_(self) -> np.ndarray:
        """The inner classifier's classes (an AttributeError before fit or for regressors)."""
        return self.estimator_.classes_

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        tags.target_tags.required = True
        tags.target_tags.multi_output = inner.target_tags.multi_output
        tags.target_tags.single_output = inner.target_tags.single_output
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.categorical = inner.input_tags.categorical
        tags.input_tags.string = inner.input_tags.string
        tags.non_deterministic = inner.non_deterministic
        return tags


def _draw(y: np.ndarray, n_samples: int, max_rows: int, stratify: bool,
          rng: np.random.RandomState) -> np.ndarray:
    """Sorted positions of ``max_rows`` rows: stratified on ``y`` if asked and possible."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if stratify and y.ndim == 1:
        try:
            classes, codes = np.unique(y, return_inverse=True)
        except TypeError:  # mixed label types: no stratification
            classes, codes = np.array([]), np.array([])
        if 0 < len(classes) <= max_rows:
            take = _allocate(np.bincount(codes), max_rows)
            picks = [rng.choice(np.flatnonzero(codes == k), size=t, replace=False)
                     for k, t in enumerate(take) if t > 0]
            return np.sort(np.concatenate(picks))
    return np.sort(rng.choice(n_samples, size=max_rows, replace=False))


def _allocate(counts: np.ndarray, total: int) -> np.ndarray:
    """Rows per class summing to ``total``: proportional, at least one each, largest remainder."""
    quota = counts * total / counts.sum()
    take = np.minimum(np.maximum(np.floor(quota).astype(int), 1), counts)
    # Hand out what is left by largest remainder, then take back from the biggest classes.
    for k in np.argsort(-(quota - np.floor(quota)), kind="stable"):
        if take.sum() >= total:
            break
        if take[k] < counts[k]:
            take[k] += 1
    while take.sum() < total:  # classes already full: fill the others
        k = int(np.argmax(counts - take))
        take[k] += 1
    while take.sum() > total:
        take[int(np.argmax(take))] -= 1
    return take

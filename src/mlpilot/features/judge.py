"""A quick cross-validated judge for candidate ratio features (``prepare``'s book ch. 2 step).

``select_ratios`` asks "does this ratio help?" once per candidate ratio. Each question used to
refit the whole tree pipeline (cluster similarities, neighbour targets, neighbourhood
means) on every fold: 24 s of ``prepare`` on housing. The pipeline without ratios is the
same for every question, so :class:`RatioJudge` fits it once per fold and each question
only adds its ratio columns (median-imputed, as ``prepare.py``'s ratio blocks do, and first,
where ``prepare.py`` puts them) before fitting the judging model.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, clone
from sklearn.impute import SimpleImputer
from sklearn.metrics import get_scorer
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

from mlpilot.features.transformers import RatioFeatures

if TYPE_CHECKING:
    from mlpilot.features.builder import RatioPlan


@dataclass
class _Fold:
    cleaned_train: pd.DataFrame  # the rows after prepare.py's DataCleaner, for the ratios
    cleaned_valid: pd.DataFrame
    train: pd.DataFrame  # the pipeline's features without any ratio
    valid: pd.DataFrame
    y_train: pd.Series | pd.DataFrame
    y_valid: pd.Series | pd.DataFrame


class RatioJudge:
    """Cross-validated score of the judging model given a set of ratios, on cached folds.

    ``build_base()`` returns the unfitted tree pipeline without ratios: a Pipeline whose
    first step cleans the rows. Fits run in threads, one OpenMP thread each: the histogram
    boosting judge releases the GIL, worker processes would spend longer importing mlpilot
    than fitting, OpenMP threads on tiny fits oversubscribe a small machine, and the thread
    count must not change which ratios are kept.
    """

    def __init__(self, build_base: Callable[[], BaseEstimator], model: BaseEstimator,
                 X: pd.DataFrame, y: pd.Series | pd.DataFrame,
                 folds: Sequence[tuple[np.ndarray, np.ndarray]], scoring: str) -> None:
        self.model = model
        self.scorer = get_scorer(scoring)
        with _quiet_single_thread():
            self.folds: list[_Fold] = Parallel(n_jobs=-1, prefer="threads")(
                delayed(_prepare_fold)(build_base(), X, y, train, valid)
                for train, valid in folds)

    def score(self, ratios: Sequence[RatioPlan]) -> float:
        return self.scores([ratios])[0]

    def scores(self, ratio_sets: Sequence[Sequence[RatioPlan]]) -> list[float]:
        """One score per set of ratios: all their folds in one batch, so no core idles."""
        with _quiet_single_thread():
            per_fold = Parallel(n_jobs=-1, prefer="threads")(
                delayed(_score_fold)(fold, list(ratios), self.model, self.scorer)
                for ratios in ratio_sets for fold in self.folds)
        k = len(self.folds)
        return [float(np.mean(per_fold[i * k:(i + 1) * k])) for i in range(len(ratio_sets))]


@contextmanager
def _quiet_single_thread() -> Iterator[None]:
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        yield


def _prepare_fold(base: BaseEstimator, X: pd.DataFrame, y: pd.Series | pd.DataFrame,
                  train: np.ndarray, valid: np.ndarray) -> _Fold:
    X_train, X_valid = X.iloc[train], X.iloc[valid]
    y_train = y.iloc[train]
    with _quiet_single_thread():
        features = base.fit_transform(X_train, y_train)
        cleaner = base[0]
        return _Fold(cleaner.transform(X_train), cleaner.transform(X_valid), features,
                     base.transform(X_valid), y_train, y.iloc[valid])


def _score_fold(fold: _Fold, ratios: list[RatioPlan], model: BaseEstimator,
                scorer: Callable[..., float]) -> float:
    train, valid = [], []
    for ratio in ratios:
        columns = [ratio.numerator, ratio.denominator]
        block = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                              RatioFeatures(names=[ratio.name])).set_output(transform="pandas")
        train.append(block.fit_transform(fold.cleaned_train[columns]))
        valid.append(block.transform(fold.cleaned_valid[columns]))
    X_train = pd.concat([*train, fold.train], axis=1)
    X_valid = pd.concat([*valid, fold.valid], axis=1)
    with _quiet_single_thread():
        fitted = clone(model).fit(X_train, fold.y_train)
        return float(scorer(fitted, X_valid, fold.y_valid))

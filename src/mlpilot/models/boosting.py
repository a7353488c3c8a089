"""Gradient boosting on histograms: scikit-learn's, LightGBM and XGBoost (Chapter 7).

The book names HistGradientBoosting the fast choice for large tables (O(n × m) instead of
O(n × m log m)) and mentions XGBoost and LightGBM as the other libraries to try. All three split
natively on the ``category`` columns of the ``tree`` preparation and handle missing values, so
they need no imputer or one-hot encoding.

Defaults and why:

* ``hist_gradient_boosting``: scikit-learn's defaults (learning rate 0.1, up to 100 trees,
  early stopping above 10,000 rows), as the book's housing pipeline uses them.
* ``lightgbm`` / ``xgboost``: no early stopping without a validation set, so a learning rate of
  0.05 with 300 trees (shrinkage: "low values need more trees but generalize better"), row and
  column subsampling at 0.8 (stochastic gradient boosting, the book's ``subsample``), 31 leaves
  (LightGBM) or depth 6 (XGBoost): good accuracy on small and mid-size tables in seconds.
  Single-threaded (the shortlist parallelises over folds), silent, seeded, so deterministic.

LightGBM and XGBoost are optional: they are imported when a model is built, and without them
their candidates are simply unavailable. XGBoost's classifier wants labels 0 … k-1, so a thin
subclass (:mod:`mlpilot.models.xgboost_labels`) label-encodes string classes; LightGBM does it
itself.
"""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from mlpilot.models.space import Float, Int
from mlpilot.models.zoo import Candidate, wrap_multilabel


def build_hist_gradient_boosting(task: str, seed: int) -> BaseEstimator:
    if task == "regression":
        return HistGradientBoostingRegressor(random_state=seed)
    return wrap_multilabel(HistGradientBoostingClassifier(random_state=seed), task)


def build_lightgbm(task: str, seed: int) -> BaseEstimator:
    import lightgbm

    params: dict[str, Any] = {
        "n_estimators": 300, "learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 20,
        "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8, "reg_lambda": 0.0,
        "n_jobs": 1, "random_state": seed, "verbose": -1}
    if task == "regression":
        return lightgbm.LGBMRegressor(**params)
    return wrap_multilabel(lightgbm.LGBMClassifier(**params), task)


def build_xgboost(task: str, seed: int) -> BaseEstimator:
    import xgboost

    from mlpilot.models.xgboost_labels import XGBClassifier

    params: dict[str, Any] = {
        "n_estimators": 300, "learning_rate": 0.05, "max_depth": 6, "min_child_weight": 1.0,
        "subsample": 0.8, "colsample_bytree": 0.8, "reg_lambda": 1.0, "tree_method": "hist",
        "enable_categorical": True, "n_jobs": 1, "random_state": seed, "verbosity": 0}
    if task == "regression":
        return xgboost.XGBRegressor(**params)
    return wrap_multilabel(XGBClassifier(**params), task)


#: Tried first when tuning: a slower rate, 1,000 trees, half the columns per tree (housing,
#: 5-fold CV: LightGBM 40,691 -> 40,349, XGBoost 40,859 -> 40,406; docs/benchmarks.md).
#: Histogram boosting's time grows slowly with the rows (binning once, then per-bin work).
HISTOGRAM_GROWTH = 0.5

SLOW_AND_WIDE = {"n_estimators": 1000, "learning_rate": 0.03, "colsample_bytree": 0.5}

_SHARED = {"learning_rate": Float(0.01, 0.3, log=True),
           "n_estimators": Int(100, 1000, log=True),
           "subsample": Float(0.5, 1.0),
           "colsample_bytree": Float(0.5, 1.0),
           "reg_lambda": Float(1e-3, 10.0, log=True)}

CANDIDATES: tuple[Candidate, ...] = (
    Candidate("hist_gradient_boosting", "boosting", 20, build_hist_gradient_boosting,
              prep="tree",
              space={"learning_rate": Float(0.01, 0.3, log=True),
                     "max_iter": Int(50, 1000, log=True),
                     "max_leaf_nodes": Int(8, 128, log=True),
                     "min_samples_leaf": Int(5, 100, log=True),
                     "l2_regularization": Float(1e-4, 10.0, log=True)},
              key_param="learning_rate", growth=HISTOGRAM_GROWTH,
              summary="histogram gradient boosting (scikit-learn)"),
    Candidate("lightgbm", "boosting", 22, build_lightgbm, prep="tree", requires="lightgbm",
              space={**_SHARED, "num_leaves": Int(8, 256, log=True),
                     "min_child_samples": Int(5, 100, log=True)},
              portfolio=(SLOW_AND_WIDE,), seed_varies=True, growth=HISTOGRAM_GROWTH,
              key_param="learning_rate", summary="LightGBM gradient boosting"),
    Candidate("xgboost", "boosting", 24, build_xgboost, prep="tree", requires="xgboost",
              space={**_SHARED, "max_depth": Int(3, 10),
                     "min_child_weight": Float(1.0, 20.0, log=True)},
              portfolio=(SLOW_AND_WIDE,), seed_varies=True, growth=HISTOGRAM_GROWTH,
              key_param="learning_rate", summary="XGBoost gradient boosting"),
)

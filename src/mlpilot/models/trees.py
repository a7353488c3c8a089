"""Decision trees and their ensembles (Chapters 6 and 7), all on the ``tree`` preparation.

Defaults and why:

* ``decision_tree``: an unconstrained tree overfits (Chapter 6); ``min_samples_leaf=10`` is the
  book's regularisation of the regression tree (Figure 6-5). The search covers the book's
  exercise grid, ``max_leaf_nodes``, and ``min_samples_leaf``. It rarely beats a forest, so it
  is not in the default shortlist.
* ``random_forest`` / ``extra_trees``: 100 trees (the book's Chapter 2, 3 and 7 exercises),
  otherwise scikit-learn's defaults; ``max_features`` is searched as a fraction of the columns
  (Chapter 2 searches it as a count, 2–20, which only fits that table's width). The book: "you
  cannot know in advance whether RF or Extra-Trees wins; compare with CV", so both are default.
* ``adaboost``: the book's ``learning_rate=0.5`` with decision stumps for classification
  (scikit-learn's depth-3 trees for regression) and 100 rounds.
* ``gradient_boosting``: the book's early-stopping setup, ``learning_rate=0.05`` with up to 500
  trees and ``n_iter_no_change=10``, plus ``subsample=0.8`` (stochastic gradient boosting,
  faster and less variance). Slower than histogram boosting, which usually matches it, so it
  is not in the default shortlist.

Every model is single-threaded (``n_jobs=1``): the shortlist runs the folds in parallel.
Categorical columns arrive as pandas ``category`` codes (``CategoryCodes``), which the forests
and trees read as numbers, with NaN for a missing or unseen category. AdaBoost and gradient
boosting reject NaN, so they are given a ``SimpleImputer`` that turns it into -1, a value below
every code (its own branch).
"""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator
from sklearn.ensemble import (
    AdaBoostClassifier,
    AdaBoostRegressor,
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from mlpilot.models.space import Float, Int
from mlpilot.models.zoo import Candidate, wrap_multilabel


def fill_missing(model: BaseEstimator) -> Pipeline:
    """``model`` behind an imputer writing -1 for NaN; its parameters become ``model__*``."""
    imputer = SimpleImputer(strategy="constant", fill_value=-1.0, keep_empty_features=True)
    return Pipeline([("fill_missing", imputer), ("model", model)])


def build_decision_tree(task: str, seed: int) -> BaseEstimator:
    if task == "regression":
        return DecisionTreeRegressor(min_samples_leaf=10, random_state=seed)
    return DecisionTreeClassifier(min_samples_leaf=10, random_state=seed)  # multilabel natively


def build_random_forest(task: str, seed: int) -> BaseEstimator:
    if task == "regression":
        return RandomForestRegressor(n_estimators=100, random_state=seed, n_jobs=1)
    return RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1)


def build_extra_trees(task: str, seed: int) -> BaseEstimator:
    if task == "regression":
        return ExtraTreesRegressor(n_estimators=100, random_state=seed, n_jobs=1)
    return ExtraTreesClassifier(n_estimators=100, random_state=seed, n_jobs=1)


def build_adaboost(task: str, seed: int) -> BaseEstimator:
    if task == "regression":
        return fill_missing(AdaBoostRegressor(DecisionTreeRegressor(max_depth=3),
                                              n_estimators=100, learning_rate=0.5,
                                              random_state=seed))
    return wrap_multilabel(fill_missing(AdaBoostClassifier(
        DecisionTreeClassifier(max_depth=1), n_estimators=100, learning_rate=0.5,
        random_state=seed)), task)


def build_gradient_boosting(task: str, seed: int) -> BaseEstimator:
    params: dict[str, Any] = {"n_estimators": 500, "learning_rate": 0.05, "max_depth": 3,
                              "subsample": 0.8, "n_iter_no_change": 10, "random_state": seed}
    if task == "regression":
        return fill_missing(GradientBoostingRegressor(**params))
    return wrap_multilabel(fill_missing(GradientBoostingClassifier(**params)), task)


_FOREST = {"n_estimators": Int(50, 500, log=True), "max_features": Float(0.1, 1.0),
           "min_samples_leaf": Int(1, 20, log=True)}

#: Fully grown trees: m log m per tree, so a forest's time grows a little faster than the rows.
FOREST_GROWTH = 1.2

CANDIDATES: tuple[Candidate, ...] = (
    Candidate("decision_tree", "trees", 12, build_decision_tree, prep="tree", default=False,
              space={"max_leaf_nodes": Int(4, 1000, log=True),
                     "min_samples_leaf": Int(1, 50, log=True)},
              key_param="max_leaf_nodes", summary="a single decision tree (CART)"),
    Candidate("random_forest", "forest", 30, build_random_forest, prep="tree", space=_FOREST,
              key_param="max_features", growth=FOREST_GROWTH,
              summary="random forest (bagged trees, random feature subsets)"),
    Candidate("extra_trees", "forest", 32, build_extra_trees, prep="tree", space=_FOREST,
              key_param="max_features", growth=FOREST_GROWTH,
              summary="extremely randomized trees"),
    Candidate("adaboost", "boosting", 34, build_adaboost, prep="tree", default=False,
              space={"model__n_estimators": Int(30, 500, log=True),
                     "model__learning_rate": Float(0.01, 2.0, log=True),
                     "model__estimator__max_depth": Int(1, 5)},
              key_param="model__n_estimators", summary="AdaBoost on shallow trees"),
    Candidate("gradient_boosting", "boosting", 40, build_gradient_boosting, prep="tree",
              default=False,
              space={"model__learning_rate": Float(0.01, 0.3, log=True),
                     "model__n_estimators": Int(50, 1000, log=True),
                     "model__max_depth": Int(2, 6),
                     "model__subsample": Float(0.5, 1.0),
                     "model__min_samples_leaf": Int(1, 50, log=True)},
              key_param="model__learning_rate",
              summary="gradient boosted trees (scikit-learn, early stopping)"),
)

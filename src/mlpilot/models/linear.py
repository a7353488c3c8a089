"""Linear models (Chapter 4): least squares, regularised variants, SGD, polynomial features.

Defaults and why:

* ``linear``: ``LinearRegression`` (no hyperparameter) and ``LogisticRegression`` with the
  book's lbfgs solver, which is softmax regression for several classes; ``max_iter=2000`` so it
  converges on standardized data without warnings. ``C`` is searched on a log scale (the book's
  Chapter 4 uses C=30, Chapter 3's exercise 4 the default C=1).
* ``ridge`` / ``lasso`` / ``elastic_net``: the book's three regularised regressions. Ridge's
  ``alpha`` does not depend on the target's scale, but Lasso's and ElasticNet's do, so those two
  (like SGD and the linear SVR) learn a standardized target (``TransformedTargetRegressor``):
  their ``alpha`` then means the same on house prices and on ratios. ``alpha=0.01`` rather than
  the book's toy 0.1, which on a standardized target already zeroes every feature correlated
  less than 0.1 with it; ``l1_ratio=0.5`` as in the book.
* ``sgd``: gradient descent for large tables, with ``early_stopping=True`` (the book's "beautiful
  free lunch", Chapter 4) and ``loss="log_loss"`` for classification so that it gives
  probabilities (the book's hinge-loss default would not).
* ``polynomial_ridge``: degree-2 ``PolynomialFeatures`` then ``StandardScaler`` then ``Ridge``,
  the book's regularised polynomial regression (Figure 4-17). Degree 2 captures pairwise
  interactions; the feature count grows as n²/2, so it is left out of the default shortlist on
  wide tables.
"""

from __future__ import annotations

from sklearn.base import BaseEstimator
from sklearn.compose import TransformedTargetRegressor
from sklearn.linear_model import (
    ElasticNet,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Ridge,
    SGDClassifier,
    SGDRegressor,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from mlpilot.models.space import Categorical, Float
from mlpilot.models.zoo import REGRESSION, Candidate, per_task, wrap_multilabel


def scaled_target(model: BaseEstimator) -> TransformedTargetRegressor:
    """``model`` learning a standardized target; its parameters become ``regressor__*``."""
    return TransformedTargetRegressor(regressor=model, transformer=StandardScaler(),
                                      check_inverse=False)


def build_linear(task: str, seed: int) -> BaseEstimator:
    if task == "regression":
        return LinearRegression()
    return wrap_multilabel(LogisticRegression(max_iter=2000, random_state=seed), task)


def build_ridge(task: str, seed: int) -> BaseEstimator:
    return Ridge(alpha=1.0, random_state=seed)


def build_lasso(task: str, seed: int) -> BaseEstimator:
    return scaled_target(Lasso(alpha=0.01, max_iter=5000, random_state=seed))


def build_elastic_net(task: str, seed: int) -> BaseEstimator:
    return scaled_target(ElasticNet(alpha=0.01, l1_ratio=0.5, max_iter=5000, random_state=seed))


def build_sgd(task: str, seed: int) -> BaseEstimator:
    if task == "regression":
        return scaled_target(SGDRegressor(early_stopping=True, random_state=seed))
    return wrap_multilabel(SGDClassifier(loss="log_loss", early_stopping=True,
                                         random_state=seed), task)


def build_polynomial_ridge(task: str, seed: int) -> BaseEstimator:
    return Pipeline([("poly", PolynomialFeatures(degree=2, include_bias=False)),
                     ("scale", StandardScaler()),
                     ("model", Ridge(alpha=1.0, random_state=seed))])


_ALPHA = Float(1e-3, 1e3, log=True)
_SGD = {"alpha": Float(1e-6, 1e-1, log=True),
        "penalty": Categorical(("l2", "l1", "elasticnet"))}

CANDIDATES: tuple[Candidate, ...] = (
    Candidate("linear", "linear", 1, build_linear,
              task_spaces=per_task(classification={"C": Float(1e-3, 1e3, log=True)}),
              key_param="C", summary="least squares / logistic (softmax) regression"),
    Candidate("ridge", "linear", 2, build_ridge, space={"alpha": _ALPHA}, tasks=REGRESSION,
              key_param="alpha", summary="least squares with an l2 penalty"),
    Candidate("lasso", "linear", 3, build_lasso, tasks=REGRESSION, default=False,
              space={"regressor__alpha": Float(1e-4, 1.0, log=True)},
              key_param="regressor__alpha",
              summary="least squares with an l1 penalty (sparse weights)"),
    Candidate("elastic_net", "linear", 4, build_elastic_net, tasks=REGRESSION, default=False,
              space={"regressor__alpha": Float(1e-4, 1.0, log=True),
                     "regressor__l1_ratio": Float(0.05, 1.0)},
              key_param="regressor__alpha", summary="least squares with l1 and l2 penalties"),
    Candidate("sgd", "linear", 6, build_sgd, default=False,
              task_spaces=per_task(regression={f"regressor__{k}": v for k, v in _SGD.items()},
                                   classification=_SGD),
              key_param="alpha",
              summary="linear model by stochastic gradient descent, early stopping"),
    Candidate("polynomial_ridge", "linear", 9, build_polynomial_ridge, tasks=REGRESSION,
              space={"model__alpha": Float(1e-2, 1e3, log=True)}, feature_limit=60,
              key_param="model__alpha", summary="degree-2 polynomial features + ridge"),
)

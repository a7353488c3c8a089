"""Support vector machines (Chapter 5): linear, Gaussian RBF kernel, polynomial kernel.

Defaults and why:

* ``linear_svm``: ``LinearSVC`` / ``LinearSVR`` with ``max_iter=10_000`` (the book warns that
  liblinear may need more iterations to converge). O(m × n): fine on any size, but it rarely
  beats the logistic / ridge regressions, so it is not in the default shortlist.
* ``svm_rbf``: the book's rule of thumb is "linear kernel first, then RBF"; ``C=1`` and
  ``gamma="scale"`` (1 / (n_features · Var X), i.e. 1 / n_features on standardized inputs) are
  scikit-learn's defaults and sit in the middle of the book's search ranges (C 1–10, gamma
  0.001–0.1 on MNIST; Chapter 2's SVR exercise). The SVR learns a standardized target, so
  ``epsilon=0.1`` means a tenth of a standard deviation on any scale.
* ``svm_poly``: the book's polynomial kernels: ``degree=3, coef0=1, C=5`` for classification
  (Figure 5-7), ``degree=2`` for regression (Figure 5-11). A cubic SVR extrapolates wildly on
  outlying rows (on a California housing sample its CV RMSE was ten times the RBF's), so the
  search keeps the degree at 2 or 3.

Kernel SVMs train in O(m² n) to O(m³ n), "perfect for small or medium datasets" and hopeless
on large ones, so they are wrapped in :class:`~mlpilot.models.subsample.Subsampled`: at most
10,000 rows (stratified for classifiers) are used for training, and the default shortlist drops
them beyond 50,000 rows where a model trained on a fifth of the data rarely wins. Classifiers
keep ``probability=False`` (the book: ``probability=True`` costs an extra 5-fold
cross-validation); ROC AUC reads ``decision_function`` instead.

The cap bounds a kernel SVM's cost, so the shortlist runs it before the forests, whose fully
grown trees have no such cap: on housing's 16,512 training rows, 5 folds on 2 cores took 9.8 s
for the RBF SVM against 96 s for a random forest.
"""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator
from sklearn.svm import SVC, SVR, LinearSVC, LinearSVR

from mlpilot.models.linear import scaled_target
from mlpilot.models.space import Float, Int
from mlpilot.models.subsample import Subsampled
from mlpilot.models.zoo import Candidate, per_task, wrap_multilabel

#: Largest training subset a kernel SVM is fitted on.
KERNEL_MAX_ROWS = 10_000
#: A kernel SVM's time grows with the square of its rows (up to KERNEL_MAX_ROWS): housing,
#: 5 folds on 2 cores, 0.5 / 2.0 / 9.8 s at 1,835 / 5,504 / 16,512 rows.
KERNEL_GROWTH = 1.5


def build_linear_svm(task: str, seed: int) -> BaseEstimator:
    if task == "regression":
        return scaled_target(LinearSVR(C=1.0, epsilon=0.0, max_iter=10_000, random_state=seed))
    return wrap_multilabel(LinearSVC(C=1.0, max_iter=10_000, random_state=seed), task)


def _kernel_svm(task: str, seed: int, **params: Any) -> BaseEstimator:
    if task == "regression":
        return Subsampled(scaled_target(SVR(epsilon=0.1, **params)),
                          max_rows=KERNEL_MAX_ROWS, random_state=seed)
    return wrap_multilabel(Subsampled(SVC(random_state=seed, **params),
                                      max_rows=KERNEL_MAX_ROWS, random_state=seed), task)


def build_svm_rbf(task: str, seed: int) -> BaseEstimator:
    return _kernel_svm(task, seed, kernel="rbf", C=1.0, gamma="scale")


def build_svm_poly(task: str, seed: int) -> BaseEstimator:
    degree = 2 if task == "regression" else 3
    return _kernel_svm(task, seed, kernel="poly", degree=degree, coef0=1.0, C=5.0)


def _kernel_spaces(classifier: dict[str, Float | Int]) -> dict[str, dict[str, Float | Int]]:
    regressor = {f"regressor__{k}": v for k, v in classifier.items()}
    regressor["regressor__epsilon"] = Float(0.01, 1.0, log=True)
    return per_task(regression=regressor, classification=classifier)


_C = Float(0.1, 100.0, log=True)

CANDIDATES: tuple[Candidate, ...] = (
    Candidate("linear_svm", "svm", 8, build_linear_svm, default=False,
              task_spaces=per_task(
                  regression={"regressor__C": Float(1e-3, 1e2, log=True),
                              "regressor__epsilon": Float(1e-3, 1.0, log=True)},
                  classification={"C": Float(1e-3, 1e2, log=True)}),
              key_param="C", summary="linear SVM (LinearSVC / LinearSVR)"),
    Candidate("svm_rbf", "svm", 28, build_svm_rbf, row_limit=50_000, small_cost=11,
              growth=KERNEL_GROWTH,
              task_spaces=_kernel_spaces({"C": _C, "gamma": Float(1e-3, 1.0, log=True)}),
              key_param="C",
              summary=f"SVM with a Gaussian RBF kernel (trained on <= {KERNEL_MAX_ROWS:,} rows)"),
    Candidate("svm_poly", "svm", 52, build_svm_poly, row_limit=50_000, default=False,
              small_cost=13, growth=KERNEL_GROWTH,
              task_spaces=_kernel_spaces({"C": _C, "degree": Int(2, 3),
                                          "coef0": Float(0.0, 10.0)}),
              key_param="C",
              summary=f"SVM with a polynomial kernel (trained on <= {KERNEL_MAX_ROWS:,} rows)"),
)

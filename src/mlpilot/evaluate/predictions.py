"""A model's predictions on a set of rows, computed once and scored many ways.

Why: the evaluation scores the same predictions overall, per slice, and on thousands of
bootstrap resamples. Predicting once and scoring arrays keeps that cheap, and keeps label
metrics (which honour a stored decision threshold, via ``predict``) apart from ranking
metrics (which use the probabilities).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    log_loss,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)

from mlpilot.evaluate.metrics import Metric


@dataclass(frozen=True)
class Predictions:
    """What a model said about some rows, next to the truth.

    ``y_pred`` are values (regression) or labels (classification, after any decision
    threshold). ``proba`` holds class probabilities in ``classes`` order when the model
    gives them; ``scores`` is the binary decision score (positive-class probability or
    ``decision_function``) used by ROC/PR curves and thresholds.
    """

    task: str
    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray | None = None
    scores: np.ndarray | None = None
    classes: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.y_true)

    def take(self, rows: np.ndarray) -> Predictions:
        """The same predictions restricted to ``rows`` (indices or a boolean mask)."""
        return Predictions(self.task, self.y_true[rows], self.y_pred[rows],
                           None if self.proba is None else self.proba[rows],
                           None if self.scores is None else self.scores[rows], self.classes)

    @property
    def positive(self) -> Any:
        """The positive class of a binary task: the second in sorted order, as scikit-learn."""
        if self.task != "binary" or self.classes is None:
            raise ValueError("only a binary task has a positive class")
        return self.classes[1]

    @property
    def errors(self) -> np.ndarray:
        """Regression: prediction − truth, per row."""
        return self.y_pred.astype(float) - self.y_true.astype(float)

    def to_frame(self) -> pd.DataFrame:
        """One row per prediction (truth, prediction, probabilities) for storage."""
        columns: dict[str, Any] = {}
        if self.y_true.ndim == 1:
            columns = {"y_true": self.y_true, "y_pred": self.y_pred}
        else:
            for j in range(self.y_true.shape[1]):
                columns[f"y_true_{j}"] = self.y_true[:, j]
                columns[f"y_pred_{j}"] = self.y_pred[:, j]
        if self.scores is not None:
            columns["score"] = self.scores
        if self.proba is not None and self.classes is not None:
            for j, c in enumerate(self.classes):
                columns[f"proba_{c}"] = self.proba[:, j]
        return pd.DataFrame(columns)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, task: str,
                   classes: np.ndarray | None = None) -> Predictions:
        """Inverse of :meth:`to_frame` (``classes`` restores the probability columns' order)."""
        if "y_true" in frame:
            y_true, y_pred = frame["y_true"].to_numpy(), frame["y_pred"].to_numpy()
        else:
            k = sum(c.startswith("y_true_") for c in frame.columns)
            y_true = frame[[f"y_true_{j}" for j in range(k)]].to_numpy()
            y_pred = frame[[f"y_pred_{j}" for j in range(k)]].to_numpy()
        scores = frame["score"].to_numpy() if "score" in frame else None
        proba = None
        if classes is not None and all(f"proba_{c}" in frame for c in classes):
            proba = frame[[f"proba_{c}" for c in classes]].to_numpy(dtype=float)
        return cls(task, y_true, y_pred, proba, scores, classes)


def predict(model: Any, X: pd.DataFrame, y: pd.Series | pd.DataFrame, task: str) -> Predictions:
    """Run ``model`` on ``X`` once: labels/values, and probabilities or scores when it has them."""
    y_true = np.asarray(y)
    y_pred = np.asarray(model.predict(X))
    if task == "regression":
        return Predictions(task, y_true.astype(float), y_pred.astype(float))
    if task == "multilabel":
        return Predictions(task, y_true.astype(int), y_pred.astype(int))
    classes = np.asarray(getattr(model, "classes_", np.unique(y_true)))
    proba = scores = None
    if hasattr(model, "predict_proba"):
        proba = np.asarray(model.predict_proba(X), dtype=float)
        if task == "binary":
            scores = proba[:, 1]
    elif hasattr(model, "decision_function") and task == "binary":
        scores = np.asarray(model.decision_function(X), dtype=float)
    return Predictions(task, y_true, y_pred, proba, scores, classes)


def from_probabilities(y: Any, proba: np.ndarray, task: str, classes: np.ndarray | None = None,
                       threshold: float | None = None) -> Predictions:
    """Predictions from stored probabilities (e.g. out-of-fold): labels by argmax or threshold."""
    y_true = np.asarray(y)
    if task == "regression":
        return Predictions(task, y_true.astype(float), np.asarray(proba, dtype=float).ravel())
    classes = np.unique(y_true) if classes is None else np.asarray(classes)
    p = np.asarray(proba, dtype=float)
    if p.ndim == 1:
        p = np.column_stack([1.0 - p, p])
    if task == "binary" and threshold is not None:
        labels = classes[(p[:, 1] >= threshold).astype(int)]
    else:
        labels = classes[p.argmax(axis=1)]
    return Predictions(task, y_true, labels, p, p[:, 1] if task == "binary" else None, classes)


# --------------------------------------------------------------------------------------------
# Metrics on predictions
# --------------------------------------------------------------------------------------------

_Fn = Callable[[Predictions], float]


def _binary_scores(p: Predictions) -> np.ndarray:
    if p.scores is None:
        raise ValueError("this model gives no scores or probabilities")
    return p.scores


def _proba(p: Predictions) -> np.ndarray:
    if p.proba is None:
        raise ValueError("this model gives no probabilities")
    return p.proba


ON_PREDICTIONS: dict[str, _Fn] = {
    "rmse": lambda p: float(root_mean_squared_error(p.y_true, p.y_pred)),
    "mae": lambda p: float(mean_absolute_error(p.y_true, p.y_pred)),
    "r2": lambda p: float(r2_score(p.y_true, p.y_pred)),
    "roc_auc": lambda p: float(roc_auc_score(p.y_true == p.positive, _binary_scores(p))),
    "roc_auc_ovr": lambda p: float(roc_auc_score(p.y_true, _proba(p), multi_class="ovr",
                                                 labels=p.classes)),
    "log_loss": lambda p: float(log_loss(p.y_true, _proba(p), labels=p.classes)),
    "accuracy": lambda p: float(accuracy_score(p.y_true, p.y_pred)),
    "balanced_accuracy": lambda p: float(balanced_accuracy_score(p.y_true, p.y_pred)),
    "f1": lambda p: float(f1_score(p.y_true, p.y_pred, pos_label=p.positive)),
    "f1_macro": lambda p: float(f1_score(p.y_true, p.y_pred, average="macro", zero_division=0)),
    "f1_micro": lambda p: float(f1_score(p.y_true, p.y_pred, average="micro", zero_division=0)),
}


#: The metrics of predicted values; every other one needs labels or probabilities.
REGRESSION_METRICS = frozenset({"rmse", "mae", "r2"})


def score(metric: Metric | str, predictions: Predictions) -> float:
    """The metric of ``predictions`` in its natural sign (RMSE positive)."""
    name = metric if isinstance(metric, str) else metric.name
    return ON_PREDICTIONS[name](predictions)

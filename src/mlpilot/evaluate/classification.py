"""A classifier's evaluation in numbers, the book's chapter 3 toolkit: no plotting here.

Why one place: the report, the CLI and the recipes all need the same per-class precision /
recall / F1, confusion matrices (counts, row-normalised, errors only), PR and ROC curves,
calibration and the dummy baseline. :func:`classification_summary` bundles them as plain
JSON (lists, floats, strings) so the project stores it once and the report redraws every
figure from it without reading the test set again.

Multiclass is one-vs-rest throughout (per-class ROC AUC of class *c* against the rest);
multilabel gets one row per label.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.dummy import DummyClassifier
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    multilabel_confusion_matrix,
    precision_recall_curve,
    precision_recall_fscore_support,
    roc_auc_score,
    roc_curve,
)

from mlpilot.evaluate.metrics import METRICS, Metric, get_metric
from mlpilot.evaluate.predictions import Predictions, score
from mlpilot.evaluate.threshold import ThresholdChoice

#: Points kept per stored curve: enough to draw it, small enough to store in JSON.
MAX_CURVE_POINTS = 500
_AVERAGES = ("macro", "weighted")


# --------------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------------

def _labels(p: Predictions) -> np.ndarray:
    """The classes in the model's order (``classes_``), else those seen in truth or predictions."""
    if p.classes is not None:
        return np.asarray(p.classes)
    return np.unique(np.concatenate([np.asarray(p.y_true), np.asarray(p.y_pred)]))


def label_names(p: Predictions) -> list[str]:
    """Display names: class labels as text, or label indices (multilabel without names)."""
    if p.task == "multilabel":
        k = p.y_true.shape[1]
        named = p.classes is not None and len(p.classes) == k
        return [str(c) for c in p.classes] if named else [str(j) for j in range(k)]
    return [str(c) for c in _labels(p)]


# --------------------------------------------------------------------------------------------
# Per-class precision, recall, F1 (and one-vs-rest ROC AUC)
# --------------------------------------------------------------------------------------------

def _auc_or_nan(truth: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC, or NaN where undefined (a class absent from, or alone in, the rows)."""
    if truth.all() or not truth.any():
        return float("nan")
    return float(roc_auc_score(truth, scores))


def ovr_roc_auc(p: Predictions) -> np.ndarray | None:
    """Per-class ROC AUC of each class against the rest, in ``classes`` order (None: no scores).

    Binary with only decision scores: the negative class ranks by ``-score``, same AUC.
    """
    if p.task not in ("binary", "multiclass"):
        return None
    labels = _labels(p)
    if p.proba is not None:
        columns = [p.proba[:, j] for j in range(len(labels))]
    elif p.task == "binary" and p.scores is not None:
        columns = [-p.scores, p.scores]
    else:
        return None
    return np.array([_auc_or_nan(p.y_true == c, s) for c, s in zip(labels, columns, strict=True)])


def _prf(p: Predictions, average: str | None) -> tuple[Any, Any, Any, Any]:
    labels = None if p.task == "multilabel" else _labels(p)
    return precision_recall_fscore_support(p.y_true, p.y_pred, labels=labels, average=average,
                                           zero_division=0)


def per_class_table(p: Predictions) -> pd.DataFrame:
    """Precision, recall, F1 and support per class (per label), then macro and weighted avg.

    The numbers of ``classification_report``; a ``roc_auc`` column (one-vs-rest) is added when
    the model gives probabilities (or binary scores).
    """
    precision, recall, f1, support = _prf(p, None)
    table = pd.DataFrame({"precision": precision, "recall": recall, "f1": f1,
                          "support": support.astype(int)},
                         index=pd.Index(label_names(p), name="class"))
    auc = ovr_roc_auc(p)
    if auc is not None:
        table["roc_auc"] = auc
    rows = []
    for average in _AVERAGES:
        pr, rc, f, _ = _prf(p, average)
        row: dict[str, float] = {"precision": pr, "recall": rc, "f1": f,
                                 "support": int(support.sum())}
        if auc is not None:
            row["roc_auc"] = _average_auc(auc, support, average)
        rows.append(pd.DataFrame(row, index=[f"{average} avg"]))
    return pd.concat([table, *rows]).rename_axis("class").astype({"support": int})


def _average_auc(auc: np.ndarray, support: np.ndarray, average: str) -> float:
    """Macro: plain mean over classes; weighted: by support (as ``roc_auc_score`` does)."""
    defined = np.isfinite(auc)
    if not defined.any():
        return float("nan")
    if average == "macro":
        return float(auc[defined].mean())
    return float(np.average(auc[defined], weights=support[defined]))


# --------------------------------------------------------------------------------------------
# Confusion matrices
# --------------------------------------------------------------------------------------------

def confusion_tables(p: Predictions) -> dict[str, pd.DataFrame]:
    """The book's confusion matrices (rows: true class, columns: predicted class).

    ``counts``; ``row_normalized`` (share of each true class, Fig 3-9 right); ``errors_only``
    (correct rows weigh zero, then row-normalised: the share of a class's *errors* going to
    each wrong class, Fig 3-10 left); ``errors_by_predicted`` (column-normalised errors, Fig
    3-10 right). Multilabel: one row per label with tn, fp, fn, tp (``per_label``).
    """
    names = label_names(p)
    if p.task == "multilabel":
        mcm = multilabel_confusion_matrix(p.y_true, p.y_pred)
        return {"per_label": pd.DataFrame(
            {"tn": mcm[:, 0, 0], "fp": mcm[:, 0, 1], "fn": mcm[:, 1, 0], "tp": mcm[:, 1, 1]},
            index=pd.Index(names, name="label"))}
    labels = _labels(p)
    errors = (p.y_pred != p.y_true).astype(float)

    def table(**kwargs: Any) -> pd.DataFrame:
        if "sample_weight" in kwargs and not errors.any():  # no error at all: nothing to show
            matrix = np.zeros((len(labels), len(labels)))
        else:
            matrix = confusion_matrix(p.y_true, p.y_pred, labels=labels, **kwargs)
        return pd.DataFrame(matrix, index=pd.Index(names, name="true"),
                            columns=pd.Index(names, name="predicted"))

    return {"counts": table(),
            "row_normalized": table(normalize="true"),
            "errors_only": table(sample_weight=errors, normalize="true"),
            "errors_by_predicted": table(sample_weight=errors, normalize="pred")}


def most_confused(tables: dict[str, pd.DataFrame], top: int = 3) -> list[dict[str, Any]]:
    """The largest off-diagonal cells: which true class goes to which wrong class, how often.

    Why: the first question of the book's error analysis ("3s and 5s get confused").
    """
    counts = tables["counts"]
    errors = counts.to_numpy().astype(float)
    np.fill_diagonal(errors, 0)
    order = np.argsort(errors, axis=None)[::-1][:top]
    out = []
    for flat in order:
        i, j = np.unravel_index(flat, errors.shape)
        if errors[i, j] <= 0:
            break
        out.append({"true": counts.index[i], "predicted": counts.columns[j],
                    "count": int(errors[i, j]),
                    "share_of_true": float(tables["row_normalized"].iat[i, j]),
                    "share_of_errors": float(tables["errors_only"].iat[i, j])})
    return out


# --------------------------------------------------------------------------------------------
# Binary curves
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class BinaryCurves:
    """PR and ROC curves of a binary scorer, thinned to ≤ ``MAX_CURVE_POINTS`` for storage.

    ``pr_thresholds[i]`` gives ``precision[i]`` and ``recall[i]`` (predict positive when
    score ≥ threshold). ``roc_thresholds[0]`` is +inf (nothing predicted positive).
    Thresholds are chosen on the exact scores (:mod:`mlpilot.evaluate.threshold`), never on
    these thinned arrays.
    """

    pos_label: str
    n_rows: int
    n_positive: int
    roc_auc: float
    average_precision: float
    precision: np.ndarray = field(repr=False)
    recall: np.ndarray = field(repr=False)
    pr_thresholds: np.ndarray = field(repr=False)
    fpr: np.ndarray = field(repr=False)
    tpr: np.ndarray = field(repr=False)
    roc_thresholds: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return jsonable({
            "pos_label": self.pos_label, "n_rows": self.n_rows, "n_positive": self.n_positive,
            "roc_auc": self.roc_auc, "average_precision": self.average_precision,
            "pr": {"threshold": self.pr_thresholds, "precision": self.precision,
                   "recall": self.recall},
            "roc": {"threshold": self.roc_thresholds, "fpr": self.fpr, "tpr": self.tpr}})


def thin(x: np.ndarray, y: np.ndarray, max_points: int = MAX_CURVE_POINTS) -> np.ndarray:
    """Indices of ≤ ``max_points`` points of a curve: half evenly spaced by index (score
    quantiles), half evenly spaced along the curve's length, so both flat runs and sharp
    bends survive. Ends kept."""
    n = len(x)
    if n <= max_points:
        return np.arange(n)
    half = max_points // 2
    by_index = np.linspace(0, n - 1, half).round().astype(int)
    length = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
    marks = np.linspace(0.0, length[-1], max_points - half)
    by_length = np.searchsorted(length, marks).clip(0, n - 1)
    return np.unique(np.concatenate([by_index, by_length]))


def binary_curves(p: Predictions, max_points: int = MAX_CURVE_POINTS) -> BinaryCurves:
    """PR curve, ROC curve, ROC AUC and average precision from the binary scores of ``p``."""
    if p.task != "binary" or p.scores is None:
        raise ValueError("binary curves need a binary task with scores or probabilities")
    truth = p.y_true == p.positive
    precision, recall, pr_thr = precision_recall_curve(truth, p.scores)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    keep = thin(recall, precision, max_points)
    fpr, tpr, roc_thr = roc_curve(truth, p.scores)
    keep_roc = thin(fpr, tpr, max_points)
    return BinaryCurves(
        str(p.positive), len(p), int(truth.sum()),
        float(roc_auc_score(truth, p.scores)), float(average_precision_score(truth, p.scores)),
        precision[keep], recall[keep], pr_thr[keep],
        fpr[keep_roc], tpr[keep_roc], roc_thr[keep_roc])


# --------------------------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------------------------

def calibration_table(p: Predictions, n_bins: int = 10) -> pd.DataFrame | None:
    """Predicted probability against observed frequency, per bin (None without probabilities).

    Binary: positive-class probability vs the share of positives (``calibration_curve``).
    Multiclass: the top-class probability ("confidence") vs the share of correct top
    labels. A well-calibrated model sits on the diagonal; the book (ch. 3) warns that
    ``predict_proba`` gives *estimated* probabilities, often over- or under-confident.
    """
    if p.proba is None or p.task not in ("binary", "multiclass"):
        return None
    labels = _labels(p)
    if p.task == "binary":
        prob, hit = p.proba[:, 1], p.y_true == labels[1]
    else:
        prob, hit = p.proba.max(axis=1), labels[p.proba.argmax(axis=1)] == p.y_true
    prob = np.clip(prob, 0.0, 1.0)
    observed, predicted = calibration_curve(hit, prob, n_bins=n_bins, pos_label=True)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], prob), minlength=n_bins)
    used = counts > 0
    return pd.DataFrame({"bin_low": edges[:-1][used], "bin_high": edges[1:][used],
                         "count": counts[used], "mean_predicted": predicted,
                         "observed": observed})


# --------------------------------------------------------------------------------------------
# Dummy baseline
# --------------------------------------------------------------------------------------------

def _dummy_predictions(y_train: Any, p: Predictions) -> Predictions:
    """What ``DummyClassifier`` fitted on the training labels says about ``p``'s rows."""
    y = np.asarray(y_train)
    dummy = DummyClassifier(strategy="prior").fit(np.zeros((len(y), 1)), y)
    labels = np.asarray(dummy.predict(np.zeros((len(p), 1))))
    if p.task == "multilabel":
        return Predictions(p.task, p.y_true, labels.astype(int))
    classes = _labels(p)
    priors = dict(zip(dummy.classes_, dummy.class_prior_, strict=True))
    proba = np.tile([priors.get(c, 0.0) for c in classes], (len(p), 1)).astype(float)
    scores = proba[:, 1] if p.task == "binary" else None
    return Predictions(p.task, p.y_true, labels, proba, scores, classes)


def dummy_baseline(y_train: Any, p: Predictions, metric_names: Iterable[str]) -> dict[str, float]:
    """The most-frequent-class baseline's scores on ``p``'s rows: "the dummy gets X".

    Why: accuracy alone misleads on skewed classes (the book's "never 5" dummy scores 91 %).
    ``strategy="prior"`` predicts the same labels as the book's ``"most_frequent"``, with the
    class shares as probabilities, so log loss is finite and ROC AUC is 0.5. Metrics that
    cannot be computed on these rows are left out.
    """
    dp = _dummy_predictions(y_train, p)
    out: dict[str, float] = {}
    for name in metric_names:
        try:
            out[name] = score(get_metric(name), dp)
        except ValueError:
            continue
    return out


# --------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------

def jsonable(value: Any) -> Any:
    """Plain JSON types: arrays to lists, NumPy scalars to Python, NaN and ±inf to None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [jsonable(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return jsonable(value.reset_index().to_dict(orient="records"))
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value if value is None or isinstance(value, str) else str(value)


def task_metrics(p: Predictions) -> dict[str, float]:
    """Every mlpilot metric that applies to the task and can be computed on these rows."""
    out: dict[str, float] = {}
    for name, metric in METRICS.items():
        if p.task not in metric.tasks:
            continue
        try:
            out[name] = score(metric, p)
        except ValueError:
            continue
    return out


def _confusion_dict(tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    if "per_label" in tables:
        return {"per_label": tables["per_label"]}
    out: dict[str, Any] = {"labels": list(tables["counts"].index)}
    out.update({k: t.to_numpy() for k, t in tables.items()})
    out["most_confused"] = most_confused(tables)
    return out


def _calibration_dict(p: Predictions, n_bins: int) -> dict[str, Any] | None:
    table = calibration_table(p, n_bins)
    if table is None:
        return None
    kind = ("positive-class probability" if p.task == "binary"
            else "confidence (top-class probability)")
    return {"kind": kind, "n_bins": n_bins, "bins": table.to_dict(orient="records")}


def classification_summary(p: Predictions, *, y_train: Any = None,
                           metric: Metric | str | None = None,
                           threshold: ThresholdChoice | None = None,
                           n_bins: int = 10) -> dict[str, Any]:
    """Everything the report shows about a classifier, as plain JSON.

    Keys: ``task``, ``n_rows``, ``classes``, ``positive``, ``metric``, ``metrics``,
    ``per_class`` (records), ``confusion``, ``curves`` (binary with scores), ``calibration``
    (with probabilities), ``dummy`` (with ``y_train``), ``threshold`` (a
    :class:`~mlpilot.evaluate.threshold.ThresholdChoice`, when one is given). Absent parts
    are None.
    """
    metric_name = metric if isinstance(metric, str) or metric is None else metric.name
    metrics = task_metrics(p)
    curves = (binary_curves(p).to_dict() if p.task == "binary" and p.scores is not None
              else None)
    summary = {
        "task": p.task,
        "n_rows": len(p),
        "classes": label_names(p),
        "positive": str(p.positive) if p.task == "binary" and p.classes is not None else None,
        "metric": metric_name,
        "metrics": metrics,
        "per_class": per_class_table(p),
        "confusion": _confusion_dict(confusion_tables(p)),
        "curves": curves,
        "calibration": _calibration_dict(p, n_bins),
        "dummy": None if y_train is None else dummy_baseline(y_train, p, metrics),
        "threshold": None if threshold is None else threshold.to_dict(),
    }
    return jsonable(summary)

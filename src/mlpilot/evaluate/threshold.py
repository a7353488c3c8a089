"""Decision thresholds for a target precision or recall, the book's way (chapter 3).

Why: a binary classifier's default threshold (0.5 on probabilities, 0 on decision scores) is
rarely what the user needs; "90 % precision" is. The book finds the threshold on clean
out-of-fold scores with ``precision_recall_curve`` and ``(precisions >= 0.90).argmax()``; the
chosen threshold is then stored *in* the model with scikit-learn's
:class:`~sklearn.model_selection.FixedThresholdClassifier`, so that ``predict`` honours it
everywhere (evaluation, serving) and nothing has to remember to apply it.

Semantics: a row is predicted positive when ``score >= threshold`` — the book's
``y_scores >= threshold_for_90_precision``, ``precision_recall_curve``'s thresholds and
``FixedThresholdClassifier.predict`` all agree on ``>=``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import precision_recall_curve, precision_score, recall_score
from sklearn.model_selection import FixedThresholdClassifier

from mlpilot.errors import ConfigError

ResponseMethod = Literal["predict_proba", "decision_function"]


@dataclass(frozen=True)
class ThresholdChoice:
    """A threshold and what it achieves on the rows it was measured on (``source``)."""

    threshold: float
    precision: float
    recall: float
    target: str  # "precision" or "recall"
    target_value: float
    achieved: bool
    n_rows: int
    source: str = "out-of-fold"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _target(target_precision: float | None, target_recall: float | None) -> tuple[str, float]:
    """Exactly one target, in (0, 1]: anything else is the user's mistake, said plainly."""
    if (target_precision is None) == (target_recall is None):
        raise ConfigError("give exactly one of target_precision and target_recall",
                          "e.g. target_precision=0.90 (the book's example): the other one is "
                          "then whatever that threshold gives")
    name, value = (("precision", target_precision) if target_precision is not None
                   else ("recall", target_recall))
    assert value is not None
    if not 0.0 < float(value) <= 1.0:
        raise ConfigError(f"target {name} {value!r} is not in (0, 1]",
                          f"give the {name} as a fraction, e.g. 0.90 for 90 %")
    return name, float(value)


def choose_threshold(y_true: Any, scores: Any, *, pos_label: Any,
                     target_precision: float | None = None,
                     target_recall: float | None = None,
                     source: str = "out-of-fold") -> ThresholdChoice:
    """The threshold reaching a target precision (or recall) on these scores.

    Precision target: the book's code, ``idx = (precisions >= target).argmax()`` and
    ``thresholds[idx]`` — the lowest threshold whose precision reaches the target, which keeps
    the most recall. Recall target: the highest threshold whose recall still reaches the
    target, which keeps the most precision. Use clean scores (``cross_val_predict``), never
    the test set. Raises :class:`~mlpilot.errors.ConfigError` when the target is unreachable.
    """
    name, value = _target(target_precision, target_recall)
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=float)
    precisions, recalls, thresholds = precision_recall_curve(y, s, pos_label=pos_label)
    # The last (precision 1, recall 0) point has no threshold: it never counts as reached.
    if name == "precision":
        reached = precisions[:-1] >= value
        idx = int(reached.argmax())
    else:
        reached = recalls[:-1] >= value
        idx = int(np.flatnonzero(reached)[-1]) if reached.any() else 0
    if not reached.any():
        best = precisions[:-1].max() if name == "precision" else recalls[:-1].max()
        raise ConfigError(
            f"no threshold reaches {name} {value:.3g} on these {len(y)} rows "
            f"(the best is {best:.3g})",
            "lower the target, or improve the model (more data, better features) first")
    return ThresholdChoice(float(thresholds[idx]), float(precisions[idx]), float(recalls[idx]),
                           name, value, True, len(y), source)


def measure_threshold(choice: ThresholdChoice, y_true: Any, scores: Any, *, pos_label: Any,
                      source: str = "test") -> ThresholdChoice:
    """The same threshold measured on other rows (e.g. the test set): does the target hold?

    Why: a threshold chosen on out-of-fold scores is itself an estimate; the test set says
    whether its precision (or recall) survives on new data.
    """
    y = np.asarray(y_true)
    predicted = np.asarray(scores, dtype=float) >= choice.threshold
    truth = y == pos_label
    precision = float(precision_score(truth, predicted, zero_division=0))
    recall = float(recall_score(truth, predicted, zero_division=0))
    reached = precision if choice.target == "precision" else recall
    return replace(choice, precision=precision, recall=recall,
                   achieved=reached >= choice.target_value, n_rows=len(y), source=source)


def apply_threshold(model: Any, threshold: float, *, pos_label: Any,
                    response_method: ResponseMethod = "predict_proba"
                    ) -> FixedThresholdClassifier:
    """``model`` (already fitted) whose ``predict`` says ``pos_label`` when score ≥ threshold.

    The model is wrapped, not refitted: ``FrozenEstimator`` turns the wrapper's ``fit`` into a
    no-op, and the wrapper is "fitted" on the model's own two classes only so that
    ``check_is_fitted``, ``classes_`` and ``n_features_in_`` work as on any fitted estimator.
    The result pickles with joblib. ``response_method`` must match the scores the threshold
    was chosen on: positive-class probability or ``decision_function``.
    """
    classes = np.asarray(getattr(model, "classes_", []))
    if len(classes) != 2 or pos_label not in classes:
        raise ConfigError(f"a decision threshold needs a binary model with class {pos_label!r}",
                          f"this model's classes are {list(classes)}")
    if not hasattr(model, response_method):
        raise ConfigError(f"this model has no {response_method}",
                          "choose the threshold on the scores it gives (predict_proba or "
                          "decision_function)")
    wrapped = FixedThresholdClassifier(FrozenEstimator(model), threshold=float(threshold),
                                       response_method=response_method, pos_label=pos_label)
    return wrapped.fit(np.zeros((2, 1)), classes)

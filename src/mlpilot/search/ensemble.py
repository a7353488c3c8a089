"""Ensembles of the shortlisted pipelines (book ch. 7): greedy selection, voting, stacking, bagging.

The book's advice is to combine good, *diverse* predictors near the end of a project. Which
combination helps is decided on out-of-fold (OOF) predictions, the same ones that scored the
candidates, so no extra data is spent and the test set stays untouched:

* :func:`greedy_ensemble_selection` is Caruana et al.'s (2004) ensemble selection with
  replacement: a weighted average whose weights are counts of how often each model was picked.
* :func:`ensemble_candidates` runs it on the shortlist and says whether the ensemble beats the
  best single model by more than resampling noise (:class:`EnsembleChoice`).
* :class:`WeightedEnsembleRegressor` / :class:`WeightedEnsembleClassifier` refit the chosen
  members and average them, as scikit-learn estimators.
* :func:`build_voting`, :func:`build_stacking`, :func:`build_bagging` give the book's
  scikit-learn ensembles, configured the way the book configures them.

OOF predictions: regression → a 1-D array of predictions; classification → ``predict_proba``
matrices ``(n_rows, n_classes)`` with columns in sorted class order (``classes``). A binary
OOF may also be a 1-D array of positive-class probabilities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import (
    BaggingClassifier,
    BaggingRegressor,
    StackingClassifier,
    StackingRegressor,
    VotingClassifier,
    VotingRegressor,
)
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch, _safe_indexing, get_tags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from mlpilot.evaluate.metrics import METRICS, Metric
from mlpilot.evaluate.predictions import (
    ON_PREDICTIONS,
    REGRESSION_METRICS,
    Predictions,
    from_probabilities,
    score,
)

TASKS = ("regression", "binary", "multiclass")
Members = Sequence[tuple[str, BaseEstimator]]

# --------------------------------------------------------------------------------------------
# Scoring predictions (not estimators): the metric of an averaged OOF matrix
# --------------------------------------------------------------------------------------------

def _metric(metric: Metric | str) -> Metric:
    return METRICS[metric] if isinstance(metric, str) else metric


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"ensembles support tasks {TASKS}, not {task!r}")


class _PredictionScorer:
    """Scores prediction arrays against one fixed ``y``; encodes ``y`` once for the greedy loop."""

    def __init__(self, metric: Metric | str, y: Any, task: str,
                 classes: Sequence[Any] | np.ndarray | None = None) -> None:
        _check_task(task)
        self.metric = _metric(metric)
        self.task = task
        name = self.metric.name
        y_arr = np.asarray(y)
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:
            y_arr = y_arr[:, 0]
        if task == "regression":
            if name not in REGRESSION_METRICS:
                raise ValueError(f"metric {name!r} does not score regression predictions")
            self.y = y_arr.astype(float)
            self.classes = None
            return
        if name in REGRESSION_METRICS or name not in ON_PREDICTIONS:
            raise ValueError(f"metric {name!r} does not score class probabilities")
        self.classes = np.unique(y_arr) if classes is None else np.asarray(classes)
        index = np.searchsorted(self.classes, y_arr)
        index = np.clip(index, 0, len(self.classes) - 1)
        if not np.array_equal(self.classes[index], y_arr):
            raise ValueError("y holds labels missing from classes "
                             f"{self.classes.tolist()} (classes must be sorted)")
        self.y = index

    def as_matrix(self, pred: Any) -> np.ndarray:
        """Regression: 1-D floats. Classification: (n, k) probabilities (1-D binary → 2 columns)."""
        p = np.asarray(pred, dtype=float)
        if self.task == "regression":
            if p.ndim == 2 and p.shape[1] == 1:
                p = p[:, 0]
            if p.ndim != 1:
                raise ValueError(f"regression predictions must be 1-D, got shape {p.shape}")
        else:
            assert self.classes is not None
            k = len(self.classes)
            if p.ndim == 1 and k == 2:
                p = np.column_stack([1.0 - p, p])
            if p.ndim != 2 or p.shape[1] != k:
                raise ValueError(f"expected probabilities of shape (n, {k}), got {p.shape}")
        if len(p) != len(self.y):
            raise ValueError(f"{len(p)} predictions for {len(self.y)} rows")
        return p

    def __call__(self, pred: np.ndarray, rows: np.ndarray | None = None) -> float:
        """The metric, in its natural sign, of an already-validated prediction array."""
        y = self.y if rows is None else self.y[rows]
        p = pred if rows is None else pred[rows]
        if self.task == "regression":
            return score(self.metric, Predictions("regression", y, p))
        assert self.classes is not None
        # Labels by argmax of the (averaged) probabilities: threshold 0.5 when binary.
        codes = np.arange(len(self.classes))
        return score(self.metric, from_probabilities(y, p, self.task, codes))

    def gain(self, new: float, old: float) -> float:
        """How much better ``new`` is than ``old``, positive when better, whatever the direction."""
        return new - old if self.metric.greater_is_better else old - new


def score_predictions(metric: Metric | str, y: Any, pred: Any, task: str,
                      classes: Sequence[Any] | np.ndarray | None = None) -> float:
    """The metric of predictions, in its natural sign (RMSE positive), not of an estimator.

    Why: ensemble selection averages predictions that are already computed; refitting to use
    a scikit-learn scorer would cost a fit per step. Regression takes predictions; binary and
    multiclass take ``predict_proba`` columns in sorted ``classes`` order (defaults to the
    sorted labels of ``y``); label metrics use the argmax (0.5 threshold when binary).
    """
    scorer = _PredictionScorer(metric, y, task, classes)
    return scorer(scorer.as_matrix(pred))


# --------------------------------------------------------------------------------------------
# Greedy ensemble selection (Caruana et al. 2004)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Selection:
    counts: dict[str, int]
    score: float
    single_scores: dict[str, float]
    best_single: str


def _usable(oof: Mapping[str, Any], scorer: _PredictionScorer) -> dict[str, np.ndarray]:
    usable = {name: scorer.as_matrix(p) for name, p in oof.items() if p is not None}
    if not usable:
        raise ValueError("no model has out-of-fold predictions to ensemble")
    return usable


def _select(preds: Mapping[str, np.ndarray], scorer: _PredictionScorer, max_size: int,
            tolerance: float) -> _Selection:
    if max_size < 1:
        raise ValueError(f"max_size must be at least 1, got {max_size}")
    names = list(preds)
    singles = {name: scorer(preds[name]) for name in names}
    # Ties go to the first model: the caller lists them best-ranked first.
    best = names[0]
    for name in names[1:]:
        if scorer.gain(singles[name], singles[best]) > 0:
            best = name
    counts = dict.fromkeys(names, 0)
    counts[best] = 1
    total = preds[best].copy()
    size, current = 1, singles[best]
    while size < max_size:
        step_name, step_score = None, current
        for name in names:
            candidate = scorer((total + preds[name]) / (size + 1))
            if scorer.gain(candidate, step_score) > 0:
                step_name, step_score = name, candidate
        if step_name is None or scorer.gain(step_score, current) <= tolerance:
            break
        counts[step_name] += 1
        total += preds[step_name]
        size += 1
        current = step_score
    return _Selection(counts, current, singles, best)


def _normalized(counts: Mapping[str, int], names: Sequence[str]) -> dict[str, float]:
    size = sum(counts.values())
    return {name: counts.get(name, 0) / size for name in names}


def greedy_ensemble_selection(
    oof: Mapping[str, np.ndarray | None],
    y: Any,
    metric: Metric | str,
    task: str,
    classes: Sequence[Any] | np.ndarray | None = None,
    max_size: int = 50,
    tolerance: float = 1e-7,
) -> dict[str, float]:
    """Caruana's ensemble selection with replacement; returns normalized weights per model.

    Start from the best single model, then repeatedly add (with replacement) the model whose
    addition most improves the metric of the averaged OOF predictions; stop when no addition
    gains more than ``tolerance`` (metric units) or the bag holds ``max_size`` picks. Why with
    replacement: picking a model twice is how a good model earns a larger weight, and it keeps
    the greedy walk from being forced onto weak models (which then simply get weight 0).
    Models whose OOF is ``None`` (no ``predict_proba``) get weight 0.
    """
    scorer = _PredictionScorer(metric, y, task, classes)
    selection = _select(_usable(oof, scorer), scorer, max_size, tolerance)
    return _normalized(selection.counts, list(oof))


def weighted_average(oof: Mapping[str, np.ndarray | None],
                     weights: Mapping[str, float]) -> np.ndarray:
    """The weighted mean of OOF predictions (the ensemble's own OOF prediction)."""
    used = [(np.asarray(oof[n], dtype=float), w) for n, w in weights.items() if w > 0]
    total = sum(w for _, w in used)
    return sum(p * w for p, w in used) / total  # type: ignore[return-value]


@dataclass(frozen=True)
class EnsembleChoice:
    """What greedy selection found on the shortlist's OOF predictions, and whether to keep it."""

    weights: dict[str, float]
    oof_score: float
    best_single_name: str
    best_single_score: float
    kept: bool
    reason: str
    #: Each model's own OOF score, for the report.
    single_scores: dict[str, float] = field(default_factory=dict)
    #: Share of paired bootstrap resamples of the OOF rows where the ensemble wins.
    win_rate: float | None = None

    @property
    def members(self) -> dict[str, float]:
        """Models with a positive weight."""
        return {n: w for n, w in self.weights.items() if w > 0}


def ensemble_candidates(
    oof: Mapping[str, np.ndarray | None],
    y: Any,
    metric: Metric | str,
    task: str,
    classes: Sequence[Any] | np.ndarray | None = None,
    *,
    top_k: int | None = None,
    max_size: int = 50,
    tolerance: float = 1e-7,
    min_gain: float = 0.0,
    confidence: float = 0.95,
    n_boot: int = 200,
    seed: int = 42,
) -> EnsembleChoice:
    """Greedy selection over the ranked shortlist, kept only when CV says it helps.

    ``oof`` lists the pipelines best-ranked first (``top_k`` keeps the first k that have OOF
    predictions). The ensemble is kept when it holds two or more models, its OOF gain over
    the best single model exceeds ``min_gain``, and it also wins on at least ``confidence`` of
    ``n_boot`` paired bootstrap resamples of the OOF rows. Why the bootstrap: on a few hundred
    rows a gain of one or two rows is noise, and selection already fits the weights to these
    very rows (its OOF score is optimistic), so a small gain is no reason to ship k models.
    """
    metric = _metric(metric)
    scorer = _PredictionScorer(metric, y, task, classes)
    preds = _usable(oof, scorer)
    if top_k is not None:
        preds = dict(list(preds.items())[:top_k])
    names = list(oof)
    selection = _select(preds, scorer, max_size, tolerance)
    weights = _normalized(selection.counts, names)
    best, best_score = selection.best_single, selection.single_scores[selection.best_single]

    def choice(kept: bool, reason: str, win_rate: float | None = None) -> EnsembleChoice:
        return EnsembleChoice(weights, selection.score, best, best_score, kept, reason,
                              selection.single_scores, win_rate)

    if len(preds) < 2:
        return choice(False, "fewer than two models have out-of-fold predictions")
    chosen = sum(1 for c in selection.counts.values() if c > 0)
    if chosen < 2:
        return choice(False, f"no model improves on {best} alone "
                             f"(OOF {metric.name} {metric.format(best_score)})")
    gain = scorer.gain(selection.score, best_score)
    if gain <= min_gain:
        return choice(False, f"gain {gain:.4g} in {metric.name} is within min_gain {min_gain:g}")
    ensemble = weighted_average(preds, weights)
    rng = np.random.default_rng(seed)
    wins = tries = 0
    for _ in range(n_boot):
        rows = rng.integers(0, len(ensemble), len(ensemble))
        try:
            diff = scorer.gain(scorer(ensemble, rows), scorer(preds[best], rows))
        except ValueError:  # a resample with a single class: AUC undefined
            continue
        tries += 1
        wins += diff > 0
    win_rate = wins / tries if tries else 0.0
    summary = (f"{chosen}-model ensemble: OOF {metric.name} {metric.format(selection.score)} vs "
               f"{metric.format(best_score)} for {best}; it wins {win_rate:.0%} of "
               f"{tries} bootstrap resamples")
    if win_rate < confidence:
        return choice(False, f"{summary}, below {confidence:.0%}: within noise", win_rate)
    return choice(True, summary, win_rate)


def oof_predict(estimator: BaseEstimator, X: Any, y: Any, task: str, cv: Any,
                n_jobs: int | None = None) -> np.ndarray | None:
    """An estimator's OOF predictions in the form selection expects (``None``: no proba).

    Why: pass the shortlist's own folds so the ensemble is judged on the rows each model did
    not see, exactly as the models were ranked.
    """
    _check_task(task)
    if task == "regression":
        return np.asarray(cross_val_predict(estimator, X, y, cv=cv, n_jobs=n_jobs))
    if not hasattr(estimator, "predict_proba"):
        return None
    return np.asarray(cross_val_predict(estimator, X, y, cv=cv, n_jobs=n_jobs,
                                        method="predict_proba"))


# --------------------------------------------------------------------------------------------
# Weighted-average estimators
# --------------------------------------------------------------------------------------------


class WeightedEnsemble(BaseEstimator):
    """Shared part of the weighted-average ensembles; use a Regressor or Classifier flavour.

    ``estimators`` are ``(name, estimator)`` pairs, cloned and refitted on ``fit``, ``n_jobs``
    at a time (joblib); ``weights`` (default: equal) are normalized. ``X`` goes to the members
    untouched, so pipelines that select pandas columns keep working.

    ``cv`` (a splitter with one split per member, or None): member *i* learns on the
    training rows of split *i* only, not on all rows. With the search's own folds this is
    k-fold bagging (AutoGluon's): the members are the cross-validation's fold models, so
    the out-of-fold score is theirs, and their average on new rows is at least as good as
    they are on average for a loss convex in the predictions. Each member also fits its
    own preprocessing (``search/bagging.py`` says why that matters).
    """

    def __init__(self, estimators: Members, weights: Sequence[float] | None = None,
                 n_jobs: int | None = None, cv: Any = None) -> None:
        self.estimators = estimators
        self.weights = weights
        self.n_jobs = n_jobs
        self.cv = cv

    def _validated_weights(self) -> np.ndarray:
        if not self.estimators:
            raise ValueError("estimators must be a non-empty list of (name, estimator) pairs")
        names = [name for name, _ in self.estimators]
        if len(set(names)) != len(names):
            raise ValueError(f"estimator names must be unique, got {names}")
        if self.weights is None:
            return np.full(len(self.estimators), 1.0 / len(self.estimators))
        weights = np.asarray(self.weights, dtype=float)
        if weights.shape != (len(self.estimators),):
            raise ValueError(f"{len(weights)} weights for {len(self.estimators)} estimators")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero")
        return weights / weights.sum()

    def _fit_members(self, X: Any, y: Any) -> None:
        self.weights_ = self._validated_weights()
        validate_data(self, X, skip_check_array=True)  # n_features_in_, feature_names_in_
        rows = self._member_rows(X, y)
        jobs = ((clone(est), X if r is None else _safe_indexing(X, r),
                 y if r is None else _safe_indexing(y, r))
                for (_, est), r in zip(self.estimators, rows, strict=True))
        if self.n_jobs in (None, 1) or len(self.estimators) == 1:
            self.estimators_ = [est.fit(X_part, y_part) for est, X_part, y_part in jobs]
        else:
            self.estimators_ = Parallel(n_jobs=self.n_jobs)(
                delayed(_fit_member)(est, X_part, y_part) for est, X_part, y_part in jobs)
        self.named_estimators_ = Bunch(**{
            name: est for (name, _), est in zip(self.estimators, self.estimators_, strict=True)})

    def __getstate__(self) -> dict[str, Any]:
        # named_estimators_ repeats estimators_: saved twice, a fold bag of an ensemble
        # wrote every fitted pipeline twice over (skops does not share repeated objects).
        state = dict(super().__getstate__())
        state.pop("named_estimators_", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if "estimators_" in state and "named_estimators_" not in state:
            self.named_estimators_ = Bunch(**{
                name: est for (name, _), est in zip(self.estimators, self.estimators_,
                                                    strict=True)})

    def _member_rows(self, X: Any, y: Any) -> list[np.ndarray | None]:
        """The rows each member learns on: all (None), or its split's training rows."""
        if self.cv is None:
            return [None] * len(self.estimators)
        splits = [train for train, _ in self.cv.split(X, y)]
        if len(splits) != len(self.estimators):
            raise ValueError(f"cv gives {len(splits)} splits for {len(self.estimators)} "
                             "estimators: a fold bag needs one split per member")
        return splits

    def _check_X(self, X: Any) -> None:
        check_is_fitted(self)
        shape = getattr(X, "shape", None)
        one_d = (len(shape) == 1 if shape is not None
                 else isinstance(X, Sequence) and len(X) > 0 and np.isscalar(X[0]))
        if one_d:
            raise ValueError("Expected a 2-D X, got a 1-D array: Reshape your data with "
                             "X.reshape(-1, 1) (one feature) or X.reshape(1, -1) (one row)")
        validate_data(self, X, reset=False, skip_check_array=True)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        try:
            members = [get_tags(est) for _, est in self.estimators]
        except Exception:  # invalid estimators: fit will say why
            return tags
        if members:
            tags.input_tags.allow_nan = all(t.input_tags.allow_nan for t in members)
            tags.input_tags.sparse = all(t.input_tags.sparse for t in members)
            tags.input_tags.categorical = all(t.input_tags.categorical for t in members)
            tags.input_tags.string = all(t.input_tags.string for t in members)
        return tags


def _fit_member(estimator: BaseEstimator, X: Any, y: Any) -> BaseEstimator:
    return estimator.fit(X, y)


class WeightedEnsembleRegressor(RegressorMixin, WeightedEnsemble):
    """The weighted mean of the members' predictions (greedy selection's weights)."""

    def fit(self, X: Any, y: Any) -> WeightedEnsembleRegressor:
        y = column_or_1d(y, warn=True)
        self._fit_members(X, y)
        return self

    def predict(self, X: Any) -> np.ndarray:
        self._check_X(X)
        preds = np.stack([np.asarray(est.predict(X), dtype=float) for est in self.estimators_])
        return np.average(preds, axis=0, weights=self.weights_)


class WeightedEnsembleClassifier(ClassifierMixin, WeightedEnsemble):
    """Argmax of the weighted mean of the members' probabilities (soft voting with weights).

    A member without ``predict_proba`` votes with a one-hot row for its predicted class.
    """

    def fit(self, X: Any, y: Any) -> WeightedEnsembleClassifier:
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        self._fit_members(X, y)
        return self

    def _member_proba(self, est: BaseEstimator, X: Any) -> np.ndarray:
        columns = np.searchsorted(self.classes_, est.classes_)  # type: ignore[attr-defined]
        if hasattr(est, "predict_proba"):
            member = np.asarray(est.predict_proba(X), dtype=float)
        else:
            labels = np.searchsorted(est.classes_, est.predict(X))  # type: ignore[attr-defined]
            member = np.eye(len(est.classes_))[labels]  # type: ignore[attr-defined]
        proba = np.zeros((member.shape[0], len(self.classes_)))
        proba[:, columns] = member
        return proba

    def predict_proba(self, X: Any) -> np.ndarray:
        self._check_X(X)
        probas = np.stack([self._member_proba(est, X) for est in self.estimators_])
        return np.average(probas, axis=0, weights=self.weights_)

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


def weighted_ensemble(pipelines: Mapping[str, BaseEstimator], weights: Mapping[str, float],
                      task: str) -> WeightedEnsembleRegressor | WeightedEnsembleClassifier:
    """The (unfitted) ensemble of the models with a positive weight, e.g. ``choice.weights``."""
    _check_task(task)
    members = [(name, pipelines[name]) for name, w in weights.items() if w > 0]
    member_weights = [weights[name] for name, _ in members]
    if task == "regression":
        return WeightedEnsembleRegressor(members, member_weights)
    return WeightedEnsembleClassifier(members, member_weights)


# --------------------------------------------------------------------------------------------
# The book's scikit-learn ensembles
# --------------------------------------------------------------------------------------------


def _with_proba(members: Members) -> list[tuple[str, BaseEstimator]]:
    """Give members lacking ``predict_proba`` (SVC) calibrated probabilities.

    The book sets ``SVC(probability=True)``, deprecated in scikit-learn 1.9 in favour of
    ``CalibratedClassifierCV(SVC(), ensemble=False)``: the same idea (Platt scaling fitted by
    internal cross-validation, then one SVC refitted on everything).
    """
    return [(name, est if hasattr(est, "predict_proba")
             else CalibratedClassifierCV(est, ensemble=False))
            for name, est in members]


def build_voting(members: Members, task: str, voting: str = "soft",
                 weights: Sequence[float] | None = None,
                 n_jobs: int | None = None) -> VotingRegressor | VotingClassifier:
    """VotingRegressor (mean of predictions) or VotingClassifier (hard or soft vote).

    Soft voting averages probabilities and so trusts confident members more; it usually beats
    hard voting (book: 0.92 vs 0.912 on moons). Members without ``predict_proba`` are wrapped
    for soft voting (see :func:`_with_proba`).
    """
    _check_task(task)
    if voting not in ("soft", "hard"):
        raise ValueError(f"voting must be 'soft' or 'hard', got {voting!r}")
    if task == "regression":
        if voting == "hard":
            raise ValueError("hard voting needs classes: regression averages predictions")
        return VotingRegressor(list(members), weights=weights, n_jobs=n_jobs)
    estimators = _with_proba(members) if voting == "soft" else list(members)
    return VotingClassifier(estimators, voting=voting, weights=weights, n_jobs=n_jobs)


def build_stacking(members: Members, task: str, cv: int | Any = 5, seed: int | None = None,
                   final_estimator: BaseEstimator | None = None, proba: bool = True,
                   n_jobs: int | None = None) -> StackingRegressor | StackingClassifier:
    """StackingRegressor/Classifier: a blender trained on the members' OOF predictions.

    The final estimator defaults to scikit-learn's (RidgeCV, LogisticRegression). An integer
    ``cv`` with ``seed=None`` gives scikit-learn's unshuffled folds, as in the book; with a
    ``seed`` it gives shuffled folds like the shortlist's. ``proba=True`` feeds the blender
    probabilities, giving members without ``predict_proba`` calibrated ones (the book uses
    ``SVC(probability=True)``); ``proba=False`` lets them pass ``decision_function``.
    """
    _check_task(task)
    if isinstance(cv, int) and seed is not None:
        from mlpilot.search.shortlist import make_cv

        cv = make_cv(task, cv, seed)
    if task == "regression":
        final = RidgeCV() if final_estimator is None else final_estimator
        return StackingRegressor(list(members), final_estimator=final, cv=cv, n_jobs=n_jobs)
    final = (LogisticRegression(random_state=seed) if final_estimator is None
             else final_estimator)
    estimators = _with_proba(members) if proba else list(members)
    return StackingClassifier(estimators, final_estimator=final, cv=cv, n_jobs=n_jobs)


def build_bagging(base_estimator: BaseEstimator, task: str, n_estimators: int = 100,
                  max_samples: float | int = 1.0, bootstrap: bool = True,
                  oob_score: bool = True, max_features: float | int = 1.0,
                  bootstrap_features: bool = False, seed: int | None = 42,
                  n_jobs: int | None = None) -> BaggingRegressor | BaggingClassifier | Pipeline:
    """Bagging (``bootstrap=True``) or pasting (``False``) of one base estimator.

    ``max_features``/``bootstrap_features`` give random subspaces/patches. The OOB score
    (``oob_score_``: accuracy or R²) is a free validation estimate, but exists only with
    bootstrap, so pasting silently turns it off. Classification bags soft-vote when the base
    estimator has ``predict_proba``.

    A :class:`~sklearn.pipeline.Pipeline` is bagged at its final step and returned as a
    pipeline (read ``result[-1].oob_score_``). Why: bagging turns ``X`` into a NumPy array,
    which breaks a ColumnTransformer that selects pandas columns by name; preprocessing is
    fitted once on all rows (so the OOB score is very slightly optimistic for it).
    """
    _check_task(task)
    if isinstance(base_estimator, Pipeline):
        bagged = build_bagging(base_estimator.steps[-1][1], task, n_estimators, max_samples,
                               bootstrap, oob_score, max_features, bootstrap_features, seed,
                               n_jobs)
        params = base_estimator.get_params(deep=False)
        params["steps"] = [*base_estimator.steps[:-1], (base_estimator.steps[-1][0], bagged)]
        return Pipeline(**params)
    cls = BaggingRegressor if task == "regression" else BaggingClassifier
    return cls(base_estimator, n_estimators=n_estimators, max_samples=max_samples,
               bootstrap=bootstrap, oob_score=oob_score and bootstrap,
               max_features=max_features, bootstrap_features=bootstrap_features,
               random_state=seed, n_jobs=n_jobs)


__all__ = [
    "EnsembleChoice",
    "WeightedEnsemble",
    "WeightedEnsembleClassifier",
    "WeightedEnsembleRegressor",
    "build_bagging",
    "build_stacking",
    "build_voting",
    "ensemble_candidates",
    "greedy_ensemble_selection",
    "oof_predict",
    "score_predictions",
    "weighted_average",
    "weighted_ensemble",
]

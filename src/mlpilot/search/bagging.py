"""Fold bagging: the final model is the cross-validation's fold models, averaged.

The book's last step refits the chosen model on the whole training set. AutoGluon instead
keeps the k models of its k-fold cross-validation and averages them ("bagging"). When the
preprocessing learns from the target, the average is the better model. On housing, where
``prepare`` adds the neighbours' prices and local price-for-income lines (each learned from
training rows), LightGBM with 1,000 trees at 0.03 scores, on the test set:

==========================================================  ===========
refit on all training rows (one seed)                       40,239
the same, averaged over 5 seeds                             39,990
5 models on the folds' rows, preprocessing fitted once      40,114
**5 fold models, each with its own preprocessing (this)**   **39,564**
==========================================================  ===========

(cross-validation: 39,447; 3 folds give 39,877, five halves 40,238, two 5-fold rounds
39,590.) Each fold model sees a different set of neighbours for every district, so the
average smooths the noise of the target-derived features as well as the model's: the gain
is not the row sampling (third line) but the per-fold preprocessing.

Why it is safe: the members are fitted on the search's own folds, so the cross-validated
score is exactly theirs, on rows each did not see; and for a loss convex in the
predictions their average scores at least as well as they do on average, on any rows
(Jensen's inequality).

What it costs: nothing, when the search kept its fold models (the shortlist's last rung
and each study's best trial pickle them in the worker, :func:`pack_model`;
:func:`fitted_fold_bag` makes them the member). Otherwise (a resumed run, a model too
large to keep) k fits on (k-1)/k of the rows, ``workers`` at a time, about what four extra
seeds cost: :func:`with_fold_bags` bags the members the time left pays for, heaviest
weight first; the others are refitted on all rows (seed copies may still average them,
``search/seeds.py``). At prediction time a bag costs k pipelines' predictions.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Mapping, Sequence

from sklearn.base import BaseEstimator, clone
from sklearn.frozen import FrozenEstimator

from mlpilot.evaluate.metrics import Metric
from mlpilot.models.unwrap import fold_member_name
from mlpilot.search.ensemble import WeightedEnsemble, weighted_ensemble
from mlpilot.search.seeds import CONVEX_METRICS


def bagging_applies(metric: Metric, task: str) -> bool:
    """Whether fold bags are used: for a loss convex in the predictions (the average is then
    at least as good as its members on average), and not for multilabel targets."""
    return metric.name in CONVEX_METRICS and task != "multilabel"


def fold_bag(pipeline: BaseEstimator, cv: object, task: str,
             n_jobs: int | None = None) -> WeightedEnsemble:
    """The unfitted average of one copy of ``pipeline`` per split of ``cv``, each to be
    fitted on its split's training rows (``n_jobs`` at a time)."""
    n_splits = cv.get_n_splits()  # type: ignore[attr-defined]
    members = {fold_member_name(i): clone(pipeline) for i in range(n_splits)}
    ensemble = weighted_ensemble(members, dict.fromkeys(members, 1.0 / n_splits), task)
    return ensemble.set_params(n_jobs=n_jobs, cv=cv)


#: A fitted fold model larger than this, pickled, is not kept: a random forest of fully
#: grown trees on housing's folds is ~250 MB each, and five of them per candidate would
#: cost more memory and transfer time than refitting the final model saves.
MAX_FOLD_MODEL_BYTES = 64 * 2**20


def pack_model(model: BaseEstimator) -> bytes | None:
    """A fitted fold model as bytes to keep (in the worker that fitted it, so a model too
    large to keep never travels back), or None when it is too large or cannot be pickled."""
    try:
        blob = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # a model that cannot be pickled is refitted instead
        return None
    return blob if len(blob) <= MAX_FOLD_MODEL_BYTES else None


def fitted_fold_bag(blobs: Sequence[bytes], cv: object, task: str) -> WeightedEnsemble:
    """The fold bag of models the cross-validation already fitted on ``cv``'s folds (from
    :func:`pack_model`): fitting it fits nothing (its members are frozen; pass the fitted
    model through ``train.unfreeze``)."""
    members = {fold_member_name(i): FrozenEstimator(pickle.loads(blob))
               for i, blob in enumerate(blobs)}
    ensemble = weighted_ensemble(members, dict.fromkeys(members, 1.0 / len(members)), task)
    return ensemble.set_params(cv=cv)


def refit_seconds(fold_seconds: float, n_splits: int) -> float:
    """A fold's fit time scaled to all rows (a fold trains on (k-1)/k of them)."""
    return fold_seconds * n_splits / max(n_splits - 1, 1)


def bag_seconds(fold_seconds: float, n_splits: int, workers: int) -> float:
    """A bag's fit: ``n_splits`` fold fits, ``workers`` at a time."""
    return math.ceil(n_splits / max(workers, 1)) * fold_seconds


def with_fold_bags(pipelines: Mapping[str, BaseEstimator], weights: Mapping[str, float],
                   fold_seconds: Mapping[str, float], *, task: str, metric: Metric,
                   cv: object, seconds_left: float, workers: int,
                   ) -> tuple[dict[str, BaseEstimator], float]:
    """``pipelines`` with the members that ``seconds_left`` pays for replaced by fold bags,
    heaviest weight first; and the seconds left once they and the others' refits are paid.

    ``fold_seconds``: each pipeline's fit time on one fold (the search measured it); a
    member with no known time is not bagged. Every member's plain refit on all rows
    (``n_splits / (n_splits - 1)`` fold fits) is paid first.
    """
    if not bagging_applies(metric, task):
        return dict(pipelines), seconds_left
    n_splits = cv.get_n_splits()  # type: ignore[attr-defined]
    refit = {name: refit_seconds(fold_seconds.get(name, 0.0), n_splits) for name in pipelines}
    left = seconds_left - sum(refit.values())
    bagged = dict(pipelines)
    for name in sorted(pipelines, key=lambda n: -weights.get(n, 0.0)):
        seconds = fold_seconds.get(name, 0.0)
        extra = bag_seconds(seconds, n_splits, workers) - refit[name]
        if seconds > 0 and extra <= left:
            bagged[name] = fold_bag(pipelines[name], cv, task, n_jobs=workers)
            left -= extra
    return bagged, left + sum(refit[name] for name in pipelines
                              if bagged[name] is pipelines[name])

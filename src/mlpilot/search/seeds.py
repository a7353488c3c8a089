"""Seed averaging: the final model's refit spends the time left on its own variance.

A boosting model that samples rows and columns (LightGBM's ``subsample`` and
``colsample_bytree``) or a neural net (random initial weights) lands somewhere different
with each random seed. Averaging a few seeds' predictions is never worse than the seeds'
average, on *any* rows, when the loss is convex in the predictions (squared and absolute
error, log loss: Jensen's inequality), so it needs no cross-validation to be trusted: the
cross-validated score of one seed is a fair estimate for the average, and usually a
pessimistic one. On housing, LightGBM with 1,000 trees and half the columns under seeds
42/1/2/3 scores CV 40,349 / 40,420 / 40,379 / 40,384; their average scores CV 40,193 and
test 41,032 (one seed: 41,393).

:func:`with_seed_copies` decides how many seeds the time left pays for, refits included,
and replaces each seed-sensitive pipeline of the final model by the average of that many.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from sklearn.base import BaseEstimator, clone

from mlpilot.evaluate.metrics import Metric
from mlpilot.models.unwrap import seed_member_name
from mlpilot.search.ensemble import weighted_ensemble

#: At most this many seeds per pipeline (the gain flattens after four or five).
MAX_SEEDS = 5
#: Metrics convex in the predictions: the average of several models scores at least as
#: well as the models do on average (R² is the squared error rescaled).
CONVEX_METRICS = frozenset({"rmse", "mae", "r2", "log_loss"})


def seed_parameters(pipeline: BaseEstimator) -> list[str]:
    """The model's ``random_state`` parameters (wrapped models have theirs one level down)."""
    return [key for key in pipeline.get_params()
            if key.startswith("model__") and key.endswith("random_state")]


def seed_copies(pipeline: BaseEstimator, n_seeds: int, task: str,
                n_jobs: int | None = None) -> BaseEstimator:
    """The unfitted average of ``n_seeds`` copies of ``pipeline``: the first keeps its
    seed, the others take the next ones. ``n_jobs`` copies are refitted at a time."""
    keys = seed_parameters(pipeline)
    if n_seeds <= 1 or not keys:
        return pipeline
    start = pipeline.get_params()[keys[0]]
    start = start if isinstance(start, int) else 0
    members = {seed_member_name(start + k):
               clone(pipeline).set_params(**dict.fromkeys(keys, start + k))
               for k in range(n_seeds)}
    ensemble = weighted_ensemble(members, dict.fromkeys(members, 1.0 / n_seeds), task)
    return ensemble.set_params(n_jobs=n_jobs)


def affordable_seeds(refit_seconds: float, other_seconds: float, seconds_left: float,
                     workers: int) -> int:
    """How many seeds the time left pays for: ``refit_seconds`` is one copy of every
    seed-sensitive pipeline, refitted ``workers`` at a time; ``other_seconds`` the rest."""
    if refit_seconds <= 0:
        return 1
    n = 1
    while (n < MAX_SEEDS and other_seconds
           + math.ceil((n + 1) / max(workers, 1)) * refit_seconds <= seconds_left):
        n += 1
    return n


def with_seed_copies(pipelines: Mapping[str, BaseEstimator],
                     refit_seconds: Mapping[str, float], *, sensitive: set[str], task: str,
                     metric: Metric, seconds_left: float, workers: int,
                     ) -> tuple[dict[str, BaseEstimator], int]:
    """``pipelines`` (the final model's members) with each seed-sensitive one replaced by
    the average of as many seeds as ``seconds_left`` pays for; and that number (1: none).

    ``refit_seconds`` estimates each pipeline's refit on all rows; ``sensitive`` names the
    pipelines whose model changes with its seed (boosting that samples, neural nets).
    """
    eligible = [name for name in pipelines
                if name in sensitive and seed_parameters(pipelines[name])]
    if not eligible or metric.name not in CONVEX_METRICS or task == "multilabel":
        return dict(pipelines), 1
    one_copy = sum(refit_seconds.get(name, 0.0) for name in eligible)
    others = sum(refit_seconds.get(name, 0.0) for name in pipelines if name not in eligible)
    n_seeds = affordable_seeds(one_copy, others, seconds_left, workers)
    return ({name: seed_copies(p, n_seeds, task, n_jobs=workers) if name in eligible else p
             for name, p in pipelines.items()}, n_seeds)

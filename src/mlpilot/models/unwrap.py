"""Looking inside a saved model: the threshold wrapper, the ensemble members, the family.

Why: the final model may be a pipeline, a weighted ensemble of pipelines, and either inside
scikit-learn's ``FixedThresholdClassifier``; the report and the curves need the parts.
"""

from __future__ import annotations

import re
from typing import Any

from mlpilot.models.zoo import Candidate, all_candidates


def unwrap_threshold(model: Any) -> Any:
    """The model inside a ``FixedThresholdClassifier(FrozenEstimator(model))``, else itself.

    By type, not by attribute: ``FrozenEstimator`` forwards attribute lookups to the model.
    """
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import FixedThresholdClassifier

    inner = model
    while isinstance(inner, FixedThresholdClassifier | FrozenEstimator):
        inner = inner.estimator
    return inner


_FOLD = "fold"
_SEED_MEMBER = re.compile(rf"(seed|{_FOLD})\d+")


def seed_member_name(seed: int) -> str:
    """The name of a seed average's member (``search/seeds.py``), as :func:`unwrap_seeds`
    recognizes it."""
    return f"seed{seed}"


def fold_member_name(fold: int) -> str:
    """The name of a fold bag's member (``search/bagging.py``): the model of fold ``fold``."""
    return f"{_FOLD}{fold}"


def unwrap_seeds(model: Any) -> Any:
    """The first copy of a seed average or a fold bag (one pipeline under several seeds, or
    fitted on several folds' rows: members named by :func:`seed_member_name` or
    :func:`fold_member_name`), else the model itself."""
    members = getattr(model, "estimators", None)
    if (isinstance(members, list | tuple) and members
            and all(isinstance(m, tuple) and _SEED_MEMBER.fullmatch(str(m[0]))
                    for m in members)):
        fitted = getattr(model, "estimators_", None)
        return fitted[0] if fitted else members[0][1]
    return model


def seed_count(model: Any) -> int:
    """How many copies the model averages: seeds, or fold models (1 for a plain model)."""
    inner = unwrap_threshold(model)
    return len(inner.estimators) if unwrap_seeds(inner) is not inner else 1


def fold_bag_members(model: Any) -> tuple[int, int, int]:
    """(members that are fold bags, members, folds per bag) of the final model; a single
    model counts as one member. The report says how the model was trained from it."""
    inner = unwrap_threshold(model)
    members = [inner]
    if ensemble_weights(inner):
        members = list(getattr(inner, "estimators_", None) or [e for _, e in inner.estimators])
    bags = [m for m in members if is_fold_bag(m)]
    folds = len(bags[0].estimators) if bags else 0
    return len(bags), len(members), folds


def is_fold_bag(model: Any) -> bool:
    """Whether the model is a fold bag: copies fitted on the folds' rows, not on all rows."""
    inner = unwrap_threshold(model)
    return (unwrap_seeds(inner) is not inner
            and str(inner.estimators[0][0]).startswith(_FOLD))


def ensemble_weights(model: Any) -> dict[str, float]:
    """Member name → weight of a weighted ensemble; {} for a single model (a seed average
    of one pipeline counts as one model)."""
    inner = unwrap_seeds(unwrap_threshold(model))
    members = getattr(inner, "estimators", None)
    if not members:
        return {}
    names = [name for name, _ in members]
    weights = getattr(inner, "weights", None)
    if weights is None:
        weights = [1.0 / len(names)] * len(names)
    return {n: float(w) for n, w in zip(names, weights, strict=False)}


def family_pipeline(model: Any, name: str) -> tuple[Candidate | None, Any]:
    """The zoo candidate behind a model, and its fitted pipeline (an ensemble's heaviest member).

    Names are the zoo's (``lightgbm``), maybe tuned (``lightgbm_tuned``) or thresholded
    (``lightgbm@p0.9``).
    """
    inner = unwrap_seeds(unwrap_threshold(model))
    weights = ensemble_weights(inner)
    pipeline = inner
    if weights:
        name = max(weights, key=lambda n: weights[n])
        pipeline = unwrap_seeds(dict(inner.estimators)[name])
    base = name.split("@")[0].removesuffix("_tuned")
    candidate = next((c for c in all_candidates() if c.name == base), None)
    return candidate, pipeline

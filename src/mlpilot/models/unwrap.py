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


_SEED_MEMBER = re.compile(r"seed\d+")


def seed_member_name(seed: int) -> str:
    """The name of a seed average's member (``search/seeds.py``), as :func:`unwrap_seeds`
    recognizes it."""
    return f"seed{seed}"


def unwrap_seeds(model: Any) -> Any:
    """The first seed of a seed average (one pipeline under several seeds, members named by
    :func:`seed_member_name`), else the model itself."""
    members = getattr(model, "estimators", None)
    if (isinstance(members, list | tuple) and members
            and all(isinstance(m, tuple) and _SEED_MEMBER.fullmatch(str(m[0]))
                    for m in members)):
        fitted = getattr(model, "estimators_", None)
        return fitted[0] if fitted else members[0][1]
    return model


def seed_count(model: Any) -> int:
    """How many seeds the model averages (1 unless it is a seed average)."""
    inner = unwrap_threshold(model)
    return len(inner.estimators) if unwrap_seeds(inner) is not inner else 1


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

"""The model zoo: candidate families, their search spaces, and the default shortlist."""

from mlpilot.models.space import Categorical, Float, Int, Space
from mlpilot.models.subsample import Subsampled
from mlpilot.models.zoo import (
    ALL_TASKS,
    Candidate,
    all_candidates,
    available,
    baseline_candidates,
    candidate_names,
    default_candidates,
    get_candidate,
)

__all__ = [
    "ALL_TASKS",
    "Candidate",
    "Categorical",
    "Float",
    "Int",
    "Space",
    "Subsampled",
    "all_candidates",
    "available",
    "baseline_candidates",
    "candidate_names",
    "default_candidates",
    "get_candidate",
]

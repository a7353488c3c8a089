"""What a model version records about itself: its hyperparameters and library versions."""

from __future__ import annotations

import importlib.metadata
import platform
from typing import Any

import numpy as np

MAX_PARAMS = 300
#: Libraries whose version matters to reproduce (or even load) a model, when it uses them.
LIBRARIES = ("python", "scikit-learn", "numpy", "pandas", "scipy", "skops", "lightgbm",
             "xgboost-cpu", "xgboost", "optuna", "keras")


def model_params(model: Any) -> dict[str, Any]:
    """The model's hyperparameters (``get_params(deep=True)``), kept to plain JSON values."""
    try:
        params = model.get_params(deep=True)
    except Exception:  # not an estimator: nothing to record
        return {}
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, np.generic):
            value = value.item()
        if value is None or isinstance(value, bool | int | float | str):
            out[key] = value
        elif isinstance(value, list | tuple) and all(
                isinstance(v, bool | int | float | str) for v in value) and len(value) <= 50:
            out[key] = list(value)
        if len(out) >= MAX_PARAMS:
            break
    return out


def library_versions(model: Any) -> dict[str, str]:
    """Versions of Python and the installed libraries a model may depend on."""
    del model  # every model records the same set: cheap, and a pipeline hides its parts
    versions = {"python": platform.python_version()}
    for name in LIBRARIES[1:]:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions

"""Neural networks with Keras 3 (book ch. 10–12), on JAX, TensorFlow or PyTorch.

Import :mod:`mlpilot.deep.backend` first in any module that imports Keras: it sets the
backend (``KERAS_BACKEND``, default JAX) before Keras reads it. The names below are loaded on
first use, so ``import mlpilot.deep`` does not import Keras.

- ``estimators``: :class:`KerasRegressor`, :class:`KerasClassifier` (scikit-learn estimators)
- ``kit``: optimizers, activations, initializers, the presets (Tables 10-1/2, 11-3, 11-4)
- ``architectures``: MLPs, Wide & Deep (two inputs, auxiliary output), ``WideAndDeepModel``
- ``schedules``, ``lr_finder``, ``regularization``, ``transfer``: the chapter-11 kit
- ``custom``, ``loops``, ``logs``: chapter 12's custom components, training loop, TensorBoard
"""

from __future__ import annotations

import importlib
from typing import Any

from mlpilot.deep.backend import BACKENDS, DEFAULT_BACKEND, backend_name, keras_module, set_seed

_LAZY = {
    "KerasRegressor": "estimators", "KerasClassifier": "estimators",
    "PRESETS": "kit", "make_optimizer": "kit",
    "build_mlp": "architectures", "build_wide_deep": "architectures",
    "WideAndDeepModel": "architectures",
    "schedule_callbacks": "schedules", "OneCycleScheduler": "schedules",
    "find_learning_rate": "lr_finder",
    "MCDropout": "regularization", "mc_predict": "regularization",
    "reuse_layers": "transfer", "fine_tune": "transfer",
    "learning_curves_figure": "training_figures",
    "HuberLoss": "custom", "HuberMetric": "custom", "fit_custom_loop": "loops",
    "tensorboard_callback": "logs",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"mlpilot.deep.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'mlpilot.deep' has no attribute {name!r}")


def load_model(path: str) -> Any:
    """``keras.models.load_model`` with every mlpilot layer, loss and model registered."""
    for module in ("architectures", "regularization", "schedules", "custom"):
        importlib.import_module(f"mlpilot.deep.{module}")
    return keras_module().models.load_model(path)


__all__ = ["BACKENDS", "DEFAULT_BACKEND", "backend_name", "keras_module", "load_model",
           "set_seed", *_LAZY]

"""The book's chapter-12 custom components in one place, for every Keras backend.

Losses and metrics live in :mod:`~mlpilot.deep.custom_losses`, layer parts and layers in
:mod:`~mlpilot.deep.custom_layers`, subclassed models in :mod:`~mlpilot.deep.custom_models`.
Importing this module registers them all with Keras (package ``mlpilot``), so a ``.keras``
file that uses any of them loads with ``keras.models.load_model(path)`` alone.
"""

from __future__ import annotations

from mlpilot.deep.custom_layers import (
    Exponential,
    LayerNormalization,
    MyDense,
    MyGaussianNoise,
    MyL1Regularizer,
    my_glorot_initializer,
    my_l1_regularizer,
    my_positive_weights,
    my_softplus,
)
from mlpilot.deep.custom_losses import (
    HuberLoss,
    HuberMetric,
    create_huber,
    huber_fn,
    per_batch_results,
    streaming_results,
)
from mlpilot.deep.custom_models import ReconstructingRegressor, ResidualBlock, ResidualRegressor

__all__ = ["Exponential", "HuberLoss", "HuberMetric", "LayerNormalization", "MyDense",
           "MyGaussianNoise", "MyL1Regularizer", "ReconstructingRegressor", "ResidualBlock",
           "ResidualRegressor", "create_huber", "huber_fn", "my_glorot_initializer",
           "my_l1_regularizer", "my_positive_weights", "my_softplus", "per_batch_results",
           "streaming_results"]

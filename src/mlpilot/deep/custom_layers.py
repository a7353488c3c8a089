"""The book's custom layers and layer parts (ch. 12), written with ``keras.ops`` for every backend.

Parts a ``Dense`` layer takes: an activation (:func:`my_softplus`, in its stable form), an
initializer (:func:`my_glorot_initializer`), a regularizer (:func:`my_l1_regularizer` or the
configurable :class:`MyL1Regularizer`) and a constraint (:func:`my_positive_weights`).
Layers: :class:`Exponential` (the book's exponential ``Lambda``, as a class so it saves
safely), :class:`MyDense`, :class:`MyGaussianNoise` (noise only while training) and
exercise 12's :class:`LayerNormalization`. All are registered under the ``mlpilot`` package.
"""

from __future__ import annotations

import math
from typing import Any

from mlpilot.deep.backend import keras_module
from mlpilot.errors import DeepLearningError

keras = keras_module()
ops = keras.ops
serializable = keras.saving.register_keras_serializable


@serializable(package="mlpilot")
def my_softplus(z: Any) -> Any:
    """softplus(z) = log(1 + exp(z)), in the stable form log(1 + exp(−|z|)) + max(z, 0).

    The book's naive ``log(1 + exp(z))`` overflows to inf at z = 100; this form gives 100,
    and its gradient stays finite for large z.
    """
    z = ops.convert_to_tensor(z)
    return ops.log1p(ops.exp(-ops.abs(z))) + ops.maximum(z, 0.0)


@serializable(package="mlpilot")
def my_glorot_initializer(shape: Any, dtype: Any = None) -> Any:
    """Normal weights, stddev √(2 / (fan_in + fan_out)): ``glorot_normal`` without truncation."""
    fan_in, fan_out = int(shape[0]), int(shape[-1])
    stddev = math.sqrt(2.0 / (fan_in + fan_out))
    return keras.random.normal(shape, stddev=stddev, dtype=dtype or "float32")


@serializable(package="mlpilot")
def my_l1_regularizer(weights: Any) -> Any:
    """ℓ1 penalty 0.01·Σ|w|, like ``keras.regularizers.l1(0.01)``."""
    return ops.sum(ops.abs(0.01 * ops.convert_to_tensor(weights)))


@serializable(package="mlpilot")
def my_positive_weights(weights: Any) -> Any:
    """Constraint: negative weights become 0, like ``keras.constraints.NonNeg()``."""
    weights = ops.convert_to_tensor(weights)
    return ops.where(weights < 0.0, ops.zeros_like(weights), weights)


@serializable(package="mlpilot")
class MyL1Regularizer(keras.regularizers.Regularizer):
    """ℓ1 penalty factor·Σ|w| whose factor is saved with the model."""

    def __init__(self, factor: float) -> None:
        if factor < 0:
            raise DeepLearningError(f"the ℓ1 factor must be ≥ 0, got {factor!r}",
                                    "pass a small positive factor such as 0.01")
        self.factor = float(factor)

    def __call__(self, weights: Any) -> Any:
        return ops.sum(ops.abs(self.factor * ops.convert_to_tensor(weights)))

    def get_config(self) -> dict[str, Any]:
        return {"factor": self.factor}


@serializable(package="mlpilot")
class Exponential(keras.layers.Layer):
    """exp(x), for positive regression targets spanning several scales (book's ``Lambda``)."""

    def call(self, inputs: Any) -> Any:
        return ops.exp(inputs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape


@serializable(package="mlpilot")
class MyDense(keras.layers.Layer):
    """The book's dense layer: activation(X @ kernel + bias)."""

    def __init__(self, units: int, activation: Any = None,
                 kernel_initializer: Any = "glorot_normal", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if int(units) < 1:
            raise DeepLearningError(f"MyDense needs at least one unit, got {units!r}",
                                    "pass units >= 1")
        self.units = int(units)
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape: Any) -> None:
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units),
                                      initializer=self.kernel_initializer)
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
        super().build(input_shape)  # at the END: it marks the layer as built

    def call(self, inputs: Any) -> Any:
        return self.activation(ops.matmul(inputs, self.kernel) + self.bias)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return (*tuple(input_shape)[:-1], self.units)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units,
                "activation": keras.activations.serialize(self.activation),
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}


@serializable(package="mlpilot")
class MyGaussianNoise(keras.layers.Layer):
    """Adds N(0, stddev²) noise while training only, like ``keras.layers.GaussianNoise``."""

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if stddev < 0:
            raise DeepLearningError(f"the noise stddev must be ≥ 0, got {stddev!r}",
                                    "pass a stddev such as 0.1 or 1.0")
        self.stddev = float(stddev)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        if training:
            noise = keras.random.normal(ops.shape(inputs), stddev=self.stddev,
                                        dtype=inputs.dtype, seed=self.seed_generator)
            return inputs + noise
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


@serializable(package="mlpilot")
class LayerNormalization(keras.layers.Layer):
    """Exercise 12: α ⊗ (X − μ) / (σ + ε) + β over the last axis, α ones and β zeros.

    ``epsilon_inside_sqrt=True`` (default) divides by √(σ² + ε) instead, as
    ``keras.layers.LayerNormalization`` and the book's notebook solution do: it keeps the
    gradient finite when σ = 0. With it, the two layers agree to float32 rounding; with the
    exercise's literal σ + ε they differ by about ε·(1 − 1/(2σ))/σ relative (≈ 5e-4 for
    σ ≈ 1, ε = 0.001).
    """

    def __init__(self, epsilon: float = 0.001, epsilon_inside_sqrt: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if epsilon < 0:
            raise DeepLearningError(f"epsilon must be ≥ 0, got {epsilon!r}",
                                    "pass a small positive epsilon such as 0.001")
        self.epsilon = float(epsilon)
        self.epsilon_inside_sqrt = bool(epsilon_inside_sqrt)

    def build(self, input_shape: Any) -> None:
        shape = tuple(input_shape)[-1:]
        self.alpha = self.add_weight(name="alpha", shape=shape, initializer="ones")
        self.beta = self.add_weight(name="beta", shape=shape, initializer="zeros")
        super().build(input_shape)

    def call(self, inputs: Any) -> Any:
        mean, variance = ops.moments(inputs, axes=[-1], keepdims=True)
        if self.epsilon_inside_sqrt:
            scale = ops.sqrt(variance + self.epsilon)
        else:
            scale = ops.sqrt(variance) + self.epsilon
        return self.alpha * (inputs - mean) / scale + self.beta

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "epsilon": self.epsilon,
                "epsilon_inside_sqrt": self.epsilon_inside_sqrt}


__all__ = ["Exponential", "LayerNormalization", "MyDense", "MyGaussianNoise",
           "MyL1Regularizer", "my_glorot_initializer", "my_l1_regularizer",
           "my_positive_weights", "my_softplus"]

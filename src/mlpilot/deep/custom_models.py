"""The book's subclassed models (ch. 12): a residual regressor and a reconstructing regressor.

:class:`ResidualRegressor` is Figure 12-3: Dense → ResidualBlock applied 1 + 3 times (shared
weights) → another ResidualBlock → Dense. :class:`ReconstructingRegressor` adds an auxiliary
loss, 0.05 × the mean squared reconstruction error of its inputs, with ``add_loss``.
Keras 3 removed ``add_metric``, so the reconstruction error is tracked by a
``keras.metrics.Mean`` that the model lists in ``metrics``. It is updated in
``compute_loss``, the place where Keras 3 lets a model update metrics on every backend
(on JAX, an update made inside ``call`` would be dropped by the stateless training step).
Each model builds all its sublayers in ``build``, so a ``.keras`` file reloads its weights.
"""

from __future__ import annotations

from typing import Any

from mlpilot.deep.backend import keras_module
from mlpilot.errors import DeepLearningError

keras = keras_module()
ops = keras.ops
serializable = keras.saving.register_keras_serializable


def _dense(units: int, name: str | None = None) -> Any:
    return keras.layers.Dense(units, activation="relu", kernel_initializer="he_normal",
                              name=name)


def _positive(name: str, value: int) -> int:
    if int(value) < 1:
        raise DeepLearningError(f"{name} must be at least 1, got {value!r}",
                                f"pass a positive {name}")
    return int(value)


@serializable(package="mlpilot")
class ResidualBlock(keras.layers.Layer):
    """``n_layers`` Dense(n_neurons, ReLU, He) layers and a skip connection: inputs + Z."""

    def __init__(self, n_layers: int, n_neurons: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n_layers = _positive("n_layers", n_layers)
        self.n_neurons = _positive("n_neurons", n_neurons)
        self.hidden = [_dense(self.n_neurons) for _ in range(self.n_layers)]

    def build(self, input_shape: Any) -> None:
        if input_shape[-1] is not None and int(input_shape[-1]) != self.n_neurons:
            raise DeepLearningError(
                f"a ResidualBlock of {self.n_neurons} neurons cannot add its output to "
                f"inputs of width {input_shape[-1]}", "give the block as many neurons as "
                "its inputs have features (put a Dense layer of that width before it)")
        shape = tuple(input_shape)
        for layer in self.hidden:
            layer.build(shape)
            shape = (*shape[:-1], self.n_neurons)
        super().build(input_shape)

    def call(self, inputs: Any) -> Any:
        z = inputs
        for layer in self.hidden:
            z = layer(z)
        return inputs + z

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n_layers": self.n_layers,
                "n_neurons": self.n_neurons}


@serializable(package="mlpilot")
class ResidualRegressor(keras.Model):
    """Figure 12-3: Dense(30) → ResidualBlock(2, 30) ×(1 + 3) → ResidualBlock(2, 30) → Dense."""

    def __init__(self, output_dim: int, n_neurons: int = 30, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.output_dim = _positive("output_dim", output_dim)
        self.n_neurons = _positive("n_neurons", n_neurons)
        self.hidden1 = _dense(self.n_neurons)
        self.block1 = ResidualBlock(2, self.n_neurons)
        self.block2 = ResidualBlock(2, self.n_neurons)
        self.out = keras.layers.Dense(self.output_dim)

    def build(self, input_shape: Any) -> None:
        self.hidden1.build(input_shape)
        hidden_shape = (*tuple(input_shape)[:-1], self.n_neurons)
        self.block1.build(hidden_shape)
        self.block2.build(hidden_shape)
        self.out.build(hidden_shape)
        self.built = True

    def call(self, inputs: Any) -> Any:
        z = self.hidden1(inputs)
        for _ in range(1 + 3):
            z = self.block1(z)
        z = self.block2(z)
        return self.out(z)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return (*tuple(input_shape)[:-1], self.output_dim)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "output_dim": self.output_dim,
                "n_neurons": self.n_neurons}


@serializable(package="mlpilot")
class ReconstructingRegressor(keras.Model):
    """Five Dense(30) layers, an output Dense, and an auxiliary reconstruction loss.

    The reconstruction head ``Dense(n_inputs)`` is created in ``build`` since it needs the
    input width. Its loss, ``reconstruction_weight`` (book: 0.05) × mean((reconstruction −
    inputs)²), is added with ``add_loss``; the unweighted error is reported as the
    ``reconstruction_error`` metric (``val_reconstruction_error`` on validation data).
    """

    def __init__(self, output_dim: int, n_hidden: int = 5, n_neurons: int = 30,
                 reconstruction_weight: float = 0.05, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.output_dim = _positive("output_dim", output_dim)
        self.n_hidden = _positive("n_hidden", n_hidden)
        self.n_neurons = _positive("n_neurons", n_neurons)
        if reconstruction_weight < 0:
            raise DeepLearningError(
                f"reconstruction_weight must be ≥ 0, got {reconstruction_weight!r}",
                "pass a small weight such as the book's 0.05")
        self.reconstruction_weight = float(reconstruction_weight)
        self.hidden = [_dense(self.n_neurons) for _ in range(self.n_hidden)]
        self.out = keras.layers.Dense(self.output_dim)
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_error")
        self._last_reconstruction_error: Any = None

    def build(self, input_shape: Any) -> None:
        n_inputs = int(input_shape[-1])
        self.reconstruct = keras.layers.Dense(n_inputs)
        shape = tuple(input_shape)
        for layer in self.hidden:
            layer.build(shape)
            shape = (*shape[:-1], self.n_neurons)
        self.reconstruct.build(shape)
        self.out.build(shape)
        self.built = True  # not super().build(): the book's workaround, still valid

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        z = inputs
        for layer in self.hidden:
            z = layer(z)
        reconstruction = self.reconstruct(z)
        reconstruction_error = ops.mean(ops.square(reconstruction - inputs))
        self.add_loss(self.reconstruction_weight * reconstruction_error)
        self._last_reconstruction_error = reconstruction_error
        return self.out(z)

    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None,
                     sample_weight: Any = None, training: bool = True) -> Any:
        loss = super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                    training=training)
        if self._last_reconstruction_error is not None:
            self.reconstruction_tracker.update_state(self._last_reconstruction_error)
            self._last_reconstruction_error = None  # never keep a traced value around
        return loss

    @property
    def metrics(self) -> list[Any]:
        tracked = list(super().metrics)
        if self.reconstruction_tracker not in tracked:
            tracked.append(self.reconstruction_tracker)
        return tracked

    def compute_output_shape(self, input_shape: Any) -> Any:
        return (*tuple(input_shape)[:-1], self.output_dim)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "output_dim": self.output_dim,
                "n_hidden": self.n_hidden, "n_neurons": self.n_neurons,
                "reconstruction_weight": self.reconstruction_weight}


__all__ = ["ReconstructingRegressor", "ResidualBlock", "ResidualRegressor"]

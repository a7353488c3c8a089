"""Regularization from chapter 11: MC dropout (uncertainty for free), max-norm, early stopping.

MC dropout (Gal & Ghahramani 2016, book 11.1.i) keeps dropout on at prediction time and
averages many stochastic predictions: the mean is usually a little more accurate and less
over-confident than one deterministic pass, and the spread says how unsure the network is.

How :func:`mc_predict` makes dropout stochastic, in this order:

1. Layers that are always on (:class:`MCDropout`, :class:`MCAlphaDropout`): the model runs
   in inference mode and only they stay random.
2. A Sequential or Functional model with ordinary ``Dropout``/``AlphaDropout``: it is cloned
   with those layers swapped for the MC versions and its weights copied (the book's recipe).
   Everything else stays in inference mode — BatchNormalization keeps its moving averages
   (in training mode it would normalize with each batch's statistics and, in Keras 3, also
   update the moving averages) and augmentation layers do not augment.
3. A subclassed model (it cannot be cloned): ``model(X, training=True)``, the book's footnote
   30 — refused when it has BatchNormalization layers, for the reason above.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlpilot.deep.backend import keras_module
from mlpilot.errors import DeepLearningError

keras = keras_module()


@keras.saving.register_keras_serializable(package="mlpilot")
class MCDropout(keras.layers.Dropout):
    """Dropout that stays on at inference: each prediction drops a different random subset."""

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        return super().call(inputs, training=True)


@keras.saving.register_keras_serializable(package="mlpilot")
class MCAlphaDropout(keras.layers.AlphaDropout):
    """AlphaDropout (for SELU networks) that stays on at inference."""

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        return super().call(inputs, training=True)


_MC_VERSIONS: dict[type, type] = {keras.layers.Dropout: MCDropout,
                                  keras.layers.AlphaDropout: MCAlphaDropout}


@dataclass(frozen=True)
class MCPrediction:
    """The mean of ``n_samples`` stochastic predictions and their standard deviation."""

    mean: np.ndarray
    std: np.ndarray
    n_samples: int
    #: Every sample (``n_samples`` × the prediction's shape), when asked for.
    samples: np.ndarray | None = None

    @property
    def labels(self) -> np.ndarray:
        """The most probable class of each row (for a classifier's probabilities)."""
        return np.asarray(self.mean).argmax(axis=-1)


def _all_layers(model: Any) -> list[Any]:
    """Every layer, nested models included."""
    found: list[Any] = []
    for layer in getattr(model, "layers", []):
        found.append(layer)
        if hasattr(layer, "layers"):
            found.extend(_all_layers(layer))
    return found


def _is_cloneable(model: Any) -> bool:
    """Sequential and Functional models can be cloned; subclassed ones cannot."""
    from keras.src.models.functional import Functional  # not exported by Keras 3

    return isinstance(model, keras.Sequential | Functional)


def _mc_clone(layer: Any) -> Any:
    mc_class = _MC_VERSIONS.get(type(layer))
    if mc_class is None:
        return layer.__class__.from_config(layer.get_config())
    return mc_class.from_config(layer.get_config())


def with_mc_dropout(model: Any) -> Any:
    """A copy of ``model`` with every Dropout/AlphaDropout layer always on, same weights.

    Works for Sequential and Functional models (not subclassed ones). The copy is not
    compiled: it is meant for :func:`mc_predict` or ``predict``.
    """
    if not _is_cloneable(model):
        raise DeepLearningError(f"cannot rebuild a subclassed model ({type(model).__name__}) "
                                "with MC dropout", "use MCDropout layers in the model itself")
    if not any(type(layer) in _MC_VERSIONS for layer in _all_layers(model)):
        raise DeepLearningError("the model has no Dropout or AlphaDropout layer",
                                "MC dropout needs dropout layers (e.g. Dropout(0.2))")
    clone = keras.models.clone_model(model, clone_function=_mc_clone, recursive=True)
    clone.set_weights(model.get_weights())
    return clone


def _has_mc_layers(model: Any) -> bool:
    return any(isinstance(layer, MCDropout | MCAlphaDropout) for layer in _all_layers(model))


def _batched_training_call(model: Any, X: Any, batch_size: int) -> np.ndarray:
    """``model(X, training=True)`` batch by batch (the footnote-30 way), as NumPy."""
    n_rows = len(X)
    parts = [keras.ops.convert_to_numpy(model(X[i:i + batch_size], training=True))
             for i in range(0, n_rows, batch_size)]
    return np.concatenate(parts, axis=0)


def mc_predict(model: Any, X: Any, n_samples: int = 100, batch_size: int = 1024,
               keep_samples: bool = False) -> MCPrediction:
    """Average ``n_samples`` predictions with dropout on (see the module docstring for how).

    Returns the mean (e.g. class probabilities) and the standard deviation over samples,
    plus every sample when ``keep_samples``.
    """
    if int(n_samples) < 1:
        raise DeepLearningError(f"n_samples must be at least 1, got {n_samples}",
                                "the book averages 100 samples")
    layers = _all_layers(model)
    if _has_mc_layers(model):
        def predict_once() -> np.ndarray:
            return np.asarray(model.predict(X, batch_size=batch_size, verbose=0))
    elif _is_cloneable(model):
        mc_model = with_mc_dropout(model)

        def predict_once() -> np.ndarray:
            return np.asarray(mc_model.predict(X, batch_size=batch_size, verbose=0))
    else:
        if not any(isinstance(layer, keras.layers.Dropout | keras.layers.AlphaDropout)
                   for layer in layers):
            raise DeepLearningError("the model has no dropout layer",
                                    "MC dropout needs dropout layers (e.g. Dropout(0.2))")
        if any(isinstance(layer, keras.layers.BatchNormalization) for layer in layers):
            raise DeepLearningError(
                "a subclassed model with BatchNormalization cannot be run in training mode "
                "for MC dropout (it would use batch statistics and update its averages)",
                "build it with MCDropout layers instead of Dropout")

        def predict_once() -> np.ndarray:
            return _batched_training_call(model, X, batch_size)

    first = predict_once().astype(np.float64)
    total, squares = first.copy(), first ** 2
    samples = [first] if keep_samples else []
    for _ in range(int(n_samples) - 1):
        sample = predict_once().astype(np.float64)
        total += sample
        squares += sample ** 2
        if keep_samples:
            samples.append(sample)
    mean = total / n_samples
    std = np.sqrt(np.maximum(squares / n_samples - mean ** 2, 0.0))
    return MCPrediction(mean=mean.astype(np.float32), std=std.astype(np.float32),
                        n_samples=int(n_samples),
                        samples=np.stack(samples).astype(np.float32) if keep_samples else None)


def max_norm(r: float = 1.0, axis: int | list[int] = 0) -> Any:
    """``keras.constraints.MaxNorm(r)``: rescale each neuron's incoming weights to ‖w‖₂ ≤ r.

    Pass it as ``kernel_constraint=`` (``axis=0`` for Dense, ``[0, 1, 2]`` for Conv2D).
    """
    if not r > 0:
        raise DeepLearningError(f"max-norm needs r > 0, got {r}", "the book uses r = 1")
    return keras.constraints.MaxNorm(max_value=float(r), axis=axis)


def early_stopping_callbacks(checkpoint_path: str | Path | None = None, *,
                             monitor: str = "val_loss", patience: int = 10
                             ) -> list[keras.callbacks.Callback]:
    """The book's pair: ``EarlyStopping(patience, restore_best_weights=True)`` + a checkpoint.

    With ``checkpoint_path`` (``*.weights.h5`` for weights only, ``*.keras`` for the whole
    model) the best model so far is also written to disk after each improving epoch.
    """
    callbacks: list[keras.callbacks.Callback] = [keras.callbacks.EarlyStopping(
        monitor=monitor, patience=int(patience), restore_best_weights=True)]
    if checkpoint_path is not None:
        path = str(checkpoint_path)
        if not path.endswith((".keras", ".weights.h5")):
            raise DeepLearningError(f"a Keras 3 checkpoint must end in .keras or .weights.h5, "
                                    f"got {path!r}", "e.g. 'checkpoints/best.weights.h5'")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        callbacks.append(keras.callbacks.ModelCheckpoint(
            path, monitor=monitor, save_best_only=True,
            save_weights_only=path.endswith(".weights.h5")))
    return callbacks

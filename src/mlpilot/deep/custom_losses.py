"""The book's custom losses and metrics (ch. 12), written with ``keras.ops`` for every backend.

The Huber loss comes three ways, as in the book: a function (threshold 1), a factory whose
threshold is lost on save, and a :class:`HuberLoss` class whose ``get_config`` keeps it.
Losses return one value per instance (not the mean), so sample and class weights still work.
:class:`HuberMetric` is the book's streaming metric: it keeps a running total and count, so
its value after several batches is the mean over all instances, not the mean of the batch
means. Everything is registered under the ``mlpilot`` package, so a ``.keras`` file that
uses it loads without ``custom_objects``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from mlpilot.deep.backend import keras_module
from mlpilot.errors import DeepLearningError

keras = keras_module()
ops = keras.ops
serializable = keras.saving.register_keras_serializable

LossFunction = Callable[[Any, Any], Any]


def _huber(y_true: Any, y_pred: Any, threshold: float) -> Any:
    """Per-element Huber loss: e²/2 where |e| < threshold, else threshold·|e| − threshold²/2."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    error = y_true - y_pred
    abs_error = ops.abs(error)
    squared_loss = ops.square(error) / 2
    linear_loss = threshold * abs_error - threshold**2 / 2
    return ops.where(abs_error < threshold, squared_loss, linear_loss)


@serializable(package="mlpilot")
def huber_fn(y_true: Any, y_pred: Any) -> Any:
    """The book's Huber loss with threshold 1, one value per instance."""
    return _huber(y_true, y_pred, 1.0)


def create_huber(threshold: float = 1.0) -> LossFunction:
    """A Huber loss function with another threshold; the threshold is NOT saved (book).

    The function is saved by its name, ``huber_fn``, so a reloaded model silently gets the
    threshold-1 :func:`huber_fn` unless ``custom_objects={"huber_fn": create_huber(t)}`` is
    passed. Use :class:`HuberLoss` to keep the threshold.
    """
    _check_threshold(threshold)

    def huber_fn(y_true: Any, y_pred: Any) -> Any:
        return _huber(y_true, y_pred, threshold)

    return huber_fn


def _check_threshold(threshold: float) -> None:
    if not threshold > 0:
        raise DeepLearningError(f"Huber threshold must be positive, got {threshold!r}",
                                "pass a threshold > 0, e.g. 1.0 or 2.0")


@serializable(package="mlpilot")
class HuberLoss(keras.losses.Loss):
    """The Huber loss as a ``Loss`` subclass: its threshold is saved with the model."""

    def __init__(self, threshold: float = 1.0, **kwargs: Any) -> None:
        _check_threshold(threshold)
        self.threshold = float(threshold)
        super().__init__(**kwargs)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return _huber(y_true, y_pred, self.threshold)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "threshold": self.threshold}


@serializable(package="mlpilot")
class HuberMetric(keras.metrics.Metric):
    """Streaming Huber metric: total Huber loss and instance count over all batches seen."""

    def __init__(self, threshold: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _check_threshold(threshold)
        self.threshold = float(threshold)
        self.total = self.add_weight(name="total", shape=(), initializer="zeros")
        self.count = self.add_weight(name="count", shape=(), initializer="zeros")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        losses = ops.cast(_huber(y_true, y_pred, self.threshold), self.dtype)
        if sample_weight is None:
            weights = ops.ones_like(losses)
        else:
            weights = ops.broadcast_to(ops.reshape(ops.cast(sample_weight, self.dtype),
                                                   (-1,) + (1,) * (len(losses.shape) - 1)),
                                       ops.shape(losses))
        self.total.assign_add(ops.sum(losses * weights))
        self.count.assign_add(ops.sum(weights))

    def result(self) -> Any:
        return ops.divide_no_nan(self.total, self.count)

    def reset_state(self) -> None:
        self.total.assign(0.0)
        self.count.assign(0.0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "threshold": self.threshold}


def streaming_results(metric: Any, batches: Iterable[tuple[Sequence[float], Sequence[float]]]
                      ) -> list[float]:
    """The metric's running result after each ``(y_true, y_pred)`` batch (book: 0.8, 0.5)."""
    metric.reset_state()
    out = []
    for y_true, y_pred in batches:
        metric.update_state(ops.convert_to_tensor(y_true, "float32"),
                            ops.convert_to_tensor(y_pred, "float32"))
        out.append(float(ops.convert_to_numpy(metric.result())))
    return out


def per_batch_results(metric: Any, batches: Iterable[tuple[Sequence[float], Sequence[float]]]
                      ) -> list[float]:
    """The metric computed on each batch alone (its mean is what a naive average reports)."""
    out = []
    for batch in batches:
        out.extend(streaming_results(metric, [batch]))
    metric.reset_state()
    return out


__all__ = ["HuberLoss", "HuberMetric", "create_huber", "huber_fn", "per_batch_results",
           "streaming_results"]

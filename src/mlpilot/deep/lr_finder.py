"""The learning-rate range test (book 10.1.m): which learning rate to train with.

Train for a few hundred steps while the learning rate grows exponentially, from 1e-5 to 10
over 500 iterations (× (10/1e-5)^(1/500) each step), and record each step's loss. The loss
first falls faster and faster, then turns up and explodes. The book picks a learning rate
about 10× below the turning point (and the 1cycle peak near the bottom of the curve); "half
the learning rate where training diverges" is the other rule of thumb. The model's weights,
optimizer state and learning rate are restored afterwards, so the test leaves it untouched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mlpilot.deep.backend import keras_module
from mlpilot.errors import DeepLearningError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

keras = keras_module()

#: Losses are smoothed with an exponential moving average of this factor (bias-corrected).
SMOOTHING = 0.9
#: Steps before the explosion check starts (the smoothed loss is noisy at first).
WARMUP_STEPS = 10


@dataclass(frozen=True)
class LRFinderResult:
    """One range test: the learning rate and loss of every step, and what they suggest."""

    lrs: np.ndarray
    losses: np.ndarray
    smoothed_losses: np.ndarray
    #: The learning rate where the smoothed loss is lowest: the curve's turning point.
    min_loss_lr: float
    #: The first learning rate whose smoothed loss exceeded ``stop_factor`` × the minimum
    #: (the last one tried when the loss never exploded).
    divergence_lr: float
    diverged: bool

    @property
    def suggested_lr(self) -> float:
        """About 10× below the turning point, the book's choice for a constant rate."""
        return self.min_loss_lr / 10

    @property
    def half_divergence_lr(self) -> float:
        """Half the learning rate where training blew up (the other rule of thumb)."""
        return self.divergence_lr / 2

    def figure(self) -> Figure:
        """Loss against learning rate (log scale), with the suggestion marked."""
        from mlpilot.deep.training_figures import lr_finder_figure

        return lr_finder_figure(self.lrs, self.losses, suggested_lr=self.suggested_lr,
                                smoothed_losses=self.smoothed_losses,
                                min_loss_lr=self.min_loss_lr)


class _ExponentialLearningRate(keras.callbacks.Callback):
    """Multiply the learning rate by ``factor`` after each step and record the step's loss.

    ``logs["loss"]`` is the epoch's running mean weighted by batch size, so each step's own
    loss is recovered from the change in the running total.
    """

    def __init__(self, factor: float, iterations: int, batch_sizes: list[int],
                 stop_factor: float) -> None:
        super().__init__()
        self.factor = factor
        self.iterations = iterations
        self.batch_sizes = batch_sizes
        self.stop_factor = stop_factor
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.smoothed: list[float] = []
        self.diverged = False
        self._average = 0.0
        self._total = 0.0
        self._seen = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._total, self._seen = 0.0, 0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        optimizer = self.model.optimizer
        lr = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        size = self.batch_sizes[batch] if batch < len(self.batch_sizes) else 1
        total = float((logs or {}).get("loss", math.nan)) * (self._seen + size)
        loss = (total - self._total) / size
        self._total, self._seen = total, self._seen + size
        self.lrs.append(lr)
        self.losses.append(loss)
        step = len(self.losses)
        self._average = SMOOTHING * self._average + (1 - SMOOTHING) * loss
        smooth = self._average / (1 - SMOOTHING ** step)
        self.smoothed.append(smooth)
        exploded = step > WARMUP_STEPS and smooth > self.stop_factor * min(self.smoothed)
        if not math.isfinite(loss) or exploded:
            self.diverged = True
            self.model.stop_training = True
        elif step >= self.iterations:
            self.model.stop_training = True
        else:
            optimizer.learning_rate.assign(lr * self.factor)


def _snapshot(model: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
    to_numpy = keras.ops.convert_to_numpy
    weights = [np.array(w, copy=True) for w in model.get_weights()]
    return weights, [np.array(to_numpy(v), copy=True) for v in model.optimizer.variables]


def find_learning_rate(model: Any, x: Any, y: Any = None, *, min_lr: float = 1e-5,
                       max_lr: float = 10.0, iterations: int = 500, batch_size: int = 32,
                       stop_factor: float = 4.0, verbose: int = 0) -> LRFinderResult:
    """Run the range test on a compiled model and data; the model is left as it was.

    ``x``/``y`` are arrays (as for ``fit``); the data are passed over as many times as
    needed for ``iterations`` steps of ``batch_size``. Training stops early when the
    smoothed loss exceeds ``stop_factor`` × its minimum (or is not finite).
    """
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", True):
        raise DeepLearningError("the model is not compiled", "call model.compile(...) first")
    if not 0 < min_lr < max_lr:
        raise DeepLearningError(f"need 0 < min_lr < max_lr, got {min_lr} and {max_lr}",
                                "the book grows the rate from 1e-5 to 10")
    if int(iterations) < 2 * WARMUP_STEPS:
        raise DeepLearningError(f"the range test needs at least {2 * WARMUP_STEPS} iterations, "
                                f"got {iterations}", "the book uses 500")
    optimizer = model.optimizer
    if isinstance(getattr(optimizer, "_learning_rate", None),
                  keras.optimizers.schedules.LearningRateSchedule):
        raise DeepLearningError("the optimizer's learning rate is a schedule object",
                                "compile with a float learning rate for the range test")
    try:
        n_rows = len(x[next(iter(x))]) if isinstance(x, dict) else len(x)
    except TypeError as error:
        raise DeepLearningError("the range test needs in-memory arrays (x with a length)",
                                "pass NumPy arrays or a DataFrame") from error
    if n_rows == 0:
        raise DeepLearningError("no rows to train on", "pass a non-empty training set")
    if not model.built:
        model(x[:1] if not isinstance(x, dict) else {k: v[:1] for k, v in x.items()})
    if not optimizer.built:
        optimizer.build(model.trainable_variables)

    weights, optimizer_state = _snapshot(model)
    steps = math.ceil(n_rows / batch_size)
    batch_sizes = [min(batch_size, n_rows - i * batch_size) for i in range(steps)]
    callback = _ExponentialLearningRate((max_lr / min_lr) ** (1 / iterations), int(iterations),
                                        batch_sizes, stop_factor)
    optimizer.learning_rate.assign(min_lr)
    try:
        model.fit(x, y, batch_size=batch_size, epochs=math.ceil(iterations / steps),
                  callbacks=[callback], verbose=verbose, shuffle=True)
    finally:
        model.set_weights(weights)
        for variable, value in zip(optimizer.variables, optimizer_state, strict=True):
            variable.assign(value)
        model.stop_training = False
    if not callback.losses:
        raise DeepLearningError("the range test recorded no step", "check the training data")
    lrs, losses = np.array(callback.lrs), np.array(callback.losses)
    smoothed = np.array(callback.smoothed)
    finite = np.where(np.isfinite(smoothed), smoothed, np.inf)
    best = int(np.argmin(finite))
    return LRFinderResult(lrs=lrs, losses=losses, smoothed_losses=smoothed,
                          min_loss_lr=float(lrs[best]), divergence_lr=float(lrs[-1]),
                          diverged=callback.diverged)

"""Learning-rate schedules of chapter 11 (power, exponential, piecewise, performance, 1cycle).

A schedule changes the learning rate while the network trains: large steps while the loss
falls fast, small ones to settle at the end. The book applies them as Keras callbacks (per
epoch with ``LearningRateScheduler``, per iteration with a custom callback such as 1cycle) or
as per-step schedule objects passed to the optimizer (``ExponentialDecay`` ...). Both are
here, for the book's settings scaled to the length of a run.

Keras 3 differences handled here: optimizers lost ``decay=`` (power scheduling is
``InverseTimeDecay`` or the ``"power"`` callback) and ``keras.backend.set_value`` (a
callback assigns ``optimizer.learning_rate``). An optimizer's momentum (SGD) or ``beta_1``
(Adam family) is a plain float that the compiled train step bakes in on JAX and TensorFlow,
so :class:`OneCycleScheduler` swaps it for a variable while it trains (see
:class:`_CycledHyperparameter`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from mlpilot.deep.backend import keras_module
from mlpilot.errors import DeepLearningError

keras = keras_module()
ops = keras.ops

SCHEDULES = ("constant", "exponential", "piecewise", "power", "plateau", "1cycle")
#: The options each schedule accepts in :func:`schedule_callbacks`, with their defaults.
SCHEDULE_OPTIONS: dict[str, dict[str, Any]] = {
    "constant": {},
    "exponential": {"s": None},
    "piecewise": {"boundaries": None, "factors": (1.0, 0.5, 0.1)},
    "power": {"s": None, "c": 1.0},
    "plateau": {"factor": 0.5, "patience": 5, "monitor": "val_loss", "min_lr": 0.0},
    "1cycle": {"start_lr": None, "last_iterations": None, "last_lr": None,
               "max_momentum": 0.95, "min_momentum": 0.85, "cycle_momentum": True},
}
#: The notebook's power schedule: ``decay=1e-4`` (s = 10,000 steps) over 10 epochs of 1,719 steps.
BOOK_POWER_FRACTION = 10_000 / 17_190
#: The book's piecewise schedule switches at epochs 5 and 15 of 25.
BOOK_PIECEWISE_FRACTIONS = (5 / 25, 15 / 25)


# --- the book's schedule functions -------------------------------------------------------

def exponential_decay_fn(lr0: float, s: float) -> Callable[[int], float]:
    """η(t) = η0 · 0.1^(t/s): the learning rate falls 10× every ``s`` epochs (or steps)."""
    return lambda t: float(lr0 * 0.1 ** (t / s))


def power_decay_fn(lr0: float, s: float, c: float = 1.0) -> Callable[[int], float]:
    """η(t) = η0 / (1 + t/s)^c: what ``SGD(decay=1/s)`` did before Keras 3 (c = 1)."""
    return lambda t: float(lr0 / (1.0 + t / s) ** c)


def piecewise_constant_fn(boundaries: Sequence[int],
                          values: Sequence[float]) -> Callable[[int], float]:
    """``values[i]`` until epoch ``boundaries[i]`` (the book: [5, 15], [0.01, 0.005, 0.001])."""
    if len(values) != len(boundaries) + 1:
        raise DeepLearningError(f"a piecewise schedule needs one value more than boundaries "
                                f"(got {len(values)} values, {len(boundaries)} boundaries)",
                                "e.g. boundaries=[5, 15] with factors=[1, 0.5, 0.1]")

    def schedule(t: int) -> float:
        return float(values[sum(t >= b for b in boundaries)])

    return schedule


# --- callbacks ---------------------------------------------------------------------------

def _check_settable(optimizer: Any) -> None:
    if isinstance(getattr(optimizer, "_learning_rate", None),
                  keras.optimizers.schedules.LearningRateSchedule):
        raise DeepLearningError("the optimizer's learning rate is already a schedule object, "
                                "so a schedule callback cannot set it",
                                "compile with a float learning rate, or drop the callback")


def _set_learning_rate(optimizer: Any, value: float) -> None:
    _check_settable(optimizer)
    optimizer.learning_rate.assign(float(value))


class PerStepScheduler(keras.callbacks.Callback):
    """Set the learning rate before every training step from ``schedule(step)``.

    The per-iteration counterpart of ``keras.callbacks.LearningRateScheduler`` (which works
    per epoch); the step count carries on across ``fit`` calls. ``history["learning_rate"]``
    lists the rate used at each step.
    """

    def __init__(self, schedule: Callable[[int], float]) -> None:
        super().__init__()
        self.schedule = schedule
        self.iteration = 0
        self.history: dict[str, list[float]] = {"learning_rate": []}

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        lr = self.schedule(self.iteration)
        _set_learning_rate(self.model.optimizer, lr)
        self.history["learning_rate"].append(lr)
        self.iteration += 1


class _CycledHyperparameter(keras.Variable):
    """A scalar optimizer hyperparameter (momentum, beta_1) that can change between steps.

    Compared with ``==``/``!=`` it answers with its value when it was created, as a Python
    bool, so optimizer code such as ``if self.momentum != 0`` still runs while tracing.
    """

    def __init__(self, value: float, name: str) -> None:
        super().__init__(initializer=float(value), shape=(), dtype="float32",
                         trainable=False, name=name)
        self._static_value = float(value)

    def __eq__(self, other: object) -> bool:  # type: ignore[override]
        return self._static_value == other

    def __ne__(self, other: object) -> bool:  # type: ignore[override]
        return self._static_value != other

    __hash__ = keras.Variable.__hash__


class _StepHyperparameters:
    """Give the optimizer 1cycle's learning rate and momentum at every step, on every backend.

    PyTorch runs the step eagerly: the callback sets the rate, and the float momentum, before
    each step. JAX and TensorFlow compile the step with the momentum float baked in, and on
    JAX a callback that touches the model between steps copies every weight out of the
    compiled state and back (``jax_state_sync``): that doubled the step time of the
    ``images`` preset. So on those two, while attached, the optimizer's ``apply`` computes
    both values itself with ``keras.ops`` from a step counter kept among the optimizer's
    variables (JAX passes them in and out as state), and the train function is rebuilt on
    attach and detach.
    """

    def __init__(self, model: Any, optimizer: Any, scheduler: OneCycleScheduler,
                 attribute: str | None) -> None:
        self.model = model
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.attribute = attribute
        self.original = None if attribute is None else float(getattr(optimizer, attribute))
        self.compiled = keras.backend.backend() != "torch"
        self.added: list[Any] = []
        self.own_apply: Any = None

    def attach(self, iteration: int) -> None:
        if not self.compiled:
            return
        optimizer, scheduler, attribute = self.optimizer, self.scheduler, self.attribute
        step = keras.Variable(float(iteration), shape=(), dtype="float32", trainable=False,
                              name="one_cycle_step")
        momentum = None
        self.added = [step]
        if attribute is not None:
            momentum = _CycledHyperparameter(scheduler.momentum_at(iteration),
                                             f"cycled_{attribute}")
            self.added.append(momentum)
        for variable in self.added:
            optimizer._track_variable(variable)
        self.own_apply = optimizer.__dict__.get("apply")
        apply = optimizer.apply

        def scheduled_apply(*args: Any, **kwargs: Any) -> Any:
            i = ops.convert_to_tensor(step)
            optimizer.learning_rate.assign(scheduler.learning_rate_tensor(i))
            step.assign(i + 1.0)
            if momentum is None:
                return apply(*args, **kwargs)
            momentum.assign(scheduler.momentum_tensor(i))
            plain = optimizer.__dict__[attribute]
            optimizer.__dict__[attribute] = momentum
            try:
                return apply(*args, **kwargs)
            finally:
                optimizer.__dict__[attribute] = plain

        optimizer.__dict__["apply"] = scheduled_apply
        self.model.make_train_function(force=True)

    def set(self, iteration: int) -> None:
        """Before step ``iteration`` (eager PyTorch only: compiled steps set their own)."""
        if self.compiled:
            return
        _set_learning_rate(self.optimizer, self.scheduler.learning_rate_at(iteration))
        if self.attribute is not None:
            setattr(self.optimizer, self.attribute, self.scheduler.momentum_at(iteration))

    def detach(self) -> None:
        """Give the optimizer back its own ``apply`` and momentum (the value it had before
        training); the learning rate keeps the last step's value, as with a callback."""
        if self.attribute is not None:
            setattr(self.optimizer, self.attribute, self.original)
        if not self.added:
            return
        if self.own_apply is None:
            self.optimizer.__dict__.pop("apply", None)
        else:
            self.optimizer.__dict__["apply"] = self.own_apply
        for variable in self.added:
            self.optimizer._untrack_variable(variable)
        self.added = []
        self.model.make_train_function(force=True)


def _momentum_attribute(optimizer: Any) -> str | None:
    """Which hyperparameter 1cycle cycles: ``beta_1`` (Adam family) or SGD's momentum."""
    if isinstance(getattr(optimizer, "beta_1", None), int | float):
        return "beta_1"
    if (isinstance(optimizer, keras.optimizers.SGD)
            and isinstance(optimizer.momentum, int | float) and optimizer.momentum > 0):
        return "momentum"
    return None


class OneCycleScheduler(keras.callbacks.Callback):
    """Smith's 1cycle schedule (book 11.1.h), updated before every training step.

    The learning rate rises linearly from ``start_lr`` (default ``max_lr / 10``) to
    ``max_lr`` over the first half of the iterations (less the last ones), falls back to
    ``start_lr`` over the second half, then drops linearly to ``last_lr`` (default
    ``start_lr / 1000``) over the ``last_iterations`` (default ``iterations // 10 + 1``) —
    the notebook's ``OneCycleScheduler``. Momentum goes the other way, 0.95 → 0.85 → 0.95,
    then stays at 0.95, when the optimizer has one: SGD's ``momentum`` (if non-zero, as the
    momentum buffers must exist) or ``beta_1`` (Adam, Nadam, AdamW, Adamax); the optimizer
    gets its own value back after training. ``history`` lists the values used per step.
    """

    def __init__(self, iterations: int, max_lr: float, start_lr: float | None = None,
                 last_iterations: int | None = None, last_lr: float | None = None, *,
                 max_momentum: float = 0.95, min_momentum: float = 0.85,
                 cycle_momentum: bool = True) -> None:
        super().__init__()
        if int(iterations) < 2:
            raise DeepLearningError(f"1cycle needs at least 2 iterations, got {iterations}",
                                    "pass epochs × steps per epoch")
        if not max_lr > 0:
            raise DeepLearningError(f"1cycle needs a positive max_lr, got {max_lr}",
                                    "find one with mlpilot.deep.lr_finder.find_learning_rate")
        self.iterations = int(iterations)
        self.max_lr = float(max_lr)
        self.start_lr = float(start_lr) if start_lr else self.max_lr / 10
        self.last_iterations = (int(last_iterations) if last_iterations
                                else self.iterations // 10 + 1)
        self.last_iterations = min(self.last_iterations, self.iterations)
        self.half_iteration = (self.iterations - self.last_iterations) // 2
        self.last_lr = float(last_lr) if last_lr else self.start_lr / 1000
        self.max_momentum = float(max_momentum)
        self.min_momentum = float(min_momentum)
        self.cycle_momentum = cycle_momentum
        self.iteration = 0
        self.history: dict[str, list[float]] = {"learning_rate": [], "momentum": []}
        self._handle: _StepHyperparameters | None = None

    @staticmethod
    def _interpolate(i: int, i1: int, i2: int, v1: float, v2: float) -> float:
        return v1 if i2 <= i1 else (v2 - v1) * (i - i1) / (i2 - i1) + v1

    def learning_rate_at(self, iteration: int) -> float:
        """The learning rate of step ``iteration`` (0-based), without training."""
        i, half = min(iteration, self.iterations), self.half_iteration
        if i < half:
            return self._interpolate(i, 0, half, self.start_lr, self.max_lr)
        if i < 2 * half:
            return self._interpolate(i, half, 2 * half, self.max_lr, self.start_lr)
        return self._interpolate(i, 2 * half, self.iterations, self.start_lr, self.last_lr)

    def momentum_at(self, iteration: int) -> float:
        """The momentum (or beta_1) of step ``iteration``, mirroring the learning rate."""
        i, half = min(iteration, self.iterations), self.half_iteration
        if i < half:
            return self._interpolate(i, 0, half, self.max_momentum, self.min_momentum)
        if i < 2 * half:
            return self._interpolate(i, half, 2 * half, self.min_momentum, self.max_momentum)
        return self.max_momentum

    def learning_rate_tensor(self, iteration: Any) -> Any:
        """:meth:`learning_rate_at` with ``keras.ops``, for a step inside the compiled graph."""
        return _cycle_tensor(iteration, self.iterations, self.half_iteration,
                             self.start_lr, self.max_lr, self.last_lr)

    def momentum_tensor(self, iteration: Any) -> Any:
        """:meth:`momentum_at` with ``keras.ops``."""
        return _cycle_tensor(iteration, self.iterations, self.half_iteration,
                             self.max_momentum, self.min_momentum, self.max_momentum)

    def on_train_begin(self, logs: dict | None = None) -> None:
        optimizer = self.model.optimizer
        _check_settable(optimizer)
        attribute = _momentum_attribute(optimizer) if self.cycle_momentum else None
        self._handle = _StepHyperparameters(self.model, optimizer, self, attribute)
        self._handle.attach(self.iteration)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        # No ``self.model`` here: on JAX reading it syncs the whole model state every step.
        assert self._handle is not None
        self._handle.set(self.iteration)
        self.history["learning_rate"].append(self.learning_rate_at(self.iteration))
        if self._handle.attribute is not None:
            self.history["momentum"].append(self.momentum_at(self.iteration))
        self.iteration += 1

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._handle is not None:
            self._handle.detach()
            self._handle = None


def _cycle_tensor(step: Any, iterations: int, half: int, start: float, peak: float,
                  end: float) -> Any:
    """``start`` → ``peak`` over the first ``half`` steps, back to ``start`` over the next
    ``half``, then → ``end`` at ``iterations`` (and flat after): 1cycle's shape, as a tensor."""
    step = ops.minimum(ops.cast(step, "float32"), float(iterations))
    rise = float(max(half, 1))
    tail = float(max(iterations - 2 * half, 1))
    up = start + (peak - start) * step / rise
    down = peak + (start - peak) * (step - half) / rise
    last = start + (end - start) * (step - 2 * half) / tail
    return ops.where(step < half, up, ops.where(step < 2 * half, down, last))


# --- the names the estimators use ---------------------------------------------------------

def _options(name: str, given: dict[str, Any]) -> dict[str, Any]:
    accepted = SCHEDULE_OPTIONS[name]
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        choices = ", ".join(accepted) if accepted else "none"
        raise DeepLearningError(f"unknown option(s) for the {name!r} schedule: "
                                f"{', '.join(unknown)}", f"it accepts: {choices}")
    return {**accepted, **given}


def _check_name(name: str | None) -> str:
    key = "constant" if name is None else str(name).strip().lower()
    key = {"onecycle": "1cycle", "one_cycle": "1cycle", "performance": "plateau"}.get(key, key)
    if key not in SCHEDULES:
        raise DeepLearningError(f"unknown learning-rate schedule {name!r}",
                                f"choose among: {', '.join(SCHEDULES)}")
    return key


def _check_run(learning_rate: float, epochs: int, steps_per_epoch: int) -> None:
    if not learning_rate > 0:
        raise DeepLearningError(f"the learning rate must be positive, got {learning_rate}",
                                "e.g. learning_rate=0.01")
    if int(epochs) < 1 or int(steps_per_epoch) < 1:
        raise DeepLearningError(f"a schedule needs at least one epoch and one step per epoch "
                                f"(got epochs={epochs}, steps_per_epoch={steps_per_epoch})",
                                "steps_per_epoch = ceil(training rows / batch size)")


def _piecewise_boundaries(epochs: int, boundaries: Iterable[int] | None) -> list[int]:
    if boundaries is not None:
        return [int(b) for b in boundaries]
    return [max(1, round(f * epochs)) for f in BOOK_PIECEWISE_FRACTIONS]


def schedule_callbacks(name: str | None, *, learning_rate: float, epochs: int,
                       steps_per_epoch: int, **options: Any) -> list[keras.callbacks.Callback]:
    """The callbacks that apply schedule ``name`` to a run of ``epochs`` × ``steps_per_epoch``.

    - ``None``/``"constant"``: no callback.
    - ``"exponential"``: η0 · 0.1^(epoch/s) per epoch; ``s`` defaults to ``epochs`` (the
      book: s = 20 over 20 epochs, so the rate ends 10× lower).
    - ``"piecewise"``: η0 × ``factors`` (1, 0.5, 0.1) switching at 20% and 60% of the epochs
      (the book: 0.01 / 0.005 / 0.001 at epochs 5 and 15 of 25), or at ``boundaries``.
    - ``"power"``: η0 / (1 + t/s)^c per step; ``s`` (steps) defaults to 58% of the run, as
      the notebook's ``decay=1e-4`` over 10 epochs of 1,719 steps; ``c`` = 1.
    - ``"plateau"``: ``ReduceLROnPlateau(factor=0.5, patience=5)`` on ``val_loss``.
    - ``"1cycle"``: :class:`OneCycleScheduler` with ``learning_rate`` as the peak.
    """
    key = _check_name(name)
    opts = _options(key, options)
    _check_run(learning_rate, epochs, steps_per_epoch)
    if key == "constant":
        return []
    if key == "exponential":
        s = float(opts["s"] or epochs)
        return [keras.callbacks.LearningRateScheduler(exponential_decay_fn(learning_rate, s))]
    if key == "piecewise":
        values = [learning_rate * f for f in opts["factors"]]
        fn = piecewise_constant_fn(_piecewise_boundaries(epochs, opts["boundaries"]), values)
        return [keras.callbacks.LearningRateScheduler(fn)]
    if key == "power":
        s = float(opts["s"] or max(1.0, BOOK_POWER_FRACTION * epochs * steps_per_epoch))
        return [PerStepScheduler(power_decay_fn(learning_rate, s, float(opts["c"])))]
    if key == "plateau":
        return [keras.callbacks.ReduceLROnPlateau(
            monitor=opts["monitor"], factor=opts["factor"], patience=opts["patience"],
            min_lr=opts["min_lr"])]
    return [OneCycleScheduler(epochs * steps_per_epoch, max_lr=learning_rate, **opts)]


# --- per-step schedule objects (saved with the optimizer) --------------------------------

@keras.saving.register_keras_serializable(package="mlpilot")
class OneCycleSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """The 1cycle learning rate as a schedule object: computed in the train step, no callback.

    Same curve as :class:`OneCycleScheduler` (which also cycles momentum); use this one when
    the learning rate alone should follow 1cycle and be saved with the optimizer.
    """

    def __init__(self, iterations: int, max_lr: float, start_lr: float | None = None,
                 last_iterations: int | None = None, last_lr: float | None = None) -> None:
        reference = OneCycleScheduler(iterations, max_lr, start_lr, last_iterations, last_lr)
        self.iterations = reference.iterations
        self.max_lr = reference.max_lr
        self.start_lr = reference.start_lr
        self.last_iterations = reference.last_iterations
        self.last_lr = reference.last_lr
        self.half_iteration = reference.half_iteration

    def __call__(self, step: Any) -> Any:
        return _cycle_tensor(step, self.iterations, self.half_iteration, self.start_lr,
                             self.max_lr, self.last_lr)

    def get_config(self) -> dict[str, Any]:
        return {"iterations": self.iterations, "max_lr": self.max_lr,
                "start_lr": self.start_lr, "last_iterations": self.last_iterations,
                "last_lr": self.last_lr}


def learning_rate_schedule(name: str | None, *, learning_rate: float, epochs: int,
                           steps_per_epoch: int, **options: Any) -> Any:
    """A per-step schedule object for the optimizer (``SGD(learning_rate=...)``), or a float.

    The book's per-step versions, scaled like :func:`schedule_callbacks`: ``"exponential"``
    → ``ExponentialDecay(η0, s × steps_per_epoch, 0.1)`` (the book: 25 epochs × 1,719 steps
    for s = 25), ``"piecewise"`` → ``PiecewiseConstantDecay``, ``"power"`` →
    ``InverseTimeDecay(η0, s, 1.0)`` (c = 1 only), ``"1cycle"`` → :class:`OneCycleSchedule`
    (without momentum). ``"constant"`` returns ``learning_rate``; ``"plateau"`` has no
    per-step form (it watches the validation loss).
    """
    key = _check_name(name)
    opts = _options(key, options)
    _check_run(learning_rate, epochs, steps_per_epoch)
    schedules = keras.optimizers.schedules
    if key == "constant":
        return float(learning_rate)
    if key == "exponential":
        s = float(opts["s"] or epochs)
        return schedules.ExponentialDecay(learning_rate, decay_steps=s * steps_per_epoch,
                                          decay_rate=0.1)
    if key == "piecewise":
        steps = [b * steps_per_epoch for b in _piecewise_boundaries(epochs, opts["boundaries"])]
        values = [float(learning_rate * f) for f in opts["factors"]]
        piecewise_constant_fn(steps, values)  # same checks as the callback
        return schedules.PiecewiseConstantDecay(boundaries=steps, values=values)
    if key == "power":
        if float(opts["c"]) != 1.0:
            raise DeepLearningError(f"InverseTimeDecay only has c = 1, got c={opts['c']}",
                                    "use schedule_callbacks('power', ...) for other powers")
        s = float(opts["s"] or max(1.0, BOOK_POWER_FRACTION * epochs * steps_per_epoch))
        return schedules.InverseTimeDecay(learning_rate, decay_steps=s, decay_rate=1.0)
    if key == "plateau":
        raise DeepLearningError("performance scheduling has no per-step schedule object",
                                "use schedule_callbacks('plateau', ...)")
    momentum_options = {"max_momentum", "min_momentum", "cycle_momentum"}
    kept = {k: v for k, v in opts.items() if k not in momentum_options}
    return OneCycleSchedule(epochs * steps_per_epoch, max_lr=learning_rate, **kept)


def epoch_steps(n_rows: int, batch_size: int = 32) -> int:
    """``ceil(n_rows / batch_size)``: the number of training steps in one epoch."""
    return max(1, math.ceil(int(n_rows) / int(batch_size)))

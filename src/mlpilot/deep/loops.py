"""A custom training loop (book 12.1.l) that runs on JAX, TensorFlow and PyTorch.

``fit()`` is the right tool almost always; a hand-written loop is for what ``fit()`` cannot
express, like the book's exercise 13: different optimizers for the lower and upper layers.
The loop does by hand what the book lists: it adds the model's own losses (regularization,
``add_loss``) to the main loss, calls the model with ``training=True``, resets the metrics at
each epoch, and returns a history like ``fit``'s. Weight constraints are applied after each
step by the optimizer itself: Keras 3's ``Optimizer.apply`` does what the book's loop did by
hand (applying them a second time would be wrong for constraints that are not projections).

Gradients are the only backend-specific part. Keras 3 documents one way per backend (keras.io,
"Writing a training loop from scratch in JAX / TensorFlow / PyTorch"): JAX differentiates a
pure function of the weights (``model.stateless_call`` + ``jax.value_and_grad``), TensorFlow
records a ``tf.GradientTape``, PyTorch calls ``loss.backward()``. Each lives in one small
function below that returns (loss, gradients, predictions); everything else uses Keras.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from mlpilot.deep.backend import keras_module, set_seed
from mlpilot.errors import DeepLearningError

keras = keras_module()
ops = keras.ops

#: (x, y) -> (total loss, gradients aligned with model.trainable_variables, predictions)
StepFunction = Callable[[Any, Any], tuple[Any, list[Any], Any]]
#: (y_true, y_pred, model losses) -> scalar total loss
Objective = Callable[[Any, Any, Sequence[Any]], Any]
OptimizerSpec = Any  # an optimizer, its name, or {layer: optimizer} / [(layers, optimizer)]


def _jax_loss_and_gradients(model: Any, objective: Objective, jit: bool) -> StepFunction:
    """JAX: differentiate a pure function of the weights, then store the new layer state."""
    import jax

    kwargs = {"training": True} if _accepts_training(model) else {}

    def pure_loss(trainable: list[Any], non_trainable: list[Any], x: Any, y: Any) -> Any:
        y_pred, non_trainable, losses = model.stateless_call(
            trainable, non_trainable, x, return_losses=True, **kwargs)
        return objective(y, y_pred, losses), (y_pred, non_trainable)

    grad_fn = jax.value_and_grad(pure_loss, has_aux=True)
    if jit:
        grad_fn = jax.jit(grad_fn)

    def step(x: Any, y: Any) -> tuple[Any, list[Any], Any]:
        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        (loss, (y_pred, non_trainable)), grads = grad_fn(trainable, non_trainable, x, y)
        for variable, value in zip(model.non_trainable_variables, non_trainable, strict=True):
            variable.assign(value)  # BatchNorm statistics, dropout seeds...
        return loss, list(grads), y_pred

    return step


def _tensorflow_loss_and_gradients(model: Any, objective: Objective,
                                   jit: bool) -> StepFunction:
    """TensorFlow: record the forward pass on a GradientTape."""
    import tensorflow as tf

    def step(x: Any, y: Any) -> tuple[Any, list[Any], Any]:
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            loss = objective(y, y_pred, model.losses)
        return loss, tape.gradient(loss, model.trainable_variables), y_pred

    return tf.function(step, reduce_retracing=True) if jit else step


def _torch_loss_and_gradients(model: Any, objective: Objective, jit: bool) -> StepFunction:
    """PyTorch: backpropagate from the loss into each variable's ``.grad``."""

    def step(x: Any, y: Any) -> tuple[Any, list[Any], Any]:
        variables = model.trainable_variables
        for variable in variables:
            variable.value.grad = None
        y_pred = model(x, training=True)
        loss = objective(y, y_pred, model.losses)
        loss.backward()
        y_pred = keras.tree.map_structure(lambda t: t.detach(), y_pred)
        return loss.detach(), [v.value.grad for v in variables], y_pred

    return step


_GRADIENT_FUNCTIONS = {"jax": _jax_loss_and_gradients,
                       "tensorflow": _tensorflow_loss_and_gradients,
                       "torch": _torch_loss_and_gradients}


def fit_custom_loop(model: Any, X: Any, y: Any, *, loss_fn: Any = "mse",
                    optimizer: OptimizerSpec = "sgd", epochs: int = 1, batch_size: int = 32,
                    metrics: Iterable[Any] = (), validation_data: tuple[Any, Any] | None = None,
                    callbacks: Iterable[Any] = (), seed: int = 42, shuffle: bool = True,
                    jit: bool = True, verbose: int = 1) -> dict[str, list[float]]:
    """Train ``model`` with a hand-written loop; return ``{"loss": [...], "val_loss": ...}``.

    ``optimizer`` is one optimizer (or its name) for every weight, or, for the book's exercise
    13, a mapping ``{layer: optimizer}`` or a list of ``(layers, optimizer)`` pairs that
    together cover every trainable weight exactly once. ``loss_fn(y_true, y_pred)`` may
    return one loss per instance; the loop takes the mean and adds ``model.losses``.
    ``jit`` compiles the gradient step (``jax.jit`` / ``tf.function``; PyTorch runs
    eagerly). ``callbacks`` get the epoch and batch hooks; ``model.stop_training`` is honoured.
    """
    X_arr, y_arr = _as_arrays(X, y, "training")
    if int(epochs) < 1 or int(batch_size) < 1:
        raise DeepLearningError(f"epochs and batch_size must be ≥ 1, got {epochs!r} and "
                                f"{batch_size!r}", "pass e.g. epochs=5, batch_size=32")
    validation = _as_arrays(*validation_data, "validation") if validation_data else None
    set_seed(seed)
    rng = np.random.default_rng(seed)
    loss = _resolve_loss(loss_fn)
    if not model.built:
        model(ops.convert_to_tensor(X_arr[:1]))
    groups = _optimizer_groups(model, optimizer)
    tracked = [_resolve_metric(m) for m in metrics]
    mean_loss = keras.metrics.Mean(name="loss")
    backend = keras.backend.backend()
    step = _GRADIENT_FUNCTIONS[backend](model, _objective(loss), jit)
    position = {id(v): i for i, v in enumerate(model.trainable_variables)}

    n_steps = math.ceil(len(X_arr) / int(batch_size))
    history: dict[str, list[float]] = {}
    callback_list = list(callbacks)
    hooks = keras.callbacks.CallbackList(callback_list, model=model, epochs=int(epochs),
                                         steps=n_steps, verbose=0)
    model.stop_training = False
    hooks.on_train_begin()
    for epoch in range(int(epochs)):
        hooks.on_epoch_begin(epoch)
        started = time.perf_counter()
        order = rng.permutation(len(X_arr)) if shuffle else np.arange(len(X_arr))
        for s in range(n_steps):
            if callback_list:
                hooks.on_train_batch_begin(s)
            idx = order[s * int(batch_size):(s + 1) * int(batch_size)]
            x_batch, y_batch = X_arr[idx], y_arr[idx]
            batch_loss, grads, y_pred = step(x_batch, y_batch)
            for variables, opt in groups:  # apply() also enforces the weight constraints
                opt.apply([grads[position[id(v)]] for v in variables], variables)
            mean_loss.update_state(batch_loss, sample_weight=len(idx))
            for metric in tracked:
                metric.update_state(y_batch, y_pred)
            if callback_list:  # reading the loss waits for the step: only when needed
                hooks.on_train_batch_end(s, {"loss": _number(mean_loss.result())})
        logs = _results([mean_loss, *tracked])
        if validation is not None:
            logs.update({f"val_{k}": v for k, v in
                         _evaluate(model, loss, tracked, *validation, int(batch_size)).items()})
        for key, value in logs.items():
            history.setdefault(key, []).append(value)
        for metric in [mean_loss, *tracked]:
            metric.reset_state()
        if verbose:
            print(_status_line(epoch + 1, int(epochs), n_steps,
                               time.perf_counter() - started, logs))
        hooks.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    hooks.on_train_end({k: v[-1] for k, v in history.items()})
    return history


def _evaluate(model: Any, loss: Callable[[Any, Any], Any], metrics: list[Any], X: np.ndarray,
              y: np.ndarray, batch_size: int) -> dict[str, float]:
    """Loss (with ``model.losses``, as ``evaluate`` reports it) and metrics on held-out data."""
    objective = _objective(loss)
    mean_loss = keras.metrics.Mean(name="loss")
    for metric in metrics:
        metric.reset_state()
    for start in range(0, len(X), batch_size):
        x_batch, y_batch = X[start:start + batch_size], y[start:start + batch_size]
        y_pred = model(ops.convert_to_tensor(x_batch), training=False)
        mean_loss.update_state(objective(y_batch, y_pred, model.losses),
                               sample_weight=len(x_batch))
        for metric in metrics:
            metric.update_state(y_batch, y_pred)
    return _results([mean_loss, *metrics])


def _objective(loss: Callable[[Any, Any], Any]) -> Objective:
    def objective(y_true: Any, y_pred: Any, model_losses: Sequence[Any]) -> Any:
        total = ops.mean(loss(y_true, y_pred))
        for extra in model_losses:
            total = total + ops.cast(extra, total.dtype)
        return total

    return objective


def _optimizer_groups(model: Any, spec: OptimizerSpec) -> list[tuple[list[Any], Any]]:
    """(variables, optimizer) pairs covering every trainable variable exactly once."""
    trainable = model.trainable_variables
    if not trainable:
        raise DeepLearningError("the model has no trainable weights",
                                "unfreeze some layers (layer.trainable = True)")
    if isinstance(spec, Mapping):
        pairs = list(spec.items())
    elif isinstance(spec, Sequence) and not isinstance(spec, str):
        pairs = list(spec)
    else:
        return [(list(trainable), _resolve_optimizer(spec))]
    groups: list[tuple[list[Any], Any]] = []
    owner: dict[int, int] = {}
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise DeepLearningError(f"optimizer group #{i + 1} is not a (layers, optimizer) "
                                    "pair", "pass [(lower_layers, opt1), (upper_layers, opt2)]")
        layers, opt = pair
        if any(opt is other for _, other in groups):
            raise DeepLearningError(f"optimizer group #{i + 1} reuses another group's "
                                    "optimizer", "give each group its own optimizer instance "
                                    "(an optimizer keeps state for its own weights)")
        layer_list = layers if isinstance(layers, Sequence) else [layers]
        variables = [v for layer in layer_list for v in layer.trainable_variables]
        for v in variables:
            if id(v) in owner:
                raise DeepLearningError(f"the weight {v.path!r} has two optimizers (groups "
                                        f"#{owner[id(v)] + 1} and #{i + 1})",
                                        "give each layer to exactly one optimizer")
            owner[id(v)] = i
        groups.append((variables, _resolve_optimizer(opt)))
    missing = [v.path for v in trainable if id(v) not in owner]
    if missing:
        raise DeepLearningError(f"no optimizer for the weights {', '.join(missing)}",
                                "list every trainable layer in an optimizer group, or freeze "
                                "it (layer.trainable = False)")
    return groups


def _resolve_optimizer(spec: Any) -> Any:
    if isinstance(spec, keras.optimizers.Optimizer):
        return spec
    if isinstance(spec, str):
        try:
            return keras.optimizers.get(spec)
        except ValueError:
            pass
    names = "sgd, adam, nadam, rmsprop, adamw, adagrad, adadelta, adamax, ftrl, lion"
    raise DeepLearningError(f"unknown optimizer {spec!r}", f"choose among: {names}, or pass a "
                            "keras.optimizers.Optimizer")


def _resolve_loss(spec: Any) -> Callable[[Any, Any], Any]:
    if callable(spec):
        return spec
    if isinstance(spec, str):
        try:
            fn = keras.losses.get(spec)
        except ValueError:
            fn = None
        if fn is not None:
            return fn
    raise DeepLearningError(f"unknown loss {spec!r}", "pass a Keras loss name such as 'mse' "
                            "or a function loss_fn(y_true, y_pred)")


def _resolve_metric(spec: Any) -> Any:
    if isinstance(spec, keras.metrics.Metric):
        return spec
    if isinstance(spec, str):
        try:
            fn = keras.metrics.get(spec)
        except ValueError:
            fn = None
        if isinstance(fn, keras.metrics.Metric):  # named as asked ("mae"), like fit() does
            return fn.__class__.from_config({**fn.get_config(), "name": spec})
        if callable(fn):
            return keras.metrics.MeanMetricWrapper(fn, name=spec)
    raise DeepLearningError(f"unknown metric {spec!r}", "pass a keras.metrics.Metric or a "
                            "Keras metric name such as 'mae'")


def _as_arrays(X: Any, y: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    X_arr = np.asarray(X, dtype="float32")
    y_arr = np.asarray(y)
    y_arr = y_arr if np.issubdtype(y_arr.dtype, np.integer) else y_arr.astype("float32")
    if len(X_arr) != len(y_arr) or len(X_arr) == 0:
        raise DeepLearningError(f"the {what} data has {len(X_arr)} rows of X and "
                                f"{len(y_arr)} targets", "pass X and y of the same, non-zero "
                                "length")
    return X_arr, y_arr


def _accepts_training(model: Any) -> bool:
    return "training" in inspect.signature(model.call).parameters


def _number(value: Any) -> float:
    return float(ops.convert_to_numpy(value))


def _results(metrics: list[Any]) -> dict[str, float]:
    return {m.name: _number(m.result()) for m in metrics}


def _status_line(epoch: int, epochs: int, steps: int, seconds: float,
                 logs: dict[str, float]) -> str:
    values = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
    return f"Epoch {epoch}/{epochs} - {steps}/{steps} steps - {seconds:.1f}s - {values}"


__all__ = ["fit_custom_loop"]

"""Transfer learning (book 11.1.f): reuse the lower layers of a network trained on task A.

The book's recipe: model B = model A's layers without its output layer, plus a new output
layer for task B; freeze the reused layers for a few epochs so the new layer's random
weights do not wreck them, then unfreeze and train on with a small learning rate. Building
B on a clone of A (the default) keeps A's weights untouched; ``clone=False`` shares the
layers, so training B changes A as well.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from mlpilot.deep.backend import keras_module
from mlpilot.errors import DeepLearningError

keras = keras_module()

ALL_BUT_OUTPUT = "all but output"


def _layers(model: Any) -> list[Any]:
    """The model's layers without its InputLayer(s)."""
    return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def _copy(model: Any) -> Any:
    from keras.src.models.functional import Functional  # not exported by Keras 3

    if not isinstance(model, keras.Sequential | Functional):
        raise DeepLearningError(f"cannot clone a subclassed model ({type(model).__name__})",
                                "pass clone=False to share its layers, or rebuild it "
                                "with the Sequential or Functional API")
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def _unique_name(model: Any, base: str) -> str:
    taken = {layer.name for layer in model.layers}
    name, i = base, 1
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    return name


def reuse_layers(model_a: Any, n_output: int, output_activation: str | None, *,
                 clone: bool = True, drop_hidden: int = 0, name: str | None = None) -> Any:
    """Model B: model A's layers below its output (less ``drop_hidden`` top hidden layers)
    topped by a new ``Dense(n_output, output_activation)``.

    With ``clone=True`` the layers are copies carrying A's weights (A is left alone);
    with ``clone=False`` they are A's own layers. B is not compiled.
    """
    if not getattr(model_a, "built", False) or not getattr(model_a, "inputs", None):
        raise DeepLearningError("model A has no known input shape yet",
                                "build it (e.g. start it with keras.Input(shape=...)) first")
    if len(model_a.outputs) != 1:
        raise DeepLearningError(f"model A has {len(model_a.outputs)} outputs",
                                "transfer from a single-output model")
    if int(n_output) < 1:
        raise DeepLearningError(f"n_output must be at least 1, got {n_output}",
                                "e.g. 1 with a sigmoid for a binary task")
    source = _copy(model_a) if clone else model_a
    layers = _layers(source)
    keep = len(layers) - 1 - int(drop_hidden)
    if drop_hidden < 0 or keep < 1:
        raise DeepLearningError(f"cannot drop {drop_hidden} hidden layer(s) of a model with "
                                f"{len(layers) - 1} layer(s) below its output",
                                f"drop_hidden between 0 and {len(layers) - 2}")
    output = keras.layers.Dense(int(n_output), activation=output_activation,
                                name=_unique_name(source, "transfer_output"))
    model_name = name or f"{model_a.name}_transfer"
    if isinstance(source, keras.Sequential):
        first = source.inputs[0]
        return keras.Sequential([keras.Input(shape=tuple(first.shape[1:]), dtype=first.dtype),
                                 *layers[:keep], output], name=model_name)
    return keras.Model(source.inputs, output(layers[keep - 1].output), name=model_name)


def freeze(model: Any, n_layers: int | Literal["all but output"] = ALL_BUT_OUTPUT) -> Any:
    """Make the lowest ``n_layers`` layers untrainable (``"all but output"``: every layer
    below the output). Recompile afterwards for it to take effect."""
    layers = _layers(model)
    n = len(layers) - 1 if n_layers == ALL_BUT_OUTPUT else n_layers
    if not isinstance(n, int) or not 0 <= n <= len(layers):
        raise DeepLearningError(f"cannot freeze {n_layers!r} of {len(layers)} layers",
                                f"pass 0 to {len(layers)} or {ALL_BUT_OUTPUT!r}")
    for i, layer in enumerate(layers):
        layer.trainable = i >= n
    return model


def unfreeze(model: Any, n_layers: int | Literal["all"] = "all") -> Any:
    """Make the output layer and the ``n_layers`` hidden layers just below it trainable
    (``"all"``: every layer). Recompile afterwards for it to take effect."""
    layers = _layers(model)
    hidden = len(layers) - 1
    if n_layers == "all":
        n = hidden
    elif isinstance(n_layers, int) and 0 <= n_layers <= hidden:
        n = n_layers
    else:
        raise DeepLearningError(f"cannot unfreeze {n_layers!r} of {hidden} hidden layers",
                                f"pass 0 to {hidden} or 'all'")
    for layer in layers[hidden - n:]:
        layer.trainable = True
    return model


def make_optimizer(optimizer: str | Callable[[float], Any], learning_rate: float) -> Any:
    """A fresh optimizer: a Keras name (``"sgd"``, ``"adam"`` ...) or ``factory(lr)``."""
    if callable(optimizer):
        return optimizer(learning_rate)
    try:
        instance = keras.optimizers.get(str(optimizer))
    except ValueError as error:
        raise DeepLearningError(f"unknown optimizer {optimizer!r}",
                                "choose among: sgd, adam, nadam, adamw, rmsprop, ...") from error
    instance.learning_rate = float(learning_rate)
    return instance


@dataclass
class FineTuneResult:
    """Both phases' training history, end to end (``frozen_epochs`` first)."""

    history: dict[str, list[float]] = field(default_factory=dict)
    frozen_epochs: int = 0


def fine_tune(model: Any, x: Any, y: Any = None, *, frozen_epochs: int = 4, epochs: int = 16,
              loss: Any = None, metrics: Sequence[Any] | None = None,
              optimizer: str | Callable[[float], Any] = "sgd", learning_rate: float = 1e-3,
              fine_tune_learning_rate: float | None = None,
              unfreeze_layers: int | Literal["all"] = "all",
              validation_data: Any = None, batch_size: int = 32,
              callbacks: Sequence[Any] | None = None, verbose: int = 0) -> FineTuneResult:
    """The book's two phases on a model from :func:`reuse_layers`.

    Phase 1: everything but the output layer frozen, ``frozen_epochs`` epochs at
    ``learning_rate`` (the book: SGD, 1e-3, 4 epochs). Phase 2: ``unfreeze_layers``
    unfrozen, recompiled with a fresh optimizer at ``fine_tune_learning_rate`` (default
    ``learning_rate / 10``: reused layers want small steps; the notebook keeps 1e-3),
    ``epochs`` more epochs (the book: 16). ``loss`` defaults to the model's compiled one.
    """
    if loss is None:
        loss = getattr(model, "loss", None)
        if loss is None:
            raise DeepLearningError("no loss to fine-tune with",
                                    "pass loss=... (e.g. 'binary_crossentropy')")
    if int(frozen_epochs) < 0 or int(epochs) < 0:
        raise DeepLearningError("epochs cannot be negative",
                                f"got frozen_epochs={frozen_epochs}, epochs={epochs}")
    second_lr = learning_rate / 10 if fine_tune_learning_rate is None else fine_tune_learning_rate
    fit_args = {"validation_data": validation_data, "batch_size": batch_size,
                "callbacks": list(callbacks or []), "verbose": verbose}
    result = FineTuneResult(frozen_epochs=int(frozen_epochs))

    def train(n_epochs: int, lr: float) -> None:
        model.compile(loss=loss, optimizer=make_optimizer(optimizer, lr),
                      metrics=list(metrics or []))
        if n_epochs:
            history = model.fit(x, y, epochs=n_epochs, **fit_args).history
            for key, values in history.items():
                result.history.setdefault(key, []).extend(float(v) for v in values)

    freeze(model, ALL_BUT_OUTPUT)
    train(int(frozen_epochs), learning_rate)
    unfreeze(model, unfreeze_layers)
    train(int(epochs), second_lr)
    return result

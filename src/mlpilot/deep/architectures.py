"""The book's network shapes as functions: a sequential MLP and Wide & Deep (chapter 10).

Every builder returns an *uncompiled* ``keras.Model`` whose output layer matches the task
(Tables 10-1 and 10-2); :func:`compile_for_task` adds the task's loss and metric. Inputs
are standardized inside the model by a ``Normalization`` layer adapted on the training rows
(``normalize=True``, the book's housing MLP), so a saved model needs no outside scaler.
Layer options follow chapter 11: batch norm before or after the activation, dropout (alpha
dropout for SELU, Monte Carlo dropout on request), max-norm and l2.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlpilot.deep.backend import keras_module
from mlpilot.deep.kit import check_activation, check_batch_norm, check_initializer
from mlpilot.deep.kit import default_initializer as initializer_for
from mlpilot.errors import DeepLearningError

keras = keras_module()
layers = keras.layers

TASKS = ("regression", "binary", "multiclass", "multilabel")
REGRESSION_LOSSES = ("mse", "mae", "huber")
#: Output activations a regression may use (Table 10-1): none, positive, or bounded outputs.
REGRESSION_OUTPUTS = (None, "relu", "softplus", "sigmoid", "tanh")
#: The auxiliary output's share of the loss in the book's multi-output Wide & Deep.
AUX_LOSS_WEIGHTS = (0.9, 0.1)


@dataclass(frozen=True)
class OutputSpec:
    """The output layer and loss a task needs (Tables 10-1 and 10-2)."""

    units: int
    activation: str | None
    loss: Any  # a Keras loss name, or a loss object


def output_spec(task: str, n_outputs: int = 1, *, loss: str | None = None,
                output_activation: str | None = None) -> OutputSpec:
    """Regression: one linear unit per target and MSE (or MAE / Huber); binary: one sigmoid
    and binary cross-entropy; multiclass: ``n_outputs`` softmax units and sparse categorical
    cross-entropy; multilabel: one sigmoid per label and binary cross-entropy."""
    if task not in TASKS:
        raise DeepLearningError(f"unknown task {task!r}", f"choose among: {', '.join(TASKS)}")
    if int(n_outputs) < 1:
        raise DeepLearningError(f"a network needs at least one output, got {n_outputs}",
                                "pass n_outputs >= 1")
    if task == "regression":
        chosen = (loss or "mse").lower()
        if chosen not in REGRESSION_LOSSES:
            raise DeepLearningError(f"unknown regression loss {loss!r}",
                                    f"choose among: {', '.join(REGRESSION_LOSSES)}")
        if output_activation not in REGRESSION_OUTPUTS:
            raise DeepLearningError(
                f"unknown output activation {output_activation!r}",
                "choose among: none (linear), relu, softplus (positive), sigmoid, tanh "
                "(bounded)")
        return OutputSpec(int(n_outputs), output_activation, chosen)
    if loss is not None:
        raise DeepLearningError(f"a {task} network always uses cross-entropy, not {loss!r}",
                                "leave loss unset for classification")
    if task == "binary":
        return OutputSpec(1, "sigmoid", "binary_crossentropy")
    if task == "multiclass":
        if n_outputs < 2:
            raise DeepLearningError("a multiclass network needs at least 2 classes",
                                    "use task='binary' for two classes")
        return OutputSpec(int(n_outputs), "softmax", "sparse_categorical_crossentropy")
    return OutputSpec(int(n_outputs), "sigmoid", "binary_crossentropy")


def task_metric(task: str) -> Any:
    """The metric to follow per epoch: RMSE for regression, else accuracy (named so)."""
    if task == "regression":
        return keras.metrics.RootMeanSquaredError(name="rmse")
    if task == "multiclass":
        return keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    return keras.metrics.BinaryAccuracy(name="accuracy")


@keras.saving.register_keras_serializable(package="mlpilot")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Sparse categorical cross-entropy against smoothed targets: the true class counts
    ``1 - ε + ε/K``, every other class ``ε/K``. Keras smooths only one-hot targets; this
    takes the integer labels the classifier trains on. Smoothing stops the network chasing
    ever-larger logits on easy images, which buys Fashion-MNIST half a point of accuracy
    at no cost in time (benchmarks/keras_backends.py)."""

    def __init__(self, label_smoothing: float = 0.1, name: str = "smoothed_crossentropy",
                 **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        ops = keras.ops
        n_classes = ops.shape(y_pred)[-1]
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        targets = ops.one_hot(labels, n_classes, dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(
            targets, y_pred, label_smoothing=self.label_smoothing)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


def task_loss(spec: OutputSpec, task: str, label_smoothing: float = 0.0) -> Any:
    """The loss to compile: ``spec.loss`` by name, or its label-smoothed form (classifiers)."""
    if not label_smoothing:
        return spec.loss
    if not 0.0 < label_smoothing < 1.0:
        raise DeepLearningError(f"label_smoothing must be in [0, 1), got {label_smoothing!r}",
                                "0.1 is the usual value")
    if task == "regression":
        raise DeepLearningError("label smoothing applies to classifiers only",
                                "leave label_smoothing at 0 for regression")
    if task == "multiclass":
        return SmoothedSparseCrossentropy(label_smoothing)
    return keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing)


def compile_for_task(model: Any, task: str, optimizer: Any, *, loss: str | None = None,
                     label_smoothing: float = 0.0, run_eagerly: bool = False) -> Any:
    """Compile ``model`` with the task's loss and metric; two outputs (main and auxiliary)
    get the same loss, weighted 0.9 / 0.1 as in the book's Figure 10-15."""
    spec = output_spec(task, 2 if task == "multiclass" else 1, loss=loss)
    spec = OutputSpec(spec.units, spec.activation, task_loss(spec, task, label_smoothing))
    two_outputs = isinstance(model, WideAndDeepModel) or len(
        getattr(model, "outputs", None) or ()) == 2
    if two_outputs:
        model.compile(optimizer=optimizer, loss=(spec.loss, spec.loss),
                      loss_weights=AUX_LOSS_WEIGHTS,
                      metrics=(task_metric(task), task_metric(task)), run_eagerly=run_eagerly)
    else:
        model.compile(optimizer=optimizer, loss=spec.loss, metrics=[task_metric(task)],
                      run_eagerly=run_eagerly)
    return model


# ----------------------------------------------------------------------------- hidden layers
def layer_sizes(n_hidden: int, n_neurons: int | Sequence[int]) -> list[int]:
    """One size per hidden layer: ``n_neurons`` repeated (the book's advice: the same size in
    every layer) or given per layer (the chapter 10 MLP's 300, 100)."""
    if isinstance(n_neurons, int | np.integer):
        sizes = [int(n_neurons)] * int(n_hidden)
    else:
        sizes = [int(n) for n in n_neurons]
        if len(sizes) != int(n_hidden):
            raise DeepLearningError(f"n_neurons lists {len(sizes)} layer sizes but n_hidden is "
                                    f"{n_hidden}", "give one size per hidden layer, or one int")
    if int(n_hidden) < 0 or any(s < 1 for s in sizes):
        raise DeepLearningError(f"bad layer sizes: n_hidden={n_hidden}, n_neurons={n_neurons}",
                                "n_hidden >= 0 and every layer >= 1 neuron")
    return sizes


def dropout_layer(rate: float, activation: str, mc_dropout: bool) -> Any:
    """Dropout, alpha dropout for SELU (it keeps mean and variance), or their Monte Carlo
    versions (active at inference too) from :mod:`mlpilot.deep.regularization`."""
    alpha = activation == "selu"
    if not mc_dropout:
        return layers.AlphaDropout(rate) if alpha else layers.Dropout(rate)
    try:
        regularization = importlib.import_module("mlpilot.deep.regularization")
    except ImportError:
        raise DeepLearningError("MC dropout needs mlpilot.deep.regularization, which is not "
                                "available", "set mc_dropout=False") from None
    return regularization.MCAlphaDropout(rate) if alpha else regularization.MCDropout(rate)


def hidden_layers(n_hidden: int, n_neurons: int | Sequence[int], *, activation: str = "relu",
                  kernel_initializer: str | None = None, batch_norm: bool | str | None = None,
                  dropout: float = 0.0, mc_dropout: bool = False,
                  max_norm: float | None = None, l2: float | None = None) -> list[Any]:
    """The hidden stack as a list of layers, in the book's orders.

    ``batch_norm="after"``: Dense(activation) then BatchNormalization (section 11.1.d's first
    model, whose input BN :func:`build_mlp` adds); ``"before"``: Dense without bias, then BN,
    then the activation. Dropout follows each hidden layer.
    """
    activation = check_activation(activation)
    init = check_initializer(kernel_initializer or initializer_for(activation))
    norm = check_batch_norm(batch_norm)
    rate = float(dropout or 0.0)
    if not 0.0 <= rate < 1.0:
        raise DeepLearningError(f"dropout rate must be in [0, 1), got {dropout!r}",
                                "the book uses 0.1-0.5 (0.2 in its example)")
    if max_norm is not None and max_norm <= 0:
        raise DeepLearningError(f"max_norm must be positive, got {max_norm!r}", "try 1.0")
    if l2 is not None and l2 < 0:
        raise DeepLearningError(f"l2 must be >= 0, got {l2!r}", "try 0.01 (the book's)")
    constraint = keras.constraints.MaxNorm(float(max_norm)) if max_norm else None
    stack: list[Any] = []
    for units in layer_sizes(n_hidden, n_neurons):
        dense: dict[str, Any] = {"kernel_initializer": init, "kernel_constraint": constraint,
                                 "kernel_regularizer": keras.regularizers.L2(l2) if l2 else None}
        if norm == "before":
            stack += [layers.Dense(units, use_bias=False, **dense), layers.BatchNormalization(),
                      layers.Activation(activation)]
        else:
            stack.append(layers.Dense(units, activation=activation, **dense))
            if norm == "after":
                stack.append(layers.BatchNormalization())
        if rate > 0:
            stack.append(dropout_layer(rate, activation, mc_dropout))
    return stack


def normalization_stats(data: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and variance for a ``Normalization`` layer, made safe for tables.

    Like ``StandardScaler``, a constant column gets variance 1 (Keras would divide by 1e-7,
    so a new value at prediction time would explode). Columns holding only 0 and 1
    (one-hot categories, indicators) are left as they are: standardizing a rare category
    seen once in 10,000 rows turns its 1 into 100, and a ReLU network extrapolates that
    linearly (one California district on an ISLAND was predicted at -5 million dollars).
    """
    values = np.asarray(data)
    values = values.reshape(len(values), -1)
    mean, variance, binary = _column_moments(values)
    mean[binary], variance[binary] = 0.0, 1.0
    variance[variance < 1e-12] = 1.0
    return mean, variance


def _column_moments(values: np.ndarray, chunk_rows: int = 4096) -> tuple[np.ndarray, ...]:
    """Per-column mean, variance and "only 0/1" flag, in float64, a block of rows at a time:
    a float64 copy of 50,000 images (310 MB) cost a second per network trained."""
    n, width = values.shape
    if n == 0:
        return np.zeros(width), np.ones(width), np.zeros(width, dtype=bool)
    shift = values[0].astype(np.float64)  # sums of (x - x0): no cancellation for large values
    total, squares = np.zeros(width), np.zeros(width)
    binary = np.ones(width, dtype=bool)
    for begin in range(0, n, chunk_rows):
        block = values[begin:begin + chunk_rows]
        binary &= np.all((block == 0) | (block == 1), axis=0)
        centred = block.astype(np.float64) - shift
        total += centred.sum(axis=0)
        squares += np.einsum("ij,ij->j", centred, centred)
    mean = total / n
    variance = np.maximum(squares / n - mean**2, 0.0)
    return mean + shift, variance, binary


def _adapted_normalization(data: Any) -> Any:
    """A ``Normalization`` layer with the training rows' statistics (identity without data)."""
    if data is None:
        return layers.Normalization()
    mean, variance = normalization_stats(data)
    return layers.Normalization(mean=mean.astype(np.float32), variance=variance.astype(
        np.float32))


def _output_layer(spec: OutputSpec, l2: float | None, name: str) -> Any:
    return layers.Dense(spec.units, activation=spec.activation, name=name,
                        kernel_regularizer=keras.regularizers.L2(l2) if l2 else None)


# ----------------------------------------------------------------------------- builders
def build_mlp(input_shape: int | Sequence[int], task: str = "regression", n_outputs: int = 1, *,
              n_hidden: int = 2, n_neurons: int | Sequence[int] = 30, activation: str = "relu",
              kernel_initializer: str | None = None, batch_norm: bool | str | None = None,
              dropout: float = 0.0, mc_dropout: bool = False, max_norm: float | None = None,
              l2: float | None = None, normalize: bool = True, adapt_data: Any = None,
              loss: str | None = None, output_activation: str | None = None,
              name: str = "mlp") -> Any:
    """A sequential MLP (Figure 10-9): [Flatten] [Normalization] [BN] hidden layers, output.

    ``input_shape`` is the number of features or an image shape (28, 28), which is
    flattened first. ``adapt_data``: the training inputs the Normalization layer learns its
    means and variances from (``normalize=True``). ``n_outputs``: targets for regression,
    classes for multiclass, labels for multilabel (binary has one).
    """
    shape = (int(input_shape),) if isinstance(input_shape, int | np.integer) else tuple(
        int(s) for s in input_shape)
    spec = output_spec(task, n_outputs, loss=loss, output_activation=output_activation)
    norm = check_batch_norm(batch_norm)
    stack: list[Any] = [keras.Input(shape=shape)]
    if len(shape) > 1:
        stack.append(layers.Flatten())
    if normalize:
        stack.append(_adapted_normalization(adapt_data))
    if norm == "after":
        stack.append(layers.BatchNormalization())
    stack += hidden_layers(n_hidden, n_neurons, activation=activation,
                           kernel_initializer=kernel_initializer, batch_norm=norm,
                           dropout=dropout, mc_dropout=mc_dropout, max_norm=max_norm, l2=l2)
    stack.append(_output_layer(spec, l2, "output"))
    return keras.Sequential(stack, name=name)


def build_wide_deep(n_wide: int, n_deep: int, task: str = "regression", n_outputs: int = 1, *,
                    n_hidden: int = 2, n_neurons: int | Sequence[int] = 30,
                    activation: str = "relu", kernel_initializer: str | None = None,
                    batch_norm: bool | str | None = None, dropout: float = 0.0,
                    mc_dropout: bool = False, max_norm: float | None = None,
                    l2: float | None = None, normalize: bool = True,
                    adapt_data: tuple[Any, Any] | None = None, auxiliary_output: bool = False,
                    loss: str | None = None, output_activation: str | None = None,
                    name: str = "wide_deep") -> Any:
    """Wide & Deep with two inputs (Figure 10-14): the wide columns skip the hidden stack and
    meet its output in a Concatenate layer. ``auxiliary_output`` adds a second output on top
    of the deep path (Figure 10-15), trained with loss weights 0.9 / 0.1.

    Inputs are named ``wide`` and ``deep``; ``adapt_data`` is ``(X_wide, X_deep)``. The
    book's housing example: wide = ``X[:, :5]``, deep = ``X[:, 2:]`` (the chapter's
    ``X[:, 5:]`` is an erratum: the deep input has 6 columns).
    """
    spec = output_spec(task, n_outputs, loss=loss, output_activation=output_activation)
    input_wide = keras.Input(shape=(int(n_wide),), name="wide")
    input_deep = keras.Input(shape=(int(n_deep),), name="deep")
    wide, deep = input_wide, input_deep
    if normalize:
        data_wide, data_deep = adapt_data if adapt_data is not None else (None, None)
        wide = _adapted_normalization(data_wide)(wide)
        deep = _adapted_normalization(data_deep)(deep)
    hidden = deep
    for layer in hidden_layers(n_hidden, n_neurons, activation=activation,
                               kernel_initializer=kernel_initializer, batch_norm=batch_norm,
                               dropout=dropout, mc_dropout=mc_dropout, max_norm=max_norm,
                               l2=l2):
        hidden = layer(hidden)
    concat = layers.Concatenate()([wide, hidden])
    output = _output_layer(spec, l2, "output")(concat)
    outputs = [output]
    if auxiliary_output:
        outputs.append(_output_layer(spec, l2, "aux_output")(hidden))
    return keras.Model(inputs=[input_wide, input_deep], outputs=outputs, name=name)


@keras.saving.register_keras_serializable(package="mlpilot")
class WideAndDeepModel(keras.Model):
    """The book's subclassed Wide & Deep (section 10.1.c): two inputs, two Normalization
    layers, two hidden Dense layers, a main and an auxiliary output.

    The output layer is ``main_output`` because ``output`` is taken by ``keras.Model``.
    Call ``norm_layer_wide.adapt(X_wide)`` and ``norm_layer_deep.adapt(X_deep)`` before
    ``fit``. ``model((X_wide, X_deep))`` returns ``(main, aux)``.
    """

    def __init__(self, units: int = 30, activation: str = "relu", n_outputs: int = 1,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = check_activation(activation)
        self.n_outputs = int(n_outputs)
        self.norm_layer_wide = layers.Normalization()
        self.norm_layer_deep = layers.Normalization()
        self.hidden1 = layers.Dense(self.units, activation=self.activation)
        self.hidden2 = layers.Dense(self.units, activation=self.activation)
        self.main_output = layers.Dense(self.n_outputs)
        self.aux_output = layers.Dense(self.n_outputs)

    def call(self, inputs: Any) -> tuple[Any, Any]:
        input_wide, input_deep = inputs
        norm_wide = self.norm_layer_wide(input_wide)
        norm_deep = self.norm_layer_deep(input_deep)
        hidden2 = self.hidden2(self.hidden1(norm_deep))
        concat = keras.ops.concatenate([norm_wide, hidden2], axis=-1)
        return self.main_output(concat), self.aux_output(hidden2)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units, "activation": self.activation,
                "n_outputs": self.n_outputs}

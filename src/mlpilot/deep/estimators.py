"""Keras networks as scikit-learn estimators: ``KerasRegressor`` and ``KerasClassifier``.

The book tunes Keras models with scikit-learn's searches through SciKeras (section 10.1.l).
SciKeras 0.13 fails scikit-learn 1.9's estimator checks (no ``__sklearn_tags__``, attributes
set in ``__init__``, mixin order), so mlpilot has this thin wrapper of its own: a network is
a hyperparameter set (a preset of :mod:`mlpilot.deep.kit` plus overrides), ``fit`` builds a
fresh model from it, and the fitted estimator pickles, clones and saves with skops like any
scikit-learn model (the Keras model travels as ``.keras`` bytes).

``fit`` holds out ``validation_fraction`` of *its own* rows (stratified for classifiers) for
early stopping, learning-rate schedules and the learning curves in ``history_``. Training is
float32 and reproducible for a fixed ``random_state`` on one backend. Keras is imported on
first use, so building or cloning an estimator costs nothing.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import random
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from mlpilot.errors import DeepLearningError

ARCHITECTURES = ("mlp", "wide_deep")
#: Rows per prediction batch, and the fewest rows a batch is padded to (see ``_predict_chunk``).
PREDICT_BATCH = 8192
MIN_PREDICT_PAD = 32
#: Trainings of at most this many steps (epochs x batches) run eagerly: compiling the step
#: function (about a second on a CPU) would cost more than it saves.
EAGER_STEPS = 100
#: Fewest rows a validation split takes; below, the whole table trains and nothing is held out.
MIN_VALIDATION_ROWS = 2


def _keras() -> Any:
    from mlpilot.deep.backend import keras_module

    return keras_module()


def model_to_bytes(model: Any) -> bytes:
    """The model as a ``.keras`` archive (architecture, weights, optimizer state)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        model.save(path)
        return path.read_bytes()


def model_from_bytes(data: bytes) -> Any:
    """The inverse of :func:`model_to_bytes` (Keras's safe mode: no Python lambdas)."""
    keras = _keras()
    importlib.import_module("mlpilot.deep.architectures")  # registers mlpilot's layers
    with contextlib.suppress(ImportError):  # MC dropout layers, if the module is there
        importlib.import_module("mlpilot.deep.regularization")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        path.write_bytes(data)
        return keras.saving.load_model(path)


class _KerasEstimator(BaseEstimator):
    """Hyperparameters, training and persistence shared by the regressor and the classifier.

    Every hyperparameter left at None comes from ``preset`` (``"default"`` when None; see
    :data:`mlpilot.deep.kit.PRESETS`).
    """

    _task: str = "regression"

    def __init__(self, architecture: str = "mlp", preset: str | None = None,
                 n_hidden: int | None = None, n_neurons: int | Sequence[int] | None = None,
                 activation: str | None = None, kernel_initializer: str | None = None,
                 batch_norm: bool | str | None = None, dropout: float | None = None,
                 max_norm: float | None = None, l2: float | None = None, normalize: bool = True,
                 optimizer: str | None = None, learning_rate: float | None = None,
                 momentum: float | None = None, weight_decay: float | None = None,
                 clipnorm: float | None = None, schedule: str | None = None,
                 epochs: int | None = None, batch_size: int | None = None,
                 early_stopping: bool | None = None, patience: int | None = None,
                 validation_fraction: float | None = None,
                 wide_columns: Sequence[int | str] | None = None,
                 deep_columns: Sequence[int | str] | None = None,
                 auxiliary_output: bool = False, run_eagerly: bool | None = None,
                 random_state: Any = None, verbose: int = 0) -> None:
        self.architecture = architecture
        self.preset = preset
        self.n_hidden = n_hidden
        self.n_neurons = n_neurons
        self.activation = activation
        self.kernel_initializer = kernel_initializer
        self.batch_norm = batch_norm
        self.dropout = dropout
        self.max_norm = max_norm
        self.l2 = l2
        self.normalize = normalize
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.schedule = schedule
        self.epochs = epochs
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.wide_columns = wide_columns
        self.deep_columns = deep_columns
        self.auxiliary_output = auxiliary_output
        self.run_eagerly = run_eagerly
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ configuration
    def resolved_params(self) -> dict[str, Any]:
        """The hyperparameters training will use: the preset filled in with the overrides."""
        from mlpilot.deep.kit import (
            DEFAULT_LEARNING_RATES,
            check_activation,
            check_batch_norm,
            check_choice,
            check_initializer,
            default_initializer,
            get_preset,
        )

        preset = get_preset(self.preset)
        architecture = check_choice("architecture", self.architecture, ARCHITECTURES)
        n_hidden = _pick(self.n_hidden, preset.n_hidden)
        n_neurons = self.n_neurons
        if n_neurons is None:
            n_neurons = preset.n_neurons
            if isinstance(n_neurons, tuple) and len(n_neurons) != n_hidden:
                n_neurons = max(n_neurons)  # the preset's layer sizes fit another depth
        activation = check_activation(self.activation or preset.activation_for(n_hidden))
        if self.kernel_initializer is not None:
            initializer = check_initializer(self.kernel_initializer)
        elif self.activation is None and preset.kernel_initializer is not None:
            initializer = preset.kernel_initializer
        else:
            initializer = default_initializer(activation)
        optimizer = check_choice("optimizer", self.optimizer or preset.optimizer,
                                 tuple(DEFAULT_LEARNING_RATES))
        learning_rate = self.learning_rate
        if learning_rate is None:
            learning_rate = (preset.learning_rate if optimizer == preset.optimizer
                             else DEFAULT_LEARNING_RATES[optimizer])
        schedule = preset.schedule if self.schedule is None else self.schedule
        params: dict[str, Any] = {
            "architecture": architecture, "n_hidden": int(n_hidden), "n_neurons": n_neurons,
            "activation": activation, "kernel_initializer": initializer,
            "batch_norm": check_batch_norm(_pick(self.batch_norm, preset.batch_norm_for(
                n_hidden))),
            "dropout": float(_pick(self.dropout, preset.dropout)),
            "optimizer": optimizer, "learning_rate": float(learning_rate),
            "momentum": float(_pick(self.momentum, preset.momentum)),
            "schedule": None if schedule in (None, "constant") else str(schedule),
            "epochs": int(_pick(self.epochs, preset.epochs)),
            "batch_size": int(_pick(self.batch_size, preset.batch_size)),
            "early_stopping": bool(_pick(self.early_stopping, preset.early_stopping)),
            "patience": int(_pick(self.patience, preset.patience)),
            "validation_fraction": float(_pick(self.validation_fraction,
                                               preset.validation_fraction)),
        }
        if self._task != "regression":
            params["label_smoothing"] = float(_pick(getattr(self, "label_smoothing", None),
                                                    preset.label_smoothing))
        for name in ("epochs", "batch_size"):
            if params[name] < 1:
                raise DeepLearningError(f"{name} must be >= 1, got {params[name]}",
                                        f"pass a positive {name}")
        if params["patience"] < 0:
            raise DeepLearningError(f"patience must be >= 0, got {params['patience']}",
                                    "the book uses 10 (2 in its Hyperband search)")
        if not 0.0 <= params["validation_fraction"] < 1.0:
            raise DeepLearningError(
                f"validation_fraction must be in [0, 1), got {params['validation_fraction']}",
                "0.1 holds out a tenth of the training rows")
        if architecture == "mlp" and (self.wide_columns is not None
                                      or self.deep_columns is not None):
            raise DeepLearningError("wide_columns/deep_columns only apply to "
                                    "architecture='wide_deep'", "set architecture='wide_deep'")
        return params

    # ------------------------------------------------------------------ training
    def _fit_network(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None,
                     task: str, n_outputs: int, stratify: np.ndarray | None) -> None:
        params = self.resolved_params()
        from mlpilot.deep.architectures import compile_for_task
        from mlpilot.deep.kit import make_optimizer

        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        columns = self._columns(params["architecture"], X.shape[1])
        train, valid = _split(len(X), params, stratify, seed)
        np_state, py_state = np.random.get_state(), random.getstate()
        try:
            _seed(seed)
            model = self._build(params, task, n_outputs, X[train], columns)
            optimizer = make_optimizer(params["optimizer"], params["learning_rate"],
                                       momentum=params["momentum"],
                                       weight_decay=self.weight_decay, clipnorm=self.clipnorm)
            loss = getattr(self, "loss", None)
            steps = params["epochs"] * math.ceil(len(train) / params["batch_size"])
            eager = steps <= EAGER_STEPS if self.run_eagerly is None else bool(self.run_eagerly)
            compile_for_task(model, task, optimizer, loss=loss, run_eagerly=eager,
                             label_smoothing=params.get("label_smoothing", 0.0))
            callbacks = self._callbacks(params, len(train), valid is not None)

            def inputs(rows: np.ndarray) -> Any:
                return self._inputs(X[rows], columns)

            def targets(rows: np.ndarray) -> Any:
                return (y[rows], y[rows]) if self.auxiliary_output else y[rows]

            weights = None if sample_weight is None else sample_weight[train]
            validation = None
            if valid is not None:
                validation = (inputs(valid), targets(valid))
                if sample_weight is not None:
                    validation = (*validation, sample_weight[valid])
            history = model.fit(inputs(train), targets(train), sample_weight=weights,
                                validation_data=validation, epochs=params["epochs"],
                                batch_size=params["batch_size"], callbacks=callbacks,
                                shuffle=True, verbose=self.verbose)
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)
        self._input_columns = columns
        self.model_ = model
        self.history_ = {key: [float(v) for v in values]
                         for key, values in history.history.items()}
        self.n_iter_ = len(self.history_.get("loss", []))
        self.n_outputs_ = int(n_outputs)

    def _columns(self, architecture: str, n_features: int) -> tuple[list[int], list[int]] | None:
        if architecture != "wide_deep":
            return None
        names = getattr(self, "feature_names_in_", None)

        def indices(spec: Sequence[int | str] | None, which: str) -> list[int]:
            if spec is None:
                return list(range(n_features))
            found: list[int] = []
            for column in spec:
                if isinstance(column, str):
                    if names is None or column not in list(names):
                        raise DeepLearningError(
                            f"{which} column {column!r} is not a feature name",
                            "name columns of the DataFrame given to fit, or give indices")
                    found.append(list(names).index(column))
                elif not 0 <= int(column) < n_features:
                    raise DeepLearningError(f"{which} column index {column} is out of range",
                                            f"the table has {n_features} columns")
                else:
                    found.append(int(column))
            if not found:
                raise DeepLearningError(f"no {which} columns", f"list at least one {which} "
                                        "column, or leave it None for all columns")
            return found

        return indices(self.wide_columns, "wide"), indices(self.deep_columns, "deep")

    @staticmethod
    def _inputs(X: np.ndarray, columns: tuple[list[int], list[int]] | None) -> Any:
        if columns is None:
            return X
        return (X[:, columns[0]], X[:, columns[1]])

    def _build(self, params: dict[str, Any], task: str, n_outputs: int, X_train: np.ndarray,
               columns: tuple[list[int], list[int]] | None) -> Any:
        from mlpilot.deep.architectures import build_mlp, build_wide_deep

        layers = {key: params[key] for key in ("n_hidden", "n_neurons", "activation",
                                               "kernel_initializer", "batch_norm", "dropout")}
        layers.update(max_norm=self.max_norm, l2=self.l2, normalize=bool(self.normalize),
                      loss=getattr(self, "loss", None))
        if columns is None:
            if self.auxiliary_output:
                raise DeepLearningError("an auxiliary output needs architecture='wide_deep'",
                                        "set architecture='wide_deep' or auxiliary_output=False")
            return build_mlp(X_train.shape[1], task, n_outputs, adapt_data=X_train, **layers)
        wide, deep = columns
        return build_wide_deep(len(wide), len(deep), task, n_outputs,
                               adapt_data=(X_train[:, wide], X_train[:, deep]),
                               auxiliary_output=bool(self.auxiliary_output), **layers)

    def _callbacks(self, params: dict[str, Any], n_train: int, validated: bool) -> list[Any]:
        keras = _keras()
        callbacks: list[Any] = []
        if params["early_stopping"] and validated:
            callbacks.append(keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=params["patience"], restore_best_weights=True))
        if params["schedule"] is not None:
            try:
                schedules = importlib.import_module("mlpilot.deep.schedules")
            except ImportError:
                raise DeepLearningError(
                    f"the learning-rate schedule {params['schedule']!r} needs "
                    "mlpilot.deep.schedules, which is not available",
                    "set schedule='constant' (or None in a preset without one)") from None
            callbacks += schedules.schedule_callbacks(
                params["schedule"], learning_rate=params["learning_rate"],
                epochs=params["epochs"],
                steps_per_epoch=math.ceil(n_train / params["batch_size"]))
        return callbacks

    # ------------------------------------------------------------------ prediction
    def _raw_predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=np.float32)
        chunks = [self._predict_chunk(X[start:start + PREDICT_BATCH])
                  for start in range(0, len(X), PREDICT_BATCH)]
        if not chunks:
            raise ValueError("no rows to predict")  # pragma: no cover - validate_data refuses
        return np.concatenate(chunks).astype(np.float64)

    def _predict_chunk(self, X: np.ndarray) -> np.ndarray:
        """One batch, padded to a power of two rows: each new input shape costs the backend a
        compilation (about a second with JAX), so a server answering 1, 3, 7... rows compiles
        a few shapes once instead of one per request size."""
        n = len(X)
        size = max(MIN_PREDICT_PAD, 1 << (n - 1).bit_length())
        padded = np.zeros((size, X.shape[1]), dtype=np.float32)
        padded[:n] = X
        out = self.model_.predict_on_batch(self._inputs(padded, self._input_columns))
        if isinstance(out, list | tuple):  # main and auxiliary outputs: keep the main one
            out = out[0]
        return np.asarray(out)[:n]

    # ------------------------------------------------------------------ persistence
    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        model = state.pop("model_", None)
        if model is not None:
            state["_model_keras"] = model_to_bytes(model)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        data = state.pop("_model_keras", None)
        super().__setstate__(state)
        if data is not None:
            self.model_ = model_from_bytes(data)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        # Minibatch SGD from random weights: fixed random_state gives the same network, but
        # not, say, the same network on permuted rows.
        tags.non_deterministic = True
        return tags


class KerasRegressor(RegressorMixin, _KerasEstimator):
    """A Keras network for regression: one linear output per target, MSE (or MAE / Huber).

    ``KerasRegressor(preset="fast")`` trains the shortlist's small MLP; every other argument
    overrides a preset value. ``history_`` holds per-epoch ``loss``, ``rmse`` and their
    ``val_`` versions. The target is learned as given: scale it (``TransformedTargetRegressor``)
    when it is large, as mlpilot's model zoo does.
    """

    _task = "regression"

    def __init__(self, architecture: str = "mlp", preset: str | None = None,
                 n_hidden: int | None = None, n_neurons: int | Sequence[int] | None = None,
                 activation: str | None = None, kernel_initializer: str | None = None,
                 batch_norm: bool | str | None = None, dropout: float | None = None,
                 max_norm: float | None = None, l2: float | None = None, normalize: bool = True,
                 optimizer: str | None = None, learning_rate: float | None = None,
                 momentum: float | None = None, weight_decay: float | None = None,
                 clipnorm: float | None = None, schedule: str | None = None,
                 epochs: int | None = None, batch_size: int | None = None,
                 early_stopping: bool | None = None, patience: int | None = None,
                 validation_fraction: float | None = None,
                 wide_columns: Sequence[int | str] | None = None,
                 deep_columns: Sequence[int | str] | None = None,
                 auxiliary_output: bool = False, loss: str | None = None,
                 run_eagerly: bool | None = None, random_state: Any = None,
                 verbose: int = 0) -> None:
        super().__init__(
            architecture=architecture, preset=preset, n_hidden=n_hidden, n_neurons=n_neurons,
            activation=activation, kernel_initializer=kernel_initializer,
            batch_norm=batch_norm, dropout=dropout, max_norm=max_norm, l2=l2,
            normalize=normalize, optimizer=optimizer, learning_rate=learning_rate,
            momentum=momentum, weight_decay=weight_decay, clipnorm=clipnorm,
            schedule=schedule, epochs=epochs, batch_size=batch_size,
            early_stopping=early_stopping, patience=patience,
            validation_fraction=validation_fraction, wide_columns=wide_columns,
            deep_columns=deep_columns, auxiliary_output=auxiliary_output,
            run_eagerly=run_eagerly, random_state=random_state, verbose=verbose)
        self.loss = loss

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> KerasRegressor:
        """Train a fresh network on ``X``, ``y`` (one column per target)."""
        X, y = validate_data(self, X, y, dtype=np.float32, multi_output=True, y_numeric=True)
        y = np.asarray(y, dtype=np.float32)
        self._target_2d = y.ndim == 2
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        weights = _weights(sample_weight, X)
        self._fit_network(X, y, weights, "regression", n_outputs, stratify=None)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predictions, shaped like the training target (1-D for one target)."""
        out = self._raw_predict(X)
        return out if getattr(self, "_target_2d", False) else out.reshape(len(out), -1)[:, 0]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.regressor_tags.poor_score = True  # a few epochs on the checks' tiny tables
        return tags


class KerasClassifier(ClassifierMixin, _KerasEstimator):
    """A Keras network for classification (Table 10-2): one sigmoid output for two classes,
    softmax for more, one sigmoid per label for a multilabel indicator matrix; always
    cross-entropy.

    Labels can be of any type (strings included): ``classes_`` lists them, sorted.
    ``predict_proba`` returns one column per class (per label for multilabel).
    ``history_`` holds per-epoch ``loss``, ``accuracy`` and their ``val_`` versions.
    ``label_smoothing`` (ε) trains against targets ``1 - ε + ε/K`` and ``ε/K``: a little
    accuracy for less confident probabilities (the ``images`` preset uses 0.1).
    """

    _task = "multiclass"

    def __init__(self, architecture: str = "mlp", preset: str | None = None,
                 n_hidden: int | None = None, n_neurons: int | Sequence[int] | None = None,
                 activation: str | None = None, kernel_initializer: str | None = None,
                 batch_norm: bool | str | None = None, dropout: float | None = None,
                 max_norm: float | None = None, l2: float | None = None, normalize: bool = True,
                 optimizer: str | None = None, learning_rate: float | None = None,
                 momentum: float | None = None, weight_decay: float | None = None,
                 clipnorm: float | None = None, schedule: str | None = None,
                 epochs: int | None = None, batch_size: int | None = None,
                 early_stopping: bool | None = None, patience: int | None = None,
                 validation_fraction: float | None = None,
                 wide_columns: Sequence[int | str] | None = None,
                 deep_columns: Sequence[int | str] | None = None,
                 auxiliary_output: bool = False, label_smoothing: float | None = None,
                 run_eagerly: bool | None = None, random_state: Any = None,
                 verbose: int = 0) -> None:
        super().__init__(
            architecture=architecture, preset=preset, n_hidden=n_hidden, n_neurons=n_neurons,
            activation=activation, kernel_initializer=kernel_initializer,
            batch_norm=batch_norm, dropout=dropout, max_norm=max_norm, l2=l2,
            normalize=normalize, optimizer=optimizer, learning_rate=learning_rate,
            momentum=momentum, weight_decay=weight_decay, clipnorm=clipnorm,
            schedule=schedule, epochs=epochs, batch_size=batch_size,
            early_stopping=early_stopping, patience=patience,
            validation_fraction=validation_fraction, wide_columns=wide_columns,
            deep_columns=deep_columns, auxiliary_output=auxiliary_output,
            run_eagerly=run_eagerly, random_state=random_state, verbose=verbose)
        self.label_smoothing = label_smoothing

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> KerasClassifier:
        """Train a fresh network on ``X`` and the labels ``y``."""
        X, y = validate_data(self, X, y, dtype=np.float32, multi_output=True)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        weights = _weights(sample_weight, X)
        if type_of_target(y) == "multilabel-indicator":
            self.classes_ = np.arange(y.shape[1])
            self._task = "multilabel"
            self._fit_network(X, np.asarray(y, dtype=np.float32), weights, "multilabel",
                              y.shape[1], stratify=None)
            return self
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(f"a classifier needs at least 2 classes; y has only one class, "
                             f"{self.classes_[0]!r}")
        codes = encoder.transform(y)
        self._task = "binary" if len(self.classes_) == 2 else "multiclass"
        n_outputs = 1 if self._task == "binary" else len(self.classes_)
        targets = codes.astype(np.float32) if self._task == "binary" else codes.astype(np.int32)
        self._fit_network(X, targets, weights, self._task, n_outputs, stratify=codes)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, one column per class of ``classes_``; rows sum to 1 (except
        multilabel: one independent probability per label)."""
        out = self._raw_predict(X)
        if self._task == "binary":
            positive = np.clip(out[:, 0], 0.0, 1.0)
            return np.column_stack([1.0 - positive, positive])
        if self._task == "multiclass":
            out = np.clip(out, 0.0, None)
            return out / out.sum(axis=1, keepdims=True)
        return out

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class (labels above 0.5 for multilabel)."""
        proba = self.predict_proba(X)
        if self._task == "multilabel":
            return (proba > 0.5).astype(int)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.classifier_tags.poor_score = True  # a few epochs on the checks' tiny tables
        tags.target_tags.multi_output = True
        return tags


# ----------------------------------------------------------------------------- helpers
def _seed(seed: int) -> None:
    """Seed what training draws from (without importing TensorFlow on other backends)."""
    from mlpilot.deep.backend import set_seed

    set_seed(seed)


def _pick(value: Any, default: Any) -> Any:
    return default if value is None else value


def _weights(sample_weight: Any, X: np.ndarray) -> np.ndarray | None:
    if sample_weight is None:
        return None
    return _check_sample_weight(sample_weight, X, dtype=np.float32, ensure_non_negative=True)


def _split(n_rows: int, params: dict[str, Any], stratify: np.ndarray | None,
           seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Training and validation rows of ``fit``'s table (stratified on the classes if possible);
    no validation rows when neither early stopping nor a fraction asks for them, or the table
    is too small to spare them."""
    rows = np.arange(n_rows)
    fraction = params["validation_fraction"]
    if fraction <= 0 or n_rows * fraction < MIN_VALIDATION_ROWS or n_rows < 10:
        return rows, None
    n_valid = max(MIN_VALIDATION_ROWS, math.floor(n_rows * fraction))
    if stratify is not None:
        counts = np.bincount(stratify)
        if counts.min() < 2 or n_valid < len(counts) or n_rows - n_valid < len(counts):
            stratify = None
    train, valid = train_test_split(rows, test_size=n_valid, random_state=seed,
                                    stratify=stratify)
    return np.sort(train), np.sort(valid)

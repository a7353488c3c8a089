"""Chapter 12, custom components: the Huber loss class and streaming metric, via mlpilot.deep.

The book (and its notebook, ageron/handson-ml3 ``12_custom_models_and_training_with_tensorflow``)
trains ``Dense(30, relu, he_normal) → Dense(1)`` on the scaled California housing data with
``loss=HuberLoss(2.)``, Nadam and ``metrics=["mae"]`` for 2 epochs, seed 42. scikit-learn's
``fetch_california_housing`` needs the network, so the same 8 features are derived from the
book's chapter-2 housing CSV (MedInc, HouseAge, AveRooms, AveBedrms, Population, AveOccup,
Latitude, Longitude; target = median_house_value / 100,000; ``recipes.book_data``). The 207
missing bedroom counts are filled, so the rows and the splits (``train_test_split`` twice,
``random_state=42``: 11,610 training rows) are scikit-learn's. With another random
generator (Keras 3 on JAX by default, not TF 2), the notebook's epoch figures are matched
within a tolerance, not to the digit; the custom Huber class is checked exactly
against ``keras.losses.Huber``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from mlpilot.recipes.base import Comparison, Recipe, RecipeResult

SEED = 42
#: Notebook cell 87: HuberLoss(2.), nadam, metrics=["mae"], 2 epochs (TF 2, sklearn's copy).
NOTEBOOK_HUBER = {"loss": (0.6492, 0.2912), "mae": (0.8468, 0.5552),
                  "val_loss": (0.5093, 0.3715), "val_mae": (0.6723, 0.5683)}
#: The book's ReconstructingRegressor run (epochs 1 and 2); the notebook printed 0.8198 /
#: 1.0892 then 0.4778 / 0.5583 for the same code: the figures move with the TF version.
BOOK_RECONSTRUCTING = {"loss": (0.7640, 0.4584), "reconstruction_error": (1.2728, 0.6340)}
#: Precision streaming demo (book and notebook cells 98-100).
#: Notebook cell 171: the book's custom loop (SGD 0.01, ℓ2 0.05, MSE, 5 epochs), epoch 5.
NOTEBOOK_LOOP = {"loss": 0.7280, "mae": 0.5014}
#: Over 6 seeds on JAX and 3 on TensorFlow, epoch-2 figures moved by up to 0.08 from the
#: notebook's (the validation loss only downward); epoch 1 moves by up to 0.6.
EPOCH2_TOLERANCE = 0.1
#: Epoch-2 ReconstructingRegressor spread over seeds: loss 0.47-0.60, error 0.50-0.91.
RECONSTRUCTING_TOLERANCE = {"loss": 0.15, "reconstruction_error": 0.3}
PRECISION_BATCHES = [([0, 1, 1, 1, 0, 1, 0, 1], [1, 1, 0, 1, 0, 1, 0, 1]),
                     ([0, 1, 0, 0, 1, 0, 1, 1], [1, 0, 1, 1, 0, 0, 0, 0])]


def california_housing() -> dict[str, np.ndarray]:
    """The book's California housing splits (``recipes.book_data``), standardised as ch. 10."""
    from sklearn.preprocessing import StandardScaler

    from mlpilot.recipes.book_data import california_housing as splits

    X_train, y_train, X_valid, y_valid, X_test, y_test = splits(SEED)
    scaler = StandardScaler().fit(X_train)
    return {"X_train": scaler.transform(X_train).astype("float32"),
            "X_valid": scaler.transform(X_valid).astype("float32"),
            "X_test": scaler.transform(X_test).astype("float32"),
            "y_train": y_train.reshape(-1, 1), "y_valid": y_valid.reshape(-1, 1),
            "y_test": y_test.reshape(-1, 1)}


def _small_model(keras: Any) -> Any:
    return keras.Sequential([keras.Input((8,)),
                             keras.layers.Dense(30, activation="relu",
                                                kernel_initializer="he_normal"),
                             keras.layers.Dense(1)])


def _train_huber(data: dict[str, np.ndarray], loss: Any, metrics: list[Any]) -> tuple[Any, Any]:
    from mlpilot.deep.backend import keras_module, set_seed

    keras = keras_module()
    set_seed(SEED)
    model = _small_model(keras)
    model.compile(loss=loss, optimizer="nadam", metrics=metrics)
    history = model.fit(data["X_train"], data["y_train"], epochs=2, verbose=0,
                        validation_data=(data["X_valid"], data["y_valid"]))
    return model, history.history


def _custom_loop(data: dict[str, np.ndarray]) -> dict[str, list[float]]:
    """The book's custom loop, run by :func:`mlpilot.deep.loops.fit_custom_loop`."""
    from mlpilot.deep.backend import keras_module, set_seed
    from mlpilot.deep.loops import fit_custom_loop

    keras = keras_module()
    set_seed(SEED)
    l2 = keras.regularizers.l2(0.05)
    model = keras.Sequential([
        keras.Input((8,)),
        keras.layers.Dense(30, activation="relu", kernel_initializer="he_normal",
                           kernel_regularizer=l2),
        keras.layers.Dense(1, kernel_regularizer=l2)])
    return fit_custom_loop(model, data["X_train"], data["y_train"],
                           loss_fn=keras.losses.MeanSquaredError(),
                           optimizer=keras.optimizers.SGD(learning_rate=0.01), epochs=5,
                           batch_size=32, metrics=[keras.metrics.MeanAbsoluteError()],
                           seed=SEED, verbose=0)


def run() -> RecipeResult:
    from mlpilot.deep.backend import backend_name, keras_module, set_seed
    from mlpilot.deep.custom import (
        HuberLoss,
        HuberMetric,
        ReconstructingRegressor,
        per_batch_results,
        streaming_results,
    )

    keras = keras_module()
    data = california_housing()
    out: list[Comparison] = []

    model, hist = _train_huber(data, HuberLoss(2.0),
                               ["mae", HuberMetric(2.0, name="huber_metric")])
    for key, (book1, book2) in NOTEBOOK_HUBER.items():
        out.append(Comparison(f"HuberLoss(2.) run, epoch 1 {key}", book1, hist[key][0], 0.0,
                              "{:.4f}", reference="notebook, TF 2 (epoch 1 varies by seed)"))
        out.append(Comparison(f"HuberLoss(2.) run, epoch 2 {key}", book2, hist[key][1],
                              EPOCH2_TOLERANCE, "{:.4f}", lower_is_better=True))
    out.append(Comparison("streaming HuberMetric(2.) − loss, epoch 2 (notebook: equal)", 0.0,
                          abs(hist["huber_metric"][1] - hist["loss"][1]), 1e-4, "{:.2e}"))

    y_pred = model.predict(data["X_valid"], verbose=0)
    ours = float(keras.ops.convert_to_numpy(HuberLoss(2.0)(data["y_valid"], y_pred)))
    builtin = float(keras.ops.convert_to_numpy(
        keras.losses.Huber(delta=2.0)(data["y_valid"], y_pred)))
    out.append(Comparison("HuberLoss(2.) − keras.losses.Huber(2.) on the validation set", 0.0,
                          abs(ours - builtin), 1e-5, "{:.2e}"))
    _, hist_builtin = _train_huber(data, keras.losses.Huber(delta=2.0), ["mae"])
    out.append(Comparison("same training with keras.losses.Huber: largest epoch-loss gap", 0.0,
                          max(abs(a - b) for a, b in zip(hist["loss"] + hist["val_loss"],
                                                         hist_builtin["loss"]
                                                         + hist_builtin["val_loss"],
                                                         strict=True)), 1e-5, "{:.2e}"))

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "my_model_with_a_custom_loss_class.keras"
        model.save(path)
        loaded = keras.models.load_model(path)  # no custom_objects
    out.append(Comparison("reloaded model: loss threshold (notebook cell 91)", 2.0,
                          float(loaded.loss.threshold), 0, "{:.1f}"))
    out.append(Comparison("reloaded model: largest prediction change", 0.0,
                          float(np.abs(loaded.predict(data["X_valid"], verbose=0)
                                       - y_pred).max()), 0, "{:.2e}"))

    precision = keras.metrics.Precision()
    streaming = streaming_results(precision, PRECISION_BATCHES)
    out.append(Comparison("Precision after batch 1", 0.8, streaming[0], 1e-6, "{:.2f}"))
    out.append(Comparison("Precision after batch 2 (streaming)", 0.5, streaming[1], 1e-6,
                          "{:.2f}"))
    out.append(Comparison("mean of per-batch precisions (what streaming avoids)", 0.4,
                          float(np.mean(per_batch_results(precision, PRECISION_BATCHES))),
                          1e-6, "{:.2f}"))

    set_seed(SEED)
    reconstructing = ReconstructingRegressor(1)
    reconstructing.compile(loss="mse", optimizer="nadam")
    recon = reconstructing.fit(data["X_train"], data["y_train"], epochs=2, verbose=0).history
    for key, (book1, book2) in BOOK_RECONSTRUCTING.items():
        out.append(Comparison(f"ReconstructingRegressor, epoch 1 {key}", book1, recon[key][0],
                              0.0, "{:.4f}", reference="the book's TF 2 run (varies by seed)"))
        out.append(Comparison(f"ReconstructingRegressor, epoch 2 {key}", book2, recon[key][1],
                              RECONSTRUCTING_TOLERANCE[key], "{:.4f}", lower_is_better=True))

    loop = _custom_loop(data)
    out.append(Comparison("custom training loop, epoch 5 mean loss (with ℓ2)",
                          NOTEBOOK_LOOP["loss"], loop["loss"][-1], 0.25, "{:.4f}",
                          lower_is_better=True))
    out.append(Comparison("custom training loop, epoch 5 MAE", NOTEBOOK_LOOP["mae"],
                          loop["mean_absolute_error"][-1], 0.05, "{:.4f}",
                          lower_is_better=True))

    notes = [
        f"Keras backend: {backend_name()}; data: the chapter-2 housing CSV as scikit-learn's "
        f"8 features ({len(data['X_train']):,} training rows, as the notebook)",
        "notebook figures: ageron/handson-ml3, 12_custom_models_and_training_with_tensorflow, "
        "cells 87 (HuberLoss run), 98-100 (Precision), 111 (HuberMetric = loss); the book's "
        "ReconstructingRegressor figures are from the chapter text (the notebook printed "
        "0.8198 / 1.0892 at epoch 1)",
        "epoch figures depend on the random initialisation: epoch-2 figures are checked "
        f"within {EPOCH2_TOLERANCE} of the notebook's (reconstruction: 0.15 loss, 0.3 "
        "error), lower errors pass; epoch-1 figures are shown for reference only",
        "custom loop: the notebook samples 362 random batches with replacement per epoch; "
        "fit_custom_loop shuffles and covers the training set once per epoch",
        "reconstruction_error is a keras.metrics.Mean updated in compute_loss: Keras 3 has no "
        "add_metric",
    ]
    return RecipeResult("ch12-custom-huber", out, notes)


RECIPE = Recipe("ch12-custom-huber", 12,
                "Custom Huber loss & streaming metric, save/load, reconstruction loss (ch. 12)",
                run)

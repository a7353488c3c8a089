"""Chapter 11, MC dropout on Fashion-MNIST: averaging 100 stochastic predictions.

The notebook's model: ``Flatten → Dropout(0.2) → Dense(100, relu, he_normal) → Dropout(0.2)
→ Dense(100, relu, he_normal) → Dropout(0.2) → Dense(10, softmax)``, ``SGD(learning_rate=
0.01, momentum=0.9)``, 10 epochs of batch 32 on 55,000 images (the last 5,000 validate).
Its run (TensorFlow 2, seed 42): validation accuracy 0.8732 after epoch 10, test accuracy
0.8700 with dropout off, 0.8717 with the mean of 100 MC-dropout passes; for the first test
image (an ankle boot) P(ankle boot) falls from 0.844 to 0.723 (std 0.183) — MC dropout is
less over-confident. Weights start from a different random stream on each backend and seed,
and the notebook's run sits at the top of what we measured: dropout-off test accuracy
0.8585-0.8631 on JAX with seeds 0-4, 0.8719 with seed 42, 0.8563 on TensorFlow and 0.8638 on
PyTorch (seed 42), MC 0.0005-0.0032 above it or up to 0.0026 below. So accuracies are checked
to 1.5 points and MC only to be no worse than about half a point. One image's probabilities
swing with the seed (P(ankle boot) 0.63-0.98 dropout off, MC std 0.08-0.27 over those runs):
they are shown for reference; its class, and that MC lowers its top probability, are checked.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from mlpilot.recipes.base import Comparison, Recipe, RecipeResult
from mlpilot.recipes.book_data import fashion_mnist

SEED = 42
EPOCHS = 10
N_SAMPLES = 100
ANKLE_BOOT = 9
BOOK_PROBA_OFF = [0, 0, 0, 0, 0, 0.024, 0, 0.132, 0, 0.844]
BOOK_PROBA_MC = [0, 0, 0, 0, 0, 0.067, 0, 0.209, 0.001, 0.723]
BOOK_STD_MC = [0, 0, 0, 0.001, 0, 0.096, 0, 0.162, 0.001, 0.183]
#: Our runs sit a little below the notebook's (see the module docstring): 1.5 points.
ACCURACY_TOLERANCE = 0.015
SEED_VARIES = "the book's TF 2 run; one image, varies by seed"


def build_book_model() -> Any:
    """The notebook's dropout MLP, compiled with SGD + momentum as it trains it."""
    from mlpilot.deep.backend import keras_module

    keras = keras_module()
    dense = {"activation": "relu", "kernel_initializer": "he_normal"}
    model = keras.Sequential([
        keras.layers.Input(shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dropout(rate=0.2),
        keras.layers.Dense(100, **dense),
        keras.layers.Dropout(rate=0.2),
        keras.layers.Dense(100, **dense),
        keras.layers.Dropout(rate=0.2),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
                  metrics=["accuracy"])
    return model


def _rounded(values: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:.3f}".rstrip("0").rstrip(".") or "0" for v in values) + "]"


def run(epochs: int = EPOCHS, n_samples: int = N_SAMPLES,
        train_size: int | None = None) -> RecipeResult:
    """The book's run; ``train_size``/``epochs``/``n_samples`` shrink it for a smoke test."""
    from mlpilot.deep.backend import backend_name, set_seed
    from mlpilot.deep.regularization import mc_predict

    X_train, y_train, X_valid, y_valid, X_test, y_test = fashion_mnist()
    if train_size:
        X_train, y_train = X_train[:train_size], y_train[:train_size]
    set_seed(SEED)
    model = build_book_model()
    start = time.perf_counter()
    history = model.fit(X_train, y_train, epochs=epochs, validation_data=(X_valid, y_valid),
                        verbose=0)
    train_seconds = time.perf_counter() - start
    _, accuracy_off = model.evaluate(X_test, y_test, verbose=0)
    proba_off = model.predict(X_test[:1], verbose=0)[0]

    set_seed(SEED)
    start = time.perf_counter()
    mc = mc_predict(model, X_test, n_samples=n_samples)
    mc_seconds = time.perf_counter() - start
    accuracy_mc = float(np.mean(mc.labels == y_test))
    proba_mc, std_mc = mc.mean[0], mc.std[0]

    out = [
        Comparison(f"validation accuracy after epoch {epochs}", 0.8732,
                   float(history.history["val_accuracy"][-1]), ACCURACY_TOLERANCE, "{:.4f}"),
        Comparison("test accuracy, dropout off", 0.8700, float(accuracy_off),
                   ACCURACY_TOLERANCE, "{:.4f}"),
        Comparison(f"test accuracy, MC dropout ({n_samples} samples)", 0.8717, accuracy_mc,
                   ACCURACY_TOLERANCE, "{:.4f}"),
        Comparison("MC accuracy − dropout-off accuracy (MC no worse)", 0.8717 - 0.8700,
                   accuracy_mc - float(accuracy_off), 0.005, "{:+.4f}",
                   higher_is_better=True),
        Comparison("first test image: class, dropout off (9 = ankle boot)", ANKLE_BOOT,
                   float(np.argmax(proba_off)), 0, "{:.0f}"),
        Comparison("first test image: class, MC dropout", ANKLE_BOOT,
                   float(np.argmax(proba_mc)), 0, "{:.0f}"),
        Comparison("first test image: P(ankle boot) lowered by MC (less over-confident)",
                   0.844 - 0.723, float(proba_off[ANKLE_BOOT] - proba_mc[ANKLE_BOOT]), 0.12,
                   "{:+.3f}", higher_is_better=True),
        Comparison("first test image: P(ankle boot), dropout off", 0.844,
                   float(proba_off[ANKLE_BOOT]), 0.0, "{:.3f}", reference=SEED_VARIES),
        Comparison("first test image: P(ankle boot), MC mean", 0.723,
                   float(proba_mc[ANKLE_BOOT]), 0.0, "{:.3f}", reference=SEED_VARIES),
        Comparison("first test image: MC std of P(ankle boot)", 0.183,
                   float(std_mc[ANKLE_BOOT]), 0.0, "{:.3f}", reference=SEED_VARIES),
    ]
    notes = [
        f"backend {backend_name()}: {epochs} epochs in {train_seconds:.1f} s, "
        f"{n_samples} MC passes over 10,000 test images in {mc_seconds:.1f} s",
        f"first test image, dropout off: {_rounded(proba_off)} (book {BOOK_PROBA_OFF})",
        f"first test image, MC mean: {_rounded(proba_mc)} (book {BOOK_PROBA_MC})",
        f"first test image, MC std: {_rounded(std_mc)} (book {BOOK_STD_MC})",
        "MC passes run on a copy with MCDropout layers in inference mode (mc_predict), "
        "equivalent here to the book's model(X, training=True): no BatchNormalization",
    ]
    return RecipeResult("ch11-mc-dropout", out, notes)


RECIPE = Recipe("ch11-mc-dropout", 11,
                "MC dropout on Fashion-MNIST: test accuracy 0.8700 → 0.8717 with 100 samples",
                run)

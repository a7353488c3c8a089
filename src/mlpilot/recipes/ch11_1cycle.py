"""Chapter 11, 1cycle scheduling on Fashion-MNIST, after the learning-rate range test.

The notebook's run: ``Flatten → 3 × Dense(100, relu, he_normal) → Dense(10, softmax)``,
``SGD()`` (no momentum, so only the learning rate cycles), batch 128. The range test
(``find_learning_rate``: 1 epoch, 1e-4 → 1) puts the best peak "around 10⁻¹"; then
``OneCycleScheduler(ceil(55,000 / 128) × 25 = 10,750 iterations, max_lr=0.1)`` for 25 epochs:
0.01 → 0.1 over 4,837 steps, back to 0.01, then down to 1e-5 over the last 1,076. The
notebook's epoch 25: val_loss 0.3016, val_accuracy 0.8920 (no test figure printed; the
chapter-10 MLP's test accuracy, 0.8864, is the bound ours should reach). Weights start
from a different random stream on each backend: accuracies are checked to about a point.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from mlpilot.recipes.base import Comparison, Recipe, RecipeResult
from mlpilot.recipes.book_data import fashion_mnist

SEED = 42
EPOCHS = 25
BATCH_SIZE = 128
MAX_LR = 0.1
CH10_TEST_ACCURACY = 0.8864


def build_book_model() -> Any:
    """The notebook's ``build_model()``, compiled with ``SGD()`` as the 1cycle run is."""
    from mlpilot.deep.backend import keras_module

    keras = keras_module()
    hidden = [keras.layers.Dense(100, activation="relu", kernel_initializer="he_normal")
              for _ in range(3)]
    model = keras.Sequential([keras.layers.Input(shape=(28, 28)), keras.layers.Flatten(),
                              *hidden, keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD(),
                  metrics=["accuracy"])
    return model


def run(epochs: int = EPOCHS, train_size: int | None = None) -> RecipeResult:
    """The notebook's range test then 1cycle run; ``train_size``/``epochs`` shrink it."""
    from mlpilot.deep.backend import backend_name, set_seed
    from mlpilot.deep.lr_finder import find_learning_rate
    from mlpilot.deep.schedules import OneCycleScheduler

    X_train, y_train, X_valid, y_valid, X_test, y_test = fashion_mnist()
    if train_size:
        X_train, y_train = X_train[:train_size], y_train[:train_size]
    steps = math.ceil(len(X_train) / BATCH_SIZE)

    set_seed(SEED)
    model = build_book_model()
    start = time.perf_counter()
    finder = find_learning_rate(model, X_train, y_train, min_lr=1e-4, max_lr=1.0,
                                iterations=steps, batch_size=BATCH_SIZE)
    finder_seconds = time.perf_counter() - start

    set_seed(SEED)
    model = build_book_model()
    onecycle = OneCycleScheduler(steps * epochs, max_lr=MAX_LR)
    start = time.perf_counter()
    history = model.fit(X_train, y_train, epochs=epochs, batch_size=BATCH_SIZE,
                        validation_data=(X_valid, y_valid), callbacks=[onecycle], verbose=0)
    train_seconds = time.perf_counter() - start
    _, test_accuracy = model.evaluate(X_test, y_test, verbose=0)

    lrs = np.asarray(onecycle.history["learning_rate"])
    peak = int(lrs.argmax())
    out = [
        Comparison("range test: learning rate at the lowest loss (log10; notebook ~10⁻¹)",
                   -1.0, float(np.log10(finder.min_loss_lr)), 0.5, "{:.2f}"),
        Comparison(f"validation accuracy after epoch {epochs}", 0.8920,
                   float(history.history["val_accuracy"][-1]), 0.01, "{:.4f}"),
        Comparison(f"validation loss after epoch {epochs}", 0.3016,
                   float(history.history["val_loss"][-1]), 0.03, "{:.4f}"),
        Comparison("test accuracy (≥ the chapter-10 MLP's 0.8864 − 0.01)", CH10_TEST_ACCURACY,
                   float(test_accuracy), 0.01, "{:.4f}", higher_is_better=True),
        Comparison("iterations scheduled (ceil(55,000 / 128) × 25)", 10_750, float(len(lrs)),
                   0, "{:,.0f}"),
        Comparison("peak learning rate", MAX_LR, float(lrs.max()), 1e-6, "{:.4g}"),
        Comparison("peak position (fraction of the run)", 4_837 / 10_750,
                   peak / len(lrs), 0.01, "{:.3f}"),
        Comparison("peak ÷ last learning rate (≥ 100)", 100, float(lrs.max() / lrs[-1]), 0,
                   "{:,.0f}", higher_is_better=True),
    ]
    notes = [
        f"backend {backend_name()}: range test {len(finder.lrs)} steps in "
        f"{finder_seconds:.1f} s (lowest loss at {finder.min_loss_lr:.3g}, suggested "
        f"constant rate {finder.suggested_lr:.3g}, loss exploded: {finder.diverged}); "
        f"1cycle {epochs} epochs in {train_seconds:.1f} s",
        f"learning rate: first {lrs[0]:.3g}, peak {lrs.max():.3g} at step {peak:,}, "
        f"last {lrs[-1]:.3g}",
    ]
    return RecipeResult("ch11-1cycle", out, notes)


RECIPE = Recipe("ch11-1cycle", 11,
                "1cycle on Fashion-MNIST after the LR range test: val accuracy 0.8920 "
                "after 25 epochs", run)

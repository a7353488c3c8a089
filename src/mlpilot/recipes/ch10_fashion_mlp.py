"""Chapter 10, the Fashion-MNIST classification MLP, exactly as the book builds and trains it.

``Flatten → Dense(300, relu) → Dense(100, relu) → Dense(10, softmax)``, sparse categorical
cross-entropy, ``optimizer="sgd"`` (learning rate 0.01), batch size 32, 30 epochs, validated on
the last 5,000 training images. The book's run (TensorFlow 2, seed 42): validation accuracy
0.8894 after epoch 30, test accuracy 0.8864 (loss 0.3243), the first three test images
classified [9, 2, 1]. Weights start from a different random stream on each backend, so the
figures are checked to 1.5 points of accuracy, not to the digit (TensorFlow with seed 42
lands at 0.8728 test accuracy and a 0.364 test loss, so the loss is checked to 0.045; JAX at
0.8840 and 0.330).
"""

from __future__ import annotations

import time

import numpy as np

from mlpilot.recipes.base import Comparison, Recipe, RecipeResult
from mlpilot.recipes.book_data import fashion_mnist

SEED = 42
EPOCHS = 30
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot")


def build_book_model() -> object:
    """The book's Sequential model (Figure 10-9's layout), compiled as the chapter does."""
    from mlpilot.deep.backend import keras_module

    keras = keras_module()
    model = keras.Sequential([
        keras.layers.Input(shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(300, activation="relu"),
        keras.layers.Dense(100, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd",
                  metrics=["accuracy"])
    return model


def run(epochs: int = EPOCHS) -> RecipeResult:
    from mlpilot.deep.backend import backend_name, set_seed

    X_train, y_train, X_valid, y_valid, X_test, y_test = fashion_mnist()
    set_seed(SEED)
    model = build_book_model()
    start = time.perf_counter()
    history = model.fit(X_train, y_train, epochs=epochs, validation_data=(X_valid, y_valid),
                        verbose=0)
    seconds = time.perf_counter() - start
    test_loss, test_accuracy = model.evaluate(X_test, y_test, verbose=0)
    first_three = model.predict(X_test[:3], verbose=0).argmax(axis=-1)

    out = [
        Comparison("parameters (Flatten → 300 → 100 → 10)", 266_610,
                   float(model.count_params()), 0, "{:,.0f}"),
        Comparison(f"validation accuracy after epoch {epochs}", 0.8894,
                   float(history.history["val_accuracy"][-1]), 0.015, "{:.4f}"),
        Comparison("test accuracy", 0.8864, float(test_accuracy), 0.015, "{:.4f}"),
        Comparison("test loss", 0.3243, float(test_loss), 0.045, "{:.4f}"),
        Comparison("first three test images classified right (of 3)", 3,
                   float(np.sum(first_three == y_test[:3])), 0, "{:.0f}"),
    ]
    names = ", ".join(CLASS_NAMES[i] for i in first_three)
    notes = [f"backend {backend_name()}: {epochs} epochs in {seconds:.1f} s "
             f"({seconds / epochs:.2f} s per epoch, 1,719 steps of 32 images)",
             f"first three test images: {names} (book: Ankle boot, Pullover, Trouser)"]
    return RecipeResult("ch10-fashion-mlp", out, notes)


RECIPE = Recipe("ch10-fashion-mlp", 10,
                "Fashion-MNIST MLP: 300-100-10, SGD, 30 epochs (val 0.8894, test 0.8864)", run)

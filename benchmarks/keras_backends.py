"""Neural networks per Keras backend: the book's Fashion-MNIST run vs mlpilot's preset, and housing.

Each backend runs in its own child process (Keras picks its backend once, at import), one after
the other, so the figures of one run are comparable with each other:

1. **Fashion-MNIST, the book's recipe** (``recipes/ch10_fashion_mlp``): Flatten → 300 → 100 → 10,
   SGD at 0.01, batch 32, 30 epochs on the 55,000 training images (the book: 88.64 % test).
2. **Fashion-MNIST, mlpilot's preset** (``KerasClassifier(preset="images")``): trained through
   the product's estimator on the same 55,000 images, once per seed in ``PRESET_SEEDS``
   (the table prints the worst accuracy, the mean, and the median time). Target: ≥ 89.5 %
   test accuracy in ≤ ⅓ of the book recipe's wall time, on every backend.
3. **California housing** (the book's split of scikit-learn's 8 features, ``recipes/book_data``):
   scikit-learn's 3 × 50 ``MLPRegressor`` (the book: "about 0.505" validation RMSE), the book's
   Keras 3 × 50 Sequential (Adam 1e-3, 20 epochs), and ``KerasRegressor(preset="default")``.

Wall times include compilation (the first epoch traces the graph) but not the imports.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/keras_backends.py                 # all
    .venv/bin/python benchmarks/keras_backends.py --backends jax --tasks fashion     # one
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np

PRESET = "images"
#: The preset is trained once per seed; the table shows its worst accuracy, median time.
PRESET_SEEDS = (42, 1, 2)
BACKENDS = ("jax", "tensorflow", "torch")


def _fashion() -> dict[str, float]:
    from mlpilot.deep.backend import set_seed
    from mlpilot.deep.estimators import KerasClassifier
    from mlpilot.recipes.book_data import fashion_mnist
    from mlpilot.recipes.ch10_fashion_mlp import build_book_model

    X_train, y_train, X_valid, y_valid, X_test, y_test = fashion_mnist()
    set_seed(42)
    model = build_book_model()
    start = time.perf_counter()
    model.fit(X_train, y_train, epochs=30, validation_data=(X_valid, y_valid), verbose=0)
    book_s = time.perf_counter() - start
    book_acc = float(model.evaluate(X_test, y_test, verbose=0)[1])

    flat, flat_test = X_train.reshape(len(X_train), -1), X_test.reshape(len(X_test), -1)
    seconds, accuracies = [], []
    for seed in PRESET_SEEDS:  # a few seconds each: the median time and the worst accuracy
        clf = KerasClassifier(preset=PRESET, random_state=seed)
        start = time.perf_counter()
        clf.fit(flat, y_train)
        seconds.append(time.perf_counter() - start)
        accuracies.append(float(clf.score(flat_test, y_test)))
    return {"book_accuracy": book_acc, "book_seconds": book_s,
            "preset_accuracy": min(accuracies), "preset_mean_accuracy": float(np.mean(accuracies)),
            "preset_seconds": float(np.median(seconds)),
            "preset_epochs": float(len(clf.history_["loss"]))}


def _housing() -> dict[str, float]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from mlpilot.deep.backend import set_seed
    from mlpilot.deep.estimators import KerasRegressor
    from mlpilot.recipes.book_data import california_housing
    from mlpilot.recipes.ch10_wide_deep import sequential

    X_train, y_train, X_valid, y_valid, _, _ = california_housing()

    def rmse(pred: np.ndarray) -> float:
        return float(np.sqrt(np.mean((np.asarray(pred).ravel() - y_valid) ** 2)))

    out: dict[str, float] = {}
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=[50, 50, 50],
                                                       random_state=42))
        sk.fit(X_train.astype(np.float64), y_train.astype(np.float64))
    out |= {"sklearn_rmse": rmse(sk.predict(X_valid)),
            "sklearn_seconds": time.perf_counter() - start}
    set_seed(42)
    start = time.perf_counter()
    model = sequential(X_train)
    model.fit(X_train, y_train, epochs=20, verbose=0)
    out |= {"keras_book_rmse": rmse(model.predict(X_valid, verbose=0)),
            "keras_book_seconds": time.perf_counter() - start}
    start = time.perf_counter()
    reg = KerasRegressor(preset="default", random_state=42).fit(X_train, y_train)
    out |= {"preset_rmse": rmse(reg.predict(X_valid)),
            "preset_seconds": time.perf_counter() - start}
    return out


def child(tasks: list[str]) -> None:
    from mlpilot.deep.backend import backend_name

    result: dict[str, object] = {"backend": backend_name()}
    if "fashion" in tasks:
        result["fashion"] = _fashion()
    if "housing" in tasks:
        result["housing"] = _housing()
    print("RESULT " + json.dumps(result), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--tasks", default="fashion,housing")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    tasks = args.tasks.split(",")
    if args.child:
        child(tasks)
        return
    results = []
    for backend in args.backends.split(","):
        env = os.environ | {"KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        proc = subprocess.run([sys.executable, __file__, "--child", "--tasks", args.tasks],
                              env=env, capture_output=True, text=True, check=False)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode or not lines:
            print(f"{backend}: failed\n{proc.stderr[-2000:]}")
            continue
        results.append(json.loads(lines[-1][len("RESULT "):]))
        print(json.dumps(results[-1]), flush=True)

    if "fashion" in tasks:
        print("\nFashion-MNIST (55,000 training images, 10,000 test)")
        print(f"{'backend':<11} {'book acc':>9} {'book s':>8} {'preset min acc':>15} "
              f"{'mean':>7} {'preset s':>9} {'time ratio':>11}")
        for r in results:
            f = r["fashion"]
            print(f"{r['backend']:<11} {f['book_accuracy']:>9.4f} {f['book_seconds']:>8.1f} "
                  f"{f['preset_accuracy']:>15.4f} {f['preset_mean_accuracy']:>7.4f} "
                  f"{f['preset_seconds']:>9.1f} "
                  f"{f['preset_seconds'] / f['book_seconds']:>11.3f}")
    if "housing" in tasks:
        print("\nCalifornia housing, validation RMSE ($100k) and seconds")
        print(f"{'backend':<11} {'sklearn MLP':>12} {'s':>6} {'Keras 3x50':>11} {'s':>6} "
              f"{'preset':>8} {'s':>6}")
        for r in results:
            h = r["housing"]
            print(f"{r['backend']:<11} {h['sklearn_rmse']:>12.4f} {h['sklearn_seconds']:>6.1f} "
                  f"{h['keras_book_rmse']:>11.4f} {h['keras_book_seconds']:>6.1f} "
                  f"{h['preset_rmse']:>8.4f} {h['preset_seconds']:>6.1f}")


if __name__ == "__main__":
    main()

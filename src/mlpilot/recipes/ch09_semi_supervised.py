"""Chapter 9 on digits: label 50 representatives, propagate, and measure the gain.

The book's settings: ``load_digits``, the first 1,400 rows to train and the other 397 to
test; ``KMeans(n_clusters=50, random_state=42)`` with 10 inits; ``LogisticRegression(
max_iter=10_000)``; partial propagation keeps the closest 99 % of each cluster. The book
labels the 50 representatives by hand; here their true labels stand in for the person (the
book's hand labels are the true ones too: its list matches ours digit for digit).

Two things moved since the book's run and are replayed (see the notes): k-means++ now draws
its first centre differently (same seed, other clusters), and LogisticRegression's lbfgs now
averages the loss, so ``tol`` stops it later. With both replayed every figure matches to the
digit; today's defaults are reported next to them.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from mlpilot.recipes.base import Comparison, Recipe, RecipeResult
from mlpilot.unsupervised.book_compat import book_logistic_regression
from mlpilot.unsupervised.label import (
    ALL,
    FULL,
    HAND,
    RANDOM,
    SELF_TRAINING,
    SPREADING,
    label_gain,
    representatives,
    simulate_active_learning,
)

SEED = 42
K = 50
TRAIN = 1_400
ACC = 0.005  # two test rows of 397 (0.0025 each), as the brief allows
#: The book text's hand labels of the 50 representatives (cluster order).
BOOK_LABELS = [1, 3, 6, 0, 7, 9, 2, 4, 8, 9, 5, 4, 7, 1, 2, 6, 1, 2, 5, 1,
               4, 1, 3, 3, 8, 8, 2, 5, 6, 9, 1, 4, 0, 6, 8, 3, 4, 6, 7, 2,
               4, 1, 0, 7, 5, 1, 9, 9, 3, 7]
PARTIAL = "partial propagation (closest 99 %)"


def run() -> RecipeResult:
    X, y = load_digits(return_X_y=True)
    X_train, y_train, X_test, y_test = X[:TRAIN], y[:TRAIN], X[TRAIN:], y[TRAIN:]
    out: list[Comparison] = []
    notes = [f"digits: {len(X_train):,} training / {len(X_test)} test rows; the 50 "
             "representatives are labelled with their true digits (the book labels them by "
             "hand and gets the same digits)"]

    reps = representatives(X_train, k=K, n_init=10, seeding="sklearn-1.0", random_state=SEED)
    labels = y_train[reps.positions]
    out.append(Comparison("representatives' labels equal the book's list (1 = yes)", 1.0,
                          float(labels.tolist() == BOOK_LABELS), 0.0, "{:.0f}"))
    gain = label_gain(reps, labels, test=(X_test, y_test), true_labels=y_train,
                      classifier=book_logistic_regression, random_rows=range(K),
                      alternatives=False)

    def acc(quantity: str, book: float, approach: str) -> None:
        ours = gain.accuracy(approach)
        out.append(Comparison(quantity, book, float("nan") if ours is None else ours, ACC,
                              "{:.4f}"))

    acc("LogReg on 50 random labelled rows (the first 50)", 0.7481108312342569, RANDOM)
    acc("LogReg on the full training set (1,400 labels)", 0.906801007556675, ALL)
    acc("LogReg on the 50 representatives", 0.8488664987405542, HAND)
    acc("full label propagation", 0.8942065491183879, FULL)
    acc("partial propagation (99th percentile)", 0.9093198992443325, PARTIAL)
    out.append(Comparison("accuracy of the partially propagated labels", 0.9755555555555555,
                          float(gain.partial.accuracy or 0.0), ACC, "{:.4f}"))
    notes.append("replayed 1: the book's scikit-learn drew k-means++'s first centre with "
                 "randint, today's with choice (sample weights): the same random_state=42 "
                 "gives other clusters; representatives(seeding='sklearn-1.0') replays the old "
                 "draws and finds the book's 50 representatives in the book's order")
    notes.append("replayed 2: lbfgs in LogisticRegression now averages the log-loss instead of "
                 "summing it (scikit-learn PR #26721), so tol=1e-4 stops later; "
                 "book_logistic_regression uses tol=1e-4/n, the book's stopping point")
    notes.extend(_today())
    notes.extend(_active_learning(X_train, y_train, X_test, y_test, reps.positions))
    return RecipeResult("ch09-semi-supervised", out, notes)


def _today() -> list[str]:
    """Today's defaults (KMeans(n_init=10, random_state=42), plain LogisticRegression)."""
    X, y = load_digits(return_X_y=True)
    X_train, y_train, X_test, y_test = X[:TRAIN], y[:TRAIN], X[TRAIN:], y[TRAIN:]
    reps = representatives(X_train, k=K, n_init=10, random_state=SEED)
    gain = label_gain(reps, y_train[reps.positions], test=(X_test, y_test),
                      true_labels=y_train, random_rows=range(K), alternatives=True)
    parts = [f"{name} {gain.accuracy(name):.4f}" for name in
             (RANDOM, ALL, HAND, FULL, PARTIAL, SPREADING, SELF_TRAINING)
             if gain.accuracy(name) is not None]
    hand, rand = gain.accuracy(HAND) or 0.0, gain.accuracy(RANDOM) or 0.0
    full, partial = gain.accuracy(FULL) or 0.0, gain.accuracy(PARTIAL) or 0.0
    verdict = ("partial propagation beats full propagation here too" if partial > full else
               "partial propagation does not beat full propagation on these clusters: the "
               "gain depends on the clustering run")
    return [f"with today's defaults (other clusters, LogisticRegression(max_iter=10_000)), no "
            f"book figure: {'; '.join(parts)}; propagated-label accuracy "
            f"{gain.partial.accuracy:.4f}. Representatives beat as many random rows by "
            f"{hand - rand:+.4f}; {verdict}"]


def _active_learning(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray,
                     y_test: np.ndarray, start: np.ndarray) -> list[str]:
    run = simulate_active_learning(X_train, y_train, X_test, y_test, start=list(start),
                                   rounds=4, batch=25, random_state=SEED)
    steps = ", ".join(f"{int(r.labelled)} → {r._3:.3f}" for r in run.history.itertuples())
    return [f"extra (no book figure): active learning from the 50 representatives, 4 rounds "
            f"of the 25 least-certain rows (known labels as the oracle): {steps}"]


RECIPE = Recipe("ch09-semi-supervised", 9,
                "Digits: 50 representatives, label propagation, the gain (ch. 9)", run)

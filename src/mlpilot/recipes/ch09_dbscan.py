"""Chapter 9, DBSCAN on moons: eps 0.05 vs 0.2, and assigning new rows, via mlpilot.

The book's data: ``make_moons(n_samples=1000, noise=0.05)`` (the text sets no seed, the
notebook ``random_state=42``); ``DBSCAN(eps=..., min_samples=5)``; new rows go through
``KNeighborsClassifier(n_neighbors=50)`` fitted on the core samples of the eps = 0.2 model,
with a 0.2 maximum distance beyond which a row is an anomaly (-1). mlpilot's
:class:`~mlpilot.unsupervised.cluster.DensityClusterAssigner` is that classifier.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_moons

from mlpilot.recipes.base import Comparison, Recipe, RecipeResult
from mlpilot.unsupervised.cluster import cluster

SEED = 42
X_NEW = np.array([[-0.5, 0], [0, 0.5], [1, -0.1], [2, 1]])
BOOK_FIRST_LABELS = [0, 2, -1, -1, 1, 0, 0, 0, 2, 5]
BOOK_FIRST_CORES = [0, 4, 5, 6, 7, 8, 10, 11]
BOOK_FIRST_COMPONENT = [-0.02137124, 0.40618608]
BOOK_PROBA = np.array([[0.18, 0.82], [1.0, 0.0], [0.12, 0.88], [1.0, 0.0]])


def moons() -> np.ndarray:
    X, _ = make_moons(n_samples=1000, noise=0.05, random_state=SEED)
    return X


def run() -> RecipeResult:
    X = moons()
    out: list[Comparison] = []

    fine = cluster(X, method="dbscan", eps=0.05, min_samples=5)
    db = fine.estimator
    out.append(Comparison("eps = 0.05: clusters", 7, float(fine.n_clusters), 0, "{:.0f}"))
    out.append(Comparison("eps = 0.05: first ten labels equal to the book's (of 10)", 10,
                          float(np.sum(db.labels_[:10] == BOOK_FIRST_LABELS)), 0, "{:.0f}"))
    out.append(Comparison("eps = 0.05: first eight core indices equal (of 8)", 8,
                          float(np.sum(db.core_sample_indices_[:8] == BOOK_FIRST_CORES)), 0,
                          "{:.0f}"))
    out.append(Comparison("eps = 0.05: components_[0] difference", 0.0,
                          float(np.abs(db.components_[0] - BOOK_FIRST_COMPONENT).max()), 1e-7,
                          "{:.1e}"))

    wide = cluster(X, method="dbscan", eps=0.2, min_samples=5, n_neighbors=50)
    out.append(Comparison("eps = 0.2: clusters", 2, float(wide.n_clusters), 0, "{:.0f}"))
    out.append(Comparison("kNN(50) on the cores: X_new labels [1, 0, 1, 0] (of 4)", 4,
                          float(np.sum(wide.assign(X_NEW) == [1, 0, 1, 0])), 0, "{:.0f}"))
    proba = wide.predictor.predict_proba(X_NEW)
    out.append(Comparison("kNN(50): largest predict_proba difference", 0.0,
                          float(np.abs(proba - BOOK_PROBA).max()), 1e-9, "{:.2f}"))
    strict = cluster(X, method="dbscan", eps=0.2, min_samples=5, n_neighbors=50,
                     max_distance=0.2)
    out.append(Comparison("max distance 0.2: X_new labels [-1, 0, 1, -1] (of 4)", 4,
                          float(np.sum(strict.assign(X_NEW) == [-1, 0, 1, -1])), 0, "{:.0f}"))

    auto = cluster(X, method="dbscan", min_samples=5)
    hdb = cluster(X, method="hdbscan")
    notes = [
        "the text's make_moons has no seed; the notebook's random_state=42 is used, and the "
        "labels, core indices and components match it to the row",
        f"extra (no book figure): with eps left out, mlpilot takes it at the knee of the "
        f"5-distance curve: eps = {auto.eps:.4f} → {auto.n_clusters} clusters and "
        f"{auto.n_noise} noise rows",
        f"extra: HDBSCAN (sklearn.cluster, no eps to choose) finds {hdb.n_clusters} clusters "
        f"and {hdb.n_noise} noise rows",
    ]
    return RecipeResult("ch09-dbscan", out, notes)


RECIPE = Recipe("ch09-dbscan", 9,
                "Moons: DBSCAN eps 0.05 vs 0.2, kNN assignment of new rows (ch. 9)", run)

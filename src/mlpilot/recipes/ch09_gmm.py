"""Chapter 9, Gaussian mixtures: weights, BIC/AIC, choosing k, Bayesian mixture, iris, via mlpilot.

The book's data (notebook): two blobs ``make_blobs(n_samples=1000, centers=((4, -4), (0, 0)),
random_state=42)`` stretched by ``[[0.374, 0.95], [0.732, 0.598]]``, plus 250 rows of
``make_blobs(n_samples=250, centers=1, random_state=42)`` moved by ``[6, -8]``;
``GaussianMixture(n_components=3, n_init=10, random_state=42)``. Component order is
arbitrary, so weights are compared sorted. EM stops at ``tol=1e-3``, so the
log-likelihood (and BIC/AIC) can differ in the second decimal between runs that start
elsewhere: BIC/AIC are checked to 0.05.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_iris, make_moons

from mlpilot.recipes.base import Comparison, Recipe, RecipeResult
from mlpilot.recipes.book_data import ellipsoids
from mlpilot.unsupervised.cluster import cluster

SEED = 42
BOOK_WEIGHTS = [0.39025715, 0.40007391, 0.20966893]
BOOK_MEANS = np.array([[0.05131611, 0.07521837], [-1.40763156, 1.42708225],
                       [3.39893794, 1.05928897]])


def run() -> RecipeResult:
    X = ellipsoids()
    out: list[Comparison] = []

    gm = cluster(X, method="gmm", k=3, random_state=SEED)
    for i, (book, ours) in enumerate(zip(sorted(BOOK_WEIGHTS),
                                         sorted(gm.estimator.weights_), strict=True)):
        out.append(Comparison(f"weights_ (sorted) [{i}]", book, float(ours), 1e-3, "{:.4f}"))
    means = gm.estimator.means_
    nearest = np.linalg.norm(means[:, None] - BOOK_MEANS[None], axis=2).argmin(axis=1)
    out.append(Comparison("largest means_ difference from the book's", 0.0,
                          float(np.abs(means - BOOK_MEANS[nearest]).max()), 0.01, "{:.4f}"))
    out.append(Comparison("gm.bic(X)", 8189.747000497186, float(gm.bic or 0), 0.05, "{:.3f}"))
    out.append(Comparison("gm.aic(X)", 8102.521720382148, float(gm.aic or 0), 0.05, "{:.3f}"))

    sweep = cluster(X, method="gmm", k_range=range(1, 11), random_state=SEED)
    assert sweep.scores is not None
    best_aic = int(sweep.scores.loc[sweep.scores["aic"].idxmin(), "k"])
    out.append(Comparison("k with the lowest BIC (k = 1..10)", 3, float(sweep.n_clusters), 0,
                          "{:.0f}"))
    out.append(Comparison("k with the lowest AIC (k = 1..10)", 3, float(best_aic), 0,
                          "{:.0f}"))

    bgm = cluster(X, method="bgm", k=10, random_state=SEED)
    assert bgm.weights is not None
    top = sorted(bgm.weights, reverse=True)
    for i, book in enumerate((0.4, 0.4, 0.21)):
        out.append(Comparison(f"BayesianGaussianMixture(10): weight #{i + 1} (largest first)",
                              book, round(float(top[i]), 2), 0.01, "{:.2f}"))
    out.append(Comparison("BayesianGaussianMixture(10): components in use", 3,
                          float(bgm.effective_components or 0), 0, "{:.0f}"))
    moons, _ = make_moons(n_samples=1000, noise=0.05, random_state=SEED)
    bgm_moons = cluster(moons, method="bgm", k=10, random_state=SEED)
    out.append(Comparison("BayesianGaussianMixture on moons: clusters (not 2)", 8,
                          float(bgm_moons.effective_components or 0), 0, "{:.0f}"))

    iris = load_iris()
    iris_gm = cluster(iris.data, method="gmm", k=3, label=iris.target, random_state=SEED)
    assert iris_gm.agreement is not None
    out.append(Comparison("iris, GMM on 4 features: accuracy after cluster→class mapping",
                          0.9666666666666667, iris_gm.agreement.accuracy, 1e-3, "{:.4f}"))
    notes = [
        "GaussianMixture with n_init=10 (the book's text); on iris, n_init=1 (scikit-learn's "
        "default) gets the same 145 of 150 rows right",
        f"iris: adjusted Rand index {iris_gm.agreement.adjusted_rand:.3f} (no book figure)",
        "the book prints 11 BGM weights (a typo); with n_components=10 there are 10",
    ]
    return RecipeResult("ch09-gmm", out, notes)


RECIPE = Recipe("ch09-gmm", 9,
                "Gaussian mixtures: weights, BIC/AIC, Bayesian mixture, iris (ch. 9)", run)

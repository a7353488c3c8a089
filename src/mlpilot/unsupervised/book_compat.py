"""What changed in scikit-learn since the book's run, replayed so recipes match to the digit.

Two defaults moved under the book's code: k-means++ draws its first centre differently
(scikit-learn 1.3), and logistic regression's lbfgs stops later since the loss is averaged,
not summed (PR #26721). With today's behaviour the same seeds give other, equally valid,
numbers; these helpers give the book's. Product code uses today's defaults.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

__all__ = ["book_logistic_regression", "legacy_kmeans_plusplus"]


def legacy_kmeans_plusplus(X: np.ndarray, k: int,
                           random_state: np.random.RandomState) -> np.ndarray:
    """k-means++ seeding drawn as scikit-learn 1.0 drew it (the book's run).

    Same algorithm as today's (``2 + log k`` candidates per centre, keep the one lowering the
    potential most), but the first centre came from ``randint`` where scikit-learn now calls
    ``choice`` with sample weights: the same seed then gives other clusters. Draws from
    ``random_state`` in the old order, so ``n_init`` runs sharing it replay the book's.
    """
    n = len(X)
    trials = 2 + int(np.log(k))
    centres = np.empty((k, X.shape[1]))
    first = random_state.randint(n)
    centres[0] = X[first]
    closest = ((X - X[first]) ** 2).sum(axis=1)
    potential = closest.sum()
    for c in range(1, k):
        draws = random_state.random_sample(trials) * potential
        candidates = np.searchsorted(np.cumsum(closest, dtype=np.float64), draws)
        np.clip(candidates, None, n - 1, out=candidates)
        to_candidates = ((X[candidates][:, None, :] - X[None, :, :]) ** 2).sum(axis=-1)
        np.minimum(closest, to_candidates, out=to_candidates)
        potentials = to_candidates.sum(axis=1)
        best = int(np.argmin(potentials))
        potential, closest = potentials[best], to_candidates[best]
        centres[c] = X[candidates[best]]
    return centres


def book_logistic_regression(n_rows: int) -> LogisticRegression:
    """``LogisticRegression(max_iter=10_000)`` stopping where the book's run stopped.

    The book's scikit-learn summed the log-loss; newer releases average it (scikit-learn
    PR #26721), so lbfgs's gradient tolerance ``tol=1e-4`` now stops n times later. On the
    unscaled digits that changes a few test predictions; ``tol=1e-4 / n`` stops where the
    book did and reproduces its accuracies to the digit.
    """
    return LogisticRegression(max_iter=10_000, tol=1e-4 / max(n_rows, 1))

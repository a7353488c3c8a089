"""The book's generated datasets that several recipes share, built exactly as its notebooks do."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_blobs

__all__ = ["ellipsoids"]


def ellipsoids(seed: int = 42) -> np.ndarray:
    """Chapter 9's three ellipsoidal blobs (1,250 × 2; true weights 0.4, 0.4, 0.2)."""
    X1, _ = make_blobs(n_samples=1000, centers=((4, -4), (0, 0)), random_state=seed)
    X1 = X1.dot(np.array([[0.374, 0.95], [0.732, 0.598]]))
    X2, _ = make_blobs(n_samples=250, centers=1, random_state=seed)
    return np.r_[X1, X2 + np.array([6, -8])]

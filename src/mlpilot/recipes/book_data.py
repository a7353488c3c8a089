"""The book's generated datasets that several recipes share, built exactly as its notebooks do."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_blobs

__all__ = ["california_housing", "ellipsoids", "fashion_mnist"]


def ellipsoids(seed: int = 42) -> np.ndarray:
    """Chapter 9's three ellipsoidal blobs (1,250 × 2; true weights 0.4, 0.4, 0.2)."""
    X1, _ = make_blobs(n_samples=1000, centers=((4, -4), (0, 0)), random_state=seed)
    X1 = X1.dot(np.array([[0.374, 0.95], [0.732, 0.598]]))
    X2, _ = make_blobs(n_samples=250, centers=1, random_state=seed)
    return np.r_[X1, X2 + np.array([6, -8])]


def fashion_mnist() -> tuple[np.ndarray, ...]:
    """Chapter 10's Fashion-MNIST split: the last 5,000 training images validate; pixels / 255.

    Returns ``X_train, y_train, X_valid, y_valid, X_test, y_test`` (55,000 / 5,000 / 10,000
    images of 28 × 28 float32, integer labels), as the book's notebook builds them.
    """
    from mlpilot.data.catalog import fetch_file, read_idx

    def images(prefix: str) -> tuple[np.ndarray, np.ndarray]:
        X = read_idx(fetch_file(f"fashion-mnist/{prefix}-images-idx3-ubyte.gz"))
        y = read_idx(fetch_file(f"fashion-mnist/{prefix}-labels-idx1-ubyte.gz"))
        return X.astype(np.float32) / 255.0, y.astype(np.int64)

    X_full, y_full = images("train")
    X_test, y_test = images("t10k")
    return (X_full[:-5000], y_full[:-5000], X_full[-5000:], y_full[-5000:], X_test, y_test)


def california_housing(seed: int = 42) -> tuple[np.ndarray, ...]:
    """Chapter 10's California housing: scikit-learn's 8 numeric features, split as the book does.

    ``fetch_california_housing`` downloads, so the same features are derived from the data
    home's ``housing.csv`` (the same 20,640 block groups, in the same order): median income,
    house age, rooms, bedrooms and occupants per household, population, latitude, longitude;
    the target in units of $100,000. The book's CSV lost 207 bedroom counts; they are filled
    from the median bedrooms-per-room ratio, so the rows, and therefore the book's split
    (``train_test_split(random_state=42)`` twice), are scikit-learn's.
    Returns ``X_train, y_train, X_valid, y_valid, X_test, y_test`` (float32).
    """
    from sklearn.model_selection import train_test_split

    from mlpilot.data.catalog import load_dataset

    frame = load_dataset("housing")
    households = frame["households"]
    bedrooms = frame["total_bedrooms"].fillna(
        frame["total_rooms"] * (frame["total_bedrooms"] / frame["total_rooms"]).median())
    X = np.column_stack([
        frame["median_income"], frame["housing_median_age"],
        frame["total_rooms"] / households, bedrooms / households,
        frame["population"], frame["population"] / households,
        frame["latitude"], frame["longitude"],
    ]).astype(np.float32)
    y = (frame["median_house_value"].to_numpy() / 100_000).astype(np.float32)
    X_full, X_test, y_full, y_test = train_test_split(X, y, random_state=seed)
    X_train, X_valid, y_train, y_valid = train_test_split(X_full, y_full, random_state=seed)
    return X_train, y_train, X_valid, y_valid, X_test, y_test

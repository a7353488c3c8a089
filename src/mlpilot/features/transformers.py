"""Feature-engineering transformers from chapter 2 of *Hands-On Machine Learning* (3rd ed.).

The book builds most of its housing features with ``FunctionTransformer`` and one custom
class (``ClusterSimilarity``). Here each of them is a full scikit-learn estimator: it
validates its input, learns its state in ``fit`` (attributes ending in ``_``), reports
``n_features_in_`` / ``feature_names_in_``, names its output columns through
``get_feature_names_out`` and therefore works with ``set_output(transform="pandas")``,
``Pipeline``, ``ColumnTransformer``, ``clone`` and grid search.
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.cluster import KMeans
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.neighbors import KNeighborsRegressor
from sklearn.preprocessing import KBinsDiscretizer
from sklearn.utils import Tags
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

__all__ = [
    "Bucketizer",
    "ClusterSimilarity",
    "KNNOutOfFoldFeature",
    "LogTransformer",
    "RBFSimilarity",
    "RatioFeatures",
]

_FLOAT_DTYPES = (np.float64, np.float32)


def _input_names(estimator: BaseEstimator, input_features: ArrayLike | None) -> np.ndarray:
    """Names of the fitted estimator's input columns (``x0``, ``x1``... for NumPy input).

    ``input_features``, when given, must agree with what ``fit`` saw, as in scikit-learn.
    """
    check_is_fitted(estimator, "n_features_in_")
    n_features: int = estimator.n_features_in_  # type: ignore[attr-defined]
    seen = getattr(estimator, "feature_names_in_", None)
    if input_features is None:
        if seen is not None:
            return np.asarray(seen, dtype=object)
        return np.asarray([f"x{i}" for i in range(n_features)], dtype=object)
    names = np.asarray(input_features, dtype=object)
    if seen is not None and not np.array_equal(seen, names):
        raise ValueError("input_features is not equal to feature_names_in_")
    if len(names) != n_features:
        raise ValueError(
            f"input_features should have length equal to number of features "
            f"({n_features}), got {len(names)}"
        )
    return names


def _column_index(estimator: BaseEstimator, key: Hashable, param: str) -> int:
    """Position of a column given by name (DataFrame input) or integer index."""
    n_features: int = estimator.n_features_in_  # type: ignore[attr-defined]
    if isinstance(key, str):
        seen = getattr(estimator, "feature_names_in_", None)
        if seen is None:
            raise ValueError(
                f"{param} refers to column {key!r} by name, but X has no column names; "
                "pass a DataFrame or use integer column indices"
            )
        matches = np.flatnonzero(seen == key)
        if matches.size == 0:
            raise ValueError(f"{param} refers to column {key!r}, which is not in X")
        return int(matches[0])
    if isinstance(key, numbers.Integral) and not isinstance(key, bool):
        index = int(key)
        if not -n_features <= index < n_features:
            raise ValueError(f"{param} refers to column {index}, but X has n_features={n_features}")
        return index % n_features
    raise TypeError(f"{param} must hold column names (str) or indices (int), got {key!r}")


class ClusterSimilarity(TransformerMixin, BaseEstimator):
    """Similarity of each row to ``n_clusters`` k-means centres (Géron, ch. 2).

    The book clusters the districts' latitude/longitude, weighting each district by its
    median house value (``fit(X, sample_weight=y)``), so the centres sit on the expensive
    areas; the Gaussian RBF similarity to each centre then lets a linear model learn
    "how close is this district to a pricey hub".

    Parameters
    ----------
    n_clusters : number of k-means centres, hence of output columns.
    gamma : RBF width, ``exp(-gamma * ||x - centre||**2)``.
    random_state : seed of ``KMeans`` (``n_init=10``).
    """

    def __init__(
        self, n_clusters: int = 10, gamma: float = 1.0, random_state: int | None = None
    ) -> None:
        self.n_clusters = n_clusters
        self.gamma = gamma
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: Any = None, sample_weight: ArrayLike | None = None) -> Self:
        """Fit the k-means centres; ``sample_weight`` pulls them toward heavy rows."""
        X = validate_data(self, X, dtype=_FLOAT_DTYPES)
        self.kmeans_ = KMeans(
            n_clusters=self.n_clusters, n_init=10, random_state=self.random_state
        ).fit(X, sample_weight=sample_weight)
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        """RBF similarity of each row to each centre: shape (n_samples, n_clusters)."""
        check_is_fitted(self, "kmeans_")
        X = validate_data(self, X, dtype=_FLOAT_DTYPES, reset=False)
        return rbf_kernel(X, self.kmeans_.cluster_centers_, gamma=self.gamma)

    def get_feature_names_out(self, input_features: ArrayLike | None = None) -> np.ndarray:
        """``Cluster 0 similarity``, ``Cluster 1 similarity``... as in the book."""
        _input_names(self, input_features)
        n_centres = self.kmeans_.cluster_centers_.shape[0]
        return np.asarray([f"Cluster {i} similarity" for i in range(n_centres)], dtype=object)


class RatioFeatures(TransformerMixin, BaseEstimator):
    """Ratios of columns, e.g. bedrooms per room (Géron, ch. 2).

    The book finds that ``total_bedrooms / total_rooms`` and ``rooms_per_house``
    correlate with the price far better than the raw counts, and builds them with a
    ``ratio_pipeline`` whose ``FunctionTransformer`` divides column 0 by column 1 and is
    named ``"ratio"``. A zero denominator gives NaN (not ``inf``), so a downstream
    ``SimpleImputer`` can deal with it.

    Parameters
    ----------
    pairs : ``(numerator, denominator)`` pairs of column names or indices; ``None``
        means X has exactly two columns and the output is ``X[:, 0] / X[:, 1]``.
    names : one output name per pair; default ``"<num>_per_<den>"`` (``"ratio"`` when
        ``pairs`` is ``None``).
    """

    def __init__(
        self,
        pairs: Sequence[tuple[int | str, int | str]] | None = None,
        names: Sequence[str] | None = None,
    ) -> None:
        self.pairs = pairs
        self.names = names

    def fit(self, X: ArrayLike, y: Any = None) -> Self:
        """Resolve the column pairs against X (names need a DataFrame)."""
        X = validate_data(self, X, dtype=_FLOAT_DTYPES, ensure_all_finite="allow-nan")
        if self.pairs is None:
            if self.n_features_in_ != 2:
                raise ValueError(
                    "RatioFeatures with pairs=None divides column 0 by column 1, so X needs "
                    f"exactly 2 columns; got n_features={self.n_features_in_}. Pass pairs."
                )
            pairs_ = [(0, 1)]
        else:
            pairs_ = []
            for pair in self.pairs:
                if isinstance(pair, str) or len(pair) != 2:
                    raise ValueError(f"each pair must be (numerator, denominator), got {pair!r}")
                num, den = pair
                pairs_.append(
                    (_column_index(self, num, "pairs"), _column_index(self, den, "pairs"))
                )
            if not pairs_:
                raise ValueError("pairs must hold at least one (numerator, denominator) pair")
        if self.names is not None and len(self.names) != len(pairs_):
            raise ValueError(
                f"names has {len(self.names)} entries but there are {len(pairs_)} pairs"
            )
        self.pairs_ = pairs_
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        """One column per pair: numerator / denominator, NaN where the denominator is 0."""
        check_is_fitted(self, "pairs_")
        X = validate_data(self, X, dtype=_FLOAT_DTYPES, ensure_all_finite="allow-nan", reset=False)
        num = X[:, [i for i, _ in self.pairs_]]
        den = X[:, [j for _, j in self.pairs_]]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = num / den
        ratios[den == 0] = np.nan
        return ratios

    def get_feature_names_out(self, input_features: ArrayLike | None = None) -> np.ndarray:
        """The given ``names``, else ``"<num>_per_<den>"`` (``"ratio"`` for pairs=None)."""
        names_in = _input_names(self, input_features)
        check_is_fitted(self, "pairs_")
        if self.names is not None:
            return np.asarray(list(self.names), dtype=object)
        if self.pairs is None:
            return np.asarray(["ratio"], dtype=object)
        return np.asarray(
            [f"{names_in[i]}_per_{names_in[j]}" for i, j in self.pairs_], dtype=object
        )

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class LogTransformer(TransformerMixin, BaseEstimator):
    """Log of positive, heavy-tailed columns (Géron, ch. 2).

    The book replaces ``population``, ``households``, ``total_rooms``... by their log
    (``FunctionTransformer(np.log, inverse_func=np.exp)``) because a heavy tail squashes
    most values into a few bins once scaled. ``np.log`` breaks on zeros, so
    ``offset="auto"`` uses ``log1p`` for the columns whose minimum at fit time is 0 and
    ``log`` for the others (stored in ``offsets_``: 1.0 or 0.0).

    Parameters
    ----------
    offset : ``"auto"``, or a number ``c >= 0`` added to every column before the log.
    """

    def __init__(self, offset: float | str = "auto") -> None:
        self.offset = offset

    def fit(self, X: ArrayLike, y: Any = None) -> Self:
        """Choose the offset of each column (``"auto"``: 1 if it holds a zero, else 0)."""
        X = validate_data(self, X, dtype=_FLOAT_DTYPES)
        self._check_domain(X, "fit", offsets=None)
        if isinstance(self.offset, str):
            if self.offset != "auto":
                raise ValueError(f"offset must be 'auto' or a number >= 0, got {self.offset!r}")
            offsets = np.where(X.min(axis=0) == 0, 1.0, 0.0)
        elif isinstance(self.offset, numbers.Real) and self.offset >= 0:
            offsets = np.full(self.n_features_in_, float(self.offset))
        else:
            raise ValueError(f"offset must be 'auto' or a number >= 0, got {self.offset!r}")
        self._check_domain(X, "fit", offsets=offsets)
        self.offsets_ = offsets
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        """``log(X + offset)`` per column (``log1p`` where the offset is 1)."""
        check_is_fitted(self, "offsets_")
        X = validate_data(self, X, dtype=_FLOAT_DTYPES, reset=False)
        self._check_domain(X, "transform", offsets=self.offsets_)
        out = np.empty_like(X)
        for j, offset in enumerate(self.offsets_):
            out[:, j] = np.log1p(X[:, j]) if offset == 1.0 else np.log(X[:, j] + offset)
        return out

    def inverse_transform(self, X: ArrayLike) -> np.ndarray:
        """``exp(X) - offset`` per column (``expm1`` where the offset is 1)."""
        check_is_fitted(self, "offsets_")
        # Like scikit-learn's own inverse_transform: the input is this transformer's
        # output, so only the number of columns is checked, not their names.
        X = check_array(X, dtype=_FLOAT_DTYPES)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but LogTransformer is expecting "
                f"{self.n_features_in_} features as input"
            )
        out = np.empty_like(X)
        for j, offset in enumerate(self.offsets_):
            out[:, j] = np.expm1(X[:, j]) if offset == 1.0 else np.exp(X[:, j]) - offset
        return out

    def get_feature_names_out(self, input_features: ArrayLike | None = None) -> np.ndarray:
        """Same names as the input: the columns are transformed in place."""
        return _input_names(self, input_features)

    def _check_domain(self, X: np.ndarray, method: str, offsets: np.ndarray | None) -> None:
        name = type(self).__name__
        negative = np.flatnonzero((X < 0).any(axis=0))
        if negative.size:
            raise ValueError(
                f"Negative values in data passed to {name}.{method} (column(s) "
                f"{self._names(negative)}): the log is only defined for values >= 0"
            )
        if offsets is not None:
            zero = np.flatnonzero(((X + offsets) <= 0).any(axis=0))
            if zero.size:
                raise ValueError(
                    f"Zero values in data passed to {name}.{method} (column(s) "
                    f"{self._names(zero)}) whose offset is 0: log(0) is -inf. Fit on data "
                    "that contains zeros (offset='auto' then uses log1p) or set offset=1"
                )

    def _names(self, columns: np.ndarray) -> list[str]:
        seen = getattr(self, "feature_names_in_", None)
        return [str(seen[j]) if seen is not None else f"x{j}" for j in columns]

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        return tags


class RBFSimilarity(TransformerMixin, BaseEstimator):
    """Gaussian RBF similarity of each row to fixed reference points (Géron, ch. 2).

    The book's ``age_simil_35 = rbf_kernel(housing[["housing_median_age"]], [[35]],
    gamma=0.1)`` turns the bimodal age into a feature peaking at 35 years, which a linear
    model can use where the raw age would be useless.

    Parameters
    ----------
    points : reference points, each with one value per input column (for a single column
        a flat list such as ``[35, 50]`` works); ``None`` uses one point, the per-column
        median learned at fit time.
    gamma : RBF width, ``exp(-gamma * ||x - point||**2)``.
    """

    def __init__(self, points: ArrayLike | None = None, gamma: float = 1.0) -> None:
        self.points = points
        self.gamma = gamma

    def fit(self, X: ArrayLike, y: Any = None) -> Self:
        """Store the reference points as ``points_`` (n_points, n_features)."""
        X = validate_data(self, X, dtype=_FLOAT_DTYPES)
        n_features = self.n_features_in_
        if self.points is None:
            points = np.median(X, axis=0, keepdims=True)
        else:
            points = np.asarray(self.points, dtype=np.float64)
            if points.ndim <= 1 and n_features == 1:
                points = points.reshape(-1, 1)
            if points.ndim != 2 or points.shape[1] != n_features or points.shape[0] == 0:
                raise ValueError(
                    f"points must be a list of points with n_features={n_features} values "
                    f"each, e.g. [[35]] for one column; got an array of shape {points.shape}"
                )
            if not np.isfinite(points).all():
                raise ValueError("points must be finite")
        self.points_ = points
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        """One column per point: ``exp(-gamma * ||x - point||**2)``, in (0, 1]."""
        check_is_fitted(self, "points_")
        X = validate_data(self, X, dtype=_FLOAT_DTYPES, reset=False)
        return rbf_kernel(X, self.points_.astype(X.dtype), gamma=self.gamma)

    def get_feature_names_out(self, input_features: ArrayLike | None = None) -> np.ndarray:
        """``<feature>_rbf_<value>`` for one input column, else ``rbf_similarity_<i>``."""
        names_in = _input_names(self, input_features)
        check_is_fitted(self, "points_")
        if self.n_features_in_ == 1:
            names = [f"{names_in[0]}_rbf_{value:g}" for value in self.points_[:, 0]]
        else:
            names = [f"rbf_similarity_{i}" for i in range(self.points_.shape[0])]
        return np.asarray(names, dtype=object)


class Bucketizer(TransformerMixin, BaseEstimator):
    """Bucket numbers of numeric columns (Géron, ch. 2).

    The book makes ``income_cat`` with ``pd.cut(median_income, bins=[0., 1.5, 3.0, 4.5,
    6., np.inf])`` to stratify the test split, and suggests bucketizing heavy-tailed
    features. With ``edges`` the buckets follow ``pd.cut`` (right-closed ``(a, b]``,
    numbered from 0); values outside the edges go to the first/last bucket instead of NaN,
    so new data never breaks a pipeline. Without ``edges`` the bins are learned by
    ``KBinsDiscretizer(n_bins, strategy)`` (left-closed, its own rules).

    Parameters
    ----------
    n_bins, strategy : passed to ``KBinsDiscretizer`` when ``edges`` is None.
    edges : increasing bin edges used for every column, or a dict mapping each column
        (name or index) to its edges.
    encode : ``"ordinal"`` (one column of bucket numbers per input column) or
        ``"onehot"`` (dense one-hot columns ``<feature>_<bucket>``).
    """

    def __init__(
        self,
        n_bins: int = 5,
        strategy: str = "quantile",
        edges: ArrayLike | Mapping[int | str, ArrayLike] | None = None,
        encode: str = "ordinal",
    ) -> None:
        self.n_bins = n_bins
        self.strategy = strategy
        self.edges = edges
        self.encode = encode

    def fit(self, X: ArrayLike, y: Any = None) -> Self:
        """Fix the edges (given, or learned by ``KBinsDiscretizer``) as ``bin_edges_``."""
        X = validate_data(self, X, dtype=_FLOAT_DTYPES)
        if self.encode not in ("ordinal", "onehot"):
            raise ValueError(f"encode must be 'ordinal' or 'onehot', got {self.encode!r}")
        n_features = self.n_features_in_
        if self.edges is None:
            # random_state only matters when KBinsDiscretizer subsamples (> 200_000 rows):
            # fixing it keeps the learned edges reproducible.
            self.kbins_: KBinsDiscretizer | None = KBinsDiscretizer(
                n_bins=self.n_bins, encode="ordinal", strategy=self.strategy, random_state=0
            ).fit(X)
            bin_edges = list(self.kbins_.bin_edges_)
        else:
            self.kbins_ = None
            if isinstance(self.edges, Mapping):
                by_index = {
                    _column_index(self, key, "edges"): value for key, value in self.edges.items()
                }
                missing = [j for j in range(n_features) if j not in by_index]
                if missing:
                    raise ValueError(
                        f"edges has no entry for column(s) {missing} (give every column)"
                    )
                bin_edges = [self._check_edges(by_index[j]) for j in range(n_features)]
            else:
                shared = self._check_edges(self.edges)
                bin_edges = [shared] * n_features
        self.bin_edges_ = np.empty(n_features, dtype=object)
        self.bin_edges_[:] = bin_edges
        self.n_bins_ = np.asarray([len(e) - 1 for e in bin_edges], dtype=np.int64)
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Bucket numbers 0..n_bins-1 (or their one-hot encoding)."""
        check_is_fitted(self, "bin_edges_")
        X = validate_data(self, X, dtype=_FLOAT_DTYPES, reset=False)
        if self.kbins_ is not None:
            codes = self.kbins_.transform(X).astype(X.dtype)
        else:
            codes = np.empty_like(X)
            for j, edges in enumerate(self.bin_edges_):
                # side="left" counts the inner edges strictly below x: bins are (a, b].
                codes[:, j] = np.searchsorted(edges[1:-1], X[:, j], side="left")
        if self.encode == "ordinal":
            return codes
        blocks = [
            (codes[:, [j]] == np.arange(n)).astype(X.dtype) for j, n in enumerate(self.n_bins_)
        ]
        return np.hstack(blocks)

    def get_feature_names_out(self, input_features: ArrayLike | None = None) -> np.ndarray:
        """Input names for ``"ordinal"``; ``<feature>_<bucket>`` for ``"onehot"``."""
        names_in = _input_names(self, input_features)
        check_is_fitted(self, "bin_edges_")
        if self.encode == "ordinal":
            return names_in
        return np.asarray(
            [
                f"{name}_{k}"
                for name, n in zip(names_in, self.n_bins_, strict=True)
                for k in range(n)
            ],
            dtype=object,
        )

    @staticmethod
    def _check_edges(edges: ArrayLike) -> np.ndarray:
        array = np.asarray(edges, dtype=np.float64)
        if array.ndim != 1 or array.size < 2 or np.isnan(array).any():
            raise ValueError(f"edges must be at least 2 increasing numbers, got {edges!r}")
        if not (np.diff(array) > 0).all():
            raise ValueError(f"edges must be strictly increasing, got {edges!r}")
        return array


class KNNOutOfFoldFeature(TransformerMixin, BaseEstimator):
    """A KNN regressor's prediction of the target as a feature (Géron, ch. 2, exercise 4).

    The exercise adds "the median house value of the nearest districts" (a
    ``KNeighborsRegressor`` on latitude/longitude, fit on the target) as a feature. Done
    naively, a training row's own target leaks into its feature, and the model downstream
    learns to trust a feature that is far worse on new data. So:

    * ``fit_transform(X, y)`` (training rows) returns *out-of-fold* predictions from
      ``cross_val_predict`` with ``KFold(cv, shuffle=True, random_state)``: no row sees
      its own target;
    * ``fit(X, y)`` fits the final regressor on all rows, and ``transform`` (new data)
      predicts with it.

    Hence ``fit_transform(X, y)`` differs from ``fit(X, y).transform(X)`` on purpose.

    Parameters
    ----------
    n_neighbors, weights : passed to ``KNeighborsRegressor``.
    cv : number of folds (shuffled ``KFold``) or a scikit-learn CV splitter.
    random_state : seed of the fold shuffling.
    """

    def __init__(
        self,
        n_neighbors: int = 5,
        cv: int | Any = 5,
        weights: str = "uniform",
        random_state: int | None = None,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.cv = cv
        self.weights = weights
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> Self:
        """Fit the regressor on all rows; it serves ``transform`` on new data."""
        X, y = self._validate_fit(X, y)
        self.regressor_ = self._regressor().fit(X, y)
        return self

    def fit_transform(
        self, X: ArrayLike, y: ArrayLike | None = None, **fit_params: Any
    ) -> np.ndarray:
        """Fit as ``fit`` does, but return out-of-fold predictions for the training rows."""
        X, y = self._validate_fit(X, y)
        self.regressor_ = self._regressor().fit(X, y)
        if isinstance(self.cv, numbers.Integral):
            cv: Any = KFold(n_splits=int(self.cv), shuffle=True, random_state=self.random_state)
        else:
            cv = self.cv
        oof = cross_val_predict(self._regressor(), X, y, cv=cv)
        return np.asarray(oof, dtype=np.float64).reshape(-1, 1)

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Prediction of the regressor fit on all training rows, as one column."""
        check_is_fitted(self, "regressor_")
        X = validate_data(self, X, dtype=_FLOAT_DTYPES, reset=False)
        return np.asarray(self.regressor_.predict(X), dtype=np.float64).reshape(-1, 1)

    def get_feature_names_out(self, input_features: ArrayLike | None = None) -> np.ndarray:
        """A single column, ``knn_prediction``."""
        _input_names(self, input_features)
        return np.asarray(["knn_prediction"], dtype=object)

    def _validate_fit(self, X: ArrayLike, y: ArrayLike | None) -> tuple[np.ndarray, np.ndarray]:
        if y is None:
            raise ValueError(
                "KNNOutOfFoldFeature requires y to be passed, but the target y is None: "
                "the feature is a KNN prediction of the target, so fit it with fit(X, y)"
            )
        return validate_data(self, X, y, dtype=_FLOAT_DTYPES, y_numeric=True)

    def _regressor(self) -> KNeighborsRegressor:
        return KNeighborsRegressor(n_neighbors=self.n_neighbors, weights=self.weights)

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

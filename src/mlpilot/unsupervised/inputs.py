"""From a table to the numbers unsupervised methods need, with a transformer kept for new rows.

Distances drive everything in chapters 8–9 (k-means, DBSCAN, PCA), so features are imputed,
scaled ("always scale features before K-Means", the book warns) and categories one-hot
encoded. ID and free-text columns carry no geometry and are dropped; the caller learns which.
The transformer is a plain scikit-learn ``ColumnTransformer`` fitted on the rows given, so
:meth:`FeatureMatrix.transform` puts new rows in the same space (cluster assignment,
novelty detection).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlpilot.data.schema import NUMERIC_KINDS, ColumnKind, infer_schema
from mlpilot.errors import UnsupervisedError

__all__ = ["FeatureMatrix", "as_frame", "feature_matrix"]


@dataclass
class FeatureMatrix:
    """The numeric matrix of a table, the fitted transformer, and what was left out (why)."""

    X: np.ndarray
    feature_names: list[str]
    transformer: ColumnTransformer | None
    columns: list[str]
    dropped: dict[str, str] = field(default_factory=dict)
    numeric: list[str] = field(default_factory=list)

    def transform(self, frame: pd.DataFrame | np.ndarray) -> np.ndarray:
        """New rows in the same space (same columns, same scaling)."""
        if self.transformer is None:
            array = np.asarray(frame, dtype=float)
            if array.ndim != 2 or array.shape[1] != self.X.shape[1]:
                raise UnsupervisedError(
                    f"expected rows with {self.X.shape[1]} values, got shape {array.shape}",
                    "pass rows shaped like the data the model was fitted on")
            return array
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise UnsupervisedError(f"columns missing from the new rows: {', '.join(missing)}",
                                    "pass rows with the columns the model was fitted on")
        return np.asarray(self.transformer.transform(_coerce(frame[self.columns], self.numeric)),
                          dtype=float)


def as_frame(data: pd.DataFrame | np.ndarray) -> pd.DataFrame:
    """A DataFrame view of an array (columns x0, x1, ...) or the frame itself."""
    if isinstance(data, pd.DataFrame):
        return data
    array = np.asarray(data)
    if array.ndim != 2:
        raise UnsupervisedError(f"expected a 2-D table, got shape {array.shape}",
                                "pass a DataFrame or a 2-D array (rows × features)")
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


def feature_matrix(data: pd.DataFrame | np.ndarray, *, exclude: Sequence[str] = (),
                   scale: bool = True) -> FeatureMatrix:
    """Impute, (optionally) scale and one-hot encode ``data``; arrays pass through as floats.

    A numeric array is taken as is (the book's recipes feed ``make_blobs`` output straight
    to k-means): scaling is for tables whose columns come in different units.
    """
    if not isinstance(data, pd.DataFrame):
        X = np.asarray(data, dtype=float)
        if X.ndim != 2 or len(X) == 0:
            raise UnsupervisedError(f"expected a non-empty 2-D array, got shape {X.shape}",
                                    "pass a DataFrame or a 2-D array (rows × features)")
        if not np.isfinite(X).all():
            raise UnsupervisedError("the array holds missing or infinite values",
                                    "pass a DataFrame (missing values get imputed) or clean it")
        return FeatureMatrix(X, [f"x{i}" for i in range(X.shape[1])], None, [])
    frame = data.drop(columns=[c for c in exclude if c in data.columns])
    if frame.empty or len(frame.columns) == 0:
        raise UnsupervisedError("the table has no rows or no columns to work with",
                                "pass a table with at least one feature column")
    schema = infer_schema(frame)
    numeric = schema.names(*NUMERIC_KINDS, ColumnKind.BOOLEAN)
    categorical = schema.names(ColumnKind.CATEGORICAL)
    dropped = {c.name: f"{c.kind} column" for c in schema.columns.values()
               if c.name not in numeric and c.name not in categorical}
    if not numeric and not categorical:
        raise UnsupervisedError("no numeric or category column to work with "
                                f"(dropped: {', '.join(dropped)})",
                                "pass a table with numeric or category columns")
    steps: list[tuple[str, object, list[str]]] = []
    if numeric:
        parts: list[object] = [SimpleImputer(strategy="median")]
        if scale:
            parts.append(StandardScaler())
        steps.append(("num", make_pipeline(*parts), numeric))
    if categorical:
        steps.append(("cat", make_pipeline(
            SimpleImputer(strategy="most_frequent"),
            OneHotEncoder(handle_unknown="ignore", sparse_output=False)), categorical))
    transformer = ColumnTransformer(steps, verbose_feature_names_out=False)
    columns = numeric + categorical
    X = np.asarray(transformer.fit_transform(_coerce(frame[columns], numeric)), dtype=float)
    return FeatureMatrix(X, [str(n) for n in transformer.get_feature_names_out()], transformer,
                         columns, dropped, numeric)


def _coerce(frame: pd.DataFrame, numeric: list[str]) -> pd.DataFrame:
    """Numeric columns as floats (booleans → 0/1, unparsable text → missing)."""
    out = frame.copy()
    for name in numeric:
        out[name] = pd.to_numeric(out[name].astype("object") if out[name].dtype == bool
                                  else out[name], errors="coerce").astype(float)
    return out

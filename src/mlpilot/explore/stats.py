"""Structure statistics of a table: what ``info()``, ``describe()`` and ``value_counts()`` show.

Everything returned by :func:`table_stats` is plain JSON (str, int, float, None, lists, dicts):
it is saved next to the model and becomes the monitoring baseline, so it must be computed from
the training rows only and must round-trip through ``json``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from mlpilot.data.schema import NUMERIC_KINDS, ColumnKind, Schema

from .style import HIST_BINS

#: How many category values are listed per column.
TOP_VALUES = 20
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
_TRUE_STRINGS = {"true", "yes", "y", "t", "1"}


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars made Python numbers and NaN/inf made ``None``."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, str):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def numeric_columns(schema: Schema, target: str | None = None) -> list[str]:
    """Columns explored as numbers: numeric and geo kinds, plus a numeric target."""
    names = schema.names(*NUMERIC_KINDS)
    if target is not None and target not in names and schema.kind(target) == ColumnKind.NUMERIC:
        names.append(target)
    return names


def category_columns(schema: Schema) -> list[str]:
    """Columns explored by their value counts: categories and booleans."""
    return schema.names(ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)


def as_float(col: pd.Series) -> pd.Series:
    """``col`` as float64 with anything non-numeric (or infinite) as NaN."""
    values = pd.to_numeric(col, errors="coerce").astype("float64")
    return values.where(np.isfinite(values))


def encode_binary(col: pd.Series) -> pd.Series | None:
    """A boolean or two-valued column as 0/1 floats (NaN kept), or ``None`` if not binary."""
    non_null = col.dropna()
    values = pd.unique(non_null)
    if len(values) > 2:
        return None
    numeric = pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col)
    if numeric and set(pd.to_numeric(non_null).unique()) <= {0, 1}:
        return as_float(col.astype("float64"))
    lowered = {str(v).strip().lower() for v in values}
    if len(lowered & _TRUE_STRINGS) == 1:
        positive = next(v for v in values if str(v).strip().lower() in _TRUE_STRINGS)
    else:
        positive = sorted(values, key=str)[-1] if len(values) else None
    encoded = (col == positive).astype("float64")
    return encoded.where(col.notna())


def numeric_target(frame: pd.DataFrame, schema: Schema, target: str | None) -> pd.Series | None:
    """The target as floats when it is numeric or binary (0/1), else ``None``."""
    if target is None or target not in frame.columns:
        return None
    kind = schema.kind(target)
    col = frame[target]
    if kind == ColumnKind.BOOLEAN or (kind == ColumnKind.CATEGORICAL and col.nunique() == 2):
        return encode_binary(col)
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        return as_float(col)
    return None


def numeric_stats(col: pd.Series) -> dict[str, Any]:
    """Location, spread, quantiles, skewness and a 50-bin histogram of a numeric column."""
    raw = pd.to_numeric(col, errors="coerce").astype("float64")
    n_infinite = int(np.isinf(raw).sum())
    values = raw[np.isfinite(raw)].to_numpy()
    out: dict[str, Any] = {"n_infinite": n_infinite}
    if len(values) == 0:
        return out | {"mean": None, "std": None, "min": None, "max": None, "skew": None,
                      "quantiles": {}, "histogram": {"edges": [], "counts": []}}
    counts, edges = np.histogram(values, bins=HIST_BINS)
    series = pd.Series(values)
    out |= {
        "mean": float(values.mean()),
        "std": float(series.std()) if len(values) > 1 else 0.0,
        "min": float(values.min()),
        "max": float(values.max()),
        "skew": float(series.skew()) if len(values) > 2 else 0.0,
        "quantiles": {str(q): float(v) for q, v in zip(QUANTILES, np.quantile(values, QUANTILES),
                                                       strict=True)},
        "histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
    }
    return out


def category_stats(col: pd.Series, top: int = TOP_VALUES) -> dict[str, Any]:
    """The ``top`` most frequent values with their counts, and what the rest add up to."""
    counts = col.dropna().astype(str).value_counts()
    n = int(counts.sum())
    head = counts.head(top)
    return {
        "frequencies": {str(k): int(v) for k, v in head.items()},
        "other_count": int(n - head.sum()),
        "top_share": float(head.iloc[0] / n) if n else None,
    }


def column_stats(frame: pd.DataFrame, schema: Schema, target: str | None) -> dict[str, Any]:
    """Per-column baseline: count, missing, kind-specific numbers."""
    memory = frame.memory_usage(deep=True, index=False)
    numeric = set(numeric_columns(schema, target))
    categories = set(category_columns(schema))
    out: dict[str, Any] = {}
    for name in frame.columns:
        col = frame[name]
        info = schema.columns[str(name)]
        n_missing = int(col.isna().sum())
        entry: dict[str, Any] = {
            "kind": str(info.kind),
            "dtype": str(col.dtype),
            "count": int(len(col) - n_missing),
            "missing": n_missing,
            "missing_share": n_missing / len(col) if len(col) else 0.0,
            "n_unique": int(col.nunique(dropna=True)),
            "memory_bytes": int(memory[name]),
            "is_target": name == target,
        }
        if name in numeric:
            entry |= numeric_stats(col)
        elif name in categories:
            entry |= category_stats(col)
        elif info.kind == ColumnKind.DATETIME:
            stamps = pd.to_datetime(col, errors="coerce", format="mixed")
            entry |= {"min": jsonable(stamps.min()), "max": jsonable(stamps.max())}
        elif info.kind == ColumnKind.TEXT:
            lengths = col.dropna().astype(str).str.len()
            entry |= {"mean_length": float(lengths.mean()) if len(lengths) else None}
        out[str(name)] = entry
    return out


def structure_table(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """What ``DataFrame.info()`` prints, one row per column, plus the inferred kind."""
    memory = frame.memory_usage(deep=True, index=False)
    return pd.DataFrame(
        {
            "column": [str(c) for c in frame.columns],
            "kind": [str(schema.kind(str(c))) for c in frame.columns],
            "dtype": [str(frame[c].dtype) for c in frame.columns],
            "non_null": [int(frame[c].notna().sum()) for c in frame.columns],
            "missing": [int(frame[c].isna().sum()) for c in frame.columns],
            "unique": [int(frame[c].nunique(dropna=True)) for c in frame.columns],
            "memory_kb": [float(memory[c]) / 1024 for c in frame.columns],
            "why": [schema.columns[str(c)].reason for c in frame.columns],
        }
    )


def describe_table(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``describe()`` of the numeric columns, one row per column (transposed)."""
    if not columns:
        return pd.DataFrame()
    numbers = frame[columns].apply(as_float)
    return numbers.describe().T


def value_counts(frame: pd.DataFrame, columns: list[str], top: int = TOP_VALUES
                 ) -> dict[str, pd.Series]:
    """The ``top`` most frequent values of each category column (missing shown as such)."""
    return {c: frame[c].astype("object").fillna("(missing)").astype(str).value_counts().head(top)
            for c in columns}


def target_correlations(
    frame: pd.DataFrame, schema: Schema, target: str | None
) -> pd.DataFrame | None:
    """Pearson and Spearman correlation of each numeric/binary feature with the target.

    Rows are features sorted by |Pearson|, strongest first; ``None`` when the target is not
    numeric (or binary), since correlation with a category label means nothing.
    """
    y = numeric_target(frame, schema, target)
    if y is None or y.nunique() < 2:
        return None
    features = feature_matrix(frame, schema, exclude=(str(target),))
    rows = []
    for name in features.columns:
        x = features[name]
        ok = x.notna() & y.notna()
        if ok.sum() < 3 or x[ok].nunique() < 2:
            continue
        rows.append((name, float(x[ok].corr(y[ok])), float(x[ok].corr(y[ok], method="spearman")),
                     int(ok.sum())))
    table = pd.DataFrame(rows, columns=["feature", "pearson", "spearman", "n"])
    if table.empty:
        return table.set_index("feature")
    order = table["pearson"].abs().sort_values(ascending=False, kind="stable").index
    return table.loc[order].set_index("feature")


def feature_matrix(frame: pd.DataFrame, schema: Schema, exclude: tuple[str, ...] = ()
                   ) -> pd.DataFrame:
    """Numeric and geo columns as floats, booleans as 0/1 (IDs, texts, dates left out)."""
    data: dict[str, pd.Series] = {}
    for name in schema.names(*NUMERIC_KINDS, ColumnKind.BOOLEAN, exclude=exclude):
        if schema.kind(name) == ColumnKind.BOOLEAN:
            encoded = encode_binary(frame[name])
            if encoded is not None:
                data[name] = encoded
        else:
            data[name] = as_float(frame[name])
    return pd.DataFrame(data, index=frame.index)


def correlation_matrix(frame: pd.DataFrame, schema: Schema, target: str | None,
                       max_columns: int = 30) -> pd.DataFrame:
    """Pearson correlation matrix of the numeric columns (target first when numeric)."""
    features = feature_matrix(frame, schema, exclude=(str(target),) if target else ())
    y = numeric_target(frame, schema, target)
    if y is not None:
        features.insert(0, str(target), y)
    keep = [c for c in features.columns if features[c].nunique() > 1][:max_columns]
    return features[keep].corr()


def table_stats(frame: pd.DataFrame, schema: Schema, target: str | None,
                correlations: pd.DataFrame | None) -> dict[str, Any]:
    """The JSON baseline: table size, per-column statistics and target correlations."""
    corr: dict[str, Any] | None = None
    if correlations is not None:
        corr = {
            "pearson": {k: float(v) for k, v in correlations["pearson"].items()},
            "spearman": {k: float(v) for k, v in correlations["spearman"].items()},
        }
    return jsonable({
        "n_rows": len(frame),
        "n_columns": frame.shape[1],
        "target": target,
        "memory_bytes": int(frame.memory_usage(deep=True).sum()),
        "n_duplicate_rows": int(frame.duplicated().sum()),
        "columns": column_stats(frame, schema, target),
        "correlations_with_target": corr,
        "schema": schema.to_dict(),
    })

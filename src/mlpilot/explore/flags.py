"""Flags: things in the data a person should look at before preparing it.

Each detector looks for one pattern the book's chapter 2 points at (capped values, heavy tails,
several modes, useless columns...) and returns :class:`Flag` objects whose ``evidence`` is
numbers in words and whose ``suggestion`` is an action. Thresholds are module constants so the
report can quote them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
from scipy.signal import find_peaks
from scipy.stats import gaussian_kde

from mlpilot.data.schema import ColumnKind, Schema

from .stats import numeric_columns


class FlagKind(StrEnum):
    CAPPED = "capped"
    HEAVY_TAIL = "heavy_tail"
    MULTIMODAL = "multimodal"
    CONSTANT = "constant"
    NEAR_CONSTANT = "near_constant"
    HIGH_CARDINALITY = "high_cardinality"
    ID_LIKE = "id_like"
    DUPLICATE_ROWS = "duplicate_rows"
    LEAKAGE = "leakage"
    MIXED_TYPES = "mixed_types"
    MISSING_VALUES = "missing_values"


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


_SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}

# Capped values: a spike exactly at the minimum or maximum.
CAP_MIN_SHARE = 0.005          # ≥ 0.5 % of the rows at the edge value...
CAP_MIN_SHARE_STRONG = 0.001   # ...or ≥ 0.1 % when the spike is very sharp
CAP_MIN_RATIO = 3.0            # edge count ≥ 3× any of the 5 nearest values' counts
CAP_STRONG_RATIO = 10.0
CAP_MIN_COUNT = 10
CAP_MIN_UNIQUE = 10            # columns with fewer distinct values are discrete scales
# Heavy right tail.
SKEW_THRESHOLD = 1.0
# Several modes (kernel density estimate).
MODE_SAMPLE = 5000
MODE_MIN_HEIGHT = 0.2          # a mode's density ≥ 20 % of the highest mode's
MODE_MAX_DIP = 0.75            # density between two modes ≤ 75 % of the lower one
MODE_MIN_UNIQUE = 20
MODE_MIN_ROWS = 100
# Useless or awkward columns.
NEAR_CONSTANT_SHARE = 0.99
HIGH_CARDINALITY_COUNT = 50
HIGH_CARDINALITY_SHARE = 0.5
HIGH_CARDINALITY_MIN_ROWS = 20
MISSING_DROP_SHARE = 0.5


@dataclass(frozen=True)
class Flag:
    """One finding about one column (``column`` is ``None`` for the whole table)."""

    column: str | None
    kind: str
    evidence: str
    suggestion: str
    severity: str = Severity.WARNING
    value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = str(self.kind)
        d["severity"] = str(self.severity)
        return d

    def __str__(self) -> str:
        where = self.column if self.column is not None else "(table)"
        return f"[{self.kind}] {where}: {self.evidence} → {self.suggestion}"


def fmt(x: float, exact: bool = False) -> str:
    """A number as a person writes it: 500,001 / 0.688 / 1.2e-05 (``exact``: all digits)."""
    if x is None or not np.isfinite(x):
        return str(x)
    if float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    if exact:
        return f"{float(x):.10g}"
    if abs(x) >= 1000:
        return f"{x:,.1f}"
    if abs(x) >= 0.01:
        return f"{x:.4g}"
    return f"{x:.3g}"


def pct(share: float) -> str:
    return f"{100 * share:.1f}%" if share >= 0.001 else f"{100 * share:.2g}%"


def sort_flags(flags: Iterable[Flag], column_order: list[str],
               target: str | None = None) -> list[Flag]:
    """Most severe first, then table-level flags, the target's, the others in column order."""
    pos = {c: i for i, c in enumerate(column_order)}

    def key(f: Flag) -> tuple[int, int]:
        where = -2 if f.column is None else -1 if f.column == target else \
            pos.get(f.column, len(pos))
        return _SEVERITY_ORDER.get(Severity(f.severity), 3), where

    return sorted(flags, key=key)


def _finite(col: pd.Series) -> np.ndarray:
    values = pd.to_numeric(col, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return values[np.isfinite(values)]


# ----------------------------------------------------------------------------- capped values


def edge_spike(values: np.ndarray, side: str) -> tuple[float, int, float, float] | None:
    """``(edge, count, share, ratio)`` when ``values`` pile up at their min/max, else ``None``.

    ``ratio`` compares the edge count with the largest count among the 5 nearest distinct
    values: a cap makes the edge value far more frequent than its neighbours.
    """
    if len(values) == 0:
        return None
    uniques, counts = np.unique(values, return_counts=True)
    if len(uniques) < CAP_MIN_UNIQUE:
        return None
    if side == "max":
        uniques, counts = uniques[::-1], counts[::-1]
    edge, count = float(uniques[0]), int(counts[0])
    neighbour = int(counts[1:6].max())
    share = count / len(values)
    ratio = count / max(neighbour, 1)
    strong = share >= CAP_MIN_SHARE_STRONG and ratio >= CAP_STRONG_RATIO
    if count >= CAP_MIN_COUNT and ratio >= CAP_MIN_RATIO and (share >= CAP_MIN_SHARE or strong):
        return edge, count, share, ratio
    return None


def capped_flags(frame: pd.DataFrame, schema: Schema, target: str | None) -> list[Flag]:
    flags = []
    for name in numeric_columns(schema, target):
        values = _finite(frame[name])
        for side, word in (("max", "maximum"), ("min", "minimum")):
            spike = edge_spike(values, side)
            if spike is None:
                continue
            edge, count, share, ratio = spike
            at = fmt(edge, exact=True)
            evidence = (f"{count:,} rows ({pct(share)}) sit exactly at the {word} {at}, "
                        f"{ratio:.0f}× more than any nearby value: the values look "
                        f"{'capped' if side == 'max' else 'floored'} at {at}")
            if name == target:
                suggestion = (f"A model trained on this target never predicts beyond {at}. "
                              f"If predictions past it matter, collect the true values for these "
                              f"rows or remove them from the training and test sets")
            elif side == "min" and edge == 0:
                suggestion = ("Many exact zeros: add an 'is zero' indicator and use log1p, "
                              "or a model that handles the spike (trees)")
            else:
                suggestion = (f"Add an indicator 'at {word} {at}' or drop the capped "
                              f"rows; trees cope with the spike better than linear models")
            flags.append(Flag(name, FlagKind.CAPPED, evidence, suggestion,
                              Severity.WARNING, value=edge))
    return flags


# ----------------------------------------------------------------------------- heavy tails


def heavy_tail_flags(frame: pd.DataFrame, schema: Schema, target: str | None) -> list[Flag]:
    flags = []
    geo = set(schema.names(ColumnKind.LATITUDE, ColumnKind.LONGITUDE))
    for name in numeric_columns(schema, target):
        values = _finite(frame[name])
        if name in geo or len(values) < 20 or len(np.unique(values)) < CAP_MIN_UNIQUE:
            continue
        skew = float(pd.Series(values).skew())
        if not skew > SKEW_THRESHOLD:
            continue
        median, p99, lo = (float(v) for v in np.quantile(values, [0.5, 0.99, 0.0]))
        evidence = (f"skewness {skew:.2f} (> {SKEW_THRESHOLD:g}): median {fmt(median)}, "
                    f"99th percentile {fmt(p99)}, maximum {fmt(float(values.max()), exact=True)}")
        if lo > 0:
            transform = "np.log"
        elif lo == 0:
            transform = "np.log1p"
        else:
            transform = "a Yeo-Johnson PowerTransformer (negative values rule out log)"
        if name == target:
            suggestion = (f"Consider predicting a transformed target: "
                          f"TransformedTargetRegressor(func={transform}, inverse_func=...)"
                          if lo >= 0 else f"Consider transforming the target with {transform}")
        else:
            suggestion = (f"Apply {transform} (FunctionTransformer) before scaling, "
                          f"or bucketize it, so the bulk of the values is not squeezed together")
        flags.append(Flag(name, FlagKind.HEAVY_TAIL, evidence, suggestion,
                          Severity.WARNING, value=skew))
    return flags


# ----------------------------------------------------------------------------- several modes


def find_modes(values: np.ndarray, seed: int = 0) -> list[float]:
    """Locations of the clear modes of ``values`` (kernel density estimate, Scott bandwidth).

    Spikes at the very edges (capped values) are removed first; modes lower than
    ``MODE_MIN_HEIGHT`` of the highest, or not separated by a dip to ``MODE_MAX_DIP`` of the
    lower one, are merged away. Returns one location per mode (one for a unimodal column).
    """
    values = values[np.isfinite(values)]
    if len(values) < MODE_MIN_ROWS or len(np.unique(values)) < MODE_MIN_UNIQUE:
        return []
    for side in ("min", "max"):
        spike = edge_spike(values, side)
        if spike is not None:
            values = values[values != spike[0]]
    if len(values) > MODE_SAMPLE:
        values = np.random.default_rng(seed).choice(values, MODE_SAMPLE, replace=False)
    if np.std(values) == 0:
        return []
    lo, hi = np.quantile(values, [0.005, 0.995])
    if hi <= lo:
        return []
    grid = np.linspace(lo, hi, 256)
    try:
        density = gaussian_kde(values, bw_method="scott")(grid)
    except (np.linalg.LinAlgError, ValueError):
        return []
    top = float(density.max())
    peaks, _ = find_peaks(density, prominence=0.05 * top)
    if len(peaks) == 0:
        return [float(grid[int(np.argmax(density))])]
    kept = [int(p) for p in peaks if density[p] >= MODE_MIN_HEIGHT * top]
    merged: list[int] = []
    for p in kept:
        if merged:
            q = merged[-1]
            dip = float(density[q:p + 1].min())
            if dip > MODE_MAX_DIP * min(density[q], density[p]):
                merged[-1] = p if density[p] > density[q] else q
                continue
        merged.append(p)
    return [float(grid[p]) for p in merged]


def multimodal_flags(frame: pd.DataFrame, schema: Schema, target: str | None) -> list[Flag]:
    flags = []
    geo = set(schema.names(ColumnKind.LATITUDE, ColumnKind.LONGITUDE))
    for name in numeric_columns(schema, target):
        modes = find_modes(_finite(frame[name]))
        if len(modes) < 2:
            continue
        where = ", ".join(fmt(round(m, 2) if abs(m) < 1000 else round(m)) for m in modes)
        evidence = (f"{len(modes)} separate peaks in its distribution, near {where}")
        if name in geo:
            suggestion = ("Values cluster in several regions: add similarity to cluster centres "
                          "(KMeans on latitude/longitude + RBF kernel, the book's "
                          "ClusterSimilarity) rather than using the raw coordinate alone")
        elif name == target:
            suggestion = ("The target mixes several groups: look for a feature that separates "
                          "them, and stratify the train/test split on it")
        else:
            suggestion = ("A linear model sees one slope only: bucketize the column or add RBF "
                          "similarity to each mode, e.g. rbf_kernel(x, [[mode]], gamma=...)")
        flags.append(Flag(name, FlagKind.MULTIMODAL, evidence, suggestion,
                          Severity.INFO, value=float(len(modes))))
    return flags


# ----------------------------------------------------------------------------- useless columns


def constant_flags(frame: pd.DataFrame, schema: Schema, target: str | None) -> list[Flag]:
    flags = []
    n = len(frame)
    for name in frame.columns:
        col = frame[name]
        non_null = col.dropna()
        n_unique = int(non_null.nunique())
        if n_unique == 0:
            flags.append(Flag(str(name), FlagKind.CONSTANT, f"all {n:,} values are missing",
                              "Drop the column: it carries no information", Severity.WARNING,
                              value=1.0))
            continue
        top = non_null.value_counts().iloc[0]
        top_value = non_null.value_counts().index[0]
        share = float(top) / n if n else 0.0
        missing = n - len(non_null)
        if n_unique == 1:
            extra = f" ({missing:,} missing)" if missing else ""
            suggestion = ("Drop the column: it carries no information" if not missing else
                          "Keep only a 'missing' indicator, or drop the column")
            flags.append(Flag(str(name), FlagKind.CONSTANT,
                              f"one distinct value ({_show(top_value)}) in all {len(non_null):,} "
                              f"non-missing rows{extra}", suggestion, Severity.WARNING,
                              value=1.0))
        elif share >= NEAR_CONSTANT_SHARE and name != target:
            flags.append(Flag(str(name), FlagKind.NEAR_CONSTANT,
                              f"{pct(share)} of rows hold the same value ({_show(top_value)}); "
                              f"{n_unique - 1} other value(s) share the remaining "
                              f"{n - int(top):,} rows",
                              "Probably useless as is: drop it, or turn it into a "
                              "'differs from the usual value' indicator if the rare values "
                              "matter", Severity.INFO, value=share))
    return flags


def high_cardinality_flags(frame: pd.DataFrame, schema: Schema, target: str | None) -> list[Flag]:
    flags = []
    for name in schema.names(ColumnKind.CATEGORICAL, exclude=[target] if target else []):
        non_null = frame[name].dropna()
        n_unique = int(non_null.nunique())
        share = n_unique / max(len(non_null), 1)
        many = n_unique > HIGH_CARDINALITY_COUNT
        mostly_unique = len(non_null) >= HIGH_CARDINALITY_MIN_ROWS and share > \
            HIGH_CARDINALITY_SHARE
        if not (many or mostly_unique):
            continue
        counts = non_null.astype(str).value_counts()
        rare = int((counts < 10).sum())
        flags.append(Flag(
            name, FlagKind.HIGH_CARDINALITY,
            f"{n_unique:,} distinct values for {len(non_null):,} rows ({pct(share)} unique); "
            f"{rare:,} values appear fewer than 10 times",
            "One-hot encoding would create too many sparse columns: group rare values "
            "(OneHotEncoder(min_frequency=..., handle_unknown='infrequent_if_exist')), use a "
            "target or ordinal encoding, or replace it with a meaningful number",
            Severity.WARNING, value=float(n_unique)))
    return flags


def id_flags(frame: pd.DataFrame, schema: Schema, target: str | None) -> list[Flag]:
    return [
        Flag(name, FlagKind.ID_LIKE,
             f"{schema.columns[name].n_unique:,} distinct values for {len(frame):,} rows: "
             f"{schema.columns[name].reason}",
             "Do not use it as a feature; it can serve as a stable key for the train/test split "
             "(hash of the ID) and for joining predictions back",
             Severity.INFO)
        for name in schema.names(ColumnKind.ID)
    ]


def duplicate_flags(frame: pd.DataFrame, schema: Schema, target: str | None) -> list[Flag]:
    try:
        n_dup = int(frame.duplicated().sum())
    except TypeError:  # unhashable cells (lists, dicts)
        return []
    if n_dup == 0:
        return []
    share = n_dup / len(frame)
    return [Flag(None, FlagKind.DUPLICATE_ROWS,
                 f"{n_dup:,} rows ({pct(share)}) are exact copies of an earlier row",
                 "Check whether they are genuine repeats; if not, drop_duplicates() before "
                 "splitting, so copies cannot land in both the training and the test set",
                 Severity.WARNING, value=float(n_dup))]


def missing_flags(frame: pd.DataFrame, schema: Schema, target: str | None) -> list[Flag]:
    flags = []
    n = len(frame)
    for name in frame.columns:
        n_missing = int(frame[name].isna().sum())
        if n_missing == 0 or n_missing == n:
            continue
        share = n_missing / n
        kind = schema.kind(str(name))
        if name == target:
            suggestion = "Drop these rows from training and evaluation: they have no label"
        elif share >= MISSING_DROP_SHARE:
            suggestion = ("Mostly missing: drop the column, or keep only a 'was missing' "
                          "indicator")
        elif kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN, ColumnKind.TEXT):
            suggestion = ("Impute with the most frequent value or a separate 'missing' "
                          "category (SimpleImputer(strategy='most_frequent'))")
        else:
            suggestion = ("Impute with the median learnt on the training set "
                          "(SimpleImputer(strategy='median')); add a missing indicator if "
                          "missingness may carry signal")
        flags.append(Flag(str(name), FlagKind.MISSING_VALUES,
                          f"{n_missing:,} of {n:,} values missing ({pct(share)})",
                          suggestion, Severity.WARNING if name == target else Severity.INFO,
                          value=share))
    return flags


# ----------------------------------------------------------------------------- mixed types


def _value_type(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, int | float | np.integer | np.floating):
        return "number"
    if isinstance(value, str):
        return "str"
    return type(value).__name__


def mixed_type_flags(frame: pd.DataFrame, schema: Schema, target: str | None,
                     sample: int = 20000) -> list[Flag]:
    """Object/string columns holding both numbers (or numeric text) and non-numeric text."""
    flags = []
    skip = set(schema.names(ColumnKind.TEXT, ColumnKind.ID, ColumnKind.DATETIME))
    for name in frame.columns:
        col = frame[name]
        if name in skip or pd.api.types.is_numeric_dtype(col) or \
                pd.api.types.is_bool_dtype(col) or pd.api.types.is_datetime64_any_dtype(col):
            continue
        values = col.dropna()
        if len(values) > sample:
            values = values.sample(sample, random_state=0)
        if values.empty:
            continue
        types = values.map(_value_type)
        strings = values[types == "str"].astype(str)
        numeric_text = pd.to_numeric(strings.str.strip(), errors="coerce").notna()
        words = strings[~numeric_text.to_numpy()]
        numbers = values[(types == "number").to_numpy()]
        number_text = strings[numeric_text.to_numpy()]
        n_numberlike = len(numbers) + len(number_text)
        py_types = sorted(set(types))
        if not ((n_numberlike and len(words)) or len(py_types) > 1):
            continue
        parts = []
        if len(numbers):
            parts.append(f"{len(numbers):,} numbers (e.g. {_examples(numbers)})")
        if len(number_text):
            parts.append(f"{len(number_text):,} numeric strings (e.g. {_examples(number_text)})")
        if len(words):
            parts.append(f"{len(words):,} non-numeric strings (e.g. {_examples(words)})")
        others = [t for t in py_types if t not in ("number", "str")]
        if others:
            parts.append("values of type " + ", ".join(others))
        of = f" of {len(values):,} sampled values" if len(col.dropna()) > sample else ""
        if n_numberlike >= len(words):
            suggestion = ("Probably a numeric column with stray entries: convert with "
                          "pd.to_numeric(errors='coerce') so the text entries become missing "
                          "values, after checking what they mean")
        else:
            suggestion = ("Make the type uniform: cast every value to str so encoders see one "
                          "type, and check whether the numeric entries are data-entry errors")
        flags.append(Flag(str(name), FlagKind.MIXED_TYPES,
                          "mixed value types" + of + ": " + "; ".join(parts), suggestion,
                          Severity.WARNING, value=float(n_numberlike)))
    return flags


def _show(value: object, width: int = 30) -> str:
    text = repr(value) if isinstance(value, str) else fmt(value) \
        if isinstance(value, int | float | np.integer | np.floating) and \
        not isinstance(value, bool | np.bool_) else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _examples(values: pd.Series, k: int = 3) -> str:
    seen: list[str] = []
    for v in values:
        shown = repr(v) if isinstance(v, str) else str(v)
        if shown not in seen:
            seen.append(shown)
        if len(seen) == k:
            break
    return ", ".join(seen)


#: The rules above in words, for the report.
RULES: list[str] = [
    f"capped: ≥ {CAP_MIN_COUNT} rows exactly at the minimum or maximum, at least "
    f"{CAP_MIN_RATIO:g}× more than any of the 5 nearest values, and ≥ {pct(CAP_MIN_SHARE)} of "
    f"the rows (≥ {pct(CAP_MIN_SHARE_STRONG)} when ≥ {CAP_STRONG_RATIO:g}× the neighbours); "
    f"columns with ≥ {CAP_MIN_UNIQUE} distinct values",
    f"heavy_tail: skewness > {SKEW_THRESHOLD:g} (right tail)",
    f"multimodal: ≥ 2 peaks in a kernel density estimate (≤ {MODE_SAMPLE:,} rows), each ≥ "
    f"{pct(MODE_MIN_HEIGHT)} of the highest, separated by a dip below {pct(MODE_MAX_DIP)} of the "
    f"lower peak; edge spikes (caps) removed first",
    f"constant / near_constant: one distinct value / one value in ≥ {pct(NEAR_CONSTANT_SHARE)} "
    f"of the rows",
    f"high_cardinality: a category column with > {HIGH_CARDINALITY_COUNT} distinct values or > "
    f"{pct(HIGH_CARDINALITY_SHARE)} unique values",
    "id_like: the schema calls the column an identifier",
    "duplicate_rows: rows identical to an earlier row in every column",
    "mixed_types: a text/object column holding both numbers (or numeric strings) and other "
    "strings, or values of several Python types",
    f"missing_values: any missing value (suggests dropping the column at ≥ "
    f"{pct(MISSING_DROP_SHARE)} missing)",
]

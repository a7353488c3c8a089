"""Schema inference: what kind of thing each column holds, and why we think so.

The kind decides how a column is explored and prepared: numbers are imputed and scaled,
categories one-hot encoded, identifiers never used as features, latitude/longitude pairs
turned into geographic features. Each decision carries a ``reason`` a person can read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd


class ColumnKind(StrEnum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    TEXT = "text"
    ID = "id"
    LATITUDE = "latitude"
    LONGITUDE = "longitude"


#: Kinds a model can use as numbers once imputed (geo columns stay numeric too).
NUMERIC_KINDS = (ColumnKind.NUMERIC, ColumnKind.LATITUDE, ColumnKind.LONGITUDE)

_CAMEL_ID = re.compile(r"[a-z](Id|ID)$")  # PassengerId, customerID
_ID_NAME = re.compile(
    r"(^id$|_id$|^id_|(?<![a-z])id(?![a-z])|uuid|guid|^key$|_key$|identifier)", re.I)
_LAT_NAME = re.compile(r"^(lat|latitude)$|(^|_)lat(itude)?($|_)", re.I)
_LON_NAME = re.compile(r"^(lon|lng|long|longitude)$|(^|_)(lon|lng|long|longitude)($|_)", re.I)
_BOOL_STRINGS = {"true", "false", "yes", "no", "y", "n", "t", "f"}

#: A string column with at most this many distinct values (or this share of rows) is a category.
MAX_CATEGORY_SHARE = 0.5
TEXT_MIN_MEAN_WORDS = 4.0


@dataclass(frozen=True)
class ColumnSchema:
    name: str
    kind: ColumnKind
    dtype: str
    n_missing: int
    n_unique: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = str(self.kind)
        return d


@dataclass
class Schema:
    """Column kinds of one table, in column order, plus detected latitude/longitude pairs."""

    columns: dict[str, ColumnSchema]
    geo_pairs: list[tuple[str, str]] = field(default_factory=list)
    n_rows: int = 0

    def kind(self, name: str) -> ColumnKind:
        return self.columns[name].kind

    def names(self, *kinds: ColumnKind, exclude: Iterable[str] = ()) -> list[str]:
        skip = set(exclude)
        return [c.name for c in self.columns.values() if c.kind in kinds and c.name not in skip]

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_rows": self.n_rows,
            "columns": [c.to_dict() for c in self.columns.values()],
            "geo_pairs": [list(p) for p in self.geo_pairs],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        cols = {
            c["name"]: ColumnSchema(**{**c, "kind": ColumnKind(c["kind"])}) for c in data["columns"]
        }
        pairs = [(p[0], p[1]) for p in data.get("geo_pairs", [])]
        return cls(columns=cols, geo_pairs=pairs, n_rows=int(data.get("n_rows", 0)))


def infer_schema(frame: pd.DataFrame, target: str | Iterable[str] | None = None,
                 ids: Iterable[str | None] = ()) -> Schema:
    """Infer each column's kind; the target(s) are described but never called IDs.

    ``ids``: columns the user declared as row identifiers (``data.id_column``): always IDs,
    so they key rows but never become features.
    """
    targets = {target} if isinstance(target, str) else set(target or ())
    declared = {c for c in ids if c is not None}
    columns: dict[str, ColumnSchema] = {}
    for name in frame.columns:
        col = frame[name]
        if name in declared and name not in targets:
            kind, reason = ColumnKind.ID, "declared as the id column (data.id_column)"
        else:
            kind, reason = _infer_kind(str(name), col, len(frame), is_target=name in targets)
        columns[str(name)] = ColumnSchema(
            name=str(name),
            kind=kind,
            dtype=str(col.dtype),
            n_missing=int(col.isna().sum()),
            n_unique=int(col.nunique(dropna=True)),
            reason=reason,
        )
    pairs = _geo_pairs(columns, targets)
    # A lat/long-looking column with no partner is just a number.
    paired = {c for p in pairs for c in p}
    for name, info in list(columns.items()):
        if info.kind in (ColumnKind.LATITUDE, ColumnKind.LONGITUDE) and name not in paired:
            columns[name] = ColumnSchema(
                **{**info.to_dict(), "kind": ColumnKind.NUMERIC,
                   "reason": info.reason + ", but no matching partner column: plain number"}
            )
    return Schema(columns=columns, geo_pairs=pairs, n_rows=len(frame))


def _infer_kind(
    name: str, col: pd.Series, n_rows: int, *, is_target: bool
) -> tuple[ColumnKind, str]:
    non_null = col.dropna()
    n_unique = int(non_null.nunique())
    if pd.api.types.is_bool_dtype(col):
        return ColumnKind.BOOLEAN, "boolean dtype"
    if pd.api.types.is_datetime64_any_dtype(col):
        return ColumnKind.DATETIME, "datetime dtype"
    if pd.api.types.is_numeric_dtype(col):
        return _numeric_kind(name, non_null, n_rows, n_unique, is_target=is_target)
    # Strings (object or pandas' str dtype) and anything else.
    values = non_null.astype(str)
    if n_unique == 0:
        return ColumnKind.CATEGORICAL, "all values missing"
    lowered = set(values.str.strip().str.lower().unique()[:3])
    if n_unique <= 2 and lowered <= _BOOL_STRINGS:
        return ColumnKind.BOOLEAN, f"two values {sorted(lowered)}"
    if not is_target and _looks_like_datetime(values):
        return ColumnKind.DATETIME, "strings that parse as dates"
    unique_share = n_unique / max(len(non_null), 1)
    mean_words = float(values.head(1000).str.split().str.len().mean())
    if not is_target and unique_share > MAX_CATEGORY_SHARE and mean_words >= TEXT_MIN_MEAN_WORDS:
        return ColumnKind.TEXT, f"free text ({mean_words:.1f} words per value on average)"
    if not is_target and unique_share >= 0.99 and len(non_null) >= 20 and mean_words < 2:
        return ColumnKind.ID, f"{n_unique} distinct values for {len(non_null)} rows: an identifier"
    return ColumnKind.CATEGORICAL, f"{n_unique} distinct values"


def _numeric_kind(
    name: str, non_null: pd.Series, n_rows: int, n_unique: int, *, is_target: bool
) -> tuple[ColumnKind, str]:
    if n_unique <= 2 and set(np.unique(non_null.to_numpy())) <= {0, 1}:
        return ColumnKind.BOOLEAN, "only 0/1 values"
    if is_target:
        return ColumnKind.NUMERIC, "numeric target"
    lo, hi = (float(non_null.min()), float(non_null.max())) if len(non_null) else (0.0, 0.0)
    if _LAT_NAME.search(name) and lo >= -90 and hi <= 90:
        return ColumnKind.LATITUDE, "named like a latitude, values within ±90"
    if _LON_NAME.search(name) and lo >= -180 and hi <= 180:
        return ColumnKind.LONGITUDE, "named like a longitude, values within ±180"
    values = non_null.to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    integral = pd.api.types.is_integer_dtype(non_null) or bool(
        len(values) and np.all(np.mod(values, 1) == 0)
    )
    all_unique = len(non_null) >= 20 and n_unique == len(non_null) == n_rows
    if integral and all_unique:
        if _ID_NAME.search(name) or _CAMEL_ID.search(name):
            return ColumnKind.ID, "named like an identifier, one distinct integer per row"
        steps = np.diff(np.sort(non_null.to_numpy()))
        if len(steps) and np.all(steps == 1):
            return ColumnKind.ID, "consecutive integers, one per row: a row number"
    return ColumnKind.NUMERIC, f"numeric ({non_null.dtype})"


def _looks_like_datetime(values: pd.Series) -> bool:
    sample = values.head(200)
    # Require digits and a separator: bare words like "INLAND" must never parse as dates.
    if not sample.str.contains(r"\d{1,4}[-/:.]\d{1,2}", regex=True).mean() > 0.9:
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() > 0.9)


def _geo_pairs(columns: dict[str, ColumnSchema], targets: set[str]) -> list[tuple[str, str]]:
    lats = [c for c in columns.values() if c.kind == ColumnKind.LATITUDE and c.name not in targets]
    lons = [c for c in columns.values() if c.kind == ColumnKind.LONGITUDE and c.name not in targets]
    pairs: list[tuple[str, str]] = []
    used: set[str] = set()
    for lat in lats:
        stem = _LAT_NAME.sub("", lat.name)
        free = [lo for lo in lons if lo.name not in used]
        best = next((lo for lo in free if _LON_NAME.sub("", lo.name) == stem), None) or next(
            iter(free), None)
        if best is not None:
            pairs.append((lat.name, best.name))
            used.add(best.name)
    return pairs

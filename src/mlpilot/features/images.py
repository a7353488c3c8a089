"""Tables whose rows are images: how to recognise them, and the one transformer they need.

Fashion-MNIST as a table is 784 pixel columns plus a label. The per-column analyses made
for ordinary tables (skew and log checks, ratios of counts chosen by cross-validation,
histograms, leakage trees) are meaningless for pixels and far too slow for hundreds of
columns. Recognising the image table lets exploration draw images instead, and preparation
do what the book does (``X / 255``, chapter 10) in one step.

A table holds images when either

* at least :data:`MIN_NAMED_PIXELS` numeric columns are named like pixels (``pixel0``,
  ``px_12``, ``pixel_3_7``) with no negative value, or
* all its numeric feature columns, at least :data:`MIN_UNNAMED_PIXELS` of them and a square
  number (28 × 28 = 784), are numbered (``0`` … ``783``, ``x0`` … ``x783``) and hold whole
  numbers in 0–255 or fractions in 0–1.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from mlpilot.data.schema import ColumnKind, Schema

__all__ = ["ImageLayout", "PixelScaler", "column_ranges", "detect_image_table", "pixel_images"]

#: Pixel-named columns needed to call a table an image table (4 × 4 at least).
MIN_NAMED_PIXELS = 16
#: Columns needed when the names say nothing (8 × 8, sklearn's digits, at least).
MIN_UNNAMED_PIXELS = 64
_PIXEL_NAME = re.compile(r"^(?:pixels?|pix|px)[_\-\s]?(\d+)(?:[_x\-](\d+))?$", re.I)
_PIXEL_KINDS = (ColumnKind.NUMERIC, ColumnKind.BOOLEAN)


@dataclass(frozen=True)
class ImageLayout:
    """Which columns are pixels, the image shape they form, and their largest value.

    ``shape`` is ``(height, width)``, or ``None`` when the count is not a square and the
    names give no row/column; ``max_value`` is ``None`` when the range is unknown (the
    scaler then learns it).
    """

    columns: tuple[str, ...]
    shape: tuple[int, int] | None
    max_value: float | None
    reason: str
    has_missing: bool = False

    @property
    def n_pixels(self) -> int:
        return len(self.columns)

    @property
    def span(self) -> str:
        """``pixel0 … pixel783`` (the first and last pixel columns)."""
        if len(self.columns) == 1:
            return self.columns[0]
        return f"{self.columns[0]} … {self.columns[-1]}"

    @property
    def description(self) -> str:
        """``784 pixel columns (pixel0 … pixel783) forming 28×28 images, values 0–255``."""
        shape = (f" forming {self.shape[0]}×{self.shape[1]} images" if self.shape
                 else " (not a square: drawn as no image)")
        values = "" if self.max_value is None else f", values 0–{self.max_value:g}"
        return f"{self.n_pixels:,} pixel columns ({self.span}){shape}{values}"

    def to_dict(self) -> dict[str, Any]:
        return {"columns": list(self.columns),
                "shape": None if self.shape is None else list(self.shape),
                "max_value": self.max_value, "reason": self.reason,
                "has_missing": self.has_missing}


def column_ranges(frame: pd.DataFrame, columns: Iterable[str] | None = None
                  ) -> tuple[dict[str, float], dict[str, float]]:
    """Minimum and maximum of each numeric column (NaN ignored), computed in one pass."""
    names = [c for c in (frame.columns if columns is None else columns)
             if pd.api.types.is_numeric_dtype(frame[c]) and not
             pd.api.types.is_bool_dtype(frame[c])]
    if not names:
        return {}, {}
    values = frame[names]
    lows, highs = values.min(skipna=True), values.max(skipna=True)
    mins = {str(c): float(v) for c, v in lows.items() if pd.notna(v)}
    maxs = {str(c): float(v) for c, v in highs.items() if pd.notna(v)}
    return mins, maxs


def detect_image_table(schema: Schema, targets: Sequence[str] | str | None = None, *,
                       minimums: Mapping[str, float] | None = None,
                       maximums: Mapping[str, float] | None = None) -> ImageLayout | None:
    """The table's :class:`ImageLayout`, or ``None`` when its rows are not images.

    ``minimums``/``maximums`` (per column, e.g. from the exploration statistics) make the
    range checks possible; without them only the dtype tells (``uint8``: 0–255).
    """
    skip = {targets} if isinstance(targets, str) else set(targets or ())
    minimums, maximums = minimums or {}, maximums or {}
    numeric = [c for c in schema.columns.values()
               if c.name not in skip and c.kind in _PIXEL_KINDS and _numeric_dtype(c.dtype)]
    named = [c for c in numeric if _PIXEL_NAME.match(c.name)
             and minimums.get(c.name, 0.0) >= 0]
    if len(named) >= MIN_NAMED_PIXELS:
        columns = _in_pixel_order([c.name for c in named])
        reason = f"{len(columns):,} numeric columns named like pixels ({columns[0]}, …)"
    else:
        side = math.isqrt(len(numeric))
        if len(numeric) < MIN_UNNAMED_PIXELS or side * side != len(numeric):
            return None
        columns = [c.name for c in numeric]
        ranges = {_pixel_range(c.name, c.dtype, minimums, maximums) for c in numeric}
        if len(ranges) != 1 or None in ranges or not _indexed_names(columns):
            return None
        reason = (f"{len(columns):,} = {side}×{side} numbered numeric columns, all with "
                  f"{ranges.pop()}")
    dtypes = {schema.columns[c].dtype for c in columns}
    missing = any(schema.columns[c].n_missing for c in columns)
    return ImageLayout(tuple(columns), _shape(columns), _max_value(columns, dtypes, maximums),
                       reason, has_missing=missing)


def _numeric_dtype(dtype: str) -> bool:
    return dtype.lower().startswith(("int", "uint", "float", "bool"))


def _pixel_range(name: str, dtype: str, minimums: Mapping[str, float],
                 maximums: Mapping[str, float]) -> str | None:
    """What the values of an unnamed column look like, if they look like pixels.

    ``"whole numbers in 0–255"`` or ``"values in 0–1"`` (floats), else ``None``. Without
    statistics only the dtype tells (``uint8``).
    """
    dtype = dtype.lower()
    integer = dtype.startswith(("int", "uint"))
    low, high = minimums.get(name), maximums.get(name)
    if low is None or high is None:
        return "whole numbers in 0–255" if dtype == "uint8" else None
    if low < 0:
        return None
    if integer and high <= 255:
        return "whole numbers in 0–255"
    if dtype.startswith("float") and high <= 1:
        return "values in 0–1"
    return None


def _indexed_names(names: Sequence[str]) -> bool:
    """Names are numbers (``0``…``783``) or one prefix and consecutive numbers (``x0``…)."""
    parts = [re.fullmatch(r"(.*?)(\d+)", n) for n in names]
    if any(p is None for p in parts):
        return False
    prefixes = {p.group(1) for p in parts if p}
    numbers = sorted(int(p.group(2)) for p in parts if p)
    return len(prefixes) == 1 and numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def _indices(name: str) -> tuple[int, ...] | None:
    match = _PIXEL_NAME.match(name)
    if match is None:
        return None
    return tuple(int(g) for g in match.groups() if g is not None)


def _in_pixel_order(names: list[str]) -> list[str]:
    """Pixel names sorted by their numbers (``pixel2`` before ``pixel10``)."""
    keys = [_indices(n) for n in names]
    if any(k is None for k in keys) or len({len(k) for k in keys if k}) != 1:
        return names
    return [n for _, n in sorted(zip(keys, names, strict=True), key=lambda kn: kn[0])]


def _shape(columns: Sequence[str]) -> tuple[int, int] | None:
    keys = [_indices(c) for c in columns]
    if keys and all(k is not None and len(k) == 2 for k in keys):
        rows = max(k[0] for k in keys if k) + 1
        cols = max(k[1] for k in keys if k) + 1
        if rows * cols == len(columns):
            return rows, cols
    side = math.isqrt(len(columns))
    return (side, side) if side * side == len(columns) else None


def _max_value(columns: Sequence[str], dtypes: set[str], maximums: Mapping[str, float]
               ) -> float | None:
    """What the pixels are divided by: the dtype's range for 8-bit images (the book's 255),
    1 for values already in 0–1, else the largest value seen; None when unknown."""
    if dtypes == {"uint8"}:
        return 255.0
    if dtypes == {"bool"}:
        return 1.0
    known = [maximums[c] for c in columns if c in maximums]
    if not known or len(known) < len(columns):
        return None
    return natural_max(max(known))


def natural_max(observed: float) -> float:
    """1 for values within 0–1 (or none above 0), else the largest value itself."""
    return 1.0 if not observed > 1 else float(observed)


def pixel_images(frame: pd.DataFrame, layout: ImageLayout) -> np.ndarray:
    """The rows of ``frame`` as an ``(n, height, width)`` float array (missing pixels: 0)."""
    if layout.shape is None:
        raise ValueError("the pixel columns do not form a rectangle: no image shape")
    values = frame.loc[:, list(layout.columns)].to_numpy(dtype="float32", na_value=0.0)
    return values.reshape(len(frame), *layout.shape)


class PixelScaler(TransformerMixin, BaseEstimator):
    """Divide every pixel by one number, so values lie in 0–1: the book's ``X / 255``.

    One number for all pixels, not one per column (a ``StandardScaler`` would blow up the
    nearly constant border pixels). ``max_value=None`` learns it: the largest value of the
    training pixels, or 1 when they already lie within 0–1. Whole-number input comes out as
    float32 (what neural nets use, half the memory); float input keeps its dtype.
    """

    def __init__(self, max_value: float | None = None) -> None:
        self.max_value = max_value

    def fit(self, X: Any, y: Any = None) -> Self:
        values = validate_data(self, X, ensure_all_finite="allow-nan", reset=True,
                               dtype=None)
        values = _as_float(values)
        if self.max_value is not None:
            if not self.max_value > 0:
                raise ValueError(f"max_value must be positive, got {self.max_value!r}")
            self.max_value_ = float(self.max_value)
        else:
            top = float(np.nanmax(values)) if values.size and not np.isnan(values).all() else 0.0
            self.max_value_ = natural_max(top)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "max_value_")
        values = _as_float(validate_data(self, X, ensure_all_finite="allow-nan", reset=False,
                                         dtype=None))
        return values / values.dtype.type(self.max_value_)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "max_value_")
        if input_features is not None:
            return np.asarray(input_features, dtype=object)
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            return np.asarray(names, dtype=object)
        return np.asarray([f"x{i}" for i in range(self.n_features_in_)], dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _as_float(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        return values
    return np.asarray(values, dtype="float32")

"""Transformers that make raw tables safe to feed to a model.

Real data is dirty, and it gets dirtier after deployment: a numeric column read from a
CSV or a web form holds ``"n/a"`` or ``"12 "``, a ratio computed upstream holds ``inf``,
a column is renamed. :class:`DataCleaner`, the first step of every mlpilot preprocessing
pipeline, turns what can be turned into numbers into numbers and everything else into
missing values (which the imputer downstream handles), so that a bad value never crashes
a fit or a prediction. Each time it does so it says which columns were affected with one
:class:`~mlpilot.errors.DataQualityWarning`: silent fixes would hide a broken data feed.

:class:`DatetimeParts` turns dates (datetime columns, or strings such as
``"2024-03-01 08:00"``) into the numeric parts a model can use: year, month, day...

Both follow the house style of :mod:`mlpilot.features.transformers`: hyperparameters in
``__init__`` only, learned state ending in ``_``, ``get_feature_names_out`` and hence
``set_output(transform="pandas")``, ``Pipeline`` and ``ColumnTransformer`` support.
"""

from __future__ import annotations

import datetime as _dt
import numbers
import warnings
from collections.abc import Hashable, Sequence
from typing import Any, Self

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from pandas.api.types import is_bool_dtype, is_datetime64_any_dtype, is_numeric_dtype
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted, validate_data

from mlpilot.errors import DataQualityWarning
from mlpilot.features.transformers import _column_index, _input_names

__all__ = ["DATETIME_PARTS", "CategoryCodes", "DataCleaner", "DatetimeParts"]

#: The parts :class:`DatetimeParts` can extract (names of pandas' ``.dt`` attributes).
DATETIME_PARTS: tuple[str, ...] = (
    "year",
    "quarter",
    "month",
    "day",
    "dayofweek",
    "dayofyear",
    "hour",
    "minute",
    "second",
)

# pandas 3 deprecates the short spellings of these ``.dt`` attributes
_ACCESSORS = {"dayofweek": "day_of_week", "dayofyear": "day_of_year"}

_MAX_EXAMPLES = 3


# --- helpers shared by both transformers ----------------------------------------------------


#: Categorical columns with more distinct values than this are not checked for new ones.
MAX_TRACKED_CATEGORIES = 1000

def _as_frame(estimator: BaseEstimator, X: Any, *, reset: bool) -> tuple[pd.DataFrame, bool]:
    """X as a DataFrame (no copy of the data) and whether X was one.

    DataFrames keep their columns and dtypes (``validate_data`` only records or checks
    the names and the number of columns); anything else goes through ``check_array``
    with ``dtype=None`` (object arrays of strings stay strings) and NaN/inf allowed.
    """
    if isinstance(X, pd.DataFrame):
        validate_data(estimator, X, reset=reset, skip_check_array=True)
        if reset:
            name = type(estimator).__name__
            if X.shape[0] < 1:
                raise ValueError(
                    f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 "
                    f"is required by {name}."
                )
            if X.shape[1] < 1:
                raise ValueError(
                    f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 "
                    f"is required by {name}."
                )
            if not X.columns.is_unique:
                raise ValueError(f"{name} needs unique column names, got duplicates in X")
        return X, True
    array = validate_data(estimator, X, reset=reset, dtype=None, ensure_all_finite=False)
    return pd.DataFrame(array, copy=False), False


def _column_names(estimator: BaseEstimator) -> list[str]:
    """Names used in messages: the fitted column names, else ``x0``, ``x1``..."""
    return [str(name) for name in _input_names(estimator, None)]


def _show(value: Any) -> str:
    """A short repr of a bad value for a warning (``'abc'``, ``{'foo': 'bar'}``...)."""
    text = repr(str(value)) if isinstance(value, str) else repr(value)
    return text if len(text) <= 30 else text[:27] + "..."


def _examples(values: pd.Series) -> str:
    """Up to ``_MAX_EXAMPLES`` distinct values, as ``('abc', 'n/a', ...)``."""
    shown: list[str] = []
    more = False
    for value in values:
        text = _show(value)
        if text in shown:
            continue
        if len(shown) == _MAX_EXAMPLES:
            more = True
            break
        shown.append(text)
    return "(" + ", ".join(shown) + (", ..." if more else "") + ")"


def _count(n: int, what: str) -> str:
    return f"{n} {what} value{'s' if n != 1 else ''}"


def _warn(estimator: BaseEstimator, method: str, notes: list[str]) -> None:
    """One DataQualityWarning for everything a call found (nothing when it found nothing)."""
    if notes and getattr(estimator, "warn", True):
        message = f"{type(estimator).__name__}.{method}: " + "; ".join(notes)
        # point at the caller of fit / transform (transform is wrapped by set_output)
        warnings.warn(message, DataQualityWarning, stacklevel=3 if method == "fit" else 4)


# --- DataCleaner -----------------------------------------------------------------------------


class _ColumnwiseMixin:
    """For transformers that change values column by column: the same names come out, and
    any input (strings, missing values) goes in."""

    def get_feature_names_out(self, input_features: ArrayLike | None = None) -> np.ndarray:
        return _input_names(self, input_features)  # type: ignore[arg-type]

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags


class DataCleaner(_ColumnwiseMixin, TransformerMixin, BaseEstimator):
    """Make a table safe for the rest of the pipeline: bad numbers become missing values.

    A model trained on clean data must still predict when a numeric column arrives with
    ``"n/a"``, ``"12"`` (a string) or ``inf`` in it; scikit-learn would raise. So, at fit
    and at transform, in every numeric column:

    * strings and other objects are converted with ``pd.to_numeric(errors="coerce")``:
      ``"12"`` becomes 12, what cannot be parsed becomes NaN;
    * ``inf`` and ``-inf`` become NaN (nullable ``Int64``/``Float64`` become float64).

    Each call that changed something issues one :class:`~mlpilot.errors.DataQualityWarning`
    naming the columns, the counts and a few of the bad values, so that a broken data
    feed is noticed. Other columns pass through unchanged. At transform, columns are
    matched by name: a column seen at fit that is missing raises a ``ValueError`` naming
    it, extra columns are dropped (and named in the warning), and the output has the fit
    columns in the fit order. All-missing columns are left as they are.

    NumPy input is accepted too, its columns matched by position and used as given: a
    numeric array only gets its ``inf`` replaced, an object array has no numeric column
    (unless ``numeric_columns`` names some) and passes through. The output is a DataFrame
    for DataFrame input, else an array.

    Parameters
    ----------
    numeric_columns : the columns to treat as numeric (names, or indices for NumPy
        input); ``None`` means the columns whose dtype is numeric when ``fit`` is called.
        Pass it when a numeric training column was read as text because of bad values.
    warn : issue the DataQualityWarning (``False``: clean silently).
    """

    def __init__(
        self, numeric_columns: Sequence[Hashable] | None = None, warn: bool = True
    ) -> None:
        self.numeric_columns = numeric_columns
        self.warn = warn

    def fit(self, X: pd.DataFrame | ArrayLike, y: Any = None) -> Self:
        """Record the columns and which are numeric; warn about bad values already there."""
        frame = self._fit(X)
        _, notes = self._clean(frame)
        _warn(self, "fit", notes)
        return self

    def fit_transform(
        self, X: pd.DataFrame | ArrayLike, y: Any = None, **fit_params: Any
    ) -> pd.DataFrame | np.ndarray:
        """Fit and clean X in one pass (one warning, not one for fit and one for transform)."""
        frame = self._fit(X)
        cleaned, notes = self._clean(frame)
        _warn(self, "fit_transform", notes)
        return self._output(cleaned, X)

    def transform(self, X: pd.DataFrame | ArrayLike) -> pd.DataFrame | np.ndarray:
        """X with bad numbers as NaN: a DataFrame for DataFrame input, else an array."""
        check_is_fitted(self, "numeric_columns_")
        frame, extra = self._align(X)
        cleaned, notes = self._clean(frame)
        notes += self._unseen(frame)
        if extra:
            notes.append(
                f"column{'s' if len(extra) > 1 else ''} "
                f"{', '.join(_show(c) for c in extra)} not seen during fit dropped"
            )
        _warn(self, "transform", notes)
        return self._output(cleaned, X)

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # -- internals

    def _fit(self, X: Any) -> pd.DataFrame:
        """Set n_features_in_, feature_names_in_, numeric_columns_; return X as a frame."""
        frame, _ = _as_frame(self, X, reset=True)
        if self.numeric_columns is None:
            positions = [j for j, dtype in enumerate(frame.dtypes) if is_numeric_dtype(dtype)]
        else:
            if isinstance(self.numeric_columns, str | bytes) or not isinstance(
                self.numeric_columns, Sequence | np.ndarray | pd.Index
            ):
                raise TypeError(
                    "numeric_columns must be a list of column names (or indices), got "
                    f"{self.numeric_columns!r}"
                )
            positions = [
                _column_index(self, key, "numeric_columns") for key in self.numeric_columns
            ]
            positions = list(dict.fromkeys(positions))  # given order, no repeats
        names = getattr(self, "feature_names_in_", None)
        self.numeric_columns_: list[Hashable] = (
            [str(names[j]) for j in positions] if names is not None else positions
        )
        # Categories seen at fit, so that new ones are named at prediction time.
        numeric = set(positions)
        self.categories_: dict[int, set[str]] = {}
        for j in range(frame.shape[1]):
            if j in numeric or is_numeric_dtype(frame.dtypes.iloc[j]):
                continue
            values = frame.iloc[:, j].dropna()
            if values.nunique() <= MAX_TRACKED_CATEGORIES:
                self.categories_[j] = set(values.astype(str).unique())
        return frame.set_axis(range(frame.shape[1]), axis=1)

    def _unseen(self, frame: pd.DataFrame) -> list[str]:
        """One note per categorical column holding values not seen during fit."""
        names = _column_names(self)
        notes = []
        for j, known in getattr(self, "categories_", {}).items():
            values = frame.iloc[:, j].dropna().astype(str)
            new = values[~values.isin(known)]
            if len(new):
                notes.append(f"column {names[j]!r}: {_count(len(new), 'unseen category')} "
                             f"{_examples(new)} encoded as unknown")
        return notes

    def _align(self, X: Any) -> tuple[pd.DataFrame, list[Hashable]]:
        """X with the fit columns, in the fit order, labelled 0..n-1; and the extra columns."""
        names = getattr(self, "feature_names_in_", None)
        if isinstance(X, pd.DataFrame) and names is not None:
            if not X.columns.is_unique:
                raise ValueError("DataCleaner needs unique column names, got duplicates in X")
            present = set(X.columns)
            missing = [name for name in names if name not in present]
            if missing:
                raise ValueError(
                    f"DataCleaner: column{'s' if len(missing) > 1 else ''} "
                    f"{', '.join(_show(c) for c in missing)} seen during fit "
                    f"{'are' if len(missing) > 1 else 'is'} missing from X "
                    f"(X has {len(X.columns)} columns; fit saw {len(names)})"
                )
            known = set(names)
            extra = [c for c in X.columns if c not in known]
            frame = X.loc[:, list(names)]
        else:
            # No names to match (NumPy at fit or now): sklearn's positional rules apply,
            # including its warning when only one side has names.
            frame, _ = _as_frame(self, X, reset=False)
            extra = []
        return frame.set_axis(range(frame.shape[1]), axis=1), extra

    def _clean(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
        """Coerce the numeric columns of a 0..n-1 labelled frame; say what changed."""
        names = _column_names(self)
        if getattr(self, "feature_names_in_", None) is not None:
            lookup = {name: j for j, name in enumerate(names)}
            positions = [lookup[str(c)] for c in self.numeric_columns_]
        else:  # no names at fit: numeric_columns_ holds positions
            positions = [int(c) for c in self.numeric_columns_]  # type: ignore[call-overload]
        notes: list[str] = []
        cleaned = frame
        for j in positions:
            column = frame.iloc[:, j]
            new, found = self._coerce(column)
            if new is not column:
                if cleaned is frame:
                    cleaned = frame.copy(deep=False)
                cleaned.isetitem(j, new)
            if found:
                notes.append(f"column {names[j]!r}: " + ", ".join(found))
        return cleaned, notes

    @staticmethod
    def _coerce(column: pd.Series) -> tuple[pd.Series, list[str]]:
        """The column as numbers (NaN for bad values, inf included) and what was found."""
        found: list[str] = []
        dtype = column.dtype
        if is_bool_dtype(dtype):
            return column, found
        if is_numeric_dtype(dtype):
            values = column
            if not isinstance(dtype, np.dtype):  # nullable / pyarrow: float64 with NaN
                values = pd.Series(
                    column.to_numpy(dtype=np.float64, na_value=np.nan),
                    index=column.index,
                    name=column.name,
                )
        else:
            as_object = column.astype(object)
            values = pd.to_numeric(as_object, errors="coerce")
            if not is_numeric_dtype(values.dtype) or not isinstance(values.dtype, np.dtype):
                values = pd.Series(
                    [DataCleaner._to_float(v) for v in values],
                    index=column.index,
                    name=column.name,
                    dtype=np.float64,
                )
            bad = values.isna().to_numpy() & column.notna().to_numpy()
            if bad.any():
                found.append(
                    _count(int(bad.sum()), "non-numeric")
                    + f" {_examples(as_object[bad])} treated as missing"
                )
        if values.dtype.kind in "fc":
            infinite = np.isinf(values.to_numpy())
            if infinite.any():
                values = values.mask(infinite)
                found.append(_count(int(infinite.sum()), "infinite") + " treated as missing")
        return values, found

    @staticmethod
    def _to_float(value: Any) -> float:
        try:
            return float(value)
        except (TypeError, ValueError, OverflowError):
            return np.nan

    def _output(self, cleaned: pd.DataFrame, X: Any) -> pd.DataFrame | np.ndarray:
        """A DataFrame for DataFrame input, else a NumPy array.

        The DataFrame's columns are ``get_feature_names_out()``, as with
        ``set_output(transform="pandas")``, except that labels which are not feature
        names (``0, 1, 2`` from ``read_csv(header=None)``) are kept when fit saw them too.
        """
        if not isinstance(X, pd.DataFrame):
            return cleaned.to_numpy()
        fit_had_names = getattr(self, "feature_names_in_", None) is not None
        if not fit_had_names and not all(isinstance(c, str) for c in X.columns):
            return cleaned.set_axis(X.columns, axis=1)
        return cleaned.set_axis(list(self.get_feature_names_out()), axis=1)


# --- DatetimeParts ---------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool | np.bool_)
        and not pd.isna(value)
    )


def _is_date_like(value: Any) -> bool:
    return isinstance(value, str | _dt.date | np.datetime64)


def _from_seconds(values: pd.Series) -> pd.Series:
    """Numbers as Unix timestamps in seconds (NaT where out of range or missing)."""
    seconds = pd.to_numeric(values.astype(object), errors="coerce").astype(np.float64)
    return pd.to_datetime(seconds, unit="s", errors="coerce")


def _parse_datetimes(column: pd.Series) -> pd.Series:
    """The column as datetimes; NaT where a value is missing or cannot be parsed.

    Datetime dtypes are used as they are; numbers are Unix timestamps in seconds; strings
    (and date objects) go through ``pd.to_datetime(format="mixed", errors="coerce")``,
    converted to UTC when they carry different time-zone offsets.
    """
    dtype = column.dtype
    if is_datetime64_any_dtype(dtype):
        return column
    if is_numeric_dtype(dtype) and not is_bool_dtype(dtype):
        return _from_seconds(column)
    values = column.astype(object)
    is_number = values.map(_is_number).astype(bool)
    # anything that is neither a date-like value nor a number (dicts, bools...) is bad
    texts = values.where(values.map(_is_date_like).astype(bool), None)
    try:
        parsed = pd.to_datetime(texts, format="mixed", errors="coerce")
    except ValueError:  # mixed time-zone offsets
        parsed = pd.to_datetime(texts, format="mixed", errors="coerce", utc=True)
    if not is_datetime64_any_dtype(parsed.dtype):  # e.g. all values missing
        parsed = pd.to_datetime(pd.Series(pd.NaT, index=column.index))
    if is_number.any():
        from_numbers = _from_seconds(values.where(is_number, np.nan))
        tz = getattr(parsed.dt, "tz", None)
        if tz is not None:
            from_numbers = from_numbers.dt.tz_localize("UTC").dt.tz_convert(tz)
        parsed = parsed.where(~is_number, from_numbers)
    return parsed


class DatetimeParts(TransformerMixin, BaseEstimator):
    """Numeric parts of dates (year, month, day, day of week, hour...) as features.

    A model cannot use a timestamp as such, but it can use its parts: the month catches
    seasons, the day of week catches weekly cycles, the hour daily ones. Every input
    column is a date column: a datetime dtype, strings that ``pd.to_datetime(format=
    "mixed")`` can parse (mixed offsets are converted to UTC), or numbers, read as Unix
    timestamps in seconds. A value that cannot be parsed gives NaN parts (for the
    imputer downstream) and a :class:`~mlpilot.errors.DataQualityWarning` naming the
    column.

    With ``drop_constant=True``, the parts that take a single value in the training data
    are dropped (the hour when every time is midnight, the year of a one-year sample):
    they carry no information. ``parts_`` maps each column to the parts it keeps.

    Parameters
    ----------
    parts : parts to extract, among :data:`DATETIME_PARTS`; output ``<column>_<part>``.
    drop_constant : drop the parts that are constant in the training data.
    """

    def __init__(
        self,
        parts: Sequence[str] = ("year", "month", "day", "dayofweek", "hour"),
        drop_constant: bool = True,
    ) -> None:
        self.parts = parts
        self.drop_constant = drop_constant

    def fit(self, X: pd.DataFrame | ArrayLike, y: Any = None) -> Self:
        """Choose the parts kept for each column (``parts_``); warn about unparsable values."""
        _, notes = self._fit(X)
        _warn(self, "fit", notes)
        return self

    def fit_transform(
        self, X: pd.DataFrame | ArrayLike, y: Any = None, **fit_params: Any
    ) -> np.ndarray:
        """Fit and transform in one pass (one warning, not two)."""
        datetimes, notes = self._fit(X)
        _warn(self, "fit_transform", notes)
        return self._parts_array(datetimes)

    def transform(self, X: pd.DataFrame | ArrayLike) -> np.ndarray:
        """The kept parts of each column, as float64 (NaN where the date is missing)."""
        check_is_fitted(self, "parts_")
        frame, _ = _as_frame(self, X, reset=False)
        datetimes, notes = self._parse(frame)
        _warn(self, "transform", notes)
        return self._parts_array(datetimes)

    def get_feature_names_out(self, input_features: ArrayLike | None = None) -> np.ndarray:
        """``<column>_<part>`` for each column and each part it keeps."""
        names_in = _input_names(self, input_features)
        check_is_fitted(self, "parts_")
        return np.asarray(
            [
                f"{name}_{part}"
                for name, kept in zip(names_in, self.parts_.values(), strict=True)
                for part in kept
            ],
            dtype=object,
        )

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags

    # -- internals

    def _check_parts(self) -> list[str]:
        parts = self.parts
        if isinstance(parts, str) or not isinstance(parts, Sequence) or not parts:
            raise ValueError(f"parts must be a non-empty list of part names, got {parts!r}")
        unknown = [p for p in parts if p not in DATETIME_PARTS]
        if unknown:
            raise ValueError(
                f"unknown datetime part(s) {unknown}; choose among {list(DATETIME_PARTS)}"
            )
        if len(set(parts)) != len(parts):
            raise ValueError(f"parts must not repeat a part, got {list(parts)}")
        return list(parts)

    def _fit(self, X: Any) -> tuple[list[pd.Series], list[str]]:
        parts = self._check_parts()
        frame, _ = _as_frame(self, X, reset=True)
        datetimes, notes = self._parse(frame)
        kept: dict[str, list[str]] = {}
        for name, values in zip(_column_names(self), datetimes, strict=True):
            kept[name] = [
                part
                for part in parts
                if not self.drop_constant or _part(values, part).nunique() > 1
            ]
        self.parts_ = kept
        return datetimes, notes

    def _parse(self, frame: pd.DataFrame) -> tuple[list[pd.Series], list[str]]:
        datetimes: list[pd.Series] = []
        notes: list[str] = []
        for name, j in zip(_column_names(self), range(frame.shape[1]), strict=True):
            column = frame.iloc[:, j]
            parsed = _parse_datetimes(column)
            bad = parsed.isna().to_numpy() & column.notna().to_numpy()
            if bad.any():
                notes.append(
                    f"column {name!r}: "
                    + _count(int(bad.sum()), "unparsable")
                    + f" {_examples(column[bad])} treated as missing"
                )
            datetimes.append(parsed)
        return datetimes, notes

    def _parts_array(self, datetimes: list[pd.Series]) -> np.ndarray:
        n_samples = len(datetimes[0]) if datetimes else 0
        columns = [
            _part(values, part).to_numpy()
            for values, kept in zip(datetimes, self.parts_.values(), strict=True)
            for part in kept
        ]
        if not columns:
            return np.empty((n_samples, 0), dtype=np.float64)
        return np.column_stack(columns)


def _part(values: pd.Series, part: str) -> pd.Series:
    """One part of a datetime Series as float64, NaN where the datetime is NaT."""
    result = getattr(values.dt, _ACCESSORS.get(part, part))
    return pd.Series(
        result.to_numpy(dtype=np.float64, na_value=np.nan), index=values.index, copy=False
    )


class CategoryCodes(_ColumnwiseMixin, TransformerMixin, BaseEstimator):
    """Categories as integer codes in a pandas ``category`` column, for tree models.

    Histogram gradient boosting splits natively on ``category`` columns (its
    ``categorical_features="from_dtype"`` default), and random forests read the codes as
    numbers; one-hot encoding would only slow both down. Codes follow the sorted training
    categories; unknown and missing values become NaN, which both models handle.
    """

    def fit(self, X: pd.DataFrame | ArrayLike, y: Any = None) -> Self:
        frame, _ = _as_frame(self, X, reset=True)
        self.categories_: list[list[str]] = [
            sorted(frame.iloc[:, j].dropna().astype(str).unique())
            for j in range(frame.shape[1])
        ]
        return self

    def transform(self, X: pd.DataFrame | ArrayLike) -> pd.DataFrame:
        check_is_fitted(self, "categories_")
        frame, _ = _as_frame(self, X, reset=False)
        names = _column_names(self)
        out = {}
        for j, cats in enumerate(self.categories_):
            column = frame.iloc[:, j]
            text = column.astype(str).where(column.notna())
            codes = pd.Index(cats).get_indexer(text).astype(float)  # -1: missing or unseen
            codes[codes < 0] = np.nan
            out[str(names[j])] = pd.Series(codes, index=frame.index).astype(
                pd.CategoricalDtype(list(range(len(cats)))))
        return pd.DataFrame(out, index=frame.index)



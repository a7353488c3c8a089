"""What the service serves: a fitted model plus the input schema it was trained on.

The input schema is derived from the training rows, not from the estimator: it knows each
feature's kind, the categories seen, the numeric range and whether values were ever
missing. That is what lets the service document its input (OpenAPI), reject malformed
rows with field-level messages, and flag rows the model has never seen anything like.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import sklearn

from mlpilot.data.schema import NUMERIC_KINDS, ColumnKind, Schema
from mlpilot.errors import ServeError
from mlpilot.serve import rows as _rows

__all__ = ["MAX_CATEGORIES", "InputColumn", "InputSchema", "Prediction", "ServedModel",
           "json_safe"]

#: Columns with more distinct training values than this list none (no unseen check).
MAX_CATEGORIES = 200

#: Input kinds and the schema kinds they come from (ids and targets are not inputs).
KINDS = ("number", "category", "boolean", "text", "datetime")
_KIND_OF = {
    ColumnKind.CATEGORICAL: "category",
    ColumnKind.BOOLEAN: "boolean",
    ColumnKind.TEXT: "text",
    ColumnKind.DATETIME: "datetime",
    **{kind: "number" for kind in NUMERIC_KINDS},
}
TASKS = ("regression", "binary", "multiclass", "multilabel")


@dataclass(frozen=True)
class InputColumn:
    """One feature the model takes: kind, training dtype, known values and range."""

    name: str
    kind: str  # "number" | "category" | "boolean" | "text" | "datetime"
    nullable: bool
    categories: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    dtype: str = ""  # the training dtype, so that served frames match what the model saw

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ServeError(f"column {self.name!r} has an unknown input kind {self.kind!r}",
                             f"one of {', '.join(KINDS)}")

    @cached_property
    def known(self) -> frozenset[str]:
        """The categories as a set (membership tests per request)."""
        return frozenset(self.categories)

    @cached_property
    def json_type(self) -> str:
        """The JSON type a request must use for this column: number, string or boolean."""
        if self.kind == "number":
            return "number"
        if self.kind == "boolean":
            if self.dtype == "bool":
                return "boolean"
            if _is_numeric_dtype(self.dtype):
                return "number"
        return "string"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "nullable": self.nullable,
                "categories": list(self.categories), "minimum": self.minimum,
                "maximum": self.maximum, "dtype": self.dtype}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputColumn:
        return cls(name=str(data["name"]), kind=str(data["kind"]),
                   nullable=bool(data["nullable"]),
                   categories=tuple(str(c) for c in data.get("categories", ())),
                   minimum=data.get("minimum"), maximum=data.get("maximum"),
                   dtype=str(data.get("dtype", "")))


@dataclass(frozen=True)
class InputSchema:
    """The model's input columns in training order (features only).

    ``id_columns`` are row identifiers seen in training: accepted (optional) so that a
    caller can send a row's key and find it again in the request log, never checked.
    ``example`` is one real training row, shown in the API documentation.
    """

    columns: tuple[InputColumn, ...]
    id_columns: tuple[str, ...] = ()
    example: dict[str, Any] | None = field(default=None, compare=False)

    @classmethod
    def from_training(cls, frame: pd.DataFrame, schema: Schema,
                      target: str | list[str]) -> InputSchema:
        """The input schema of a model trained on ``frame`` (targets and ids dropped)."""
        targets = {target} if isinstance(target, str) else set(target)
        columns: list[InputColumn] = []
        ids: list[str] = []
        for name, info in schema.columns.items():
            if name in targets or name not in frame.columns:
                continue
            if info.kind == ColumnKind.ID:
                ids.append(name)
                continue
            columns.append(_column_from_training(name, _KIND_OF[info.kind], frame[name]))
        names = [c.name for c in columns]
        return cls(columns=tuple(columns), id_columns=tuple(ids),
                   example=_example_row(frame[names]) if names else None)

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @cached_property
    def by_name(self) -> dict[str, InputColumn]:
        return {c.name: c for c in self.columns}

    @cached_property
    def required(self) -> tuple[str, ...]:
        """Columns every row must name: those never missing in training (null allowed)."""
        return tuple(c.name for c in self.columns if not c.nullable)

    def to_dict(self) -> dict[str, Any]:
        return {"columns": [c.to_dict() for c in self.columns],
                "id_columns": list(self.id_columns), "example": self.example}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputSchema:
        return cls(columns=tuple(InputColumn.from_dict(c) for c in data["columns"]),
                   id_columns=tuple(data.get("id_columns", ())), example=data.get("example"))

    def frame(self, rows: list[dict[str, Any]]) -> tuple[pd.DataFrame, list[_rows.RowWarning]]:
        """JSON records → a DataFrame with the training columns and dtypes, plus warnings.

        Raises :class:`~mlpilot.serve.rows.InvalidRowsError` (an ``InputValidationError``)
        listing every bad field: a wrong type, an unknown or a missing column.
        """
        built = self.build_records(rows)
        return built.frame, built.warnings

    def build_records(self, rows: list[Any]) -> _rows.BuiltRows:
        """:meth:`frame` plus the per-feature missing and unseen counts (for the metrics)."""
        return _rows.build_frame(self, _rows.columns_from_records(self, rows), len(rows))

    def build_split(self, columns: Any, data: list[Any]) -> _rows.BuiltRows:
        """The same from pandas' ``split`` orientation (column names + lists of values)."""
        return _rows.build_frame(self, _rows.columns_from_split(self, columns, data), len(data))


@dataclass(frozen=True)
class Prediction:
    """A model's answer for a batch, as JSON-ready lists."""

    predictions: list[Any]
    probabilities: list[list[float]] | None = None
    classes: list[Any] | None = None


@dataclass(frozen=True)
class ServedModel:
    """A fitted estimator or pipeline and what the service needs to know about it."""

    model: Any
    model_id: int
    name: str
    task: str  # "regression" | "binary" | "multiclass" | "multilabel"
    input_schema: InputSchema
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ServeError(f"unknown task {self.task!r} for model {self.model_id}",
                             f"one of {', '.join(TASKS)}")
        if not hasattr(self.model, "predict"):
            raise ServeError(f"model {self.model_id} ({self.name}) has no predict method",
                             "serve a fitted scikit-learn estimator or pipeline")

    @cached_property
    def classes(self) -> list[Any] | None:
        """The class labels (``model.classes_``), JSON-ready; None for regression."""
        classes = getattr(self.model, "classes_", None)
        if self.task == "regression" or classes is None:
            return None
        return json_safe(list(classes))

    @cached_property
    def model_columns(self) -> tuple[str, ...] | None:
        """The columns, in order, the estimator was fitted on (None when it does not say).

        Looks inside wrappers (``FixedThresholdClassifier(FrozenEstimator(pipeline))`` is
        fitted on a dummy array: only the pipeline knows its columns).
        """
        inner = self.model
        for _ in range(5):
            fitted = getattr(inner, "feature_names_in_", None)
            if fitted is not None:
                return tuple(str(c) for c in fitted)
            inner = getattr(inner, "estimator", None)
            if inner is None:
                break
        return None

    def predict(self, frame: pd.DataFrame) -> Prediction:
        """Predict rows (probabilities too for a classifier that has them).

        ``frame`` is normally built by :meth:`InputSchema.frame`; any frame with the input
        columns works: columns the estimator was fitted on but that are absent (ids, an
        optional feature) are sent as missing, others are dropped.
        """
        wanted = self.model_columns or self.input_schema.names
        if tuple(frame.columns) != wanted:
            frame = frame.reindex(columns=list(wanted))
        # Parameters were validated at fit; re-validating them costs ~0.5 ms per call.
        # (config_context is thread-local: other threads keep their own settings.)
        with sklearn.config_context(skip_parameter_validation=True):
            values = np.asarray(self.model.predict(frame))
            proba = None
            if self.task in ("binary", "multiclass") and hasattr(self.model, "predict_proba"):
                proba = np.asarray(self.model.predict_proba(frame), dtype=float)
        predictions = _json_list(values)
        if proba is not None:
            return Prediction(predictions, _json_list(np.round(proba, 6)), self.classes)
        return Prediction(predictions, None, self.classes)


def _column_from_training(name: str, kind: str, values: pd.Series) -> InputColumn:
    dtype = str(values.dtype)
    nullable = bool(values.isna().any())
    if kind == "number" or (kind == "boolean" and _is_numeric_dtype(dtype)):
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        numbers = numbers[np.isfinite(numbers)]
        lo, hi = (float(numbers.min()), float(numbers.max())) if len(numbers) else (None, None)
        return InputColumn(name, kind, nullable, minimum=lo, maximum=hi, dtype=dtype)
    categories: tuple[str, ...] = ()
    if kind == "category" or (kind == "boolean" and _rows.is_string_dtype(dtype)):
        seen = values.dropna().astype(str).value_counts()
        if len(seen) <= MAX_CATEGORIES:
            categories = tuple(sorted(seen.index))
    return InputColumn(name, kind, nullable, categories=categories, dtype=dtype)


def _example_row(features: pd.DataFrame) -> dict[str, Any] | None:
    """The first training row with the most values present: a realistic request."""
    if features.empty:
        return None
    position = int(np.argmax(features.notna().sum(axis=1).to_numpy()))
    row = features.iloc[position]
    return {str(name): _json_scalar(value) for name, value in row.items()}


def _is_numeric_dtype(dtype: str) -> bool:
    return dtype.startswith(("int", "uint", "float", "Int", "UInt", "Float"))


def _json_scalar(value: Any) -> Any:
    """A NumPy/pandas scalar as a plain JSON value (missing → None)."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp | _dt.datetime | _dt.date):
        return value.isoformat()
    return value


def json_safe(value: Any) -> Any:
    """Any nesting of dicts, lists and scalars as strict JSON values (NaN → null)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    value = _json_scalar(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _json_list(values: np.ndarray) -> list[Any]:
    """Predictions as JSON lists; NaN and inf (JSON has neither) become null."""
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        obj = values.astype(object)
        obj[~np.isfinite(values)] = None
        return obj.tolist()
    if values.dtype.kind in "fiub":
        return values.tolist()
    return json_safe(values.tolist())

"""The API's documentation of its input: a pydantic model built from the training columns.

``/predict`` reads its body itself (see :mod:`mlpilot.serve.payload`), so FastAPI cannot
infer the request schema; it is generated here from the served model's
:class:`~mlpilot.serve.model.InputSchema` (numbers as ``number | null``, categories as
``string | null`` listing the known values, a real training row as the example) and put
into the OpenAPI document, which is rebuilt whenever a different model goes live.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model

from mlpilot.serve.model import InputColumn, InputSchema, ServedModel

__all__ = ["PredictResponse", "input_row_model", "install_openapi"]

_REF = "#/components/schemas/{model}"
_SHOWN_CATEGORIES = 20


class RowWarningOut(BaseModel):
    row: int = Field(description="Index of the row within the request")
    column: str
    problem: str


class PredictResponse(BaseModel):
    """The answer of ``POST /predict``."""

    model_id: int
    model_name: str
    request_id: str = Field(description="The X-Request-ID sent, else a generated uuid4 hex")
    predictions: list[Any] = Field(description="One prediction per row, in request order")
    classes: list[Any] | None = Field(None, description="Class labels (classification)")
    probabilities: list[list[float]] | None = Field(
        None, description="Per row, the probability of each class in `classes` order")
    warnings: list[RowWarningOut] = Field(
        description="Quality problems: the prediction was made but may be unreliable")


class ErrorOut(BaseModel):
    detail: Any


class DataframeSplit(BaseModel):
    """pandas' ``DataFrame.to_dict(orient="split")`` (``index`` is ignored)."""

    model_config = ConfigDict(extra="forbid")
    columns: list[str]
    data: list[list[Any]] = Field(min_length=1)
    index: list[Any] | None = None


def _field(column: InputColumn, example: Any) -> tuple[Any, Any]:
    """One column as a pydantic field: (type, FieldInfo)."""
    missing = ("missing values are expected" if column.nullable
               else "never missing in training: null is accepted with a warning")
    extra: dict[str, Any] = {}
    if column.json_type == "number":
        kind: Any = float | None
        where = ""
        if column.minimum is not None and column.maximum is not None:
            where = f" (training range {column.minimum:g} to {column.maximum:g})"
        description = f"{column.kind}{where}; {missing}"
    elif column.json_type == "boolean":
        kind, description = bool | None, f"boolean; {missing}"
    else:
        kind = str | None
        description = f"{column.kind}; {missing}"
        if column.categories:
            shown = ", ".join(column.categories[:_SHOWN_CATEGORIES])
            more = ", ..." if len(column.categories) > _SHOWN_CATEGORIES else ""
            description += (f". Known values: {shown}{more}. Other values are accepted and "
                            "flagged in `warnings` (the model treats them as unknown)")
            extra["x-known-values"] = list(column.categories)
        if column.kind == "datetime":
            extra["format"] = "date-time"
    examples = [example] if example is not None else None
    info = Field(... if not column.nullable else None, alias=column.name,
                 description=description, examples=examples, json_schema_extra=extra or None)
    return kind, info


def input_row_model(schema: InputSchema) -> type[BaseModel]:
    """The pydantic model of one input row (unknown columns forbidden)."""
    example = schema.example or {}
    fields = {f"f{i}": _field(c, example.get(c.name)) for i, c in enumerate(schema.columns)}
    for j, name in enumerate(schema.id_columns):
        fields[f"id{j}"] = (str | int | None, Field(None, alias=name, description=(
            "row identifier: not a feature, kept in the request log")))
    return create_model("InputRow", __config__=ConfigDict(extra="forbid"),
                        **fields)  # type: ignore[call-overload]


def _request_schema(model: ServedModel | None, max_rows: int) -> tuple[dict[str, Any],
                                                                      dict[str, Any]]:
    """(the request body's JSON schema, schemas to add to components)."""
    row: Any = input_row_model(model.input_schema) if model is not None else dict[str, Any]
    records = create_model("RecordsRequest", __config__=ConfigDict(extra="forbid"),
                           records=(list[row], Field(min_length=1, max_length=max_rows)))
    split = create_model("DataframeSplitRequest", __config__=ConfigDict(extra="forbid"),
                         dataframe_split=(DataframeSplit, ...))
    adapter: TypeAdapter[Any] = TypeAdapter(records | split)  # type: ignore[operator]
    schema = adapter.json_schema(ref_template=_REF)
    defs = schema.pop("$defs", {})
    return schema, defs


def _examples(model: ServedModel | None) -> dict[str, Any]:
    if model is None or not model.input_schema.example:
        return {}
    row = model.input_schema.example
    return {
        "records": {"summary": "one row (records)", "value": {"records": [row]}},
        "dataframe_split": {"summary": "one row (pandas split orientation)",
                            "value": {"dataframe_split": {"columns": list(row),
                                                          "data": [list(row.values())]}}},
    }


def install_openapi(app: FastAPI, current: Callable[[], ServedModel | None],
                    max_rows: int) -> None:
    """Make ``app.openapi()`` document the live model's input (cached per model id)."""
    cache: dict[str, Any] = {}
    lock = threading.Lock()

    def openapi() -> dict[str, Any]:
        model = current()
        key = None if model is None else model.model_id
        with lock:
            if cache.get("key", object()) == key and "doc" in cache:
                return cache["doc"]
            doc = get_openapi(title=app.title, version=app.version, description=app.description,
                              routes=app.routes)
            body, defs = _request_schema(model, max_rows)
            components = doc.setdefault("components", {}).setdefault("schemas", {})
            components.update(defs)
            components["PredictRequest"] = body
            content: dict[str, Any] = {"schema": {"$ref": "#/components/schemas/PredictRequest"}}
            examples = _examples(model)
            if examples:
                content["examples"] = examples
            post = doc["paths"]["/predict"]["post"]
            post["requestBody"] = {"required": True, "content": {"application/json": content}}
            cache.update(key=key, doc=doc)
            return doc

    app.openapi = openapi  # type: ignore[method-assign]

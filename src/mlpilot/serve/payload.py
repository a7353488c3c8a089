"""The body of ``POST /predict``: JSON records or pandas' ``dataframe_split``, checked.

Parsing is done here, not by FastAPI, so that the rows reach the schema check as plain
lists (no per-row pydantic objects) and every problem is reported in FastAPI's own 422
shape: ``{"detail": [{"type", "loc", "msg"}, ...]}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlpilot.errors import InputValidationError
from mlpilot.serve.rows import MAX_PROBLEMS, FieldProblem

__all__ = ["Payload", "PayloadError", "error_detail", "parse_payload"]

_SPLIT_KEYS = frozenset({"columns", "data", "index"})
_FORMATS_HINT = ('send {"records": [{"column": value, ...}, ...]} or '
                 '{"dataframe_split": {"columns": [...], "data": [[...], ...]}}')


@dataclass(frozen=True)
class Payload:
    """Rows as sent: ``records`` (list of objects) or ``split`` (columns + data)."""

    orient: str  # "records" | "split"
    records: list[Any] | None = None
    columns: Any = None
    data: list[Any] | None = None

    @property
    def n_rows(self) -> int:
        return len(self.records if self.orient == "records" else self.data or [])

    @property
    def root(self) -> tuple[str, ...]:
        """Where the rows are in the body, as a 422 ``loc`` prefix."""
        return ("body", "records") if self.orient == "records" else ("body", "dataframe_split")


class PayloadError(InputValidationError):
    """The body is not one of the accepted shapes; ``detail`` is the 422 body's list."""

    def __init__(self, detail: list[dict[str, Any]]) -> None:
        self.detail = detail
        super().__init__(detail[0]["msg"], _FORMATS_HINT)


def _error(loc: tuple[Any, ...], msg: str, kind: str) -> PayloadError:
    return PayloadError([{"type": kind, "loc": list(loc), "msg": msg}])


def parse_payload(body: bytes) -> Payload:
    """Decode and check the body's shape (not its values: see :mod:`mlpilot.serve.rows`)."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise _error(("body",), f"JSON decode error: {str(exc)[:200]}", "json_invalid") from None
    if not isinstance(document, dict):
        raise _error(("body",), f"Input should be an object; {_FORMATS_HINT}", "model_type")
    keys = set(document)
    if keys == {"records"}:
        records = document["records"]
        if not isinstance(records, list):
            raise _error(("body", "records"), "Input should be a list of objects", "list_type")
        if not records:
            raise _error(("body", "records"), "empty batch: send at least one row", "too_short")
        return Payload("records", records=records)
    if keys == {"dataframe_split"}:
        split = document["dataframe_split"]
        root = ("body", "dataframe_split")
        if not isinstance(split, dict):
            raise _error(root, "Input should be an object with columns and data", "model_type")
        unknown = sorted(str(k) for k in set(split) - _SPLIT_KEYS)
        if unknown:
            raise _error((*root, unknown[0]), f"unknown key {unknown[0]!r} (expected columns, "
                         "data, index)", "extra_forbidden")
        for key in ("columns", "data"):
            if key not in split:
                raise _error((*root, key), "Field required", "missing")
            if not isinstance(split[key], list):
                raise _error((*root, key), "Input should be a list", "list_type")
        index = split.get("index")
        if index is not None and not isinstance(index, list):  # ignored, but typed as documented
            raise _error((*root, "index"), "Input should be a list", "list_type")
        if not split["data"]:
            raise _error((*root, "data"), "empty batch: send at least one row", "too_short")
        return Payload("split", columns=split["columns"], data=split["data"])
    if not keys & {"records", "dataframe_split"}:
        raise _error(("body",), f"missing rows: {_FORMATS_HINT}", "missing")
    extra = sorted(str(k) for k in keys - {"records", "dataframe_split"})
    if extra:
        raise _error(("body", extra[0]), f"unknown key {extra[0]!r}; {_FORMATS_HINT}",
                     "extra_forbidden")
    raise _error(("body",), "send either records or dataframe_split, not both", "value_error")


def error_detail(payload: Payload, problems: list[FieldProblem]) -> list[dict[str, Any]]:
    """Field problems as FastAPI 422 details, at most :data:`MAX_PROBLEMS` (+ a count)."""
    root = payload.root
    if payload.orient == "split":
        root = (*root, "data")
    detail: list[dict[str, Any]] = []
    for p in problems[:MAX_PROBLEMS]:
        if p.row is None:
            loc = [*payload.root, "columns"] if payload.orient == "split" else list(root)
            if p.column is not None:
                loc.append(p.column)
        else:
            loc = [*root, p.row] + ([p.column] if p.column is not None else [])
        detail.append({"type": p.type, "loc": loc, "msg": p.message})
    if len(problems) > MAX_PROBLEMS:
        detail.append({"type": "too_many_errors", "loc": list(payload.root),
                       "msg": f"{len(problems) - MAX_PROBLEMS} more problems not listed"})
    return detail

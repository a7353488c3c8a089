"""Live performance from late labels: join true labels to logged predictions, score per model.

Why a separate step: in service the truth arrives later (a house sells months after its price
was predicted). Labels are matched to the request log by request id, and by the row's
position within the request when a request carried several rows; a request of one row needs
the id alone. The realised metric per model version (with its interval) is what tells
whether the model still does as well as its test set promised.

Metrics come from :mod:`mlpilot.evaluate.metrics` and are scored by
:func:`mlpilot.evaluate.predictions.score`. The request log holds predicted labels, not
probabilities: a ranking metric (ROC AUC, log loss) is replaced by accuracy unless a
``score_column`` is given, and the table says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlpilot.errors import MonitorError
from mlpilot.evaluate.intervals import CONFIDENCE, metric_interval
from mlpilot.evaluate.metrics import Metric, get_metric
from mlpilot.evaluate.predictions import Predictions, score

from .baseline import category_values

#: The joined frame's column holding the true label.
LABEL = "label"
PREDICTION = "prediction"
#: Metrics that need scores or probabilities → what is shown instead from labels alone.
LABEL_FALLBACK = {"roc_auc": "accuracy", "roc_auc_ovr": "accuracy", "log_loss": "accuracy"}
N_RESAMPLES = 1000


def _keys(col: pd.Series) -> pd.Series:
    """Ids as stripped strings, whatever the file made of them (``12``, ``12.0``, ``" 12"``)."""
    return category_values(col).map(lambda v: v if v is None else v.strip())


def _examples(values: pd.Series) -> str:
    shown = [repr(v) for v in values.dropna().unique()[:3]]
    return ", ".join(shown) or "(none)"


def _label_column(labels: pd.DataFrame, id_column: str, row_column: str | None) -> str:
    candidates = [c for c in labels.columns if c not in (id_column, row_column, "timestamp")]
    if len(candidates) != 1:
        raise MonitorError(
            f"cannot tell which column of the labels holds the true value: {candidates}",
            "pass label_column= (the target's name)")
    return str(candidates[0])


def join_feedback(requests: pd.DataFrame, labels: pd.DataFrame, *,
                  id_column: str = "request_id", row_column: str | None = "row",
                  label_column: str | None = None) -> pd.DataFrame:
    """The logged rows that received a true label, with that label in a ``label`` column.

    ``id_column`` names the labels' request-id column (matched against the log's own
    ``request_id`` unless the log has a column of that name). When the labels have
    ``row_column`` (the row's position within its request, from 0), labels match on id and
    row; otherwise, or where that cell is empty, only requests of a single row can match.
    A label given twice for the same row keeps the last one (a correction). Match counts are
    in ``joined.attrs["feedback"]``.
    """
    if labels.empty:
        raise MonitorError("the labels table has no rows", "pass the file of true labels")
    if id_column not in labels.columns:
        raise MonitorError(f"the labels have no {id_column!r} column",
                           f"their columns are {list(labels.columns)}; pass id_column=")
    log_id = id_column if id_column in requests.columns else "request_id"
    if log_id not in requests.columns or PREDICTION not in requests.columns:
        raise MonitorError("the request log has no request_id/prediction columns",
                           "read it with mlpilot.serve.requestlog.read_request_log")
    label_column = label_column or _label_column(labels, id_column, row_column)
    if label_column not in labels.columns:
        raise MonitorError(f"the labels have no {label_column!r} column",
                           f"their columns are {list(labels.columns)}; pass label_column=")

    log = requests.rename(columns={LABEL: f"input.{LABEL}"}) if LABEL in requests else requests
    log = log.reset_index(drop=True)
    keyed = pd.DataFrame({
        "_pos": np.arange(len(log)),
        "_id": _keys(log[log_id]),
        "_row": pd.to_numeric(log["row"], errors="coerce") if "row" in log else 0.0,
    }).astype({"_row": "float64"})
    keyed = keyed.drop_duplicates(["_id", "_row"], keep="last")
    rows_per_id = keyed.groupby("_id")["_id"].transform("size")

    given = pd.DataFrame({"_id": _keys(labels[id_column]), LABEL: labels[label_column].values})
    has_rows = row_column is not None and row_column in labels.columns
    given["_row"] = (pd.to_numeric(labels[row_column], errors="coerce").to_numpy(dtype=float)
                     if has_rows else np.nan)
    n_labels = len(given)
    given = given[given["_id"].notna() & given[LABEL].notna()]
    # An id alone cannot say which row of a request of several rows a label belongs to.
    unclear = given["_row"].isna() & given["_id"].isin(keyed.loc[rows_per_id > 1, "_id"])
    ambiguous = int(unclear.sum())
    given = given[~unclear]
    n_usable = len(given)
    given = given.drop_duplicates(["_id", "_row"], keep="last")
    n_duplicates = n_usable - len(given)

    by_row = keyed.merge(given[given["_row"].notna()], on=["_id", "_row"], how="inner")
    alone = given[given["_row"].isna()].drop(columns="_row")
    by_id = keyed[rows_per_id == 1].merge(alone, on="_id", how="inner")
    matched = pd.concat([by_row, by_id]).sort_values("_pos")
    if matched.empty:
        hint = (f"the labels' {id_column!r} values look like {_examples(given['_id'])}; "
                f"logged request ids look like {_examples(keyed['_id'])}")
        if ambiguous:
            hint = (f"{ambiguous} labels name requests of several rows: add a {row_column!r} "
                    "column (the row's position in its request, from 0); " + hint)
        raise MonitorError(f"0 of {n_labels} labels matched a logged request id: check the "
                           "id column", hint)
    joined = log.iloc[matched["_pos"].to_numpy()].reset_index(drop=True)
    joined[LABEL] = matched[LABEL].to_numpy()
    joined.attrs["feedback"] = {
        "labels": n_labels, "matched": len(matched), "unmatched": n_labels - len(matched),
        "ambiguous": ambiguous, "duplicates": n_duplicates, "label_column": label_column,
    }
    return joined


def _predictions(part: pd.DataFrame, task: str, score_column: str | None) -> Predictions:
    if task == "regression":
        y_true = pd.to_numeric(part[LABEL], errors="coerce").to_numpy(dtype=float)
        y_pred = pd.to_numeric(part[PREDICTION], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(y_true) & np.isfinite(y_pred)
        return Predictions(task, y_true[ok], y_pred[ok])
    # Labels and predictions may come as 1 / 1.0 / "1" from CSV and JSON: compare as text.
    y_true = category_values(part[LABEL]).to_numpy()
    y_pred = category_values(part[PREDICTION]).to_numpy()
    ok = pd.notna(y_true) & pd.notna(y_pred)
    classes = np.array(sorted(set(y_true[ok]) | set(y_pred[ok])), dtype=object)
    scores = (pd.to_numeric(part[score_column], errors="coerce").to_numpy(dtype=float)[ok]
              if score_column else None)
    return Predictions(task, y_true[ok], y_pred[ok], scores=scores, classes=classes)


def realised_performance(joined: pd.DataFrame, task: str, metric: str | Metric, *,
                         by: str = "model_id", score_column: str | None = None,
                         confidence: float = CONFIDENCE, n_resamples: int = N_RESAMPLES,
                         seed: int = 0) -> pd.DataFrame:
    """The metric on the labelled rows of each model version, with its interval.

    Columns: ``by`` (model_id), n, metric, value, low, high, interval, from, to (the first
    and last request time when logged), note. The interval is the evaluation's own
    (:func:`mlpilot.evaluate.intervals.metric_interval`: t-interval for RMSE, bootstrap else).
    """
    if task not in ("regression", "binary", "multiclass"):
        raise MonitorError(f"realised performance is not available for a {task} task",
                           "it covers regression, binary and multiclass models")
    missing = [c for c in (LABEL, PREDICTION, by) if c not in joined.columns]
    if missing:
        raise MonitorError(f"the joined table lacks {missing}",
                           "build it with join_feedback(requests, labels)")
    if joined.empty:
        raise MonitorError("no logged prediction has a label yet",
                           "wait for labels to come back, then join them")
    chosen = get_metric(metric, task) if isinstance(metric, str) else metric
    note = ""
    if chosen.name in LABEL_FALLBACK and not (task == "binary" and score_column):
        note = (f"{chosen.name} needs scores, the request log holds predicted labels: "
                f"{LABEL_FALLBACK[chosen.name]} shown instead")
        chosen = get_metric(LABEL_FALLBACK[chosen.name], task)
    rows: list[dict[str, Any]] = []
    for key, part in joined.groupby(by, dropna=False, sort=True):
        preds = _predictions(part, task, score_column)
        row: dict[str, Any] = {by: key, "n": len(preds), "metric": chosen.name,
                               "value": np.nan, "low": np.nan, "high": np.nan,
                               "interval": "", "note": note}
        if len(preds):
            try:
                row["value"] = score(chosen, preds)
            except ValueError as exc:  # e.g. ROC AUC on a single class
                row["note"] = f"{note}; {exc}" if note else str(exc)
        if len(preds) >= 2 and np.isfinite(row["value"]):
            interval = metric_interval(chosen, preds, confidence, n_resamples, seed)
            row |= {"low": interval.low, "high": interval.high, "interval": interval.method}
        if "timestamp" in part.columns:
            stamps = pd.to_datetime(part["timestamp"], errors="coerce", utc=True)
            row |= {"from": stamps.min(), "to": stamps.max()}
        rows.append(row)
    return pd.DataFrame(rows)

"""Robustness: whatever JSON is posted to /predict, the service never answers 5xx."""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from mlpilot.data.schema import infer_schema
from mlpilot.serve.app import create_app
from mlpilot.serve.model import InputSchema, ServedModel
from mlpilot.serve.slot import ModelSlot

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _client() -> TestClient:
    rng = np.random.default_rng(1)
    n = 40
    frame = pd.DataFrame({"size": rng.normal(size=n), "flag": rng.choice([0, 1], n),
                          "colour": rng.choice(["red", "blue"], n),
                          "when": pd.date_range("2024-01-01", periods=n, freq="D")})
    frame["row_id"] = np.arange(n)  # an identifier: accepted, logged, never a feature
    frame.loc[0, "size"] = np.nan
    frame["label"] = np.where(frame["size"].fillna(0) > 0, "big", "small")
    features = ["size", "flag", "colour"]
    prep = ColumnTransformer([
        ("num", SimpleImputer(), ["size"]),
        ("flag", SimpleImputer(strategy="most_frequent"), ["flag"]),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), ["colour"]),
    ])
    fitted_on = [*features, "when", "row_id"]  # as mlpilot fits: every column but the target
    model = make_pipeline(prep, LogisticRegression()).fit(frame[fitted_on], frame["label"])
    schema = InputSchema.from_training(frame, infer_schema(frame, "label"), "label")
    served = ServedModel(model, 1, "fuzz", "binary", schema)
    return TestClient(create_app(ModelSlot(served), max_rows=50, max_body_bytes=100_000))


CLIENT = _client()
COLUMNS = ["size", "flag", "colour", "when", "row_id", "other"]

scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
           | st.text(max_size=10) | st.sampled_from(["red", "blue", "2024-02-01", "1e3", ""]))
anything = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=5), inner, max_size=4), max_leaves=20)
cell = scalars | st.lists(scalars, max_size=2) | st.dictionaries(st.text(max_size=3), scalars,
                                                                  max_size=2)
record = st.dictionaries(st.sampled_from(COLUMNS) | st.text(max_size=4), cell, max_size=6)
near_valid = st.fixed_dictionaries(  # all required columns, mostly plausible values
    {"flag": st.sampled_from([0, 1, True, None, 2.5]) | cell,
     "colour": st.sampled_from(["red", "blue", "green", None]) | cell,
     "when": st.sampled_from(["2024-01-05", "2024-01-05T10:00:00+02:00", None, "soon"]) | cell},
    optional={"size": st.floats() | st.integers() | st.none() | cell, "other": cell,
              "row_id": cell})
records = st.fixed_dictionaries({"records": st.lists(near_valid | record | anything,
                                                     max_size=6)})
good_records = st.fixed_dictionaries({"records": st.lists(near_valid, min_size=1, max_size=5)})
good_split = st.fixed_dictionaries({"dataframe_split": st.fixed_dictionaries({
    "columns": st.just(["when", "colour", "flag", "size"]),
    "data": st.lists(st.tuples(st.sampled_from(["2024-03-01", None]),
                               st.sampled_from(["red", "teal", None]) | cell,
                               st.sampled_from([0, 1, None]) | cell,
                               st.floats() | st.none()).map(list), min_size=1, max_size=5)})})
split = st.fixed_dictionaries({"dataframe_split": st.fixed_dictionaries(
    {"columns": st.lists(st.sampled_from(COLUMNS), max_size=5) | anything,
     "data": st.lists(st.lists(cell, max_size=5) | anything, max_size=5)},
    optional={"index": anything, "extra": anything})})
payloads = (good_records | good_split | records | split | anything
            | st.dictionaries(st.text(max_size=8), anything))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads)
def test_random_payloads_never_cause_a_server_error(payload: Any) -> None:
    body = json.dumps(payload)  # NaN and Infinity literals included: Python reads them
    response = CLIENT.post("/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code < 500, (payload, response.text)
    if response.status_code == 200:
        assert len(response.json()["predictions"]) == response.json()["probabilities"].__len__()


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_cause_a_server_error(body: bytes) -> None:
    assert CLIENT.post("/predict", content=body).status_code < 500

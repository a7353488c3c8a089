"""The input schema: derived from training rows, it types, checks and flags served rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from mlpilot.data.schema import infer_schema
from mlpilot.errors import InputValidationError
from mlpilot.serve.model import MAX_CATEGORIES, InputSchema, ServedModel
from mlpilot.serve.rows import InvalidRowsError


def _training(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({
        "house_id": np.arange(100, 100 + n),
        "area": rng.uniform(20, 200, n).round(1),
        "garden": rng.choice([True, False], n),
        "sold_on": pd.date_range("2023-01-01", periods=n, freq="W"),
        "city": rng.choice(["Lyon", "Paris", "Nice"], n),
        "price": rng.normal(300, 50, n),
    })
    frame.loc[2, "city"] = None
    return frame


@pytest.fixture(scope="module")
def schema() -> InputSchema:
    frame = _training()
    return InputSchema.from_training(frame, infer_schema(frame, "price"), "price")


def test_schema_keeps_features_only_with_kinds_ranges_and_categories(
        schema: InputSchema) -> None:
    assert schema.names == ("area", "garden", "sold_on", "city")
    assert schema.id_columns == ("house_id",)
    area, garden, sold_on, city = schema.columns
    assert (area.kind, garden.kind, sold_on.kind, city.kind) == (
        "number", "boolean", "datetime", "category")
    assert 20 <= area.minimum < area.maximum <= 200
    assert city.categories == ("Lyon", "Nice", "Paris") and city.nullable
    assert not area.nullable and schema.required == ("area", "garden", "sold_on")
    assert schema.example is not None and schema.example["city"] is not None
    assert InputSchema.from_dict(schema.to_dict()) == schema


def test_frame_has_training_columns_and_dtypes(schema: InputSchema) -> None:
    rows = [{"area": 50, "garden": True, "sold_on": "2024-05-01T12:00:00", "city": "Lyon"},
            {"area": 75.5, "garden": False, "sold_on": "2024-05-02", "city": None,
             "house_id": 7}]
    frame, warnings = schema.frame(rows)
    training = _training()
    assert list(frame.columns) == ["area", "garden", "sold_on", "city", "house_id"]
    assert frame["area"].dtype == np.float64
    assert frame["garden"].dtype == training["garden"].dtype == np.bool_
    assert frame["sold_on"].dtype == training["sold_on"].dtype
    assert frame["city"].dtype == training["city"].dtype
    assert frame["sold_on"].iloc[0] == pd.Timestamp("2024-05-01 12:00")
    assert frame["city"].isna().tolist() == [False, True]
    assert warnings == []  # city may be missing: it was in training


def test_type_errors_are_listed_per_field(schema: InputSchema) -> None:
    rows = [{"area": "big", "garden": "yes", "sold_on": "someday", "city": 3, "house_id": [1]},
            {"area": 10.0, "garden": True, "sold_on": "2024-01-01", "street": "Main"}]
    with pytest.raises(InvalidRowsError) as info:
        schema.frame(rows)
    found = {(p.row, p.column): p.type for p in info.value.problems}
    assert found == {(0, "area"): "float_type", (0, "garden"): "bool_type",
                     (0, "sold_on"): "datetime_parsing", (0, "city"): "string_type",
                     (0, "house_id"): "id_type",
                     (1, "street"): "extra_forbidden"}
    assert isinstance(info.value, InputValidationError) and info.value.hint


def test_numbers_far_outside_the_range_and_missing_values_are_warnings(
        schema: InputSchema) -> None:
    rows = [{"area": 10_000.0, "garden": None, "sold_on": "2024-01-01", "city": "Berlin"},
            {"area": float("nan"), "garden": True, "sold_on": None, "city": "Nice"}]
    frame, warnings = schema.frame(rows)
    problems = {(w.row, w.column): w.problem for w in warnings}
    assert "far outside the training range" in problems[0, "area"]
    assert "never missing" in problems[0, "garden"]
    assert "unseen category 'Berlin'" in problems[0, "city"]
    assert "never missing" in problems[1, "area"] and "never missing" in problems[1, "sold_on"]
    assert frame["garden"].tolist()[1] == 1.0 and np.isnan(frame["garden"].iloc[0])
    built = schema.build_records(rows)
    assert built.missing == {"area": 1, "garden": 1, "sold_on": 1}
    assert built.unseen == {"city": 1} and built.out_of_range == {"area": 1}


def test_columns_with_too_many_values_list_no_categories() -> None:
    n = MAX_CATEGORIES + 50
    frame = pd.DataFrame({"code": [f"c{i % (MAX_CATEGORIES + 1)}" for i in range(n)],
                          "y": np.arange(n) * 0.5})
    schema = InputSchema.from_training(frame, infer_schema(frame, "y"), "y")
    assert schema.columns[0].kind == "category" and schema.columns[0].categories == ()
    assert schema.frame([{"code": "never-seen"}])[1] == []


def test_served_model_sends_the_columns_the_estimator_was_fitted_on() -> None:
    frame = _training()
    features = frame.drop(columns="price")
    prep = ColumnTransformer([("city", OneHotEncoder(handle_unknown="ignore"), ["city"])],
                             remainder="drop")
    model = make_pipeline(prep, LinearRegression()).fit(features.fillna("?"), frame["price"])
    schema = InputSchema.from_training(frame, infer_schema(frame, "price"), "price")
    served = ServedModel(model, 1, "lr", "regression", schema)
    built, _ = schema.frame([{"area": 50.0, "garden": True, "sold_on": "2024-01-01",
                              "city": "Lyon"}])
    assert "house_id" not in built.columns  # the id was not sent: it goes in as missing
    result = served.predict(built)
    expected = model.predict(features.head(0).reindex(range(1)).assign(city="Lyon"))
    assert result.predictions == pytest.approx(expected.tolist())
    assert result.probabilities is None and result.classes is None


def test_columns_are_found_inside_a_threshold_wrapper() -> None:
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import FixedThresholdClassifier

    frame = _training()
    frame["dear"] = np.where(frame["price"] > 300, "yes", "no")
    features = frame.drop(columns=["price", "dear"])
    prep = ColumnTransformer([("city", OneHotEncoder(handle_unknown="ignore"), ["city"])])
    pipeline = make_pipeline(prep, LogisticRegression()).fit(features.fillna("?"),
                                                             frame["dear"])
    wrapped = FixedThresholdClassifier(FrozenEstimator(pipeline), threshold=0.3,
                                       pos_label="yes").fit(np.zeros((2, 1)), ["no", "yes"])
    training = frame.drop(columns="price")
    schema = InputSchema.from_training(training, infer_schema(training, "dear"), "dear")
    served = ServedModel(wrapped, 2, "lr@0.3", "binary", schema)
    assert served.model_columns == tuple(features.columns)  # the id included
    built, _ = schema.frame([{"area": 50.0, "garden": True, "sold_on": "2024-01-01",
                              "city": "Lyon"}])
    result = served.predict(built)
    assert result.classes == ["no", "yes"] and len(result.probabilities[0]) == 2

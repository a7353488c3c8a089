"""Schema inference: each column's kind, the way a person would name it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlpilot.data.schema import ColumnKind, Schema, infer_schema


def test_housing_kinds_and_geo_pair(housing: pd.DataFrame) -> None:
    schema = infer_schema(housing, "median_house_value")
    assert schema.kind("latitude") == ColumnKind.LATITUDE
    assert schema.kind("longitude") == ColumnKind.LONGITUDE
    assert schema.geo_pairs == [("latitude", "longitude")]
    assert schema.kind("ocean_proximity") == ColumnKind.CATEGORICAL
    assert schema.kind("median_income") == ColumnKind.NUMERIC
    assert schema.columns["total_bedrooms"].n_missing == 207


def test_synthetic_kinds() -> None:
    n = 200
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "customer_id": np.arange(1000, 1000 + n),
        "uuid": [f"u{rng.integers(1e12)}x{i}" for i in range(n)],
        "signup": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        "when": pd.date_range("2021-01-01", periods=n, freq="h"),
        "flag": rng.choice(["yes", "no"], n),
        "is_active": rng.integers(0, 2, n),
        "comment": [f"the quick brown fox number {i} jumps" for i in range(n)],
        "color": rng.choice(["red", "green", "blue"], n),
        "amount": rng.normal(size=n),
        "lat": rng.uniform(40, 41, n),
    })
    schema = infer_schema(frame)
    kinds = {c: schema.kind(c) for c in frame.columns}
    assert kinds == {
        "customer_id": ColumnKind.ID,
        "uuid": ColumnKind.ID,
        "signup": ColumnKind.DATETIME,
        "when": ColumnKind.DATETIME,
        "flag": ColumnKind.BOOLEAN,
        "is_active": ColumnKind.BOOLEAN,
        "comment": ColumnKind.TEXT,
        "color": ColumnKind.CATEGORICAL,
        "amount": ColumnKind.NUMERIC,
        "lat": ColumnKind.NUMERIC,  # a latitude with no longitude is a plain number
    }
    assert all(c.reason for c in schema.columns.values())


def test_target_is_never_an_id() -> None:
    frame = pd.DataFrame({"y": np.arange(100), "x": np.random.default_rng(0).normal(size=100)})
    assert infer_schema(frame, "y").kind("y") == ColumnKind.NUMERIC


def test_schema_round_trips_through_json() -> None:
    frame = pd.DataFrame({"lat": [1.0, 2.0], "lon": [3.0, 4.0], "c": ["a", "b"]})
    schema = infer_schema(frame)
    again = Schema.from_dict(schema.to_dict())
    assert again.columns == schema.columns
    assert again.geo_pairs == schema.geo_pairs == [("lat", "lon")]


def test_declared_and_camel_case_ids_never_become_features() -> None:
    import numpy as np
    import pandas as pd

    from mlpilot.data.schema import ColumnKind, infer_schema

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"PassengerId": rng.permutation(np.arange(1, 201))[:150],
                          "row": rng.permutation(np.arange(150)) * 7,
                          "x": rng.normal(size=150), "y": rng.normal(size=150)})
    schema = infer_schema(frame, "y", ids=["row"])
    assert schema.kind("PassengerId") == ColumnKind.ID  # camelCase name, non-consecutive
    assert schema.kind("row") == ColumnKind.ID  # declared
    assert "declared" in schema.columns["row"].reason
    assert schema.kind("x") == ColumnKind.NUMERIC

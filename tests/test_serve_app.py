"""The prediction service's HTTP behaviour, through FastAPI's TestClient."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlpilot.data.schema import infer_schema
from mlpilot.errors import ServeError
from mlpilot.serve.app import create_app
from mlpilot.serve.model import InputSchema, ServedModel
from mlpilot.serve.requestlog import RequestLog, read_request_log
from mlpilot.serve.slot import ModelSlot

with warnings.catch_warnings():  # starlette's notice about httpx, not about our code
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

NUMBERS = ["rooms", "income"]


def _training(n: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "rooms": rng.normal(5, 1, n).round(2),
        "income": rng.uniform(1, 10, n).round(3),
        "ocean": rng.choice(["INLAND", "NEAR BAY", "<1H OCEAN"], n),
    })
    frame.loc[[3, 7], "income"] = np.nan  # income may be missing, rooms and ocean never
    frame["price"] = frame["rooms"] * 2 + frame["income"].fillna(5) + (
        frame["ocean"] == "INLAND") * 3
    frame["expensive"] = np.where(frame["price"] > frame["price"].median(), "yes", "no")
    return frame


def _pipeline(estimator: object) -> object:
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), NUMBERS),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["ocean"]),
    ])
    return make_pipeline(prep, estimator)


@pytest.fixture(scope="module")
def training() -> pd.DataFrame:
    return _training()


@pytest.fixture(scope="module")
def regressor(training: pd.DataFrame) -> ServedModel:
    features = training[["rooms", "income", "ocean"]]
    model = _pipeline(Ridge()).fit(features, training["price"])
    schema = InputSchema.from_training(training.drop(columns="expensive"),
                                       infer_schema(training, "price"), "price")
    return ServedModel(model, 7, "ridge", "regression", schema,
                       {"data_hash": "d1ce", "cv_mean": float("nan")})


@pytest.fixture(scope="module")
def classifier(training: pd.DataFrame) -> ServedModel:
    features = training[["rooms", "income", "ocean"]]
    model = _pipeline(LogisticRegression()).fit(features, training["expensive"])
    frame = training.drop(columns="price")
    schema = InputSchema.from_training(frame, infer_schema(frame, "expensive"), "expensive")
    return ServedModel(model, 8, "logistic", "binary", schema, {"data_hash": "c1a5"})


@pytest.fixture
def client(regressor: ServedModel) -> Iterator[TestClient]:
    with TestClient(create_app(ModelSlot(regressor))) as c:
        yield c


def _rows(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Training rows as a client would send them (NaN → null)."""
    rows = frame[["rooms", "income", "ocean"]].astype(object)
    return rows.where(rows.notna(), None).to_dict(orient="records")


def _metrics(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = client.get("/metrics").text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


# --- predictions -------------------------------------------------------------------------


def test_predictions_equal_the_pipeline_on_the_same_rows(client: TestClient,
                                                         regressor: ServedModel,
                                                         training: pd.DataFrame) -> None:
    rows = training.head(25)
    response = client.post("/predict", json={"records": _rows(rows)})
    assert response.status_code == 200
    body = response.json()
    expected = regressor.model.predict(rows[["rooms", "income", "ocean"]])
    np.testing.assert_allclose(body["predictions"], expected, rtol=1e-12)
    assert body["model_id"] == 7 and body["model_name"] == "ridge"
    assert "probabilities" not in body and body["warnings"] == []


def test_records_and_dataframe_split_give_the_same_answer(client: TestClient,
                                                          training: pd.DataFrame) -> None:
    rows = _rows(training.head(5))
    by_records = client.post("/predict", json={"records": rows}).json()
    columns = ["ocean", "income", "rooms"]  # any column order
    split = {"columns": columns, "data": [[r[c] for c in columns] for r in rows],
             "index": list(range(5))}
    by_split = client.post("/predict", json={"dataframe_split": split}).json()
    assert by_split["predictions"] == by_records["predictions"]
    one = client.post("/predict", json={"records": rows[:1]}).json()
    assert one["predictions"] == by_records["predictions"][:1]


def test_classifier_returns_classes_and_probabilities(classifier: ServedModel,
                                                      training: pd.DataFrame) -> None:
    rows = training.head(6)
    with TestClient(create_app(ModelSlot(classifier))) as client:
        body = client.post("/predict", json={"records": _rows(rows)}).json()
    features = rows[["rooms", "income", "ocean"]]
    assert body["classes"] == ["no", "yes"]
    assert body["predictions"] == classifier.model.predict(features).tolist()
    np.testing.assert_allclose(body["probabilities"], classifier.model.predict_proba(features),
                               atol=1e-6)


def test_request_id_is_echoed_or_generated(client: TestClient) -> None:
    row = {"records": _rows(_training().head(1))}
    given = client.post("/predict", json=row, headers={"X-Request-ID": "order-42"})
    assert given.headers["x-request-id"] == "order-42" == given.json()["request_id"]
    made = client.post("/predict", json=row)
    assert len(made.headers["x-request-id"]) == 32
    assert made.json()["request_id"] == made.headers["x-request-id"]
    bad = client.post("/predict", json=row, headers={"X-Request-ID": "x" * 500})
    assert bad.headers["x-request-id"] != "x" * 500  # not a valid id: a fresh one instead


# --- validation ----------------------------------------------------------------------------


def test_string_in_numeric_column_is_a_field_level_422(client: TestClient) -> None:
    rows = [{"rooms": 5.0, "income": 3.0, "ocean": "INLAND"},
            {"rooms": "five", "income": 3.0, "ocean": "INLAND"}]
    response = client.post("/predict", json={"records": rows})
    assert response.status_code == 422
    [detail] = response.json()["detail"]
    assert detail["loc"] == ["body", "records", 1, "rooms"]
    assert "valid number" in detail["msg"] and "'five'" in detail["msg"]


def test_unknown_and_missing_columns_are_422(client: TestClient) -> None:
    rows = [{"rooms": 5.0, "income": 3.0, "ocean": "INLAND", "colour": "red"},
            {"income": 3.0, "ocean": "INLAND"}]
    detail = client.post("/predict", json={"records": rows}).json()["detail"]
    by_loc = {tuple(d["loc"]): d for d in detail}
    assert by_loc["body", "records", 0, "colour"]["type"] == "extra_forbidden"
    assert "unknown column 'colour'" in by_loc["body", "records", 0, "colour"]["msg"]
    assert by_loc["body", "records", 1, "rooms"]["type"] == "missing"
    # income was sometimes missing in training: it may be left out
    ok = client.post("/predict", json={"records": [{"rooms": 5.0, "ocean": "INLAND"}]})
    assert ok.status_code == 200 and ok.json()["warnings"] == []
    split = {"columns": ["rooms", "ocean", "colour"], "data": [[5.0, "INLAND", 1]]}
    detail = client.post("/predict", json={"dataframe_split": split}).json()["detail"]
    assert detail[0]["loc"] == ["body", "dataframe_split", "columns", "colour"]


@pytest.mark.parametrize(("payload", "where"), [
    ({"records": []}, ["body", "records"]),
    ({"dataframe_split": {"columns": ["rooms"], "data": []}}, ["body", "dataframe_split", "data"]),
    ({"rows": [{"rooms": 1}]}, ["body"]),
    ({"records": [1, 2]}, ["body", "records", 0]),
    ({"dataframe_split": {"columns": ["rooms", "ocean"], "data": [[1.0]]}},
     ["body", "dataframe_split", "data", 0]),
])
def test_malformed_bodies_are_422_with_a_location(client: TestClient, payload: object,
                                                  where: list[object]) -> None:
    response = client.post("/predict", json=payload)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == where


def test_invalid_json_is_422(client: TestClient) -> None:
    response = client.post("/predict", content=b'{"records": [', headers={
        "content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_oversize_body_and_too_many_rows_are_413(regressor: ServedModel) -> None:
    app = create_app(ModelSlot(regressor), max_rows=3, max_body_bytes=2_000)
    row = {"rooms": 5.0, "income": 3.0, "ocean": "INLAND"}
    with TestClient(app) as client:
        many = client.post("/predict", json={"records": [row] * 4})
        assert many.status_code == 413 and "4 rows" in many.json()["detail"]
        assert client.post("/predict", json={"records": [row] * 3}).status_code == 200
        big = client.post("/predict", content=b" " * 5_000)  # Content-Length says too big
        assert big.status_code == 413 and "2000 bytes" in big.json()["detail"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: the streamed size counts
            yield b'{"records": ['
            for _ in range(100):
                yield json.dumps(row).encode() + b","

        streamed = client.post("/predict", content=chunks())
        assert streamed.status_code == 413


# --- quality warnings ------------------------------------------------------------------------


def test_warnings_for_unseen_category_missing_value_and_far_number(client: TestClient) -> None:
    rows = [{"rooms": 5.0, "income": 3.0, "ocean": "INLAND"},
            {"rooms": 5.0, "income": None, "ocean": "ISLAND"},  # income may be missing
            {"rooms": None, "income": 2.0, "ocean": "INLAND"},
            {"rooms": 500.0, "income": 2.0, "ocean": None}]
    response = client.post("/predict", json={"records": rows})
    assert response.status_code == 200  # quality problems never block a prediction
    body = response.json()
    assert len(body["predictions"]) == 4 and all(p is not None for p in body["predictions"])
    found = {(w["row"], w["column"]): w["problem"] for w in body["warnings"]}
    assert set(found) == {(1, "ocean"), (2, "rooms"), (3, "rooms"), (3, "ocean")}
    assert "unseen category 'ISLAND'" in found[1, "ocean"] and "INLAND" in found[1, "ocean"]
    assert "never missing in training" in found[2, "rooms"]
    assert "far outside the training range" in found[3, "rooms"]


# --- auth ------------------------------------------------------------------------------------


def test_token_is_required_except_for_probes(regressor: ServedModel) -> None:
    row = {"records": [{"rooms": 5.0, "income": 3.0, "ocean": "INLAND"}]}
    with TestClient(create_app(ModelSlot(regressor), token="s3cret")) as client:
        denied = client.post("/predict", json=row)
        assert denied.status_code == 401
        assert denied.headers["www-authenticate"] == "Bearer"
        wrong = client.post("/predict", json=row, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = client.post("/predict", json=row, headers={"Authorization": "Bearer s3cret"})
        assert right.status_code == 200
        for path in ("/metadata", "/metrics", "/openapi.json", "/docs"):
            assert client.get(path).status_code == 401, path
        assert client.get("/metadata", headers={"Authorization": "bearer s3cret"}).is_success
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
    with pytest.raises(ServeError):
        create_app(ModelSlot(regressor), token="  ")


# --- probes, metadata, docs, metrics ------------------------------------------------------------


def test_probes_follow_the_model_slot(regressor: ServedModel) -> None:
    slot = ModelSlot()
    with TestClient(create_app(slot)) as client:
        assert client.get("/healthz").json() == {"status": "alive"}
        assert client.get("/readyz").status_code == 503
        assert client.post("/predict", json={"records": [{}]}).status_code == 503
        slot.swap(regressor)
        assert client.get("/readyz").json() == {"status": "ready", "model_id": 7}


def test_metadata_describes_model_and_input_schema(client: TestClient) -> None:
    meta = client.get("/metadata").json()
    assert meta["model_id"] == 7 and meta["model_name"] == "ridge"
    assert meta["task"] == "regression" and meta["data_hash"] == "d1ce"
    assert meta["metadata"]["cv_mean"] is None  # NaN is not JSON
    columns = {c["name"]: c for c in meta["input_schema"]["columns"]}
    assert list(columns) == ["rooms", "income", "ocean"]
    assert columns["ocean"]["categories"] == ["<1H OCEAN", "INLAND", "NEAR BAY"]
    assert columns["income"]["nullable"] and not columns["rooms"]["nullable"]
    assert meta["versions"]["scikit-learn"]


def test_openapi_documents_the_training_columns(client: TestClient,
                                                training: pd.DataFrame) -> None:
    doc = client.get("/openapi.json").json()
    row = doc["components"]["schemas"]["InputRow"]
    assert set(row["properties"]) == {"rooms", "income", "ocean"}
    assert row["required"] == ["rooms", "ocean"]
    assert {"type": "number"} in row["properties"]["rooms"]["anyOf"]
    assert row["properties"]["ocean"]["x-known-values"] == ["<1H OCEAN", "INLAND", "NEAR BAY"]
    assert "INLAND" in row["properties"]["ocean"]["description"]
    body = doc["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    example = body["examples"]["records"]["value"]["records"][0]
    assert example in _rows(training)  # a real training row
    assert client.post("/predict", json=body["examples"]["dataframe_split"]["value"]).is_success


def test_metrics_count_requests_latency_and_data_quality(client: TestClient) -> None:
    good = {"rooms": 5.0, "income": 3.0, "ocean": "INLAND"}
    client.post("/predict", json={"records": [good, good]})
    client.post("/predict", json={"records": [{**good, "rooms": None, "ocean": "MOON"}]})
    client.post("/predict", json={"records": [{**good, "rooms": "x"}]})
    m = _metrics(client)
    assert m["mlpilot_requests_total", (("endpoint", "/predict"), ("status", "200"))] == 2
    assert m["mlpilot_requests_total", (("endpoint", "/predict"), ("status", "422"))] == 1
    assert m["mlpilot_errors_total", (("kind", "validation"),)] == 1
    assert m["mlpilot_request_latency_seconds_count", (("endpoint", "/predict"),)] == 3
    assert m["mlpilot_request_latency_seconds_bucket", (("endpoint", "/predict"),
                                                       ("le", "+Inf"))] == 3
    assert m["mlpilot_rows_total", ()] == 3
    assert m["mlpilot_missing_values_total", (("feature", "rooms"),)] == 1
    assert m["mlpilot_unseen_categories_total", (("feature", "ocean"),)] == 1
    assert m["mlpilot_model_id", ()] == 7


def test_drift_scores_are_exported_as_gauges(regressor: ServedModel) -> None:
    seen: list[int] = []

    def drift(frame: pd.DataFrame) -> dict[str, float]:
        seen.append(len(frame))
        return {"rooms": float(frame["rooms"].mean()), "ocean": 0.25}

    app = create_app(ModelSlot(regressor), drift=drift, drift_every=4)
    rows = [{"rooms": float(r), "income": 1.0, "ocean": "INLAND"} for r in range(6)]
    with TestClient(app) as client:
        client.post("/predict", json={"records": rows[:3]})
        assert seen == []  # 3 rows: not yet
        client.post("/predict", json={"records": rows[3:]})
        app.state.drift_window.wait(5)
        m = _metrics(client)
    assert seen == [4]  # the last 4 rows only
    assert m["mlpilot_drift_score", (("feature", "rooms"),)] == pytest.approx(3.5)
    assert m["mlpilot_drift_score", (("feature", "ocean"),)] == 0.25


def test_requests_are_logged_and_read_back(regressor: ServedModel, tmp_path: Path) -> None:
    log = RequestLog(tmp_path)
    rows = [{"rooms": 5.0, "income": 3.0, "ocean": "INLAND"},
            {"rooms": 6.0, "income": None, "ocean": "NEAR BAY"}]
    with TestClient(create_app(ModelSlot(regressor), request_log=log)) as client:
        first = client.post("/predict", json={"records": rows},
                            headers={"X-Request-ID": "r1"}).json()
        split = {"columns": ["ocean", "rooms"], "data": [["INLAND", 4.0]]}
        client.post("/predict", json={"dataframe_split": split}, headers={"X-Request-ID": "r2"})
        client.post("/predict", json={"records": [{"rooms": "bad"}]})  # 422: not logged
    log.close()
    frame = read_request_log(tmp_path)
    assert frame["request_id"].tolist() == ["r1", "r1", "r2"]
    assert frame["row"].tolist() == [0, 1, 0]
    assert frame["model_id"].tolist() == [7, 7, 7]
    assert frame["prediction"].tolist()[:2] == first["predictions"]
    assert frame["ocean"].tolist() == ["INLAND", "NEAR BAY", "INLAND"]
    assert frame["rooms"].tolist() == [5.0, 6.0, 4.0]
    assert str(frame["timestamp"].dt.tz) == "UTC"
    assert time.time() - frame["timestamp"].iloc[0].timestamp() < 60

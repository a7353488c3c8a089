"""ONNX export: used only after a parity check, otherwise the skops model and the reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge, RidgeClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

pytest.importorskip("onnxruntime")
pytest.importorskip("skl2onnx")

from mlpilot.atomic import sha256_file
from mlpilot.errors import ArtifactIntegrityError
from mlpilot.features.cleaning import DataCleaner
from mlpilot.features.transformers import LogTransformer
from mlpilot.registry import onnx_export
from mlpilot.registry.onnx_export import (
    OnnxDecision,
    OnnxExportError,
    OnnxPredictor,
    decide_onnx,
    export_onnx,
    parity_check,
    unconvertible_steps,
)
from mlpilot.serve.model import InputColumn, InputSchema, ServedModel

NUMBERS = ["size", "rooms", "age"]


def _frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "size": rng.lognormal(4, 0.5, n),
        "rooms": rng.integers(1, 8, n),  # int64: sent as float32
        "age": rng.normal(30, 10, n),
        "city": rng.choice(["north", "south", "east"], n),
    })
    frame.loc[::9, "age"] = np.nan
    frame.loc[::13, "city"] = None  # the encoder learns a missing category
    return frame


def _target(frame: pd.DataFrame) -> pd.Series:
    city = frame["city"].map({"north": 40.0, "south": -25.0, "east": 5.0}).fillna(12.0)
    return 2_000 + 3.5 * frame["size"] + 20 * frame["rooms"] - frame["age"].fillna(30) + city


def _prep(numbers: Any = None) -> ColumnTransformer:
    numbers = numbers or make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    return ColumnTransformer([("num", numbers, NUMBERS),
                              ("cat", OneHotEncoder(handle_unknown="ignore"), ["city"])])


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = _frame()
    return frame.iloc[:200].reset_index(drop=True), frame.iloc[200:].reset_index(drop=True)


@pytest.fixture(scope="module")
def regressor(data: tuple[pd.DataFrame, pd.DataFrame]) -> Pipeline:
    train, _ = data
    return make_pipeline(_prep(), Ridge(alpha=1.0)).fit(train, _target(train))


@pytest.fixture(scope="module")
def classifier(data: tuple[pd.DataFrame, pd.DataFrame]) -> Pipeline:
    train, _ = data
    y = np.where(_target(train) > _target(train).median(), "high", "low")
    return make_pipeline(_prep(), LogisticRegression(max_iter=500)).fit(train, y)


def test_a_plain_regression_pipeline_is_exported_and_served_with_onnxruntime(
        tmp_path: Path, data: tuple[pd.DataFrame, pd.DataFrame], regressor: Pipeline) -> None:
    train, held = data
    decision = decide_onnx(regressor, train, held, tmp_path / "model.onnx")

    assert decision.use_onnx, decision.reason
    assert decision.reason.startswith(f"ONNX model matches on {len(held)} held-out rows and ")
    assert "edge rows" in decision.reason and decision.reason.endswith("with onnxruntime")
    assert decision.path == tmp_path / "model.onnx"
    assert decision.sha256 == sha256_file(decision.path)
    assert decision.max_rel_diff is not None and decision.max_rel_diff < 1e-5

    predictor = OnnxPredictor.load(decision.path, sha256=decision.sha256)
    assert list(predictor.feature_names_in_) == [*NUMBERS, "city"]
    assert not hasattr(predictor, "predict_proba")  # a regressor, as in scikit-learn
    expected = regressor.predict(held)
    np.testing.assert_allclose(predictor.predict(held), expected, rtol=1e-5)
    # Missing values and a category never seen in training, as a request may send them.
    odd = held.head(3).copy()
    odd.loc[0, "age"], odd.loc[1, "city"], odd.loc[2, "city"] = np.nan, None, "west"
    np.testing.assert_allclose(predictor.predict(odd), regressor.predict(odd), rtol=1e-5)


def test_a_plain_binary_pipeline_gives_the_same_labels_and_probabilities(
        tmp_path: Path, data: tuple[pd.DataFrame, pd.DataFrame], classifier: Pipeline) -> None:
    train, held = data
    decision = decide_onnx(classifier, train, held, tmp_path / "clf.onnx")
    assert decision.use_onnx, decision.reason
    assert decision.path is not None

    predictor = OnnxPredictor.load(decision.path)
    assert list(predictor.classes_) == list(classifier.classes_)
    np.testing.assert_array_equal(predictor.predict(held), classifier.predict(held))
    np.testing.assert_allclose(predictor.predict_proba(held), classifier.predict_proba(held),
                               atol=1e-5)

    # The service's ServedModel takes it in place of the scikit-learn pipeline.
    schema = InputSchema(tuple([InputColumn(c, "number", True) for c in NUMBERS]
                               + [InputColumn("city", "category", True)]))
    served = [ServedModel(model=m, model_id=1, name="logreg", task="binary",
                          input_schema=schema) for m in (classifier, predictor)]
    shuffled = held[["city", *reversed(NUMBERS)]].head(20)  # any column order works
    sk, ox = (s.predict(shuffled) for s in served)
    assert ox.predictions == sk.predictions and ox.classes == sk.classes == ["high", "low"]
    np.testing.assert_allclose(ox.probabilities, sk.probabilities, atol=1e-5)


def test_a_classifier_without_probabilities_is_compared_on_its_labels(
        tmp_path: Path, data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, held = data
    model = make_pipeline(_prep(), RidgeClassifier()).fit(
        train, _target(train) > _target(train).median())
    decision = decide_onnx(model, train, held, tmp_path / "ridge.onnx")
    assert decision.use_onnx, decision.reason
    predictor = OnnxPredictor.load(decision.path)  # type: ignore[arg-type]
    assert not hasattr(predictor, "predict_proba")
    np.testing.assert_array_equal(predictor.predict(held), model.predict(held))


@pytest.mark.parametrize(("model", "culprit"), [
    (Pipeline([("clean", DataCleaner(numeric_columns=NUMBERS)), ("columns", _prep()),
               ("model", Ridge())]), "mlpilot.features.cleaning.DataCleaner"),
    (make_pipeline(_prep(make_pipeline(SimpleImputer(), LogTransformer(offset=1.0))), Ridge()),
     "mlpilot.features.transformers.LogTransformer"),
])
def test_a_pipeline_with_an_mlpilot_transformer_is_served_with_skops_and_the_class_named(
        tmp_path: Path, data: tuple[pd.DataFrame, pd.DataFrame], model: Pipeline,
        culprit: str) -> None:
    train, held = data
    model.fit(train, _target(train))
    assert unconvertible_steps(model) == [culprit]
    path = tmp_path / "model.onnx"
    path.write_bytes(b"a stale export")  # left from an earlier version: must not survive

    decision = decide_onnx(model, train, held, path)

    assert not decision.use_onnx
    assert decision.reason == (f"ONNX export failed: {culprit} has no ONNX converter; "
                               "serving the skops model")
    assert decision.path is None and decision.sha256 is None and not path.exists()
    with pytest.raises(OnnxExportError) as caught:
        export_onnx(model, train, path)
    assert caught.value.offending == (culprit,)


def test_boosting_libraries_are_named_with_where_their_converters_live(
        tmp_path: Path, data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    lightgbm = pytest.importorskip("lightgbm")
    train, held = data
    model = make_pipeline(_prep(), lightgbm.LGBMRegressor(n_estimators=5, verbose=-1))
    model.fit(train, _target(train))
    decision = decide_onnx(model, train, held, tmp_path / "lgbm.onnx")
    assert not decision.use_onnx
    assert "lightgbm.sklearn.LGBMRegressor (its converter is in onnxmltools" in decision.reason


def test_a_mismatch_is_caught_by_the_parity_check_and_the_skops_model_served(
        tmp_path: Path, data: tuple[pd.DataFrame, pd.DataFrame], regressor: Pipeline,
        monkeypatch: pytest.MonkeyPatch) -> None:
    train, held = data
    path = tmp_path / "model.onnx"
    export_onnx(regressor, train, path)
    other = make_pipeline(_prep(), Ridge(alpha=50.0)).fit(train, _target(train))
    ok, max_abs, max_rel = parity_check(other, path, held)
    assert not ok and max_abs > 0.1 and max_rel > 1e-4
    assert parity_check(regressor, path, held).ok

    # A converter that gets the model subtly wrong: decide_onnx must refuse it.
    real_export = onnx_export.export_onnx
    monkeypatch.setattr(onnx_export, "export_onnx",
                        lambda model, X, p: real_export(other, X, p))
    decision = decide_onnx(regressor, train, held, path)
    assert not decision.use_onnx
    assert decision.reason.startswith(f"ONNX parity failed on {len(held)} held-out rows "
                                      "(max abs diff ")
    assert decision.reason.endswith("; serving the skops model")
    assert decision.max_abs_diff == pytest.approx(max_abs, rel=1e-3)  # the roles swapped
    assert decision.path is None and not path.exists()


def test_missing_categories_must_reach_the_encoder_as_skl2onnx_names_them(
        tmp_path: Path, data: tuple[pd.DataFrame, pd.DataFrame], regressor: Pipeline,
        monkeypatch: pytest.MonkeyPatch) -> None:
    train, held = data
    path = tmp_path / "model.onnx"
    export_onnx(regressor, train, path)
    monkeypatch.setattr(onnx_export, "MISSING_STRING", "")  # a plausible, wrong choice
    missing = held[held["city"].isna()]
    assert len(missing) > 0 and not parity_check(regressor, path, missing).ok


def test_no_held_out_rows_means_no_onnx(tmp_path: Path, data: tuple[pd.DataFrame, pd.DataFrame],
                                        regressor: Pipeline) -> None:
    train, held = data
    decision = decide_onnx(regressor, train, held.head(0), tmp_path / "model.onnx")
    assert not decision.use_onnx and "no held-out rows" in decision.reason


def test_the_decision_round_trips_through_json_and_the_checksum_is_enforced(
        tmp_path: Path, data: tuple[pd.DataFrame, pd.DataFrame], regressor: Pipeline) -> None:
    train, held = data
    decision = decide_onnx(regressor, train, held, tmp_path / "model.onnx")
    assert OnnxDecision.from_dict(json.loads(json.dumps(decision.to_dict()))) == decision

    assert decision.path is not None
    decision.path.write_bytes(decision.path.read_bytes() + b"\0")
    with pytest.raises(ArtifactIntegrityError):
        OnnxPredictor.load(decision.path, sha256=decision.sha256)

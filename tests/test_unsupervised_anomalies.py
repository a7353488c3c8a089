"""Anomaly and novelty detection (book ch. 9): scores, flags, known anomalies, reports, CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io
import typer
from sklearn.datasets import load_digits, make_blobs
from sklearn.utils.estimator_checks import parametrize_with_checks
from typer.testing import CliRunner

from cli_apps import single_command_app
from mlpilot.cli.commands_anomalies import register
from mlpilot.errors import UnsupervisedError
from mlpilot.recipes.ch09_anomalies import RECIPE
from mlpilot.unsupervised.anomalies import METHODS, AnomalyDetector, detect_anomalies

FAR = np.array([[40.0, -40.0]])


def blobs(n: int = 400, seed: int = 0) -> np.ndarray:
    X, _ = make_blobs(n_samples=n, centers=[[0, 0], [5, 5]], cluster_std=1.0, random_state=seed)
    return X


def images(html: str) -> int:
    return len(re.findall(r"data:image/png;base64,", html))


def test_recipe_matches_the_book() -> None:
    result = RECIPE.run()
    failures = [(c.quantity, c.book, c.ours) for c in result.comparisons if not c.ok]
    assert not failures
    flagged = next(c for c in result.comparisons if c.quantity.startswith("anomalies flagged"))
    assert flagged.ours == 25  # 2 % of 1,250 rows


@pytest.mark.parametrize("method", list(METHODS))
def test_flags_match_the_contamination_share(method: str) -> None:
    result = detect_anomalies(blobs(), method=method, contamination=0.05)
    assert result.n_flagged == pytest.approx(20, abs=2)
    assert np.array_equal(result.flags, result.scores > result.threshold)


@pytest.mark.parametrize("novelty", [False, True])
@pytest.mark.parametrize("method", list(METHODS))
def test_higher_score_is_more_anomalous_for_every_method(method: str, novelty: bool) -> None:
    X = np.r_[blobs(), FAR]
    result = detect_anomalies(X, method=method, novelty=novelty, contamination=0.02)
    assert int(np.argmax(result.scores)) == len(X) - 1
    assert result.top["row"].iloc[0] == len(X) - 1
    assert result.flags[-1]


def test_novelty_detection_scores_new_rows() -> None:
    clean = blobs(500, seed=1)
    result = detect_anomalies(clean, method="lof", novelty=True, contamination=0.02)
    new_normal = blobs(200, seed=2)
    scored = result.score(np.r_[new_normal, FAR, FAR + 5])
    assert scored.flags[-2:].all()
    assert scored.flags[:200].mean() < 0.1  # about the contamination share of normal rows
    frame = scored.to_frame()
    assert list(frame.columns) == ["row", "score", "flag"] and len(frame) == 202
    assert "novelty detection" in " ".join(result.summary())
    assert result.to_dict()["new_rows"]["n_flagged"] == int(scored.flags.sum())


def test_lof_in_outlier_mode_refuses_new_rows() -> None:
    result = detect_anomalies(blobs(), method="lof", novelty=False)
    assert result.mode == "outlier detection"
    with pytest.raises(UnsupervisedError, match="novelty=True"):
        result.score(blobs(20, seed=3))


def test_known_anomalies_are_scored() -> None:
    X = np.r_[blobs(), np.random.default_rng(0).uniform(20, 30, size=(8, 2))]
    frame = pd.DataFrame(X, columns=["a", "b"])
    frame["is_anomaly"] = [0] * 400 + [1] * 8
    result = detect_anomalies(frame, method="isolation_forest", contamination=0.02,
                              label="is_anomaly")
    assert "is_anomaly" not in result.features.feature_names
    m = result.metrics
    assert m is not None and m["n_anomalies"] == 8 and m["recall"] == 1.0
    assert m["precision"] == pytest.approx(8 / result.n_flagged)
    assert 0 < m["f1"] <= 1 and m["average_precision"] == pytest.approx(1.0)


def test_a_label_that_is_not_an_anomaly_mark_is_only_noted() -> None:
    frame = pd.DataFrame(blobs(), columns=["a", "b"]).assign(kind=["x", "y"] * 200)
    result = detect_anomalies(frame, method="elliptic_envelope", label="kind")
    assert result.metrics is None and "kind" not in result.features.feature_names
    assert any("does not mark anomalies" in n for n in result.notes)


def test_top_rows_say_which_feature_stands_out() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    frame.loc[299, "c"] = 25.0
    result = detect_anomalies(frame, method="isolation_forest")
    first = result.top.iloc[0]
    assert first["row"] == 299 and first["why"].startswith("c +")
    assert {"a", "b", "c"} <= set(result.top.columns)


def test_gmm_chooses_components_by_bic_and_ignores_a_planted_point() -> None:
    result = detect_anomalies(np.r_[blobs(), FAR], method="gmm")
    assert result.detector.estimator_.n_components == 2
    assert result.detector.bic_ and min(result.detector.bic_, key=result.detector.bic_.get) == 2


def test_one_class_svm_is_subsampled_on_large_data() -> None:
    X = np.r_[blobs(600), FAR]
    result = detect_anomalies(X, method="one_class_svm", max_train_rows=200)
    assert result.detector.subsampled_ == 200
    assert any("does not scale" in n for n in result.notes)
    assert len(result.scores) == len(X) and int(np.argmax(result.scores)) == len(X) - 1


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"method": "nope"}, "unknown anomaly method"),
    ({"contamination": 0.7}, "contamination"),
    ({"label": "missing"}, "not in the data"),
])
def test_bad_input_is_an_unsupervised_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UnsupervisedError, match=message):
        detect_anomalies(pd.DataFrame(blobs(), columns=["a", "b"]), **kwargs)  # type: ignore[arg-type]


def test_report_and_model_files(tmp_path: Path) -> None:
    frame = pd.DataFrame(np.r_[blobs(), FAR], columns=["a", "b"])
    frame["flag"] = [0] * 400 + [1]
    result = detect_anomalies(frame, method="gmm", novelty=True, label="flag")
    result.score(pd.DataFrame(np.r_[blobs(30, seed=5), FAR], columns=["a", "b"]))
    html = result.write_report(tmp_path).read_text()
    for title in ("Score distribution", "Anomalies on the map", "Precision/recall curve",
                  "New rows", "BIC by number of components"):
        assert title in html
    assert images(html) >= 5
    data = json.loads((tmp_path / "anomalies.json").read_text())
    assert data["n_flagged"] == result.n_flagged and data["mode"] == "novelty detection"
    assert data["known_anomalies"]["recall"] == 1.0
    path = result.save_model(tmp_path / "anomalies-model.skops")
    model = skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))
    assert model.predict(pd.DataFrame([[0.0, 0.0], [40.0, -40.0]], columns=["a", "b"])).tolist() \
        == [1, -1]


def test_image_rows_show_the_top_anomalies_as_images(tmp_path: Path) -> None:
    X, _ = load_digits(return_X_y=True)
    result = detect_anomalies(X[:300], method="pca_reconstruction", top=10)
    assert result.image_side == 8
    html = result.write_report(tmp_path).read_text()
    assert "Top anomalies as images" in html


@parametrize_with_checks([
    AnomalyDetector(method="gmm", n_components=2, n_init=1),
    AnomalyDetector(method="isolation_forest", options={"n_estimators": 20}),
    AnomalyDetector(method="lof", novelty=True),
    AnomalyDetector(method="lof"),
    AnomalyDetector(method="one_class_svm"),
    AnomalyDetector(method="elliptic_envelope"),
    AnomalyDetector(method="pca_reconstruction"),
])
def test_detector_is_a_scikit_learn_estimator(estimator: AnomalyDetector, check) -> None:  # type: ignore[no-untyped-def]
    check(estimator)


# --------------------------------------------------------------------------- CLI


def cli() -> typer.Typer:
    return single_command_app(register)


runner = CliRunner()


def test_cli_writes_report_model_and_scores(tmp_path: Path) -> None:
    frame = pd.DataFrame(np.r_[blobs(), FAR], columns=["a", "b"])
    frame["known"] = [0] * 400 + [1]
    frame.to_csv(tmp_path / "rows.csv", index=False)
    out = tmp_path / "out"
    result = runner.invoke(cli(), ["anomalies", "--data", str(tmp_path / "rows.csv"),
                                   "--label", "known", "--out", str(out), "--method", "lof",
                                   "--top", "5"])
    assert result.exit_code == 0, result.output
    assert "outlier detection" in " ".join(result.output.split())
    for name in ("anomalies.html", "anomalies.json", "anomalies-model.skops",
                 "anomalies-scores.parquet"):
        assert (out / name).exists()
    scores = pd.read_parquet(out / "anomalies-scores.parquet")
    assert list(scores.columns) == ["row", "score", "flag"] and len(scores) == 401
    assert scores.loc[scores["score"].idxmax(), "row"] == 400
    assert images((out / "anomalies.html").read_text()) >= 3


def test_cli_novelty_data_scores_the_new_file(tmp_path: Path) -> None:
    pd.DataFrame(blobs(), columns=["a", "b"]).to_csv(tmp_path / "clean.csv", index=False)
    pd.DataFrame(np.r_[blobs(20, seed=4), FAR], columns=["a", "b"]).to_parquet(
        tmp_path / "new.parquet")
    out = tmp_path / "out"
    result = runner.invoke(cli(), ["anomalies", "--data", str(tmp_path / "clean.csv"),
                                   "--novelty-data", str(tmp_path / "new.parquet"),
                                   "--method", "elliptic_envelope", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "novelty detection" in " ".join(result.output.split())
    scores = pd.read_parquet(out / "anomalies-scores.parquet")
    assert len(scores) == 21 and bool(scores["flag"].iloc[-1])


@pytest.mark.parametrize(("args", "message"), [
    (["--method", "nope"], "unknown anomaly method"),
    (["--contamination", "0.9"], "contamination must be in"),
    (["--novelty-data", "missing.csv"], "missing.csv"),
])
def test_cli_bad_input_is_one_line_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    pd.DataFrame(blobs(50), columns=["a", "b"]).to_csv(tmp_path / "rows.csv", index=False)
    result = runner.invoke(cli(), ["anomalies", "--data", str(tmp_path / "rows.csv"),
                                   "--out", str(tmp_path / "out"), *args])
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error:") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output

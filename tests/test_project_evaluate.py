"""Evaluate and present: one recorded look at the test set, stored; thresholds; the report."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from mlpilot import Project
from mlpilot.cli.main import app
from mlpilot.errors import ConfigError, ModelNotFoundError, TestSetReuseWarning
from mlpilot.evaluate.evaluation import validation_gap_warnings
from mlpilot.evaluate.intervals import Interval
from mlpilot.evaluate.metrics import get_metric
from mlpilot.evaluate.predictions import Predictions
from mlpilot.recipes.ch02_housing_split import BOOK_SPLIT
from mlpilot.report.pdf import find_browser

runner = CliRunner()


@pytest.fixture(scope="module")
def housing_project(tmp_path_factory: pytest.TempPathFactory, data_home: Path) -> Project:
    """The book's split of housing, a quick model, evaluated once."""
    housing = pd.read_csv(data_home / "housing" / "housing.csv")
    root = tmp_path_factory.mktemp("housing") / "p"
    project = Project.init(root, housing, "median_house_value", **BOOK_SPLIT)
    project.prepare()
    project.train(models=["ridge", "lightgbm"], budget=60, ensemble=False)
    return project


@pytest.fixture(scope="module")
def housing_evaluation(housing_project: Project) -> object:
    return housing_project.evaluate()


def test_rmse_interval_is_the_books_computation(housing_project: Project,
                                                housing_evaluation: object) -> None:
    stored = pd.read_parquet(housing_project.layout.state_dir / "evaluations"
                             / f"model-{housing_project.latest_model().id}.parquet")
    squared = (stored["y_pred"] - stored["y_true"]).to_numpy() ** 2
    book = np.sqrt(stats.t.interval(0.95, len(squared) - 1, loc=squared.mean(),
                                    scale=stats.sem(squared)))
    result = housing_evaluation.result  # type: ignore[attr-defined]
    assert (result.interval.low, result.interval.high) == (book[0], book[1])
    assert result.score == pytest.approx(np.sqrt(squared.mean()))
    assert result.n_rows == 4_128


def test_evaluation_slices_by_category_and_income_bucket(housing_evaluation: object) -> None:
    slices = housing_evaluation.result.slices  # type: ignore[attr-defined]
    assert {"ocean_proximity", "median_income"} <= set(slices["feature"])
    income = slices[slices["feature"] == "median_income"]
    assert income["n"].sum() == 4_128  # every test row in exactly one bucket
    ocean = slices[slices["feature"] == "ocean_proximity"]
    assert {"INLAND", "NEAR OCEAN", "<1H OCEAN"} <= set(ocean["slice"])


def test_evaluation_is_stored_and_the_report_does_not_reread_the_test_set(
        housing_project: Project, housing_evaluation: object) -> None:
    reads = len(housing_project.test_reads())
    stored = housing_project.evaluation()
    assert stored["metric"] == "rmse" and stored["interval"]["method"].startswith("t-interval")
    assert stored["importances"] and stored["diagnostics"]["residuals"]["n"] == 4_128
    json.dumps(stored)
    files = housing_project.report(pdf=False)
    assert len(housing_project.test_reads()) == reads
    html = files.html.read_text()
    for section in ("Summary", "What was tried", "The final model", "Test score",
                    "Slices", "Top features", "Errors", "Assumptions and limitations"):
        assert section in html
    assert "predicts median_house_value with a test RMSE of" in html
    assert "is the strongest predictor" in html
    assert html.count("data:image/png;base64,") >= 6  # figures embedded, self-contained
    assert "http://" not in html.replace("http://www.w3.org", "")  # nothing fetched


def test_curves_are_computed_on_training_rows(housing_project: Project,
                                              housing_evaluation: object) -> None:
    reads = len(housing_project.test_reads())
    out = housing_project.curves(max_rows=1_500)
    assert len(housing_project.test_reads()) == reads
    sizes = [row["train_size"] for row in out["learning"]]
    assert sizes == sorted(sizes) and out["rows"] == 1_500
    assert out["param"] and len(out["validation"]) >= 3
    html = housing_project.report(pdf=False).html.read_text()
    assert "Learning curve" in html and "Validation curve" in html


@pytest.mark.skipif(find_browser() is None, reason="no headless browser")
def test_report_prints_to_pdf(housing_project: Project, housing_evaluation: object) -> None:
    files = housing_project.report(pdf=True)
    assert files.pdf is not None and files.pdf.read_bytes().startswith(b"%PDF")


def test_report_before_evaluate_says_what_to_do(tmp_path: Path,
                                                small_regression: pd.DataFrame) -> None:
    project = Project.init(tmp_path / "p", small_regression, "progression")
    project.train(models=["linear"], budget=10, ensemble=False)
    with pytest.raises(ModelNotFoundError, match="has not been evaluated"):
        project.report()
    result = runner.invoke(app, ["report", "-p", str(tmp_path / "p")])
    assert result.exit_code == 2 and "mlpilot evaluate" in result.output


def test_cli_evaluate_prints_interval_and_slices(tmp_path: Path,
                                                 small_regression: pd.DataFrame) -> None:
    root = tmp_path / "p"
    Project.init(root, small_regression, "progression").train(models=["linear"], budget=10,
                                                               ensemble=False)
    result = runner.invoke(app, ["evaluate", "-p", str(root)])
    assert result.exit_code == 0, result.output
    assert "95 % interval" in result.output and "Slices" in result.output
    assert "≤" in result.output  # quantile buckets of the most important numbers


def test_threshold_needs_a_binary_task(tmp_path: Path, small_regression: pd.DataFrame) -> None:
    project = Project.init(tmp_path / "p", small_regression, "progression")
    project.train(models=["linear"], budget=10, ensemble=False)
    with pytest.raises(ConfigError, match="binary"):
        project.set_threshold(target_precision=0.9)


def test_gap_warning_when_test_is_clearly_worse_than_cv() -> None:
    rmse = get_metric("rmse")
    assert validation_gap_warnings(rmse, 50.0, Interval(45, 55, 0.95, "t"), 40.0, 1.0)
    assert not validation_gap_warnings(rmse, 42.0, Interval(38, 46, 0.95, "t"), 40.0, 1.0)
    auc = get_metric("roc_auc")
    assert validation_gap_warnings(auc, 0.80, Interval(0.75, 0.85, 0.95, "b"), 0.95, 0.01)
    assert "better" in validation_gap_warnings(auc, 0.99, Interval(0.98, 1.0, 0.95, "b"),
                                               0.90, 0.01)[0]


def test_predictions_frame_round_trip() -> None:
    p = Predictions("binary", np.array(["a", "b", "b"]), np.array(["a", "b", "a"]),
                    np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]), np.array([0.1, 0.8, 0.4]),
                    np.array(["a", "b"]))
    back = Predictions.from_frame(p.to_frame(), "binary", p.classes)
    assert (back.y_pred == p.y_pred).all() and np.allclose(back.proba, p.proba)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- binary: titanic
@pytest.fixture(scope="module")
def titanic_project(tmp_path_factory: pytest.TempPathFactory, data_home: Path) -> Project:
    titanic = pd.read_csv(data_home / "titanic" / "train.csv")
    root = tmp_path_factory.mktemp("titanic") / "p"
    project = Project.init(root, titanic, "Survived", id_column="PassengerId", seed=42)
    project.prepare()
    project.train(models=["linear", "lightgbm"], budget=30, ensemble=False)
    return project


def test_threshold_for_target_precision_is_honoured_by_prediction(
        titanic_project: Project) -> None:
    base = titanic_project.latest_model()
    result = titanic_project.set_threshold(target_precision=0.85)
    assert result.choice.precision >= 0.85 and result.base.id == base.id
    assert titanic_project.threshold(result.record) is not None
    model = titanic_project.load_model(result.record)  # reloaded from disk
    X, _ = titanic_project.training_data()
    proba = titanic_project.load_model(base).predict_proba(X)[:, 1]
    expected = np.where(proba >= result.choice.threshold, 1, 0)
    assert (np.asarray(model.predict(X)) == expected).all()
    assert (expected == 1).mean() < (proba >= 0.5).mean()  # stricter than 0.5


def test_binary_report_shows_chapter_3_diagnostics(titanic_project: Project) -> None:
    if titanic_project.threshold() is None:
        titanic_project.set_threshold(target_precision=0.85)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TestSetReuseWarning)
        evaluation = titanic_project.evaluate()
    diagnostics = evaluation.result.diagnostics  # type: ignore[union-attr]
    assert diagnostics  # confusion matrix, curves ... (JSON)
    html = titanic_project.report(pdf=False).html.read_text()
    for text in ("Confusion matrices", "Precision–recall curve", "ROC curve",
                 "decision threshold of"):
        assert text in html, text

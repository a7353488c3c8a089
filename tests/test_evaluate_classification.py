"""Chapter 3's classification toolkit: tables, thresholds, curves, summary and figures."""

from __future__ import annotations

import io
import json

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import classification_report, precision_recall_curve, roc_auc_score
from sklearn.model_selection import cross_val_predict
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from mlpilot.errors import ConfigError
from mlpilot.evaluate.classification import (
    binary_curves,
    calibration_table,
    classification_summary,
    confusion_tables,
    dummy_baseline,
    per_class_table,
    thin,
)
from mlpilot.evaluate.classification_figures import (
    build_classification_figures,
    calibration_figure,
    confusion_figure,
    per_class_figure,
    pr_curve_figure,
    roc_figure,
    threshold_figure,
)
from mlpilot.evaluate.predictions import Predictions, from_probabilities
from mlpilot.evaluate.threshold import (
    ThresholdChoice,
    apply_threshold,
    choose_threshold,
    measure_threshold,
)

PNG = b"\x89PNG"


@pytest.fixture(scope="module")
def cancer() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_breast_cancer(return_X_y=True)
    return X, np.where(y == 1, "benign", "malignant")


@pytest.fixture(scope="module")
def binary_model(cancer: tuple[np.ndarray, np.ndarray]) -> LogisticRegression:
    X, y = cancer
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)


@pytest.fixture(scope="module")
def binary_oof(cancer: tuple[np.ndarray, np.ndarray]) -> Predictions:
    """Out-of-fold probabilities, as the book's ``cross_val_predict(method="predict_proba")``."""
    X, y = cancer
    model = make_pipeline(StandardScaler(), LogisticRegression())
    proba = cross_val_predict(model, X, y, cv=3, method="predict_proba")
    return from_probabilities(y, proba, "binary", classes=np.array(["benign", "malignant"]))


@pytest.fixture(scope="module")
def multiclass_oof() -> Predictions:
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    proba = cross_val_predict(LogisticRegression(max_iter=1000), X, names, cv=3,
                              method="predict_proba")
    return from_probabilities(names, proba, "multiclass", classes=np.unique(names))


@pytest.fixture(scope="module")
def multilabel_oof() -> Predictions:
    X, y = load_iris(return_X_y=True)
    labels = np.c_[y >= 1, X[:, 0] > 5.8].astype(int)
    pred = cross_val_predict(KNeighborsClassifier(), X, labels, cv=3)
    return Predictions("multilabel", labels, pred, classes=np.array(["not setosa", "long"]))


# --- tables ------------------------------------------------------------------------------------

def test_per_class_table_has_classification_reports_numbers(multiclass_oof: Predictions) -> None:
    table = per_class_table(multiclass_oof)
    report = classification_report(multiclass_oof.y_true, multiclass_oof.y_pred,
                                   output_dict=True, zero_division=0)
    for row in ("setosa", "versicolor", "virginica", "macro avg", "weighted avg"):
        for ours, theirs in (("precision", "precision"), ("recall", "recall"),
                             ("f1", "f1-score"), ("support", "support")):
            assert table.loc[row, ours] == pytest.approx(report[row][theirs])


def test_per_class_roc_auc_is_one_vs_rest(multiclass_oof: Predictions) -> None:
    table = per_class_table(multiclass_oof)
    p = multiclass_oof
    for j, c in enumerate(p.classes):
        assert table.loc[c, "roc_auc"] == pytest.approx(roc_auc_score(p.y_true == c,
                                                                      p.proba[:, j]))
    assert table.loc["macro avg", "roc_auc"] == pytest.approx(
        roc_auc_score(p.y_true, p.proba, multi_class="ovr", labels=p.classes))


def test_binary_table_uses_decision_scores_when_no_probabilities(
        cancer: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = cancer
    scores = cross_val_predict(make_pipeline(StandardScaler(), SGDClassifier(random_state=42)),
                               X, y, cv=3, method="decision_function")
    classes = np.array(["benign", "malignant"])
    p = Predictions("binary", y, classes[(scores > 0).astype(int)], None, scores, classes)
    table = per_class_table(p)
    assert table.loc["malignant", "roc_auc"] == pytest.approx(
        roc_auc_score(y == "malignant", scores))
    assert table.loc["benign", "roc_auc"] == pytest.approx(table.loc["malignant", "roc_auc"])
    assert calibration_table(p) is None


def test_confusion_tables_follow_the_book(multiclass_oof: Predictions) -> None:
    tables = confusion_tables(multiclass_oof)
    counts = tables["counts"]
    assert counts.to_numpy().sum() == len(multiclass_oof)
    assert list(counts.index) == list(multiclass_oof.classes)
    assert np.allclose(tables["row_normalized"].sum(axis=1), 1)
    errors = tables["errors_only"].to_numpy()
    assert np.all(np.diag(errors) == 0)
    rows_with_errors = (counts.to_numpy() - np.diag(np.diag(counts.to_numpy()))).sum(axis=1) > 0
    assert np.allclose(errors.sum(axis=1)[rows_with_errors], 1)
    assert np.allclose(errors.sum(axis=1)[~rows_with_errors], 0)


def test_multilabel_table_and_confusion_are_per_label(multilabel_oof: Predictions) -> None:
    table = per_class_table(multilabel_oof)
    assert list(table.index) == ["not setosa", "long", "macro avg", "weighted avg"]
    report = classification_report(multilabel_oof.y_true, multilabel_oof.y_pred,
                                   output_dict=True, zero_division=0)
    assert table.loc["macro avg", "f1"] == pytest.approx(report["macro avg"]["f1-score"])
    per_label = confusion_tables(multilabel_oof)["per_label"]
    assert (per_label.sum(axis=1) == len(multilabel_oof)).all()
    assert per_label.loc["long", "tp"] == int(((multilabel_oof.y_true[:, 1] == 1)
                                               & (multilabel_oof.y_pred[:, 1] == 1)).sum())


def test_calibration_table_counts_every_row(binary_oof: Predictions,
                                            multiclass_oof: Predictions) -> None:
    for p in (binary_oof, multiclass_oof):
        table = calibration_table(p, n_bins=5)
        assert table is not None
        assert table["count"].sum() == len(p)
        assert table["observed"].between(0, 1).all()
        assert (table["mean_predicted"] >= table["bin_low"] - 1e-12).all()


def test_dummy_baseline_is_the_majority_class(binary_oof: Predictions) -> None:
    y = binary_oof.y_true
    out = dummy_baseline(y, binary_oof, ["accuracy", "roc_auc", "log_loss"])
    assert out["accuracy"] == pytest.approx(np.mean(y == "benign"))
    assert out["roc_auc"] == pytest.approx(0.5)
    assert np.isfinite(out["log_loss"])
    with pytest.raises(ConfigError):
        dummy_baseline(y, binary_oof, ["no_such_metric"])


# --- curves and thresholds ---------------------------------------------------------------------

def test_binary_curves_are_exact_then_thinned(binary_oof: Predictions) -> None:
    curves = binary_curves(binary_oof, max_points=100)
    truth = binary_oof.y_true == "malignant"
    assert curves.roc_auc == pytest.approx(roc_auc_score(truth, binary_oof.scores))
    assert len(curves.pr_thresholds) <= 100 and len(curves.fpr) <= 100
    assert np.all(np.diff(curves.pr_thresholds) > 0)
    assert curves.recall[0] == 1.0  # the lowest threshold keeps every positive
    assert curves.pos_label == "malignant"


def test_thin_keeps_the_ends_and_the_limit() -> None:
    x = np.linspace(0, 1, 10_000)
    keep = thin(x, x ** 2, 500)
    assert len(keep) <= 500 and keep[0] == 0 and keep[-1] == 9_999


def test_threshold_for_target_precision_is_the_books(binary_oof: Predictions) -> None:
    y, scores = binary_oof.y_true, binary_oof.scores
    choice = choose_threshold(y, scores, pos_label="malignant", target_precision=0.99)
    precisions, recalls, thresholds = precision_recall_curve(y, scores, pos_label="malignant")
    idx = (precisions >= 0.99).argmax()
    assert choice.threshold == thresholds[idx]
    assert choice.recall == recalls[idx]
    predicted = scores >= choice.threshold
    positives = y == "malignant"
    assert (predicted & positives).sum() / predicted.sum() >= 0.99
    assert choice.achieved and choice.target == "precision" and choice.n_rows == len(y)


def test_threshold_for_target_recall_keeps_the_most_precision(binary_oof: Predictions) -> None:
    y, scores = binary_oof.y_true, binary_oof.scores
    choice = choose_threshold(y, scores, pos_label="malignant", target_recall=0.95)
    positives = y == "malignant"
    assert (positives & (scores >= choice.threshold)).sum() / positives.sum() >= 0.95
    higher = np.unique(scores[scores > choice.threshold])[0]
    assert (positives & (scores >= higher)).sum() / positives.sum() < 0.95
    assert choice.recall >= 0.95


@pytest.mark.parametrize("kwargs", [{}, {"target_precision": 0.9, "target_recall": 0.9},
                                    {"target_precision": 0.0}, {"target_recall": 1.5}])
def test_threshold_needs_exactly_one_target_in_range(binary_oof: Predictions,
                                                     kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError) as info:
        choose_threshold(binary_oof.y_true, binary_oof.scores, pos_label="malignant", **kwargs)
    assert info.value.hint


def test_unreachable_precision_is_a_typed_error_with_a_hint() -> None:
    y = np.array([1, 0, 1, 0, 1])
    scores = np.array([0.1, 0.9, 0.4, 0.8, 0.3])  # the top score is a negative
    with pytest.raises(ConfigError) as info:
        choose_threshold(y, scores, pos_label=1, target_precision=1.0)
    assert "lower the target" in info.value.hint


def test_measure_threshold_on_other_rows(binary_oof: Predictions) -> None:
    y, scores = binary_oof.y_true, binary_oof.scores
    choice = choose_threshold(y, scores, pos_label="malignant", target_precision=0.95)
    same = measure_threshold(choice, y, scores, pos_label="malignant", source="same rows")
    assert same.precision == pytest.approx(choice.precision)
    assert same.recall == pytest.approx(choice.recall)
    assert same.achieved and same.source == "same rows"


def test_thresholded_model_predicts_proba_at_least_t_and_pickles(
        binary_model: LogisticRegression, cancer: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = cancer
    proba = binary_model.predict_proba(X)[:, 1]
    t = float(np.sort(proba)[300])  # a threshold equal to one row's score: ≥, not >
    model = apply_threshold(binary_model, t, pos_label="malignant")
    check_is_fitted(model)
    expected = binary_model.classes_[(proba >= t).astype(int)]
    assert (model.predict(X) == expected).all()
    assert model.predict(X)[proba == t][0] == "malignant"
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    buffer.seek(0)
    assert (joblib.load(buffer).predict(X) == expected).all()


def test_thresholded_model_on_decision_scores(cancer: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = cancer
    sgd = make_pipeline(StandardScaler(), SGDClassifier(random_state=42)).fit(X, y)
    scores = sgd.decision_function(X)
    model = apply_threshold(sgd, 2.0, pos_label="malignant", response_method="decision_function")
    assert (model.predict(X) == np.where(scores >= 2.0, "malignant", "benign")).all()
    with pytest.raises(ConfigError):
        apply_threshold(sgd, 0.5, pos_label="malignant")  # no predict_proba
    with pytest.raises(ConfigError):
        apply_threshold(sgd, 0.5, pos_label="other", response_method="decision_function")


# --- summary and figures -----------------------------------------------------------------------

def test_binary_summary_is_json_and_complete(binary_oof: Predictions) -> None:
    choice = choose_threshold(binary_oof.y_true, binary_oof.scores, pos_label="malignant",
                              target_precision=0.95)
    summary = classification_summary(binary_oof, y_train=binary_oof.y_true, metric="roc_auc",
                                      threshold=choice)
    text = json.dumps(summary, allow_nan=False)
    assert json.loads(text) == summary
    assert summary["positive"] == "malignant" and summary["metric"] == "roc_auc"
    assert summary["metrics"]["roc_auc"] == pytest.approx(summary["curves"]["roc_auc"])
    assert summary["dummy"]["accuracy"] < summary["metrics"]["accuracy"]
    assert summary["threshold"]["threshold"] == choice.threshold
    assert summary["curves"]["roc"]["threshold"][0] is None  # +inf is stored as null
    assert {r["class"] for r in summary["per_class"]} >= {"benign", "malignant", "macro avg"}


def test_multiclass_and_multilabel_summaries(multiclass_oof: Predictions,
                                             multilabel_oof: Predictions) -> None:
    multi = classification_summary(multiclass_oof, y_train=multiclass_oof.y_true)
    json.dumps(multi, allow_nan=False)
    assert multi["curves"] is None and multi["calibration"] is not None
    assert len(multi["confusion"]["errors_only"]) == 3
    assert multi["confusion"]["most_confused"][0]["true"] in multi["classes"]
    assert multi["dummy"]["accuracy"] == pytest.approx(1 / 3)
    label = classification_summary(multilabel_oof, y_train=multilabel_oof.y_true)
    json.dumps(label, allow_nan=False)
    assert label["classes"] == ["not setosa", "long"]
    assert set(label["metrics"]) == {"f1_macro", "f1_micro"}
    assert label["calibration"] is None and "per_label" in label["confusion"]


def test_figures_are_png(binary_oof: Predictions, multiclass_oof: Predictions,
                         multilabel_oof: Predictions) -> None:
    choice = choose_threshold(binary_oof.y_true, binary_oof.scores, pos_label="malignant",
                              target_precision=0.95)
    binary = json.loads(json.dumps(classification_summary(binary_oof, threshold=choice)))
    for figure in (confusion_figure(binary), pr_curve_figure(binary), roc_figure(binary, 0.5),
                   threshold_figure(binary), calibration_figure(binary),
                   per_class_figure(binary)):
        assert figure.startswith(PNG)
    multi = build_classification_figures(classification_summary(multiclass_oof))
    assert set(multi) == {"confusion", "per_class", "calibration"}
    labels = build_classification_figures(classification_summary(multilabel_oof))
    assert all(png.startswith(PNG) for png in [*multi.values(), *labels.values()])
    with pytest.raises(ValueError):
        roc_figure(classification_summary(multiclass_oof))


def test_threshold_choice_round_trips_as_dict() -> None:
    choice = ThresholdChoice(0.7, 0.91, 0.5, "precision", 0.9, True, 100)
    assert ThresholdChoice(**choice.to_dict()) == choice


def test_a_perfect_classifier_has_empty_error_tables() -> None:
    # A model with no test error (a neural net on wine) must not crash the evaluation.
    from mlpilot.evaluate.classification import confusion_tables
    from mlpilot.evaluate.predictions import Predictions

    y = np.array(["a", "b", "c", "a"])
    p = Predictions(task="multiclass", y_true=y, y_pred=y.copy(), proba=None,
                    classes=np.array(["a", "b", "c"]))
    tables = confusion_tables(p)
    assert tables["counts"].to_numpy().trace() == 4
    assert tables["errors_only"].to_numpy().sum() == 0

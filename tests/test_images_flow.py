"""Image tables (Fashion-MNIST) through the project flow: detection, the image plan, the
exploration's image figures and the neural-network diagnostics of the report."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import TransformedTargetRegressor
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from mlpilot import Project
from mlpilot.data.schema import infer_schema
from mlpilot.explore import explore
from mlpilot.features.builder import (
    build_from_source,
    plan_preparation,
    ratio_candidates,
    render_python,
)
from mlpilot.features.images import PixelScaler, column_ranges, detect_image_table
from mlpilot.models.zoo import Candidate
from mlpilot.report.neural import find_history

SIDE = 12


def _images(n: int = 400, side: int = SIDE, seed: int = 0, names: str = "pixel{}"
            ) -> pd.DataFrame:
    """Synthetic uint8 images of three classes (a bar, a column, a square) with noise."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(["bar", "column", "square"], n)
    pixels = rng.integers(0, 40, (n, side, side))
    mid = side // 2
    for i, label in enumerate(labels):
        if label == "bar":
            pixels[i, mid - 1:mid + 1, 2:-2] = 230
        elif label == "column":
            pixels[i, 2:-2, mid - 1:mid + 1] = 230
        else:
            pixels[i, 3:-3, 3:-3] = 200
    flat = pixels.reshape(n, -1).astype("uint8")
    frame = pd.DataFrame(flat, columns=[names.format(j) for j in range(side * side)])
    frame["label"] = labels
    return frame


def _plan(frame: pd.DataFrame, target: str = "label", **kwargs: Any) -> Any:
    schema = infer_schema(frame, target)
    minimums, maximums = column_ranges(frame)
    return plan_preparation(schema, [target], minimums=minimums, maximums=maximums,
                            task="multiclass", **kwargs)


# ---------------------------------------------------------------------------- detection
def test_pixel_columns_are_recognised_with_their_shape_and_range() -> None:
    frame = _images()
    layout = detect_image_table(infer_schema(frame, "label"), "label")
    assert layout is not None
    assert layout.shape == (SIDE, SIDE) and layout.n_pixels == SIDE * SIDE
    assert layout.max_value == 255.0  # uint8: the book's / 255 even without statistics
    assert layout.columns[:3] == ("pixel0", "pixel1", "pixel2")
    assert "12×12 images" in layout.description


def test_row_and_column_names_give_the_shape_and_the_order() -> None:
    # sklearn's digits name pixels pixel_<row>_<column>; a 4 x 8 rectangle, shuffled.
    rng = np.random.default_rng(1)
    names = [f"pixel_{r}_{c}" for r in range(4) for c in range(8)]
    frame = pd.DataFrame(rng.integers(0, 17, (50, 32)), columns=names)
    frame = frame[list(rng.permutation(names))]
    frame["digit"] = rng.integers(0, 3, 50)
    layout = detect_image_table(infer_schema(frame, "digit"), "digit",
                                maximums=column_ranges(frame)[1])
    assert layout is not None and layout.shape == (4, 8)
    assert list(layout.columns) == names  # row by row, whatever the table's order
    assert layout.max_value == 16.0  # divide by the max: digits go up to 16


def test_unnamed_square_tables_need_pixel_like_values() -> None:
    frame = _images(names="{}")
    mins, maxs = column_ranges(frame)
    schema = infer_schema(frame, "label")
    assert detect_image_table(schema, "label", minimums=mins, maximums=maxs) is not None
    wide = pd.DataFrame(np.random.default_rng(0).normal(size=(40, 64)),
                        columns=[str(i) for i in range(64)])
    wide["y"] = 0.0
    mins, maxs = column_ranges(wide)
    assert detect_image_table(infer_schema(wide, "y"), "y", minimums=mins,
                              maximums=maxs) is None  # negative floats are no pixels
    odd = frame.drop(columns=["0"])  # 143 columns: not a square
    mins, maxs = column_ranges(odd)
    assert detect_image_table(infer_schema(odd, "label"), "label", minimums=mins,
                              maximums=maxs) is None


def test_ordinary_tables_are_not_images(housing: pd.DataFrame) -> None:
    schema = infer_schema(housing, "median_house_value")
    mins, maxs = column_ranges(housing)
    assert detect_image_table(schema, "median_house_value", minimums=mins,
                              maximums=maxs) is None
    plan = plan_preparation(schema, ["median_house_value"], minimums=mins, maximums=maxs)
    source = render_python(plan)
    assert plan.image is None and "PIXELS" not in source and "PixelScaler" not in source


# ---------------------------------------------------------------------------- preparation
@parametrize_with_checks([PixelScaler(), PixelScaler(max_value=255)])
def test_pixel_scaler_is_a_scikit_learn_transformer(estimator: Any, check: Any) -> None:
    check(estimator)


def test_the_image_plan_divides_pixels_by_their_maximum() -> None:
    frame = _images()
    plan = _plan(frame)
    assert plan.image is not None
    assert set(plan.with_treatment("pixels")) == set(plan.image.columns)
    rows = plan.rows()
    assert len(rows) == 1 and rows[0][1] == "pixels"  # one line for all 144 pixels
    assert "X / 255" in rows[0][2] and "no imputation" in rows[0][2]
    assert ratio_candidates(plan, frame.drop(columns="label"), heavy_tailed=list(frame)) == []
    source = render_python(plan)
    assert 'PIXELS = [f"pixel{i}" for i in range(144)]' in source
    assert "PIXEL_MAX = 255.0" in source
    X = frame.drop(columns="label")
    scaled = build_from_source(source, "scaled").fit_transform(X, frame["label"])
    assert scaled.dtype == np.float32 and scaled.shape == X.shape
    np.testing.assert_allclose(scaled, X.to_numpy() / 255, rtol=1e-6)
    tree = build_from_source(source, "tree").fit_transform(X, frame["label"])
    np.testing.assert_array_equal(np.asarray(tree), X.to_numpy())  # trees: as they are


def test_missing_pixels_are_imputed_and_overrides_win() -> None:
    frame = _images().astype({"pixel5": "float64"})
    frame.loc[:9, "pixel5"] = np.nan
    plan = _plan(frame, overrides={"pixel0": "drop"})
    assert plan.columns["pixel0"].treatment == "drop"
    assert "imputed first" in plan.columns["pixel5"].reason
    X = frame.drop(columns="label")
    pipe = build_from_source(render_python(plan), "scaled").fit(X, frame["label"])
    out = pipe.transform(X)
    assert out.shape == (len(X), SIDE * SIDE - 1) and np.isfinite(out).all()
    assert out.max() <= 1.0


def test_pca_applies_after_the_pixel_scaling() -> None:
    frame = _images()
    plan = _plan(frame, pca=5)
    out = build_from_source(render_python(plan), "scaled").fit_transform(
        frame.drop(columns="label"), frame["label"])
    assert out.shape == (len(frame), 5)


# ---------------------------------------------------------------------------- exploration
def test_exploring_images_draws_images_not_histograms() -> None:
    frame = _images()
    frame.iloc[:, :SIDE] = 0  # a blank top row of pixels in every image
    exploration = explore(frame, "label", name="shapes")
    assert exploration.image is not None
    assert {"image_samples", "class_means", "class_balance"} <= set(exploration.figures)
    assert "histograms" not in exploration.figures
    assert exploration.correlations is None
    constant = exploration.flags_of("constant")
    assert len(constant) == 1 and constant[0].column is None  # one flag, not 12
    assert "12 of the 144 pixels" in constant[0].evidence
    assert list(exploration.structure["column"]) == ["label"]  # pixels not listed one by one
    assert exploration.stats["image"]["shape"] == [SIDE, SIDE]
    assert len(exploration.stats["columns"]) == SIDE * SIDE + 1  # the baseline stays whole
    html = exploration.html()
    assert "The rows are images" in html and "Sample images" in html
    assert "Mean image per class" in html and "<td><strong>pixel7</strong>" not in html


def test_image_flags_keep_the_other_columns_checks() -> None:
    frame = _images()
    frame["source"] = "scanner"  # a constant metadata column, flagged by the usual rule
    frame = pd.concat([frame, frame.iloc[:5]], ignore_index=True)
    exploration = explore(frame, "label", draw=False)
    assert [f.column for f in exploration.flags_of("constant")] == ["source"]
    assert exploration.flags_of("duplicate_rows")


def test_digits_explore_as_8x8_images() -> None:
    from mlpilot import load_dataset

    digits = load_dataset("digits")
    exploration = explore(digits, "digit", draw=False)
    assert exploration.image is not None and exploration.image.shape == (8, 8)
    assert exploration.image.max_value == 16.0


# ---------------------------------------------------------------------------- report helpers
class _Net(ClassifierMixin, BaseEstimator):
    def fit(self, X: Any, y: Any) -> _Net:
        self.classes_ = np.unique(y)
        self.history_ = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.full(len(X), self.classes_[-1])

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.tile([0.4, 0.6], (len(X), 1))


def test_the_history_is_found_inside_wrappers() -> None:
    X, y = np.arange(20.0).reshape(10, 2), np.array([0, 1] * 5)
    wrapped = FixedThresholdClassifier(make_pipeline(StandardScaler(), _Net()),
                                       threshold=0.3).fit(X, y)
    assert find_history(wrapped) == {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}
    plain = TransformedTargetRegressor(make_pipeline(StandardScaler(), LinearRegression()))
    assert find_history(plain.fit(X, y.astype(float))) is None


# ---------------------------------------------------------------------------- the whole flow
@pytest.fixture(scope="module")
def fashion(data_home: Path) -> pd.DataFrame:
    if not (data_home / "fashion-mnist").exists():
        pytest.skip("Fashion-MNIST is not in the data home")
    from mlpilot.data.catalog import load_dataset

    return load_dataset("fashion_mnist")


def _downsampled(frame: pd.DataFrame, n: int, factor: int) -> pd.DataFrame:
    """``n`` images averaged over ``factor`` x ``factor`` blocks (28 → 28 / factor)."""
    rows = frame.groupby("label", group_keys=False).head(n // 10).reset_index(drop=True)
    images = rows.drop(columns="label").to_numpy().reshape(len(rows), 28, 28)
    side = 28 // factor
    small = images.reshape(len(rows), side, factor, side, factor).mean(axis=(2, 4))
    out = pd.DataFrame(small.reshape(len(rows), -1).round().astype("uint8"),
                       columns=[f"pixel{i}" for i in range(side * side)])
    out["label"] = rows["label"].to_numpy()
    return out


def test_fashion_mnist_init_explore_prepare_is_fast(fashion: pd.DataFrame,
                                                     tmp_path: Path) -> None:
    start = time.perf_counter()
    project = Project.init(tmp_path / "fm", fashion.iloc[:6000], "label")
    exploration = project.explore()
    prepared = project.prepare()
    elapsed = time.perf_counter() - start
    assert elapsed < 60  # minutes before the image plan (784 columns of ratio/log analyses)
    assert exploration.image is not None and exploration.image.shape == (28, 28)
    assert prepared.plan is not None and prepared.plan.image is not None
    source = prepared.path.read_text()
    assert "PixelScaler(max_value=PIXEL_MAX)" in source and "PIXEL_MAX = 255.0" in source
    X, y = project.training_data()
    out = project.preprocessor("scaled").fit_transform(X.iloc[:500], y.iloc[:500])
    assert out.shape == (500, 784) and out.min() >= 0.0 and out.max() == 1.0


def _needs_keras() -> None:
    """Skip without Keras (imported through mlpilot, so that its backend choice holds)."""
    from mlpilot.deep.backend import keras_module
    from mlpilot.errors import DeepLearningError

    try:
        keras_module()
    except DeepLearningError as exc:
        pytest.skip(str(exc))


def _quick_mlp() -> Candidate:
    """The zoo's ``mlp`` for 3 epochs (what is tested is the report, not the training)."""
    from mlpilot.deep.estimators import KerasClassifier

    return Candidate("mlp", "neural", 45, lambda task, seed: KerasClassifier(
        preset="fast", epochs=3, random_state=seed), prep="scaled")


def _report_html(project: Project, candidates: list[Candidate] | None = None) -> str:
    if candidates is None:
        project.train(models=["mlp"], ensemble=False)  # what `mlpilot train --models mlp` does
    else:
        project.train(candidates=candidates, ensemble=False)
    project.evaluate()
    html = project.report(pdf=False).html.read_text()
    return re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "IMG", html)


def _assert_neural_report(html: str) -> None:
    assert "Training history" in html  # the network's learning curves
    assert "Confusion matrices" in html
    assert "Misclassified test images" in html
    assert "Permutation importance of each pixel" in html
    assert "pixel columns (pixel0 … pixel" in html  # inputs summed up, not 784 names
    assert 'id="mlx-slices"' not in html  # slices by pixel value say nothing


def test_report_of_a_network_on_small_fashion_images(fashion: pd.DataFrame,
                                                     tmp_path: Path) -> None:
    _needs_keras()
    frame = _downsampled(fashion, 1500, factor=4)  # 7 x 7: quick to train and to permute
    project = Project.init(tmp_path / "small", frame, "label", cv_folds=3)
    project.explore()
    project.prepare()
    _assert_neural_report(_report_html(project, [_quick_mlp()]))


@pytest.mark.slow
def test_report_of_a_network_on_6000_fashion_images(fashion: pd.DataFrame,
                                                    tmp_path: Path) -> None:
    _needs_keras()
    sample = fashion.sample(6000, random_state=0).reset_index(drop=True)
    project = Project.init(tmp_path / "fm6k", sample, "label", cv_folds=3)
    project.explore()
    project.prepare()
    _assert_neural_report(_report_html(project))

"""The automatic preparation: treatments with reasons, prepare.py as the pipeline, no leaks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline

from mlpilot import Project
from mlpilot.data.schema import infer_schema
from mlpilot.errors import ConfigError, DataQualityWarning
from mlpilot.evaluate.metrics import get_metric
from mlpilot.features.builder import build_from_source, plan_preparation, render_python
from mlpilot.models.zoo import Candidate, baseline_candidates
from mlpilot.search.shortlist import shortlist


def _mixed_frame(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "row_id": np.arange(n),
        "rooms": rng.lognormal(5, 1, n).round(),
        "age": rng.integers(1, 50, n).astype(float),
        "city": rng.choice([f"c{i}" for i in range(40)], n),
        "colour": rng.choice(["red", "blue", None], n),
        "when": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        "lat": rng.uniform(32, 42, n),
        "lon": rng.uniform(-124, -114, n),
        "note": [f"free text note number {i} about the row" for i in range(n)],
        "y": rng.normal(size=n),
    })


def test_each_kind_gets_the_books_treatment() -> None:
    frame = _mixed_frame()
    schema = infer_schema(frame, "y")
    plan = plan_preparation(schema, ["y"], heavy_tailed=["rooms"], minimums={"rooms": 1.0})
    treatments = {c: p.treatment for c, p in plan.columns.items()}
    assert treatments == {
        "row_id": "drop", "rooms": "log", "age": "numeric", "city": "target",
        "colour": "onehot", "when": "datetime", "lat": "geo", "lon": "geo", "note": "drop",
    }
    assert all(p.reason for p in plan.columns.values())
    for variant in ("scaled", "tree"):
        pipe = build_from_source(render_python(plan), variant)
        out = pipe.set_output(transform="pandas").fit_transform(frame.drop(columns="y"),
                                                                frame["y"])
        numbers = out.select_dtypes(exclude="category")  # tree codes keep NaN for "missing"
        assert np.isfinite(numbers.to_numpy(dtype=float)).all()
        assert "Cluster 0 similarity" in out.columns
        assert any(c.startswith("when_") for c in out.columns)
        assert ("lat" in out.columns) == (variant == "tree")  # raw coordinates only for trees


def test_a_missing_high_cardinality_value_is_its_own_category() -> None:
    """Titanic's Cabin: 77 % missing, and being missing is what predicts survival."""
    frame = _mixed_frame(600)
    missing = frame.index % 3 == 0
    frame["city"] = frame["city"].where(~missing, None)
    frame["y"] = np.where(missing, 5.0, 0.0) + np.random.default_rng(1).normal(0, 0.1, 600)
    plan = plan_preparation(infer_schema(frame, "y"), ["y"])
    assert plan.columns["city"].treatment == "target"
    pipe = build_from_source(render_python(plan), "tree").set_output(transform="pandas")
    encoded = pipe.fit(frame.drop(columns="y"), frame["y"]).transform(frame.drop(columns="y"))
    city = encoded["city"]
    assert city[missing].min() > 4.5  # missing rows share their own encoding, near 5
    assert city[~missing].max() < 1.0  # and no city was imputed into their group


def test_places_get_neighbours_alike_in_the_most_informative_column() -> None:
    """With coordinates and a target, the plan picks the value column that tells the target
    most, finds neighbours alike in it, and describes each neighbourhood by its values."""
    from mlpilot.features.builder import choose_geo_value

    frame = _mixed_frame()
    frame["y"] = 3.0 * frame["age"] + np.random.default_rng(1).normal(size=len(frame))
    schema = infer_schema(frame, "y")
    X, y = frame.drop(columns="y"), frame["y"]
    plan = choose_geo_value(plan_preparation(schema, ["y"], heavy_tailed=["rooms"],
                                             minimums={"rooms": 1.0}), X, y)
    assert plan.geo_value == "age"
    assert "neighbours alike" in plan.columns["age"].reason
    source = render_python(plan)
    assert "value_weight=NEIGHBOR_VALUE_WEIGHT" in source and "NeighborMeans(" in source
    for variant in ("scaled", "tree"):
        out = build_from_source(source, variant).set_output(transform="pandas").fit_transform(
            X, y)
        assert "neighbors_k5_by_age" in out.columns
        assert {"trend_k30_by_age", "trend_k100_by_age_slope"} <= set(out.columns)
        assert {"near_distance", "near_age", "vs_near_rooms"} <= set(out.columns)
    unsupervised = choose_geo_value(plan_preparation(schema, ["y"], task="multilabel"), X, y)
    assert unsupervised.geo_value is None  # no single target to tell


def _ratio_table(n: int = 900) -> pd.DataFrame:
    """Prices set by rooms per household (the book's ratio), plus an irrelevant count."""
    rng = np.random.default_rng(3)
    households = rng.lognormal(5, 0.6, n).round() + 1
    rooms = (households * rng.uniform(2, 8, n)).round()
    visitors = rng.lognormal(4, 1, n).round() + 1
    return pd.DataFrame({"rooms": rooms, "households": households, "visitors": visitors,
                         "age": rng.uniform(1, 50, n),
                         "y": 10 * rooms / households + rng.normal(0, 1, n)})


def test_ratio_selection_keeps_the_ratio_that_explains_the_target() -> None:
    from mlpilot.features.builder import ratio_candidates, select_ratios

    frame = _ratio_table()
    X, y = frame.drop(columns="y"), frame["y"]
    counts = ["rooms", "households", "visitors"]
    plan = plan_preparation(infer_schema(frame, "y"), ["y"], heavy_tailed=counts)
    candidates = ratio_candidates(plan, X, counts)
    assert "rooms_per_households" in {c.name for c in candidates} and len(candidates) == 3
    plan = select_ratios(plan, X, y, candidates, get_metric("rmse").scorer)
    assert [r.name for r in plan.ratios] == ["rooms_per_households"]
    assert "improves a quick 3-fold CV" in plan.ratios[0].reason
    assert all("rejected" in r.reason for r in plan.rejected_ratios)


def test_the_ratio_judge_scores_what_the_full_pipeline_scores() -> None:
    """The judge caches the pipeline without ratios per fold; its score must be the one a
    cross-validation of the whole prepare.py pipeline (ratios included) gives."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.pipeline import make_pipeline

    from mlpilot.features.builder import RatioPlan
    from mlpilot.features.judge import RatioJudge

    frame = _ratio_table(600)
    X, y = frame.drop(columns="y"), frame["y"]
    plan = plan_preparation(infer_schema(frame, "y"), ["y"], heavy_tailed=["rooms"])
    ratios = [RatioPlan("rooms", "households"), RatioPlan("visitors", "age")]
    model = HistGradientBoostingRegressor(max_iter=30, random_state=0)
    cv = KFold(3, shuffle=True, random_state=0)
    judge = RatioJudge(lambda: build_from_source(render_python(plan), "tree"), model, X, y,
                       list(cv.split(X)), "neg_root_mean_squared_error")
    for chosen in ([], ratios[:1], ratios):
        with_ratios = type(plan)(**{**plan.__dict__, "ratios": chosen})
        full = make_pipeline(build_from_source(render_python(with_ratios), "tree"), model)
        expected = cross_val_score(full, X, y, cv=cv, scoring="neg_root_mean_squared_error")
        assert judge.score(chosen) == pytest.approx(expected.mean(), rel=1e-9)


@pytest.mark.parametrize("pca, expect", [(0.9, None), (3, 3)])
def test_pca_option_reduces_the_scaled_variant_only(pca: float, expect: int | None) -> None:
    frame = _mixed_frame()
    plan = plan_preparation(infer_schema(frame, "y"), ["y"], pca=pca)
    X, y = frame.drop(columns="y"), frame["y"]
    scaled = build_from_source(render_python(plan), "scaled").fit(X, y)
    full = build_from_source(render_python(plan_preparation(infer_schema(frame, "y"), ["y"])),
                             "scaled").fit(X, y)
    assert scaled.steps[-1][0] == "pca"
    n_out = scaled.transform(X).shape[1]
    assert n_out < full.transform(X).shape[1]
    if expect is not None:
        assert n_out == expect
    else:  # the fewest components keeping 90 % of the variance
        assert scaled.named_steps["pca"].explained_variance_ratio_.sum() >= 0.9
        assert scaled.named_steps["pca"].explained_variance_ratio_[:-1].sum() < 0.9
    tree = build_from_source(render_python(plan), "tree")
    assert "pca" not in dict(tree.steps)


def test_overrides_win() -> None:
    frame = _mixed_frame()
    plan = plan_preparation(infer_schema(frame, "y"), ["y"],
                            overrides={"age": "drop", "city": "onehot"})
    assert plan.columns["age"].treatment == "drop"
    assert plan.columns["city"].treatment == "onehot"
    assert plan.columns["age"].reason == "set in mlpilot.toml"


def test_pipeline_survives_bad_data_at_prediction_time() -> None:
    frame = _mixed_frame()
    plan = plan_preparation(infer_schema(frame, "y"), ["y"], heavy_tailed=["rooms"],
                            minimums={"rooms": 1.0})
    pipe = build_from_source(render_python(plan), "scaled").fit(frame.drop(columns="y"),
                                                                frame["y"])
    bad = frame.drop(columns="y").head(5).astype({"rooms": object, "age": object})
    bad.loc[0, "rooms"] = "lots"
    bad.loc[1, "age"] = np.inf
    bad.loc[2, "colour"] = "ultraviolet"  # unseen category
    bad.loc[3, "when"] = "not a date"
    with pytest.warns(DataQualityWarning, match="rooms") as caught:
        out = pipe.transform(bad)
    messages = " ".join(str(w.message) for w in caught)
    assert "'age'" in messages and "infinite" in messages
    assert "'colour'" in messages and "ultraviolet" in messages
    assert "'when'" in messages
    assert np.isfinite(np.asarray(out, dtype=float)).all()


class TargetMemorizer(TransformerMixin, BaseEstimator):
    """Deliberately leaky: remembers each training row's target by its ID and outputs it.

    If cross-validation let a model see its validation rows, this feature would be the
    answer and the CV score would be perfect.
    """

    def fit(self, X: pd.DataFrame, y: Any = None) -> TargetMemorizer:
        self.memory_ = dict(zip(X["row_id"], np.asarray(y), strict=True))
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        return np.array([[self.memory_.get(i, 0.0)] for i in X["row_id"]])


def test_cross_validation_never_fits_on_validation_rows() -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"row_id": np.arange(400), "noise": rng.normal(size=400)})
    y = pd.Series(rng.normal(size=400))
    leaky = Pipeline([("memorize", TargetMemorizer())])
    linear = next(c for c in baseline_candidates() if c.name == "linear")
    board = shortlist(X, y, candidates=[linear], preprocessor=leaky, task="regression",
                      metric=get_metric("r2"), n_splits=5, seed=0, budget=60)
    # In-sample the memorizer is perfect; across folds it knows nothing.
    in_sample = Pipeline([("m", TargetMemorizer()), ("lr", linear.build("regression", 0))])
    assert in_sample.fit(X, y).score(X, y) > 0.99
    assert board.best.mean is not None and board.best.mean < 0.05


def test_prepare_py_is_the_pipeline_and_edits_are_kept(tmp_path: Path) -> None:
    from mlpilot import load_dataset

    project = Project.init(tmp_path / "p", load_dataset("diabetes"), "progression")
    first = project.prepare()
    assert first.written and (tmp_path / "p" / "prepare.py").exists()
    source = first.path.read_text()
    assert "def build_preprocessing" in source and "Column treatments and why" in source
    edited = source.replace("StandardScaler()", "MinMaxScaler()").replace(
        "from sklearn.preprocessing import (", "from sklearn.preprocessing import (MinMaxScaler, ")
    first.path.write_text(edited)
    assert not project.prepare().written  # the user's edit wins
    pipe = project.preprocessor("scaled")
    X, y = project.training_data()
    out = np.asarray(pipe.fit_transform(X, y), dtype=float)
    assert out.min() >= -1e-9 and out.max() <= 1 + 1e-9  # MinMaxScaler really runs
    result = project.train(candidates=[Candidate("linear", "linear", 1,
                                                 baseline_candidates()[1].build)])
    assert result.leaderboard.best.name == "linear"
    first.path.write_text("this is not python")
    with pytest.raises(ConfigError, match=r"prepare\.py failed"):
        project.preprocessor()
    assert project.prepare(force=True).written


def test_tree_variant_gives_boosting_native_categories() -> None:
    from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
    from sklearn.pipeline import make_pipeline

    frame = _mixed_frame()
    plan = plan_preparation(infer_schema(frame, "y"), ["y"])
    X, y = frame.drop(columns="y"), frame["y"]
    hgb = make_pipeline(build_from_source(render_python(plan), "tree"),
                        HistGradientBoostingRegressor(max_iter=10)).fit(X, y)
    model = hgb[-1]
    categorical = dict(zip(model.feature_names_in_, model.is_categorical_, strict=True))
    assert categorical["colour"] and not categorical["age"]
    forest = make_pipeline(build_from_source(render_python(plan), "tree"),
                           RandomForestRegressor(n_estimators=5)).fit(X, y)
    unseen = X.head(3).assign(colour="ultraviolet")
    with pytest.warns(DataQualityWarning, match="colour"):
        assert np.isfinite(forest.predict(unseen)).all()

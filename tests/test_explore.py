"""mlpilot.explore: the automatic "explore the data" report (book chapter 2)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlpilot.errors import SchemaError
from mlpilot.explore import Exploration, Flag, explore

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def housing_path() -> Path:
    home = Path(os.environ.get("MLPILOT_DATA_HOME", "/work/shared/datasets"))
    return home / "housing" / "housing.csv"


@pytest.fixture(scope="module")
def housing() -> pd.DataFrame:
    path = housing_path()
    if not path.exists():
        pytest.skip(f"housing data not found at {path}")
    return pd.read_csv(path)


@pytest.fixture(scope="module")
def housing_exploration(housing: pd.DataFrame) -> Exploration:
    return explore(housing, target="median_house_value", name="California housing")


def only(flags: list[Flag]) -> Flag:
    assert len(flags) == 1, flags
    return flags[0]


# ----------------------------------------------------------------------------- housing


def test_housing_target_capped_at_500001(housing_exploration: Exploration) -> None:
    flag = only(housing_exploration.flags_of("capped", "median_house_value"))
    assert flag.value == 500_001
    assert "500,001" in flag.evidence
    assert flag.suggestion


def test_housing_median_age_capped_at_52(housing_exploration: Exploration) -> None:
    assert only(housing_exploration.flags_of("capped", "housing_median_age")).value == 52


@pytest.mark.parametrize("column", ["total_rooms", "population"])
def test_housing_heavy_tails_suggest_log(housing_exploration: Exploration, column: str) -> None:
    flag = only(housing_exploration.flags_of("heavy_tail", column))
    assert flag.value is not None and flag.value > 1
    assert "log" in flag.suggestion


def test_housing_heavy_tail_not_flagged_on_symmetric_columns(
    housing_exploration: Exploration,
) -> None:
    flagged = {f.column for f in housing_exploration.flags_of("heavy_tail")}
    assert not flagged & {"longitude", "latitude", "housing_median_age"}


def test_housing_median_income_is_top_correlation(housing_exploration: Exploration) -> None:
    corr = housing_exploration.correlations
    assert corr is not None
    assert corr.index[0] == "median_income"
    assert corr.loc["median_income", "pearson"] == pytest.approx(0.688, abs=0.02)
    assert list(corr.columns[:2]) == ["pearson", "spearman"]
    assert corr["pearson"].abs().is_monotonic_decreasing
    stored = housing_exploration.stats["correlations_with_target"]["pearson"]
    assert next(iter(stored)) == "median_income"


def test_housing_coordinates_are_multimodal(housing_exploration: Exploration) -> None:
    flagged = {f.column for f in housing_exploration.flags_of("multimodal")}
    assert {"latitude", "longitude"} <= flagged
    assert "median_income" not in flagged


def test_housing_has_geographic_scatter_and_book_figures(
    housing_exploration: Exploration,
) -> None:
    figures = housing_exploration.figures
    for name in ("geo_scatter", "histograms", "categories", "target_correlation",
                 "correlation_heatmap", "scatter_matrix", "target_vs_strongest"):
        assert figures[name].startswith(PNG_MAGIC), name


def test_housing_missing_bedrooms_suggest_median_imputation(
    housing_exploration: Exploration,
) -> None:
    flag = only(housing_exploration.flags_of("missing_values", "total_bedrooms"))
    assert "207" in flag.evidence
    assert "median" in flag.suggestion
    assert housing_exploration.stats["columns"]["total_bedrooms"]["missing"] == 207


def test_housing_no_false_leakage_or_duplicates(housing_exploration: Exploration) -> None:
    assert not housing_exploration.flags_of("leakage")
    assert not housing_exploration.flags_of("duplicate_rows")


def test_housing_category_counts_match_book(housing_exploration: Exploration) -> None:
    freq = housing_exploration.stats["columns"]["ocean_proximity"]["frequencies"]
    assert freq == {"<1H OCEAN": 9136, "INLAND": 6551, "NEAR OCEAN": 2658, "NEAR BAY": 2290,
                    "ISLAND": 5}


# ----------------------------------------------------------------------------- synthetic


def clean_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    return pd.DataFrame({
        "x1": x1,
        "x2": x2,
        "colour": rng.choice(["red", "green", "blue"], size=n),
        "y": x1 + 0.5 * x2 + rng.normal(scale=1.0, size=n),
    })


def test_clean_frame_raises_no_flags() -> None:
    assert explore(clean_frame(), target="y", draw=False).flags == []


def test_constant_column_flagged() -> None:
    frame = clean_frame().assign(country="FR")
    flag = only(explore(frame, target="y", draw=False).flags_of("constant", "country"))
    assert "Drop" in flag.suggestion


def test_near_constant_column_flagged() -> None:
    frame = clean_frame(n=1000)
    frame["rare"] = np.where(np.arange(1000) < 995, 0.0, 1.5)
    only(explore(frame, target="y", draw=False).flags_of("near_constant", "rare"))


def test_duplicate_rows_flagged() -> None:
    frame = clean_frame()
    frame = pd.concat([frame, frame.iloc[:3]], ignore_index=True)
    flag = only(explore(frame, target="y", draw=False).flags_of("duplicate_rows"))
    assert flag.column is None
    assert flag.value == 3
    assert "drop_duplicates" in flag.suggestion


def test_leakage_flagged_for_a_column_derived_from_the_target() -> None:
    frame = clean_frame(n=2000)
    rng = np.random.default_rng(1)
    frame["leak"] = frame["y"] * 2 + rng.normal(scale=1e-6, size=len(frame))
    exp = explore(frame, target="y", draw=False)
    flag = only(exp.flags_of("leakage"))
    assert flag.column == "leak"
    assert flag.severity == "critical"
    assert exp.flags[0] == flag  # most severe first


def test_leakage_flagged_for_a_classification_target() -> None:
    frame = clean_frame(n=600)
    frame["y"] = np.where(frame["y"] > 0, "yes", "no")
    frame["status"] = np.where(frame["y"] == "yes", "closed", "open")  # known after the fact
    exp = explore(frame, target="y", draw=False)
    assert [f.column for f in exp.flags_of("leakage")] == ["status"]


def test_mixed_types_flagged() -> None:
    frame = clean_frame(n=30)
    frame["size"] = pd.Series(["12", "abc", 3.5] * 10, dtype=object)
    flag = only(explore(frame, target="y", draw=False).flags_of("mixed_types", "size"))
    assert "'abc'" in flag.evidence and "3.5" in flag.evidence


def test_numbers_stored_as_text_with_a_stray_word_flagged() -> None:
    frame = clean_frame(n=100)
    frame["price"] = [str(v % 25) for v in range(99)] + ["n/a"]
    flag = only(explore(frame, target="y", draw=False).flags_of("mixed_types", "price"))
    assert "to_numeric" in flag.suggestion


def test_high_cardinality_categorical_flagged() -> None:
    frame = clean_frame(n=1000)
    frame["city"] = [f"city_{i % 200}" for i in range(1000)]
    exp = explore(frame, target="y", draw=False)
    assert only(exp.flags_of("high_cardinality")).column == "city"


def test_id_column_flagged() -> None:
    frame = clean_frame().reset_index(names="customer_id")
    exp = explore(frame, target="y", draw=False)
    assert only(exp.flags_of("id_like")).column == "customer_id"
    assert exp.correlations is not None and "customer_id" not in exp.correlations.index


def test_flags_carry_evidence_and_suggestion() -> None:
    frame = clean_frame().assign(country="FR")
    for flag in explore(frame, target="y", draw=False).flags:
        assert flag.kind and flag.evidence and flag.suggestion
        assert json.dumps(flag.to_dict())


def test_without_target_no_correlation_no_leakage() -> None:
    exp = explore(clean_frame().drop(columns="y"), draw=False)
    assert exp.correlations is None
    assert exp.stats["correlations_with_target"] is None
    assert not exp.flags_of("leakage")


def test_binary_target_gets_correlations() -> None:
    frame = clean_frame()
    frame["y"] = (frame["y"] > 0).astype(int)
    exp = explore(frame, target="y", draw=False)
    assert exp.correlations is not None and exp.correlations.index[0] == "x1"


def test_unknown_target_is_a_schema_error() -> None:
    with pytest.raises(SchemaError):
        explore(clean_frame(), target="price")


# ----------------------------------------------------------------------------- stats


def test_stats_are_computed_only_from_the_given_frame() -> None:
    full = clean_frame(n=1000)
    full.loc[full.index[800:], "x1"] += 100  # rows the caller held out look very different
    train = full.iloc[:800]
    before = train.copy()
    stats = explore(train, target="y", draw=False).stats
    x1 = stats["columns"]["x1"]
    assert stats["n_rows"] == 800
    assert x1["count"] == 800
    assert x1["mean"] == pytest.approx(train["x1"].mean())
    assert x1["max"] == pytest.approx(train["x1"].max()) and x1["max"] < 50
    assert sum(x1["histogram"]["counts"]) == 800
    assert len(x1["histogram"]["edges"]) == len(x1["histogram"]["counts"]) + 1
    pd.testing.assert_frame_equal(train, before)  # the caller's frame is left untouched


def test_stats_baseline_fields() -> None:
    frame = clean_frame()
    frame.loc[frame.index[:5], "x2"] = np.nan
    cols = explore(frame, target="y", draw=False).stats["columns"]
    assert cols["x2"]["missing"] == 5 and cols["x2"]["count"] == len(frame) - 5
    for key in ("mean", "std", "min", "max", "quantiles", "histogram"):
        assert key in cols["x1"]
    assert sum(cols["colour"]["frequencies"].values()) == len(frame)


# ----------------------------------------------------------------------------- outputs


@pytest.fixture(scope="module")
def small_exploration() -> Exploration:
    frame = clean_frame(n=200)
    frame["x2"] = frame["x2"].where(frame["x1"] < 1.5)  # some NaN for JSON
    return explore(frame, target="y")


def test_html_is_one_self_contained_file(small_exploration: Exploration,
                                         tmp_path: Path) -> None:
    path = small_exploration.to_html(tmp_path / "explore.html")
    assert list(tmp_path.iterdir()) == [path]  # no temp file or side-car left behind
    html = path.read_text(encoding="utf-8")
    assert '<img src="data:image/png;base64,' in html
    assert "http://" not in html and "https://" not in html
    assert "<link" not in html and "<script" not in html
    for heading in ("Overview", "Flags", "Columns", "Correlations", "Figures"):
        assert f">{heading}" in html


def test_json_round_trips(small_exploration: Exploration, tmp_path: Path) -> None:
    path = small_exploration.to_json(tmp_path / "explore.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data == json.loads(json.dumps(small_exploration.to_dict()))
    assert set(data) == {"stats", "flags"}
    assert data["stats"]["columns"]["x2"]["missing"] > 0


def test_repr_html_for_jupyter(small_exploration: Exploration) -> None:
    html = small_exploration._repr_html_()
    assert "data:image/png;base64," in html and "<html" not in html


def test_figures_are_png(small_exploration: Exploration) -> None:
    assert small_exploration.figures
    assert all(png.startswith(PNG_MAGIC) for png in small_exploration.figures.values())
    assert "geo_scatter" not in small_exploration.figures  # no coordinates, no map

"""mlpilot.monitor: input quality and drift checks with thresholds learned from the reference."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlpilot.data.schema import infer_schema
from mlpilot.errors import MonitorError
from mlpilot.monitor import Baseline, check, drift_scores
from mlpilot.monitor.baseline import BASELINE_FILE, REFERENCE_FILE

TARGET = "median_house_value"
DRIFTED = {"median_income", "ocean_proximity", "total_bedrooms"}


@pytest.fixture(scope="module")
def split(housing: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A random 80 % of the rows for training, the other 20 % held out."""
    order = np.random.default_rng(42).permutation(len(housing))
    cut = int(0.8 * len(housing))
    return housing.iloc[order[:cut]], housing.iloc[order[cut:]]


@pytest.fixture(scope="module")
def baseline(split: tuple[pd.DataFrame, pd.DataFrame]) -> Baseline:
    train = split[0]
    return Baseline.from_frame(train, infer_schema(train, TARGET), TARGET)


def drifted_batch(held: pd.DataFrame, n: int, seed: int = 1) -> pd.DataFrame:
    """median_income × 1.5, 5 % of ocean_proximity "LAKE TAHOE", 40 % of total_bedrooms gone."""
    batch = held.sample(n, random_state=seed).reset_index(drop=True)
    rng = np.random.default_rng(seed)
    batch["median_income"] = batch["median_income"] * 1.5
    batch.loc[rng.choice(n, n // 20, replace=False), "ocean_proximity"] = "LAKE TAHOE"
    batch.loc[rng.choice(n, int(0.4 * n), replace=False), "total_bedrooms"] = np.nan
    return batch


# ------------------------------------------------------------------------------ housing


def test_baseline_monitors_the_features_not_the_target(baseline: Baseline) -> None:
    assert TARGET not in baseline.features
    assert baseline.features["ocean_proximity"] == "categorical"
    assert baseline.features["median_income"] == "numeric"
    assert len(baseline.features) == 9
    assert len(baseline.reference) == baseline.n_rows == 16_512
    assert baseline.stats["total_bedrooms"]["missing"] > 0  # the exploration statistics


@pytest.mark.parametrize("n", [500, 2000])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_healthy_batches_do_not_alert(split: tuple[pd.DataFrame, pd.DataFrame],
                                      baseline: Baseline, n: int, seed: int) -> None:
    batch = split[1].sample(n, random_state=seed)
    result = check(baseline, batch, seed=seed)
    assert result.alerts == [], [a.message for a in result.alerts]
    assert result.exit_code == 0
    assert result.alerting_features == set()
    assert "no alert" in result.summary()


@pytest.mark.parametrize("n", [500, 2000])
def test_drifted_batch_alerts_on_exactly_the_drifted_features(
        split: tuple[pd.DataFrame, pd.DataFrame], baseline: Baseline, n: int) -> None:
    result = check(baseline, drifted_batch(split[1], n))
    assert result.alerting_features == DRIFTED
    assert result.exit_code == 1
    checks = {(a.feature, a.check) for a in result.alerts}
    assert {("median_income", "drift"), ("median_income", "mean"),
            ("total_bedrooms", "missing"), ("ocean_proximity", "new_category")} <= checks
    table = result.table().set_index("feature")
    assert set(table.index[table["alert"]]) == DRIFTED
    assert table.loc["ocean_proximity", "new_categories"] == ["LAKE TAHOE"]
    assert table.loc["total_bedrooms", "missing_share_now"] == pytest.approx(0.4, abs=0.01)
    assert table.loc["median_income", "value"] > 3 * table.loc["median_income", "threshold"]
    income = next(a for a in result.alerts if a.check == "drift"
                  and a.feature == "median_income")
    assert income.message.startswith("median_income: ")
    assert "mean moved from 3.8" in income.message and "reference windows" in income.message


def test_thresholds_come_from_reference_windows_of_the_batch_size(
        split: tuple[pd.DataFrame, pd.DataFrame], baseline: Baseline) -> None:
    small = check(baseline, split[1].sample(200, random_state=0)).feature("median_income")
    large = check(baseline, split[1].sample(800, random_state=0)).feature("median_income")
    assert small.statistic == large.statistic == "ks"
    assert small.window == 200 and large.window == 800
    # KS wanders like 1/sqrt(n): the learned threshold halves for four times the rows.
    assert large.threshold / small.threshold == pytest.approx(0.5, abs=0.15)


def test_missing_share_alerts_on_a_real_rise_not_on_fluctuation(
        split: tuple[pd.DataFrame, pd.DataFrame], baseline: Baseline) -> None:
    batch = split[1].sample(500, random_state=3).reset_index(drop=True)
    row = check(baseline, batch).feature("total_bedrooms")
    assert row.missing_share_ref == pytest.approx(0.01, abs=0.003)
    assert row.missing_share_now < row.missing_threshold < 0.06
    batch.loc[: int(0.3 * len(batch)), "total_bedrooms"] = np.nan
    result = check(baseline, batch)
    assert result.alerting_features == {"total_bedrooms"}
    assert [a.check for a in result.alerts] == ["missing"]
    assert "% missing now vs 1.0% in training (alert above" in result.alerts[0].message


def test_one_unseen_value_warns_without_alerting(
        split: tuple[pd.DataFrame, pd.DataFrame], baseline: Baseline) -> None:
    batch = split[1].sample(500, random_state=4).reset_index(drop=True)
    batch.loc[7, "ocean_proximity"] = "NEAR BAYY"
    result = check(baseline, batch)
    assert result.alerts == []
    assert [(w.feature, w.check) for w in result.warnings] == [
        ("ocean_proximity", "new_category")]
    assert "'NEAR BAYY'" in result.warnings[0].message


@pytest.mark.parametrize(("n", "numeric_large", "expected"), [
    (100, "psi", ("ks", "chi2")),
    (2000, "psi", ("psi", "jensen_shannon")),
    (2000, "wasserstein", ("wasserstein", "jensen_shannon")),
])
def test_statistic_follows_the_batch_size(split: tuple[pd.DataFrame, pd.DataFrame],
                                          baseline: Baseline, n: int, numeric_large: str,
                                          expected: tuple[str, str]) -> None:
    result = check(baseline, split[1].sample(n, random_state=5), numeric_large=numeric_large)
    table = result.table().set_index("feature")
    assert set(table.loc[table["kind"] == "numeric", "statistic"]) == {expected[0]}
    assert table.loc["ocean_proximity", "statistic"] == expected[1]
    has_p = table["p_value"].notna().all()
    assert has_p if n < 1000 else table["p_value"].isna().all()
    assert result.alerts == []


def test_save_load_round_trip_gives_the_same_result(
        split: tuple[pd.DataFrame, pd.DataFrame], baseline: Baseline, tmp_path: Path) -> None:
    baseline.save(tmp_path / "b")
    assert (tmp_path / "b" / BASELINE_FILE).exists() and (tmp_path / "b" / REFERENCE_FILE).exists()
    loaded = Baseline.load(tmp_path / "b")
    assert loaded.features == baseline.features and loaded.targets == [TARGET]
    pd.testing.assert_frame_equal(loaded.reference, baseline.reference)
    batch = drifted_batch(split[1], 500, seed=2)
    before, after = check(baseline, batch, seed=3), check(loaded, batch, seed=3)
    pd.testing.assert_frame_equal(before.table(), after.table())
    assert before.to_dict() == after.to_dict()


def test_tampered_reference_is_refused(baseline: Baseline, tmp_path: Path) -> None:
    baseline.save(tmp_path)
    sample = pd.read_parquet(tmp_path / REFERENCE_FILE).head(100)
    sample.to_parquet(tmp_path / REFERENCE_FILE)
    with pytest.raises(MonitorError, match="checksum"):
        Baseline.load(tmp_path)
    with pytest.raises(MonitorError, match="no monitoring baseline"):
        Baseline.load(tmp_path / "nowhere")


def test_result_is_json_and_reproducible(split: tuple[pd.DataFrame, pd.DataFrame],
                                         baseline: Baseline) -> None:
    batch = drifted_batch(split[1], 300)
    first = check(baseline, batch, seed=7)
    text = json.dumps(first.to_dict(), allow_nan=False)
    assert json.loads(text)["alerting_features"] == sorted(DRIFTED)
    assert check(baseline, batch, seed=7).to_dict() == first.to_dict()


def test_drift_scores_are_cheap_and_match_the_check(
        split: tuple[pd.DataFrame, pd.DataFrame], baseline: Baseline) -> None:
    batch = split[1].sample(1000, random_state=6)
    scores = drift_scores(baseline, batch)
    elapsed = []
    for _ in range(5):
        start = time.perf_counter()
        drift_scores(baseline, batch)
        elapsed.append(time.perf_counter() - start)
    assert min(elapsed) < 0.05
    result = check(baseline, batch, n_windows=20)
    assert scores == pytest.approx({r.feature: r.value for r in result.features})


# ---------------------------------------------------------------------------- synthetic


@pytest.fixture(scope="module")
def toy() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 3000
    return pd.DataFrame({
        "x": rng.normal(10, 2, n),
        "colour": rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2]),
        "member": rng.choice([True, False], n),
        "note": [f"free text number {i} with words" for i in range(n)],
        "y": rng.normal(size=n),
    })


def test_toy_baseline_canonical_values_and_errors(toy: pd.DataFrame) -> None:
    base = Baseline.from_frame(toy, infer_schema(toy, "y"), "y")
    assert base.features == {"x": "numeric", "colour": "categorical", "member": "categorical"}
    batch = toy.sample(400, random_state=1).drop(columns="y")
    batch["member"] = batch["member"].map({True: "yes", False: "no"})  # same values, as text
    assert check(base, batch).alerts == []
    with pytest.raises(MonitorError, match="no rows"):
        check(base, batch.head(0))
    with pytest.raises(MonitorError, match="none of the baseline"):
        check(base, pd.DataFrame({"other": [1, 2]}))
    with pytest.raises(MonitorError, match="at least"):
        Baseline.from_frame(toy.head(5), infer_schema(toy, "y"), "y")


def test_toy_absent_column_and_shift(toy: pd.DataFrame) -> None:
    base = Baseline.from_frame(toy, infer_schema(toy, "y"), "y")
    batch = toy.sample(300, random_state=2).drop(columns=["y", "colour"])
    batch["x"] = batch["x"] + 1.0  # half a standard deviation
    result = check(base, batch)
    assert result.alerting_features == {"colour", "x"}
    assert {(a.feature, a.check) for a in result.alerts} >= {("colour", "absent"),
                                                              ("x", "mean"), ("x", "drift")}

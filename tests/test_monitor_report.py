"""mlpilot.monitor.report: the self-contained HTML drift report."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlpilot.data.schema import infer_schema
from mlpilot.monitor import Baseline, check, write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def images(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'<img src="data:image/png;base64,([^"]+)"',
                                                   html)]


@pytest.fixture(scope="module")
def housing_case(housing: pd.DataFrame) -> tuple[Baseline, pd.DataFrame]:
    order = np.random.default_rng(0).permutation(len(housing))
    cut = int(0.8 * len(housing))
    train, held = housing.iloc[order[:cut]], housing.iloc[order[cut:]]
    baseline = Baseline.from_frame(train, infer_schema(train, "median_house_value"),
                                   "median_house_value")
    batch = held.sample(600, random_state=0).reset_index(drop=True)
    batch["median_income"] *= 1.5
    batch.loc[:29, "ocean_proximity"] = "LAKE TAHOE"
    batch.loc[batch.index % 5 < 2, "total_bedrooms"] = np.nan
    return baseline, batch


def test_report_shows_each_alerting_feature_with_a_figure(
        housing_case: tuple[Baseline, pd.DataFrame], tmp_path: Path) -> None:
    baseline, batch = housing_case
    result = check(baseline, batch, n_windows=60)
    assert result.alerting_features == {"median_income", "ocean_proximity", "total_bedrooms"}
    path = write_report(result, baseline, batch, tmp_path / "reports" / "monitor.html",
                        title="Monitoring <housing>")
    assert path.exists()
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "Monitoring &lt;housing&gt;" in html  # escaped
    for name in result.alerting_features:
        assert f"<h3>{name}</h3>" in html
    pngs = images(html)
    assert len(pngs) == len(result.alerting_features)
    assert all(png.startswith(PNG_MAGIC) for png in pngs)
    assert result.summary() in html
    assert html.count('class="alert"') == 3
    assert "LAKE TAHOE" in html


def test_healthy_report_has_no_figure(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=2000),
                          "b": rng.choice(["u", "v"], 2000), "y": rng.normal(size=2000)})
    baseline = Baseline.from_frame(frame, infer_schema(frame, "y"), "y")
    batch = frame.sample(200, random_state=1)
    result = check(baseline, batch, n_windows=50)
    html = write_report(result, baseline, batch, tmp_path / "ok.html").read_text()
    assert "No alert." in html and "<img" not in html
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically, no leftovers

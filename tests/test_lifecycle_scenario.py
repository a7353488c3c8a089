"""The launch–monitor–maintain scenario of the book's chapter 2, end to end on housing.

train → serve → send requests → a drifted batch (richer districts, a new ocean_proximity
value, missing bedrooms) → monitor alerts on exactly those → retrain on new data whose
training labels are broken for one kind of district: promotion blocked → retrain on clean
new data: promoted, and the running service follows → rollback restores the previous
model → all of it in the history.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from mlpilot import Project
from mlpilot.cli.main import app as cli
from mlpilot.data.split import row_fingerprints

pytestmark = pytest.mark.slow
TARGET = "median_house_value"
MODELS = ["ridge", "hist_gradient_boosting"]


def _send(client: TestClient, rows: pd.DataFrame, batch: int = 100) -> list[str]:
    ids = []
    records = rows.drop(columns=[TARGET], errors="ignore")
    for start in range(0, len(records), batch):
        part = records.iloc[start:start + batch]
        body = {"records": part.astype(object).where(part.notna(), None).to_dict("records")}
        response = client.post("/predict", json=body)
        assert response.status_code == 200, response.text
        ids.append(response.json()["request_id"])
    return ids


def _drifted(rows: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = rows.copy()
    out["median_income"] = out["median_income"] * 1.5
    new_value = rng.random(len(out)) < 0.05
    out.loc[new_value, "ocean_proximity"] = "LAKE TAHOE"
    out.loc[rng.random(len(out)) < 0.4, "total_bedrooms"] = np.nan
    return out


def _wait_for(client: TestClient, model_id: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if client.get("/metadata").json()["model_id"] == model_id:
            return
        time.sleep(0.1)
    raise AssertionError(f"the service did not switch to model #{model_id}")


def test_train_serve_monitor_retrain_rollback(tmp_path: Path, housing: pd.DataFrame) -> None:
    project = Project.init(tmp_path / "p", housing, TARGET, seed=42, budget=15)
    project.prepare()
    first = project.train(budget=15, models=MODELS).model
    runner = CliRunner()
    where = ["--project", str(project.root)]

    rng = np.random.default_rng(0)
    calm = housing.iloc[rng.choice(len(housing), 600, replace=False)]
    drifted = _drifted(housing.iloc[rng.choice(len(housing), 600, replace=False)])

    service = project.service(watch_seconds=0.2)
    with TestClient(service) as client:
        # --- launch: the latest model became the champion on first deployment
        assert client.get("/metadata").json()["model_id"] == first.id
        calm_ids = _send(client, calm)
        service.state.request_log.flush()
        quiet = project.monitor()  # every logged row so far: ordinary districts
        assert quiet.n_rows == len(calm)
        assert quiet.result.alerting_features == set(), quiet.result.alerts

        # --- monitor: the drifted batch alerts on exactly the three columns that changed
        _send(client, drifted)
        metrics = client.get("/metrics").text
        assert 'ocean_proximity' in metrics and "mlpilot_request" in metrics
        service.state.request_log.flush()
        loud = project.monitor(last=len(drifted))
        assert loud.result.alerting_features == {"median_income", "ocean_proximity",
                                                 "total_bedrooms"}
        assert loud.report.exists()
        exit_code = runner.invoke(cli, ["monitor", *where, "--last", str(len(drifted))])
        assert exit_code.exit_code == 1 and "median_income" in exit_code.output

        # --- feedback: late labels joined by request id
        labels = pd.DataFrame({"request_id": calm_ids[:1] * 100, "row": range(100),
                               TARGET: calm[TARGET].to_numpy()[:100]})
        realised = project.feedback(labels)
        assert int(realised.loc[realised["model_id"] == first.id, "n"].iloc[0]) == 100

        # --- retrain with broken INLAND training labels: the gate blocks on that slice
        train_keys = set(row_fingerprints(project.train_frame(), exclude=[TARGET]).tolist())
        new_rows = housing.sample(2000, random_state=3).assign(
            housing_median_age=lambda d: d["housing_median_age"] + 0.5)  # new districts
        broken = pd.concat([housing, new_rows], ignore_index=True)
        seen = np.isin(row_fingerprints(broken, exclude=[TARGET]), list(train_keys))
        inland = seen & (broken["ocean_proximity"] == "INLAND").to_numpy()
        broken.loc[inland, TARGET] = rng.permutation(broken.loc[inland, TARGET].to_numpy()) * 2
        blocked = project.retrain(broken, budget=15, models=MODELS)
        assert not blocked.promoted
        assert any(c.feature == "ocean_proximity" and c.slice == "INLAND"
                   for c in blocked.decision.blocking())
        assert project.champion().id == first.id  # type: ignore[union-attr]
        assert blocked.new_rows == 2000

        # --- retrain on clean new data: promoted, and the service follows
        clean = pd.concat([housing, new_rows, housing.sample(500, random_state=4).assign(
            households=lambda d: d["households"] + 1)], ignore_index=True)
        allowed = project.retrain(clean, budget=15, models=MODELS)
        assert allowed.promoted, allowed.decision.reason
        second = allowed.challenger
        assert project.champion().id == second.id  # type: ignore[union-attr]
        _wait_for(client, second.id)

        # --- rollback: the first model is back, in the service too, with its baseline
        back = runner.invoke(cli, ["rollback", *where, "--reason", "scenario"])
        assert back.exit_code == 0, back.output
        assert project.champion().id == first.id  # type: ignore[union-attr]
        _wait_for(client, first.id)
        assert project.baseline().n_rows == project._metadata(first).n_train_rows

    history = [(e.action, e.model_id) for e in project.registry.history("champion")]
    assert history == [("promote", first.id), ("blocked", blocked.challenger.id),
                       ("promote", second.id), ("rollback", first.id)]

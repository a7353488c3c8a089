"""The model registry: safe artifacts, versions, aliases, history, promotion and rollback.

The project-level tests run on both state backends: SQLite in the project directory and a
real PostgreSQL server (CI starts one with `.ci/postgres.sh`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
import sqlalchemy as sa
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from typer.testing import CliRunner

from mlpilot import Project
from mlpilot.atomic import sha256_file
from mlpilot.cli.main import app
from mlpilot.errors import ArtifactIntegrityError, RegistryError, UnsafeArtifactError
from mlpilot.features.transformers import LogTransformer
from mlpilot.project.state import ModelMetadata, ModelRecord
from mlpilot.registry.persistence import JOBLIB, load_artifact, save_artifact

FAST = ["ridge", "decision_tree"]


def _fitted() -> tuple[object, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 5, size=(80, 3))
    y = X @ [1.0, 2.0, -1.0]
    return make_pipeline(LogTransformer(), StandardScaler(), Ridge()).fit(X, y), X


# ---------------------------------------------------------------------- persistence
def test_skops_round_trip_trusts_exactly_the_types_recorded_at_save(tmp_path: Path) -> None:
    model, X = _fitted()
    saved = save_artifact(model, tmp_path / "m")
    assert saved.path.suffix == ".skops" and saved.format == "skops"
    assert "mlpilot.features.transformers.LogTransformer" in saved.trusted_types
    loaded = load_artifact(saved.path, sha256=saved.sha256, format=saved.format,
                           trusted_types=saved.trusted_types)
    np.testing.assert_allclose(loaded.predict(X), model.predict(X))  # type: ignore[attr-defined]


def test_a_crafted_artifact_cannot_widen_its_own_trust(tmp_path: Path) -> None:
    """An attacker replaces the file (and even fixes the checksum): the new type is refused."""
    model, _ = _fitted()
    saved = save_artifact(model, tmp_path / "m")
    crafted = make_pipeline(FunctionTransformer(os.system), Ridge())  # runs shell commands
    sio.dump(crafted, saved.path)
    with pytest.raises(UnsafeArtifactError, match="does not trust"):
        load_artifact(saved.path, sha256=sha256_file(saved.path), format="skops",
                      trusted_types=saved.trusted_types)


def test_a_modified_artifact_fails_its_checksum(tmp_path: Path) -> None:
    model, _ = _fitted()
    saved = save_artifact(model, tmp_path / "m")
    with open(saved.path, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ArtifactIntegrityError):
        load_artifact(saved.path, sha256=saved.sha256, format="skops",
                      trusted_types=saved.trusted_types)


def test_pickles_load_only_with_the_unsafe_flag(tmp_path: Path) -> None:
    import joblib

    model, X = _fitted()
    path = tmp_path / "m.joblib"
    joblib.dump(model, path)
    with pytest.raises(UnsafeArtifactError, match="--unsafe"):
        load_artifact(path, sha256=sha256_file(path), format=JOBLIB, trusted_types=())
    loaded = load_artifact(path, sha256=sha256_file(path), format=JOBLIB, trusted_types=(),
                           unsafe=True)
    np.testing.assert_allclose(loaded.predict(X), model.predict(X))  # type: ignore[attr-defined]


# ---------------------------------------------------------------------- project registry
@pytest.fixture
def trained(tmp_path: Path, small_regression: pd.DataFrame, database_url: str) -> Project:
    project = Project.init(tmp_path / "p", small_regression, "progression", seed=0,
                           database_url=database_url)
    project.train(budget=30, models=FAST)
    project.train(budget=30, models=["ridge"], ensemble=False)
    return project


def test_every_model_is_a_version_with_its_metadata(trained: Project) -> None:
    versions = trained.registry.versions()
    assert len(versions) == 2
    for version in versions:
        meta = version.metadata
        assert meta is not None and version.format == "skops"
        assert meta.data_hash == trained.dataset_version().content_hash
        assert meta.n_train_rows == trained.split().n_train
        assert isinstance(json.loads(meta.params_json), dict) and json.loads(meta.params_json)
        libs = json.loads(version.record.library_versions_json)
        assert {"python", "scikit-learn", "skops"} <= set(libs)
        assert (trained.root / version.record.artifact_path).suffix == ".skops"


def test_a_version_saved_under_the_same_run_and_name_keeps_the_first_loadable(
        trained: Project) -> None:
    # `tune` registers its ensemble under the run and name of `train`'s ("ensemble"): the
    # first file must stay as it was, or its checksum fails and rollback is impossible
    first = trained.models()[0]
    again = trained._store_model(trained.load_model(first), first.name, first.cv_mean,
                                 first.cv_std, None, first.metric, first.run_id,
                                 first.dataset_version_id, first.split_id)
    assert again.artifact_path != first.artifact_path
    assert trained.load_model(first) is not None and trained.load_model(again) is not None


def test_promote_and_rollback_are_recorded_and_restore_the_previous_champion(
        trained: Project) -> None:
    first, second = (v.record for v in trained.registry.versions())
    assert trained.champion() is None
    trained.promote(first, reason="launch")
    trained.promote(second)
    assert trained.champion().id == second.id  # type: ignore[union-attr]
    with pytest.raises(RegistryError, match="already"):
        trained.promote(second)
    event = trained.rollback(reason="bad latency")
    assert trained.champion().id == first.id  # type: ignore[union-attr]
    assert (event.action, event.model_id, event.previous_model_id) == ("rollback", first.id,
                                                                       second.id)
    with pytest.raises(RegistryError, match="no earlier"):
        trained.rollback()  # the first champion has nothing before it
    history = trained.registry.history()
    assert [(e.action, e.model_id) for e in history] == [
        ("promote", first.id), ("promote", second.id), ("rollback", first.id)]
    assert history[0].reason == "launch" and all(e.actor for e in history)
    # the baseline of a promoted model exists before it goes live
    assert trained._metadata(first).baseline_path is not None


def test_two_rollbacks_go_two_versions_back(trained: Project) -> None:
    first, second = (v.record for v in trained.registry.versions())
    third = trained.train(budget=20, models=["decision_tree"], ensemble=False).model
    for record in (first, second, third):
        trained.promote(record)
    trained.rollback()
    trained.rollback()
    assert trained.champion().id == first.id  # type: ignore[union-attr]


def test_loading_trusts_the_database_not_the_file(trained: Project) -> None:
    """Widening the trust needs write access to the registry, not just to the file."""
    record = trained.latest_model()
    with trained.state.session() as session:
        meta = session.get(ModelMetadata, record.id)
        assert meta is not None
        meta.trusted_types_json = "[]"
    with pytest.raises(UnsafeArtifactError):
        trained.load_model(record)


def test_models_cli_list_show_promote_history_rollback(trained: Project) -> None:
    runner = CliRunner()
    where = ["--project", str(trained.root)]
    first, second = (v.record for v in trained.registry.versions())
    for model in (first, second):
        result = runner.invoke(app, ["models", "promote", str(model.id), *where])
        assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["models", "list", *where])
    assert listed.exit_code == 0 and "champion" in listed.output
    shown = runner.invoke(app, ["models", "show", str(second.id), *where])
    assert shown.exit_code == 0 and second.sha256 in shown.output
    back = runner.invoke(app, ["rollback", *where, "--reason", "p99 too high"])
    assert back.exit_code == 0 and f"#{first.id} is the champion again" in back.output
    history = runner.invoke(app, ["models", "history", *where])
    assert "p99 too high" in history.output and "rollback" in history.output
    unknown = runner.invoke(app, ["models", "promote", "999", *where])
    assert unknown.exit_code == 2 and "no model #999" in unknown.output
    zoo = runner.invoke(app, ["models", "zoo"])
    assert zoo.exit_code == 0 and "lightgbm" in zoo.output


def test_tuning_studies_live_in_the_same_database(trained: Project) -> None:
    import optuna

    trained.tune(strategy="optuna", n_trials=3, budget=30, top=1)
    studies = optuna.get_all_study_summaries(storage=trained.database_url)
    assert len(studies) == 1 and studies[0].n_trials >= 3
    engine = sa.create_engine(trained.database_url)
    with engine.connect() as conn:  # the registry's tables sit beside Optuna's
        assert conn.scalar(sa.select(sa.func.count()).select_from(ModelRecord)) >= 2
    engine.dispose()


def test_importing_your_own_model_needs_unsafe_for_pickles(
        tmp_path: Path, small_regression: pd.DataFrame) -> None:
    import joblib
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer

    project = Project.init(tmp_path / "p", small_regression, "progression", seed=0)
    X, y = project.training_data()
    mine = make_pipeline(make_column_transformer((SimpleImputer(), list(X.columns))),
                         Ridge(alpha=0.5)).fit(X, y)
    pickle_path = tmp_path / "mine.joblib"
    joblib.dump(mine, pickle_path)
    runner = CliRunner()
    where = ["--project", str(project.root)]
    refused = runner.invoke(app, ["models", "import", str(pickle_path), *where])
    assert refused.exit_code == 2 and "--unsafe" in refused.output
    assert project.models() == []
    done = runner.invoke(app, ["models", "import", str(pickle_path), "--unsafe",
                               "--name", "my-ridge", *where])
    assert done.exit_code == 0, done.output
    record = project.latest_model()
    assert record.name == "my-ridge" and record.artifact_path.endswith(".skops")
    assert 30 < record.cv_mean < 80  # a cross-validated RMSE on the diabetes progression
    np.testing.assert_allclose(project.load_model(record).predict(X), mine.predict(X))
    skops_path = tmp_path / "mine.skops"
    sio.dump(mine, skops_path)
    listed = runner.invoke(app, ["models", "import", str(skops_path), *where])
    assert listed.exit_code == 2 and "numpy.dtype" in listed.output  # types shown, not trusted
    trusted = runner.invoke(app, ["models", "import", str(skops_path), "--unsafe", *where])
    assert trusted.exit_code == 0, trusted.output

"""`Project.tune` / `mlpilot tune`: tune the last run's best families, keep only a CV win."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from mlpilot import Project
from mlpilot.cli.main import app


def test_tune_the_best_families_and_keep_only_a_cv_win(
        tmp_path: Path, small_regression: pd.DataFrame) -> None:
    project = Project.init(tmp_path / "p", small_regression, "progression", seed=0)
    trained = project.train(budget=60, models=["dummy", "ridge", "knn", "decision_tree"])
    before = project.latest_model()
    report = project.tune(strategy="random", n_trials=4, budget=30)
    # the two best non-dummy families of the run were tuned, each with its trials table
    best_two = [r.name for r in trained.leaderboard.finalists() if r.name != "dummy"][:2]
    assert [r.candidate for r in report.results] == best_two
    for result in report.results:
        table = pd.read_csv(tmp_path / "p" / "reports" / f"tune-{result.candidate}-random.csv")
        assert len(table) >= 4 and "mean_score" in table.columns
    metric = trained.leaderboard.metric
    if report.improved:
        assert metric.better(report.chosen.mean, before.cv_mean)
        assert project.latest_model().id != before.id
    else:
        assert project.latest_model().id == before.id


def test_tune_cli_optuna_study_lives_in_the_project_database(
        tmp_path: Path, small_regression: pd.DataFrame) -> None:
    import optuna

    project = Project.init(tmp_path / "p", small_regression, "progression", seed=0)
    project.train(budget=60, models=["ridge", "knn"])
    runner = CliRunner()
    result = runner.invoke(app, ["tune", "--project", str(tmp_path / "p"), "--trials", "3",
                                 "--budget", "30", "--top", "1"])
    assert result.exit_code == 0, result.output
    studies = optuna.get_all_study_summaries(storage=project.database_url)
    assert len(studies) == 1 and studies[0].n_trials >= 3


def test_tune_before_train_is_a_clear_error(tmp_path: Path,
                                            small_regression: pd.DataFrame) -> None:
    Project.init(tmp_path / "p", small_regression, "progression")
    result = CliRunner().invoke(app, ["tune", "--project", str(tmp_path / "p")])
    assert result.exit_code == 2
    assert "mlpilot train" in result.output

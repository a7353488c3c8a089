"""Everything the solution report shows, gathered from the project's stored results.

Only stored results: the report never reads the test set (the evaluation stored what it
found), so it can be rebuilt as often as wanted without spending the test set again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from mlpilot.evaluate.metrics import Metric, get_metric
from mlpilot.features.images import ImageLayout
from mlpilot.models.unwrap import ensemble_weights, fold_bag_members, seed_count
from mlpilot.report.neural import Mistakes, find_history, image_layout, misclassified

if TYPE_CHECKING:
    from mlpilot.project import Project
    from mlpilot.project.state import ModelRecord


@dataclass
class ReportData:
    project_name: str
    target: str
    task: str
    task_reason: str
    metric: Metric
    metric_reason: str
    dataset: dict[str, Any]  # hash, rows, columns, source
    split: dict[str, Any]  # strategy, n_train, n_test, test reads
    model: dict[str, Any]  # id, name, cv_mean, cv_std, created, library versions
    evaluation: dict[str, Any]  # the stored evaluation JSON
    leaderboard: pd.DataFrame  # model, family, rows, mean, std, fit/predict time
    pipeline_html: str = ""  # scikit-learn's own HTML diagram of the final pipeline
    ensemble: dict[str, float] = field(default_factory=dict)  # member → weight
    importances: pd.DataFrame | None = None
    threshold: dict[str, Any] | None = None
    curves: dict[str, Any] | None = None
    flags: list[dict[str, Any]] = field(default_factory=list)  # exploration flags
    explore_report: str | None = None  # relative link to the exploration page
    features: list[str] = field(default_factory=list)  # input columns
    n_prepared_features: int | None = None
    history: dict[str, list[float]] | None = None  # a neural network's per-epoch history
    image: ImageLayout | None = None  # the pixel columns, when the rows are images
    mistakes: Mistakes | None = None  # misclassified test images


def gather(project: Project, record: ModelRecord | None = None) -> ReportData:
    """Collect the report's content for ``record`` (default: the latest model)."""
    from sklearn.utils import estimator_html_repr

    record = record or project.latest_model()
    evaluation = project.evaluation(record)
    framing = project.framing
    version, split = project.dataset_version(), project.split()
    model = project.load_model(record)
    stem = Path(record.artifact_path).stem
    reports = project.layout.reports
    threshold = project.threshold(record)
    curves_path = reports / f"curves-{stem}.json"
    explore_json = reports / "explore.json"
    flags = json.loads(explore_json.read_text()).get("flags", []) if explore_json.exists() else []
    X, _ = project.training_data()
    layout = image_layout(project)
    return ReportData(
        project_name=project.config.name, target=", ".join(framing.targets), task=framing.task,
        task_reason=framing.task_reason, metric=get_metric(record.metric),
        metric_reason=framing.metric_reason,
        dataset={"hash": version.content_hash[:12], "rows": version.n_rows,
                 "columns": version.n_columns, "source": project.config.data.source},
        split={"strategy": split.strategy, "n_train": split.n_train, "n_test": split.n_test,
               "test_reads": len(project.test_reads())},
        model={"id": record.id, "name": record.name, "cv_mean": record.cv_mean,
               "cv_std": record.cv_std, "created": f"{record.created_at:%Y-%m-%d %H:%M}",
               "versions": json.loads(record.library_versions_json or "{}"),
               "folds": project.config.cv_folds, "seed": project.config.seed,
               "seeds": seed_count(model), "fold_bags": fold_bag_members(model)},
        evaluation=evaluation,
        leaderboard=_with_final(project.leaderboard(record), record),
        pipeline_html=estimator_html_repr(model),
        ensemble=ensemble_weights(model),
        importances=(pd.DataFrame(evaluation["importances"]) if evaluation.get("importances")
                     else project._importances(record)),
        threshold=None if threshold is None else {
            "threshold": threshold.threshold, "target": threshold.target,
            "target_value": threshold.target_value, "precision": threshold.precision,
            "recall": threshold.recall, "base_model_id": threshold.base_model_id},
        curves=json.loads(curves_path.read_text()) if curves_path.exists() else None,
        flags=flags,
        explore_report="explore.html" if (reports / "explore.html").exists() else None,
        features=list(X.columns),
        history=find_history(model),
        image=layout,
        mistakes=None if layout is None else misclassified(project, record, layout),
    )


def _with_final(board: pd.DataFrame, record: ModelRecord) -> pd.DataFrame:
    """The shortlist plus the final model's own row when it is not one of them (an ensemble,
    a tuned model), so the leaderboard shows what was finally chosen."""
    base = record.name.split("@")[0]
    if not board.empty and base in set(board["model"]):
        return board
    m = record.metric
    rows = board["rows"].max() if not board.empty else None
    final = pd.DataFrame([{"model": base, "family": "final", "status": "done", "rows": rows,
                           f"cv_{m}_mean": record.cv_mean, f"cv_{m}_std": record.cv_std,
                           "fit_time_s": None, "predict_time_s": None}])
    return pd.concat([final, board], ignore_index=True) if not board.empty else final

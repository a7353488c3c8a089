"""What the report shows about a neural network and about images, gathered from the project.

* The training history: any fitted step of the final model with a ``history_`` dict of
  per-epoch lists (``loss``, ``val_loss``, ``accuracy``...) — found by duck typing, so that
  nothing here imports Keras, and whatever wraps the network (a pipeline, a target
  transformer, a decision threshold, an ensemble) does not hide it.
* The misclassified test images, when the rows are images: the evaluation stored one
  prediction per test row (in test-row order); the images are those rows' pixels. No new
  read of the test set is recorded: these are the rows the evaluation's recorded read
  already scored, shown the way the regression report lists its worst rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlpilot.features.images import ImageLayout, detect_image_table, pixel_images

if TYPE_CHECKING:
    from mlpilot.project import Project
    from mlpilot.project.state import ModelRecord

#: Misclassified images shown at most.
MAX_MISTAKES = 30
#: How deep to look for a fitted network inside wrappers.
MAX_DEPTH = 6
#: Fitted attributes that hold the estimators a wrapper contains.
_INNER = ("steps", "estimator_", "estimators_", "regressor_", "classifier_", "final_estimator_",
          "best_estimator_", "calibrated_classifiers_", "estimator", "named_estimators_")


@dataclass
class Mistakes:
    """Misclassified test images with their "true → predicted" titles."""

    images: np.ndarray  # (k, height, width)
    titles: list[str]
    n_errors: int
    n_rows: int
    ordered_by_confidence: bool


def find_history(model: Any) -> dict[str, list[float]] | None:
    """The per-epoch ``history_`` of the first fitted step that has one, else None."""
    for step in _walk(model, 0, set()):
        history = getattr(step, "history_", None)
        if isinstance(history, dict) and history and all(
                isinstance(v, list | tuple) for v in history.values()):
            return {str(k): [float(x) for x in v] for k, v in history.items()}
    return None


def _walk(obj: Any, depth: int, seen: set[int]) -> Iterator[Any]:
    if obj is None or id(obj) in seen or depth > MAX_DEPTH:
        return
    seen.add(id(obj))
    yield obj
    if isinstance(obj, list | tuple):
        for item in obj:
            yield from _walk(item, depth + 1, seen)
        return
    if isinstance(obj, dict):
        for item in obj.values():
            yield from _walk(item, depth + 1, seen)
        return
    if not hasattr(obj, "get_params"):
        return
    for name in _INNER:
        try:
            inner = getattr(obj, name, None)
        except Exception:  # a property of an unfitted wrapper may raise anything
            continue
        if inner is None or isinstance(inner, str | bytes):
            continue
        if name == "steps":
            inner = [step for _, step in inner]
        yield from _walk(inner, depth + 1, seen)


def image_layout(project: Project) -> ImageLayout | None:
    """The project's image layout (schema + the exploration's ranges), or None."""
    minimums: dict[str, float] = {}
    maximums: dict[str, float] = {}
    explore_json = project.layout.reports / "explore.json"
    if explore_json.exists():
        columns = json.loads(explore_json.read_text()).get("stats", {}).get("columns", {})
        for name, col in columns.items():
            if isinstance(col, dict) and isinstance(col.get("min"), int | float):
                minimums[name] = float(col["min"])
            if isinstance(col, dict) and isinstance(col.get("max"), int | float):
                maximums[name] = float(col["max"])
    return detect_image_table(project.schema, project.targets, minimums=minimums,
                              maximums=maximums)


def misclassified(project: Project, record: ModelRecord, layout: ImageLayout,
                  limit: int = MAX_MISTAKES) -> Mistakes | None:
    """The test images the model got wrong, the most confident mistakes first (None when
    they cannot be shown: no image shape, not a classifier, no stored evaluation)."""
    try:
        return _misclassified(project, record, layout, limit)
    except Exception:  # a figure is never worth failing the report for
        return None


def _misclassified(project: Project, record: ModelRecord, layout: ImageLayout,
                   limit: int) -> Mistakes | None:
    if layout.shape is None or project.framing.task not in ("binary", "multiclass"):
        return None
    path = project.layout.state_dir / "evaluations" / f"model-{record.id}.parquet"
    if not path.exists():
        return None
    stored = pd.read_parquet(path)
    if "y_true" not in stored or "y_pred" not in stored:
        return None
    X, y = project._xy(project._side(want_test=True, version_id=record.dataset_version_id))
    truth, predicted = stored["y_true"].to_numpy(), stored["y_pred"].to_numpy()
    if len(X) != len(stored) or not np.array_equal(np.asarray(y).astype(str),
                                                   truth.astype(str)):
        return None  # not the rows the evaluation scored: show nothing rather than wrong images
    wrong = np.flatnonzero(truth.astype(str) != predicted.astype(str))
    proba = [c for c in stored.columns if str(c).startswith("proba_")]
    ordered = bool(proba) and len(wrong) > 0
    if ordered:
        confidence = stored[proba].to_numpy(dtype=float)[wrong].max(axis=1)
        wrong = wrong[np.argsort(-confidence, kind="stable")]
    shown = wrong[:limit]
    titles = [_title(truth[i], predicted[i]) for i in shown]
    return Mistakes(pixel_images(X.iloc[shown], layout), titles, len(wrong), len(stored),
                    ordered)


def _title(true: object, predicted: object) -> str:
    t, p = str(true)[:14], str(predicted)[:14]
    return f"{t} → {p}" if len(t) + len(p) <= 10 else f"{t}\n→ {p}"

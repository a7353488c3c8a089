"""Framing: task and metric inferred from the target, with reasons; bad targets rejected."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlpilot.errors import ConfigError, TargetError
from mlpilot.frame import frame_problem

RNG = np.random.default_rng(0)


@pytest.mark.parametrize(("y", "task", "metric"), [
    (RNG.normal(size=200), "regression", "rmse"),
    (RNG.integers(0, 2, 200), "binary", "roc_auc"),
    (RNG.choice(["a", "b", "c"], 200), "multiclass", "accuracy"),
    (RNG.integers(0, 5, 200), "multiclass", "accuracy"),
    (RNG.integers(0, 150, 200), "regression", "rmse"),
    (RNG.choice([True, False], 200), "binary", "roc_auc"),
])
def test_task_and_metric_inferred(y: np.ndarray, task: str, metric: str) -> None:
    framing = frame_problem(pd.DataFrame({"x": RNG.normal(size=200), "y": y}), "y")
    assert (framing.task, framing.metric) == (task, metric)
    assert framing.task_reason and framing.metric_reason


def test_multilabel() -> None:
    frame = pd.DataFrame({"x": RNG.normal(size=50), "a": RNG.integers(0, 2, 50),
                          "b": RNG.choice(["y", "n"], 50)})
    framing = frame_problem(frame, ["a", "b"])
    assert framing.task == "multilabel" and framing.metric == "f1_macro"


def test_overrides_are_checked() -> None:
    frame = pd.DataFrame({"x": RNG.normal(size=50), "y": RNG.normal(size=50)})
    assert frame_problem(frame, "y", metric="mae").metric == "mae"
    with pytest.raises(ConfigError, match="does not apply"):
        frame_problem(frame, "y", metric="roc_auc")
    with pytest.raises(ConfigError, match="unknown metric"):
        frame_problem(frame, "y", metric="rmsee")


def test_unknown_target_suggests_the_closest_column() -> None:
    frame = pd.DataFrame({"median_house_value": [1.0, 2.0]})
    with pytest.raises(TargetError, match="not in the data") as info:
        frame_problem(frame, "median_house_valeu")
    assert "median_house_value" in (info.value.hint or "")


def test_target_all_missing() -> None:
    with pytest.raises(TargetError, match="all values missing"):
        frame_problem(pd.DataFrame({"x": [1, 2], "y": [np.nan, np.nan]}), "y")


def test_single_class_target() -> None:
    with pytest.raises(TargetError, match="single value"):
        frame_problem(pd.DataFrame({"x": [1, 2, 3], "y": ["a", "a", None]}), "y")

"""Framing the problem: which task this is and how success is measured, with the reasons.

The book's first checklist step. The inferred task and metric are shown to the user with
why they were chosen, and both can be overridden in ``mlpilot.toml``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import pandas as pd

from mlpilot.errors import ConfigError, TargetError
from mlpilot.evaluate.metrics import DEFAULT_METRIC, get_metric

TASKS = ("regression", "binary", "multiclass", "multilabel")
#: An integer target with at most this many distinct values is read as class labels.
MAX_INTEGER_CLASSES = 20


@dataclass(frozen=True)
class Framing:
    task: str
    task_reason: str
    metric: str
    metric_reason: str
    targets: tuple[str, ...]
    n_classes: int | None = None

    @property
    def target(self) -> str | list[str]:
        return self.targets[0] if len(self.targets) == 1 else list(self.targets)

    @property
    def is_classification(self) -> bool:
        return self.task != "regression"


def check_target(frame: pd.DataFrame, target: str | list[str]) -> tuple[str, ...]:
    """The target column(s) exist and hold something learnable."""
    targets = (target,) if isinstance(target, str) else tuple(target)
    if not targets:
        raise TargetError("no target column given", "pass --target COLUMN")
    for name in targets:
        if name not in frame.columns:
            close = difflib.get_close_matches(name, list(map(str, frame.columns)), n=1)
            hint = f"did you mean {close[0]!r}?" if close else \
                f"columns are: {', '.join(map(str, frame.columns[:20]))}"
            raise TargetError(f"target column {name!r} is not in the data", hint)
        values = frame[name]
        if values.isna().all():
            raise TargetError(f"target column {name!r} is empty (all values missing)",
                              "choose a column that holds the values to predict")
        if values.nunique(dropna=True) < 2:
            only = values.dropna().iloc[0]
            raise TargetError(f"target column {name!r} has a single value ({only!r})",
                              "there is nothing to learn: choose another target or add rows")
    return targets


def infer_task(frame: pd.DataFrame, targets: tuple[str, ...]) -> tuple[str, str]:
    if len(targets) > 1:
        if all(frame[t].nunique(dropna=True) == 2 for t in targets):
            return "multilabel", f"{len(targets)} two-valued target columns"
        raise ConfigError("several targets are supported only when each has two values "
                          "(multilabel)", "give one target column")
    y = frame[targets[0]].dropna()
    n_unique = int(y.nunique())
    if n_unique == 2:
        return "binary", f"the target has two values: {sorted(map(str, y.unique()))}"
    if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
        return "multiclass", f"the target holds {n_unique} labels (not numbers)"
    integral = pd.api.types.is_integer_dtype(y) or bool((y % 1 == 0).all())
    if integral and n_unique <= MAX_INTEGER_CLASSES and n_unique <= 0.05 * len(y):
        return "multiclass", f"the target holds {n_unique} distinct whole numbers: class labels"
    return "regression", f"the target is numeric with {n_unique} distinct values"


def frame_problem(frame: pd.DataFrame, target: str | list[str], task: str = "auto",
                  metric: str = "auto") -> Framing:
    """Infer (or check the user's) task and metric for ``target`` in ``frame``."""
    targets = check_target(frame, target)
    if task == "auto":
        task, task_reason = infer_task(frame, targets)
    elif task in TASKS:
        task_reason = "set in mlpilot.toml"
    else:
        raise ConfigError(f"unknown task {task!r}", f"choose one of: auto, {', '.join(TASKS)}")
    if metric == "auto":
        metric, metric_reason = DEFAULT_METRIC[task]
    else:
        get_metric(metric, task)
        metric_reason = "set in mlpilot.toml"
    n_classes = None
    if task in ("binary", "multiclass"):
        n_classes = int(frame[targets[0]].nunique(dropna=True))
        if task == "binary" and n_classes != 2:
            raise TargetError(f"task is binary but the target has {n_classes} classes",
                              "set task = \"multiclass\" (or \"auto\")")
    return Framing(task, task_reason, metric, metric_reason, targets, n_classes)

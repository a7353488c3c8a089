"""Learning and validation curves: is the model under- or overfitting, and would more data help?

Why (the book's chapter 4): training and validation scores against the training-set size
tell the two apart. Both plateauing close together at a poor score is underfitting (more data
will not help; a richer model will); a wide gap between a good training score and a worse
validation score is overfitting (more data or more regularisation will). A validation curve
sweeps the one hyperparameter that moves a family between those regimes
(:attr:`~mlpilot.models.zoo.Candidate.key_param`). scikit-learn computes both; this module
turns its scores into tables in the metric's natural sign and draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from sklearn.base import BaseEstimator
from sklearn.model_selection import learning_curve, validation_curve

from mlpilot.evaluate.metrics import Metric
from mlpilot.explore.figures import COMPACT
from mlpilot.explore.style import ACCENT, NEGATIVE, figure_style, new_figure, to_png
from mlpilot.models.zoo import Candidate

TRAIN_SIZES = (0.1, 0.25, 0.5, 0.75, 1.0)
#: Values a validation curve tries.
N_VALUES = 5
CURVE_COLUMNS = ["train_mean", "train_std", "validation_mean", "validation_std"]


def _natural(scoring: Metric, scores: np.ndarray) -> np.ndarray:
    """scikit-learn's scores (losses negated) in the metric's own sign, per fold."""
    return scores if scoring.greater_is_better else -scores


def _summarise(scoring: Metric, train: np.ndarray, valid: np.ndarray) -> dict[str, np.ndarray]:
    train, valid = _natural(scoring, train), _natural(scoring, valid)
    return {"train_mean": np.nanmean(train, axis=1), "train_std": np.nanstd(train, axis=1),
            "validation_mean": np.nanmean(valid, axis=1),
            "validation_std": np.nanstd(valid, axis=1)}


def learning_curve_table(estimator: BaseEstimator, X: Any, y: Any, *, scoring: Metric,
                         cv: Any, train_sizes: Sequence[float] = TRAIN_SIZES,
                         n_jobs: int | None = 1) -> pd.DataFrame:
    """Training and validation scores (mean, std over folds) per training-set size."""
    sizes, train, valid, fit_times, _ = learning_curve(
        estimator, X, y, train_sizes=np.asarray(train_sizes, dtype=float), cv=cv,
        scoring=scoring.scorer, n_jobs=n_jobs, return_times=True)
    table = pd.DataFrame({"train_size": sizes, **_summarise(scoring, train, valid),
                          "fit_time": fit_times.mean(axis=1)})
    table.attrs["metric"] = scoring.name
    return table


def validation_curve_table(estimator: BaseEstimator, X: Any, y: Any, *, param_name: str,
                           values: Sequence[Any], scoring: Metric, cv: Any,
                           n_jobs: int | None = 1) -> pd.DataFrame:
    """Training and validation scores (mean, std over folds) per value of ``param_name``."""
    train, valid = validation_curve(estimator, X, y, param_name=param_name,
                                    param_range=list(values), cv=cv, scoring=scoring.scorer,
                                    n_jobs=n_jobs)
    # Object dtype unless all numbers, so None ("no limit") is not turned into NaN.
    column = pd.Series(list(values), dtype=None if _all_numbers(list(values)) else object)
    table = pd.DataFrame({"value": column, **_summarise(scoring, train, valid)})
    table.attrs.update(metric=scoring.name, param_name=param_name)
    return table


def key_parameter(candidate: Candidate, task: str,
                  n_values: int = N_VALUES) -> tuple[str, list[Any]] | None:
    """The pipeline parameter a validation curve sweeps, and values spread over its range.

    ``model__`` + the wrappers' prefix + the space key; the values are the space's own grid
    (geometric on a log range). None when the family has no key parameter for ``task``.
    """
    if candidate.key_param is None:
        return None
    space = candidate.space_for(task)
    name = _space_key(candidate.key_param, list(space))
    if name is None:
        return None
    return f"model__{candidate.param_prefix(task)}{name}", space[name].grid(n_values)


def _space_key(key: str, names: list[str]) -> str | None:
    """``key`` itself, or the one space key ending in ``__key``."""
    if key in names:
        return key
    matches = [n for n in names if n.endswith(f"__{key}")]
    return matches[0] if len(matches) == 1 else None


# ------------------------------------------------------------------------------ figures
def _curves(ax: Axes, x: Any, table: pd.DataFrame) -> None:
    """Training (red) and validation (blue) means with a ±1 std band, as Figure 4-15."""
    for prefix, label, color, style in (("train", "training", NEGATIVE, "-+"),
                                        ("validation", "validation", ACCENT, "-o")):
        mean = table[f"{prefix}_mean"].to_numpy(dtype=float)
        std = table[f"{prefix}_std"].to_numpy(dtype=float)
        ax.plot(x, mean, style, color=color, linewidth=2, markersize=5, label=label)
        ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.15, linewidth=0)
    ax.legend(loc="best")


def learning_curve_figure(table: pd.DataFrame, metric_label: str) -> bytes:
    """Score against training-set size, training vs validation (the book's Figure 4-15)."""
    with figure_style():
        fig: Figure = new_figure(7, 4.5)
        ax = fig.subplots()
        _curves(ax, table["train_size"].to_numpy(), table)
        ax.set_xlabel("training set size (rows)")
        ax.set_ylabel(metric_label)
        ax.xaxis.set_major_formatter(COMPACT)
        ax.set_title("Learning curves")
        return to_png(fig)


def validation_curve_figure(table: pd.DataFrame, param_name: str, metric_label: str) -> bytes:
    """Score against one hyperparameter's values, training vs validation."""
    with figure_style():
        fig: Figure = new_figure(7, 4.5)
        ax = fig.subplots()
        values = list(table["value"])
        if _all_numbers(values):
            x = np.asarray(values, dtype=float)
            if x.min() > 0 and x.max() / x.min() >= 50:
                ax.set_xscale("log")
        else:
            x = np.arange(len(values))
            ax.set_xticks(x, [str(v) for v in values])
        _curves(ax, x, table)
        short_name = param_name.rsplit("__", 1)[-1]
        ax.set_xlabel(short_name)
        ax.set_ylabel(metric_label)
        ax.set_title(f"Validation curve: {short_name}")
        return to_png(fig)


def _all_numbers(values: list[Any]) -> bool:
    return all(isinstance(v, int | float | np.number) and not isinstance(v, bool)
               for v in values)

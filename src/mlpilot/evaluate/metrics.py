"""Metrics, defined once: name, scikit-learn scorer, direction, and which tasks use them."""

from __future__ import annotations

from dataclasses import dataclass

from sklearn.metrics import get_scorer

from mlpilot.errors import ConfigError


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    scorer: str  # a scikit-learn scoring name
    greater_is_better: bool
    tasks: tuple[str, ...]

    def from_sklearn(self, value: float) -> float:
        """scikit-learn scorers negate losses; give the user the metric's natural sign."""
        return float(value) if self.greater_is_better else -float(value)

    def score(self, estimator: object, X: object, y: object) -> float:
        return self.from_sklearn(get_scorer(self.scorer)(estimator, X, y))

    def better(self, a: float, b: float) -> bool:
        return a > b if self.greater_is_better else a < b

    def format(self, value: float) -> str:
        if self.name in ("rmse", "mae") and abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.4f}"


_REG = ("regression",)
_CLS = ("binary", "multiclass")
METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("rmse", "RMSE", "neg_root_mean_squared_error", False, _REG),
        Metric("mae", "MAE", "neg_mean_absolute_error", False, _REG),
        Metric("r2", "R²", "r2", True, _REG),
        Metric("roc_auc", "ROC AUC", "roc_auc", True, ("binary",)),
        Metric("roc_auc_ovr", "ROC AUC (one-vs-rest)", "roc_auc_ovr", True, ("multiclass",)),
        Metric("log_loss", "log loss", "neg_log_loss", False, _CLS),
        Metric("accuracy", "accuracy", "accuracy", True, _CLS),
        Metric("balanced_accuracy", "balanced accuracy", "balanced_accuracy", True, _CLS),
        Metric("f1", "F1", "f1", True, ("binary",)),
        Metric("f1_macro", "F1 (macro)", "f1_macro", True, ("multiclass", "multilabel")),
        Metric("f1_micro", "F1 (micro)", "f1_micro", True, ("multiclass", "multilabel")),
    ]
}

DEFAULT_METRIC = {
    "regression": ("rmse", "RMSE is the book's default for regression: it weighs large errors "
                           "more (use mae when outliers dominate)"),
    "binary": ("roc_auc", "ROC AUC ranks positives above negatives whatever the threshold; "
                          "log_loss when calibrated probabilities matter"),
    "multiclass": ("accuracy", "accuracy is the share of correct labels; log_loss when "
                               "probabilities matter"),
    "multilabel": ("f1_macro", "F1 averaged over labels, as the book does for multilabel "
                               "classification (ch. 3)"),
}


def get_metric(name: str, task: str | None = None) -> Metric:
    if name not in METRICS:
        raise ConfigError(f"unknown metric {name!r}", f"choose one of: {', '.join(METRICS)}")
    metric = METRICS[name]
    if task is not None and task not in metric.tasks:
        fits = [m for m, v in METRICS.items() if task in v.tasks]
        raise ConfigError(f"metric {name!r} does not apply to a {task} task",
                          f"choose one of: {', '.join(fits)}")
    return metric

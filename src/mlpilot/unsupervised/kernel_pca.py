"""Kernel PCA tuned the book's two ways: by a downstream model's score, or by pre-image error.

Kernel PCA is unsupervised, so there is no obvious score to tune its kernel and gamma on.
With labels, the book grid-searches a kernel PCA + logistic regression pipeline; without,
it keeps the kernel whose pre-image reconstruction (``fit_inverse_transform=True``) is
closest to the original rows.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.decomposition import KernelPCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from mlpilot.atomic import write_text
from mlpilot.errors import UnsupervisedError
from mlpilot.registry.persistence import save_artifact
from mlpilot.unsupervised.inputs import feature_matrix
from mlpilot.unsupervised.page import Section, write_page
from mlpilot.unsupervised.reduce import _json_safe

__all__ = ["DEFAULT_GAMMAS", "KernelPCATuning", "tune_kernel_pca"]

#: The book's kernel PCA grid: ``np.linspace(0.03, 0.05, 10)``.
DEFAULT_GAMMAS: tuple[float, ...] = tuple(float(g) for g in np.linspace(0.03, 0.05, 10))


# --------------------------------------------------------------------------- kernel PCA


@dataclass
class KernelPCATuning:
    """The best kernel and gamma for kernel PCA, and every setting tried."""

    best_params: dict[str, Any]
    best_score: float
    scoring: str  # "accuracy" (downstream classifier) or "reconstruction error"
    table: pd.DataFrame
    model: BaseEstimator

    @property
    def lower_is_better(self) -> bool:
        return self.scoring != "accuracy"

    def summary(self) -> list[str]:
        how = ("cross-validated accuracy of a logistic regression on the 2-D kernel PCA "
               "output" if not self.lower_is_better else
               "pre-image reconstruction error (lowest wins)")
        return [f"Best kernel PCA: kernel={self.best_params['kernel']}, "
                f"gamma={self.best_params['gamma']:.4g}, {self.scoring} "
                f"{self.best_score:.4g}, chosen by {how} over {len(self.table)} settings."]

    def to_dict(self) -> dict[str, Any]:
        return {"best_params": _json_safe(self.best_params), "best_score": self.best_score,
                "scoring": self.scoring, "summary": self.summary(),
                "table": _json_safe(self.table.to_dict(orient="records"))}

    def save_model(self, path: str | os.PathLike[str]) -> Path:
        return save_artifact(self.model, Path(path)).path

    def write_report(self, directory: str | os.PathLike[str]) -> Path:
        """``kernel-pca.html`` and ``kernel-pca.json``; returns the HTML path."""
        from mlpilot.unsupervised.reduce_figures import tuning_curve

        directory = Path(directory)
        write_text(directory / "kernel-pca.json", json.dumps(self.to_dict(), indent=2))
        score = self.scoring
        fig = tuning_curve(self.table, score, lower_is_better=self.lower_is_better)
        section = Section("Tuning", self.summary(), {"Settings tried": self.table},
                          [(f"{score} against gamma", fig, "One line per kernel; the star "
                            "marks the setting kept.")])
        return write_page(directory / "kernel-pca.html", "Kernel PCA tuning", [section],
                          cards=[("kernel", str(self.best_params["kernel"])),
                                 ("gamma", f"{self.best_params['gamma']:.4g}"),
                                 (score, f"{self.best_score:.4g}")])


def tune_kernel_pca(X: pd.DataFrame | np.ndarray, y: Sequence[Any] | np.ndarray | None = None,
                    *, kernels: Sequence[str] = ("rbf", "sigmoid"),
                    gammas: Sequence[float] | np.ndarray = DEFAULT_GAMMAS,
                    n_components: int = 2, cv: int = 3,
                    random_state: int = 42) -> KernelPCATuning:
    """Choose kernel PCA's kernel and gamma, the book's two ways.

    With ``y``: grid search over ``kpca__kernel`` × ``kpca__gamma`` in
    ``Pipeline([("kpca", KernelPCA(n_components=2)), ("clf", LogisticRegression())])``, scored
    by the classifier's accuracy. Without: fit each setting with
    ``fit_inverse_transform=True`` and keep the lowest pre-image reconstruction error.
    """
    data = feature_matrix(X).X
    if len(data) < 2 * cv:
        raise UnsupervisedError(f"kernel PCA tuning needs at least {2 * cv} rows, "
                                f"got {len(data)}", "pass more rows")
    gammas = [float(g) for g in np.atleast_1d(gammas)]
    kernels = [str(k) for k in kernels]
    if not gammas or not kernels or min(gammas) <= 0:
        raise UnsupervisedError("kernel PCA tuning needs kernels and positive gammas",
                                "pass kernels=('rbf', 'sigmoid') and gammas > 0")
    if y is not None:
        labels = np.asarray(y)
        if len(labels) != len(data):
            raise UnsupervisedError(f"y has {len(labels)} values for {len(data)} rows",
                                    "pass one label per row")
        classes = np.unique(labels)
        if len(classes) < 2 or (np.issubdtype(labels.dtype, np.floating)
                                and len(classes) > 20):
            raise UnsupervisedError("y must hold classes (at least 2, not a continuous value)",
                                    "pass class labels such as t > 6.9, or leave y out to tune "
                                    "by reconstruction error")
        pipe = Pipeline([("kpca", KernelPCA(n_components=n_components,
                                            random_state=random_state)),
                         ("clf", LogisticRegression())])
        search = GridSearchCV(pipe, {"kpca__gamma": gammas, "kpca__kernel": kernels}, cv=cv)
        search.fit(data, labels)
        res = search.cv_results_
        table = pd.DataFrame({"kernel": res["param_kpca__kernel"],
                              "gamma": np.asarray(res["param_kpca__gamma"], dtype=float),
                              "accuracy": res["mean_test_score"],
                              "std": res["std_test_score"],
                              "rank": res["rank_test_score"]}).sort_values(["rank", "kernel",
                                                                            "gamma"])
        best = {"kernel": search.best_params_["kpca__kernel"],
                "gamma": float(search.best_params_["kpca__gamma"])}
        return KernelPCATuning(best, float(search.best_score_), "accuracy",
                               table.reset_index(drop=True), search.best_estimator_)
    records = []
    best_model: KernelPCA | None = None
    best_error = math.inf
    for kernel in kernels:
        for gamma in gammas:
            kpca = KernelPCA(n_components=n_components, kernel=kernel, gamma=gamma,
                             fit_inverse_transform=True, random_state=random_state)
            try:
                pre = kpca.inverse_transform(kpca.fit_transform(data))
                error = float(np.mean(np.sum((data - pre) ** 2, axis=1)))
            except (ValueError, np.linalg.LinAlgError):
                error = math.nan
            if not np.isfinite(error):
                error = math.inf
            records.append({"kernel": kernel, "gamma": gamma, "reconstruction error": error})
            if error < best_error:
                best_error, best_model = error, kpca
    if best_model is None:
        raise UnsupervisedError("no kernel PCA setting could reconstruct the rows",
                                "try other kernels or gammas")
    table = pd.DataFrame(records).sort_values("reconstruction error", kind="stable")
    best = {"kernel": best_model.kernel, "gamma": float(best_model.gamma)}
    return KernelPCATuning(best, best_error, "reconstruction error",
                           table.reset_index(drop=True), best_model)

"""Dimensionality reduction, book chapter 8: fewer columns that keep what matters.

Projections keep straight structure: the PCA family keeps the directions of largest variance
(choose d for 95 % of it, book fig 8-8), random projections keep distances on very wide data
(Johnson–Lindenstrauss). Manifold methods (kernel PCA, LLE, Isomap, MDS, t-SNE) unroll curved
data and draw maps. Every result keeps the fitted pipeline (the table's feature transformer +
the reducer) so new rows land in the same space, says what was lost (variance kept,
reconstruction error) and writes a report. Incremental PCA also streams from disk
(:mod:`.reduce_stream`), and kernel PCA is tuned the book's two ways (:mod:`.kernel_pca`).
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.decomposition import PCA, IncrementalPCA, KernelPCA
from sklearn.manifold import MDS, TSNE, Isomap, LocallyLinearEmbedding
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.random_projection import (
    GaussianRandomProjection,
    SparseRandomProjection,
    johnson_lindenstrauss_min_dim,
)

from mlpilot.atomic import write_text, write_with
from mlpilot.errors import UnsupervisedError
from mlpilot.registry.persistence import save_artifact
from mlpilot.unsupervised.inputs import FeatureMatrix, feature_matrix
from mlpilot.unsupervised.page import Section, write_page

__all__ = ["METHODS", "Reduction", "check_method", "jl_min_dim", "parse_components", "pca_step",
           "reduce"]

#: The methods ``reduce`` knows, in the book's order.
METHODS = ("pca", "randomized_pca", "incremental_pca", "kernel_pca", "lle", "isomap", "mds",
           "random_projection", "tsne")
NAMES = {"pca": "PCA", "randomized_pca": "Randomized PCA", "incremental_pca": "Incremental PCA",
         "kernel_pca": "Kernel PCA", "lle": "LLE", "isomap": "Isomap", "mds": "MDS",
         "random_projection": "Random projection", "tsne": "t-SNE"}
#: Methods with explained variance: a float ``n_components`` is the variance ratio to keep.
PCA_FAMILY = frozenset({"pca", "randomized_pca", "incremental_pca"})
#: Methods whose cost grows with the square of the rows (kernel matrix, all pairs, graph).
QUADRATIC = frozenset({"kernel_pca", "lle", "isomap", "mds", "tsne"})
#: Methods that cannot place new rows (no ``transform``).
NO_TRANSFORM = frozenset({"mds", "tsne"})
DEFAULT_VARIANCE = 0.95
#: Rows the quadratic methods run on by default (the CLI's ``--sample``).
DEFAULT_SAMPLE = 5_000
#: The variance curve comes from a full PCA of at most this many (sampled) rows ...
SPECTRUM_ROWS = 10_000
#: ... and of all components while the features are at most this many (else the first 300).
SPECTRUM_FULL_FEATURES = 2_000
SPECTRUM_COMPONENTS = 300
#: A random projection's pseudo-inverse costs O(d·n²): skipped beyond this many features.
PINV_MAX_FEATURES = 5_000
#: Image rows shown beside their reconstructions (a 5 × 5 grid, book fig 8-9).
PREVIEW_IMAGES = 25


# --------------------------------------------------------------------------- result


@dataclass
class Reduction:
    """A fitted reduction: the model for new rows, the embedding, and what was lost."""

    method: str
    model: Pipeline
    embedding: np.ndarray
    n_rows: int
    n_features: int
    n_components: int
    features: FeatureMatrix | None = None
    label: pd.Series | None = None
    row_index: np.ndarray | None = None
    sampled_from: int | None = None
    target_variance: float | None = None
    explained_variance_ratio: np.ndarray | None = None
    cumulative_variance: np.ndarray | None = None
    reconstruction_error: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    scaled: bool = False
    image_side: int | None = None
    preview: tuple[np.ndarray, np.ndarray] | None = None
    notes: list[str] = field(default_factory=list)
    origin: str = ""
    streamed: bool = False

    @property
    def name(self) -> str:
        return NAMES[self.method]

    @property
    def reducer(self) -> BaseEstimator:
        """The fitted reducer itself (the pipeline's last step)."""
        return self.model[-1]

    @property
    def variance_kept(self) -> float | None:
        if self.explained_variance_ratio is None:
            return None
        return float(np.sum(self.explained_variance_ratio))

    def transform(self, rows: pd.DataFrame | np.ndarray) -> np.ndarray:
        """New rows in the reduced space (same columns, same scaling, same projection)."""
        if self.method in NO_TRANSFORM:
            raise UnsupervisedError(f"{self.name} cannot place new rows (it has no transform)",
                                    "refit with the new rows included, or use pca, kernel_pca, "
                                    "lle or isomap")
        X = (self.features.transform(rows) if self.features is not None
             else np.asarray(rows, dtype=float))
        return np.asarray(self.reducer.transform(X))

    def summary(self) -> list[str]:
        """Plain sentences: what was reduced to what, what it cost, what to watch."""
        rows = f"{self.n_rows:,} rows"
        if self.sampled_from:
            rows = (f"{self.n_rows:,} of {self.sampled_from:,} rows (sampled: its cost grows "
                    "with the square of the rows)")
        out = [f"{self.name} took {rows} from {self.n_features:,} to {self.n_components:,} "
               f"dimension{'s' if self.n_components != 1 else ''}"
               + (" (streamed from disk in batches)" if self.streamed else "") + "."]
        kept = self.variance_kept
        if kept is not None:
            asked = (f" ({self.target_variance:.0%} asked for)"
                     if self.target_variance is not None else "")
            out.append(f"It keeps {kept:.1%} of the variance{asked}; "
                       f"{1 - kept:.1%} is lost.")
        if "jl_min_dim" in self.params:
            out.append(f"Johnson–Lindenstrauss: {self.params['jl_min_dim']:,} dimensions keep "
                       f"every squared distance within ±{self.params['eps']:.0%} (with high "
                       f"probability) for {self.n_rows:,} rows, whatever the number of "
                       "features."
                       + (f" With {self.n_components:,} dimensions that guarantee does not "
                          "hold: distances are distorted more."
                          if self.n_components < self.params["jl_min_dim"] else ""))
        if self.reconstruction_error is not None:
            out.append(f"Reconstruction error (mean squared distance between a row and its "
                       f"compressed-then-decompressed copy): {self.reconstruction_error:.4g}.")
        if self.method in NO_TRANSFORM:
            out.append(f"{self.name} draws a map of these rows only: it cannot place new rows.")
        else:
            out.append("The saved model puts new rows in the same space.")
        return out + list(self.notes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe numbers."""
        def floats(values: np.ndarray | None) -> list[float] | None:
            return None if values is None else [round(float(v), 8) for v in values]

        return {
            "method": self.method, "origin": self.origin, "n_rows": self.n_rows,
            "sampled_from": self.sampled_from, "n_features": self.n_features,
            "n_components": self.n_components, "target_variance": self.target_variance,
            "variance_kept": self.variance_kept,
            "explained_variance_ratio": floats(self.explained_variance_ratio),
            "cumulative_variance": floats(self.cumulative_variance),
            "reconstruction_error": self.reconstruction_error,
            "transforms_new_rows": self.method not in NO_TRANSFORM,
            "scaled": self.scaled, "streamed": self.streamed,
            "label": None if self.label is None else str(self.label.name),
            "dropped": {} if self.features is None else dict(self.features.dropped),
            "params": _json_safe(self.params),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "summary": self.summary(),
        }

    def figures(self) -> list[tuple[str, Any, str]]:
        """(title, figure, caption) for the report: variance curve, map, reconstructions."""
        from mlpilot.unsupervised import reduce_figures as figs

        out: list[tuple[str, Any, str]] = []
        if self.cumulative_variance is not None and len(self.cumulative_variance) > 1:
            out.append(("Explained variance against dimensions",
                        figs.variance_curve(self.cumulative_variance, self.n_components,
                                            self.target_variance),
                        f"d = {self.n_components} keeps {self.variance_kept:.1%} of the "
                        "variance; past the elbow each extra dimension adds little "
                        "(book fig 8-8)."))
        title, axes = _map_names(self.method)
        colour = ("" if self.label is None else
                  f", coloured by {self.label.name}")
        shown = "" if not self.streamed else f" (first {len(self.embedding):,} rows)"
        out.append((title, figs.embedding_map(self.embedding, self.label, axis_names=axes),
                    f"Each point is a row{shown}{colour}. Nearby points were similar in the "
                    "original space" + (" (t-SNE keeps neighbours, not distances: gaps and "
                                        "cluster sizes mean little)."
                                        if self.method == "tsne" else ".")))
        if self.preview is not None and self.image_side:
            out.append(("Originals and their reconstructions",
                        figs.reconstruction_grid(*self.preview, self.image_side),
                        f"Rows drawn as {self.image_side}×{self.image_side} images, before and "
                        f"after compression to {self.n_components} dimensions (book fig 8-9)."))
        return out

    def write_report(self, directory: str | os.PathLike[str]) -> Path:
        """``reduce.html`` and ``reduce.json`` in ``directory``; returns the HTML path."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        write_text(directory / "reduce.json", json.dumps(self.to_dict(), indent=2))
        key = pd.DataFrame({"value": {
            "method": self.name, "rows": f"{self.n_rows:,}",
            "features": f"{self.n_features:,}", "dimensions kept": f"{self.n_components:,}",
            "variance kept": "—" if self.variance_kept is None else f"{self.variance_kept:.2%}",
            "reconstruction error": ("—" if self.reconstruction_error is None
                                     else f"{self.reconstruction_error:.4g}"),
        }})
        sections = [Section("Result", self.summary(), {"Key numbers": key})]
        figures = self.figures()
        curve = [f for f in figures if f[0].startswith("Explained")]
        if curve:
            ratios = self.explained_variance_ratio
            assert ratios is not None
            head = pd.DataFrame({"variance ratio": ratios, "cumulative": np.cumsum(ratios)},
                                index=pd.RangeIndex(1, len(ratios) + 1, name="component"))
            sections.append(Section("How many dimensions", [
                "The curve shows how much variance the first d components keep; the dotted "
                "lines mark the d chosen."], {"Kept components": head}, curve))
        sections.append(Section("Map", [], {}, [f for f in figures if f not in curve
                                                and not f[0].startswith("Originals")]))
        grid = [f for f in figures if f[0].startswith("Originals")]
        if grid:
            sections.append(Section("Compression", [
                "Dimensionality reduction is lossy compression: decompressing gives back rows "
                "close to, not equal to, the originals."], {}, grid))
        inputs: dict[str, pd.DataFrame] = {
            "Timings (seconds)": pd.DataFrame({"seconds": self.timings})}
        if self.features is not None and self.features.dropped:
            inputs["Columns left out"] = pd.DataFrame({"why": self.features.dropped})
        if self.params:
            inputs["Settings"] = pd.DataFrame({"value": {k: str(v) for k, v in
                                                         _json_safe(self.params).items()}})
        sections.append(Section("Inputs and settings", [
            "Features were standardized before reducing." if self.scaled else
            "Features were used as they are (not standardized)."], inputs))
        cards = [("method", self.name), ("dimensions", f"{self.n_features:,} → "
                                                       f"{self.n_components:,}")]
        if self.variance_kept is not None:
            cards.append(("variance kept", f"{self.variance_kept:.1%}"))
        if self.reconstruction_error is not None:
            cards.append(("reconstruction error", f"{self.reconstruction_error:.4g}"))
        return write_page(directory / "reduce.html", f"Dimensionality reduction — {self.name}",
                          sections, cards=cards, subtitle=self.origin)

    def save_model(self, path: str | os.PathLike[str]) -> Path:
        """The fitted pipeline as a skops file (atomic)."""
        return save_artifact(self.model, Path(path)).path

    def embedding_frame(self) -> pd.DataFrame:
        """The embedding as a table: the input row number, z1..zd, and the label."""
        frame = pd.DataFrame(self.embedding,
                             columns=[f"z{i + 1}" for i in range(self.embedding.shape[1])])
        rows = self.row_index if self.row_index is not None else np.arange(len(frame))
        frame.insert(0, "row", rows)
        if self.label is not None:
            frame[str(self.label.name or "label")] = self.label.to_numpy()
        return frame

    def write_embedding(self, path: str | os.PathLike[str]) -> Path:
        """The embedding as Parquet (atomic)."""
        frame = self.embedding_frame()
        return write_with(path, lambda p: frame.to_parquet(p, index=False))


def _map_names(method: str) -> tuple[str, tuple[str, str]]:
    if method == "tsne":
        return "t-SNE map", ("t-SNE 1", "t-SNE 2")
    if method in PCA_FAMILY:
        return "First two principal components", ("PC1", "PC2")
    if method == "random_projection":
        return "First two random projections", ("z1", "z2")
    return f"{NAMES[method]} embedding", ("z1", "z2")


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)


# --------------------------------------------------------------------------- reduce


def reduce(data: pd.DataFrame | np.ndarray, *, method: str = "pca",
           n_components: float | int = DEFAULT_VARIANCE, exclude: Sequence[str] = (),
           label: str | pd.Series | np.ndarray | None = None, random_state: int = 42,
           sample: int | None = None, scale: bool | None = None, eps: float = 0.1,
           projection: str = "sparse", reconstruct: bool = True, origin: str = "",
           **options: Any) -> Reduction:
    """Reduce ``data`` with ``method``; ``options`` go to the scikit-learn estimator.

    ``n_components``: for the PCA family a float in (0, 1) is the variance ratio to keep (95 %
    by default), an int the number of dimensions; other methods take an int (2 by default,
    a map; random projections default to the Johnson–Lindenstrauss minimum for ``eps``).
    ``label`` (a column name or values aligned with the rows) is kept out of the features and
    colours the map. ``sample`` caps the rows of the quadratic methods (kernel PCA, LLE,
    Isomap, MDS, t-SNE). ``scale=None`` standardizes tables unless their rows look like images
    (pixels share one unit). ``projection``: "sparse" (the book's preference) or "gaussian".
    """
    method = check_method(method)
    target, d = _check_components(n_components)
    frame, labels, excluded = _split_label(data, label, exclude)
    side = _image_side(frame, excluded)
    do_scale = (side is None) if scale is None else bool(scale)
    fm = feature_matrix(frame, exclude=excluded, scale=do_scale)
    X = fm.X
    n_all, n = X.shape
    if n_all < 2:
        raise UnsupervisedError(f"reduction needs at least 2 rows, got {n_all}",
                                "pass a table with more rows")
    notes: list[str] = []
    rows = np.arange(n_all)
    sampled_from = None
    if sample is not None:
        if sample < 2:
            raise UnsupervisedError(f"sample must be at least 2 rows, got {sample}",
                                    "pass --sample 5000 (or more)")
        if method in QUADRATIC and n_all > sample:
            rows = np.sort(np.random.default_rng(random_state).choice(n_all, sample,
                                                                      replace=False))
            X = X[rows]
            sampled_from = n_all
    m = len(X)
    if labels is not None:
        labels = labels.iloc[rows].reset_index(drop=True)
    params: dict[str, Any] = {}
    curve = None
    timings: dict[str, float] = {}
    if method in PCA_FAMILY:
        start = time.perf_counter()
        curve = _spectrum(X, random_state, notes)
        timings["spectrum_s"] = time.perf_counter() - start
    est, d = _estimator(method, X, target, d, curve, random_state, eps, projection,
                        reconstruct, params, notes, options)
    start = time.perf_counter()
    Z = _fit(method, est, X, notes)
    timings["fit_s"] = time.perf_counter() - start
    if method in PCA_FAMILY:
        d = int(est.n_components_)
    ratios = np.asarray(est.explained_variance_ratio_) if method in PCA_FAMILY else None
    if ratios is not None and (curve is None or len(curve) < d):
        curve = np.cumsum(ratios)
    if method == "random_projection" and hasattr(est, "density_"):
        params["density"] = float(est.density_)
    error = None
    preview = None
    if reconstruct:
        start = time.perf_counter()
        X_rec = _reconstruct(method, est, Z, X, notes)
        if X_rec is not None:
            timings["reconstruct_s"] = time.perf_counter() - start
            error = float(np.mean(np.sum((X - X_rec) ** 2, axis=1)))
            if side is not None:
                pick = np.unique(np.linspace(0, m - 1, min(PREVIEW_IMAGES, m)).astype(int))
                preview = (_display_units(fm, X[pick]), _display_units(fm, X_rec[pick]))
    steps: list[tuple[str, Any]] = []
    if fm.transformer is not None:
        steps.append(("features", fm.transformer))
    steps.append(("reduce", est))
    if side is not None and not do_scale and isinstance(data, pd.DataFrame):
        notes.append(f"Features were left unscaled: each row looks like a square image "
                     f"({side}×{side} pixels sharing one unit); pass scale=True (--scale) to "
                     "standardize them.")
    if fm.dropped:
        notes.append("Columns left out: " + ", ".join(f"{c} ({why})"
                                                      for c, why in fm.dropped.items()) + ".")
    return Reduction(method=method, model=Pipeline(steps), embedding=Z, n_rows=m,
                     n_features=n, n_components=d, features=fm, label=labels, row_index=rows,
                     sampled_from=sampled_from,
                     target_variance=target if method in PCA_FAMILY else None,
                     explained_variance_ratio=ratios, cumulative_variance=curve,
                     reconstruction_error=error, timings=timings, params=params,
                     scaled=do_scale and fm.transformer is not None,
                     image_side=side, preview=preview, notes=notes, origin=origin)


def _fit(method: str, est: BaseEstimator, X: np.ndarray, notes: list[str]) -> np.ndarray:
    """Fit and embed ``X``; the estimator's warnings become notes, its errors ours.

    Linear methods embed with ``transform`` so that new rows get exactly what training
    rows got (a randomized SVD's ``fit_transform`` is only close to it).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if method in PCA_FAMILY or method == "random_projection":
                Z = est.fit(X).transform(X)
            else:
                Z = est.fit_transform(X)
        except (ValueError, np.linalg.LinAlgError) as exc:
            raise UnsupervisedError(f"{NAMES[method]} failed on these rows: "
                                    f"{str(exc).splitlines()[0]}",
                                    "try other options (fewer components, more neighbours) "
                                    "or another method") from exc
    for message in dict.fromkeys(str(w.message).splitlines()[0] for w in caught
                                 if issubclass(w.category, UserWarning)):
        notes.append(f"{NAMES[method]} warned: {message}")
    return np.asarray(Z)


def check_method(method: str) -> str:
    """The canonical method name (``t-sne`` → ``tsne``), or an error listing the choices."""
    key = str(method).strip().lower().replace("-", "_")
    key = {"t_sne": "tsne", "rp": "random_projection", "kpca": "kernel_pca",
           "ipca": "incremental_pca"}.get(key, key)
    if key not in METHODS:
        raise UnsupervisedError(f"unknown reduction method {method!r}",
                                f"choose one of: {', '.join(METHODS)}")
    return key


def _check_components(n_components: float | int) -> tuple[float | None, int | None]:
    """(variance ratio, None) or (None, number of dimensions)."""
    if isinstance(n_components, bool):
        raise UnsupervisedError(f"components must be a number, got {n_components!r}",
                                "pass a variance ratio such as 0.95 or a whole number such as 2")
    if isinstance(n_components, int | np.integer):
        if n_components < 1:
            raise UnsupervisedError(f"components must be at least 1, got {n_components}",
                                    "pass 1 or more dimensions, or a variance ratio such as 0.95")
        return None, int(n_components)
    value = float(n_components)
    if 0 < value < 1:
        return value, None
    raise UnsupervisedError(f"components {value:g} is neither a variance ratio in (0, 1) nor "
                            "a whole number of dimensions",
                            "pass a ratio such as 0.95 or a count such as 2")


def parse_components(text: str | None) -> float | int:
    """``"0.9"`` → 0.9, ``"154"`` → 154, None → the 95 % default (for the CLI)."""
    if text is None:
        return DEFAULT_VARIANCE
    text = text.strip()
    try:
        return int(text) if text.lstrip("+").isdigit() else float(text)
    except ValueError:
        raise UnsupervisedError(f"components {text!r} is not a number",
                                "pass a ratio such as 0.95 or a count such as 2") from None


def _split_label(data: pd.DataFrame | np.ndarray, label: str | pd.Series | np.ndarray | None,
                 exclude: Sequence[str]) -> tuple[pd.DataFrame | np.ndarray, pd.Series | None,
                                                  list[str]]:
    excluded = [str(c) for c in exclude]
    if label is None:
        return data, None, excluded
    if isinstance(label, str):
        if not isinstance(data, pd.DataFrame) or label not in data.columns:
            raise UnsupervisedError(f"label column {label!r} is not in the data",
                                    "pass a column name of the table, or the label values")
        return data, data[label].reset_index(drop=True), [*excluded, label]
    values = pd.Series(np.asarray(label) if not isinstance(label, pd.Series) else label)
    if len(values) != len(data):
        raise UnsupervisedError(f"label has {len(values)} values for {len(data)} rows",
                                "pass one label per row")
    return data, values.reset_index(drop=True).rename(values.name or "label"), excluded


def _image_side(data: pd.DataFrame | np.ndarray, excluded: Sequence[str]) -> int | None:
    """The side of a square image when every row looks like one (non-negative pixels)."""
    if isinstance(data, pd.DataFrame):
        frame = data.drop(columns=[c for c in excluded if c in data.columns])
        if not all(pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)
                   for t in frame.dtypes):
            return None
        n = frame.shape[1]
        values_min = frame.min(numeric_only=True).min() if n else np.nan
    else:
        array = np.asarray(data)
        if array.ndim != 2 or not np.issubdtype(array.dtype, np.number) or array.size == 0:
            return None
        n = array.shape[1]
        values_min = float(np.nanmin(array))
    side = math.isqrt(n)
    if n < 16 or side * side != n or not values_min >= 0:
        return None
    return side


def _display_units(fm: FeatureMatrix, X: np.ndarray) -> np.ndarray:
    """Rows back in the table's units when only a standard scaler stood in between."""
    if fm.transformer is None:
        return X
    try:
        scaler = fm.transformer.named_transformers_["num"][-1]
    except (KeyError, TypeError, IndexError):
        return X
    if isinstance(scaler, StandardScaler) and X.shape[1] == len(scaler.scale_):
        return X * scaler.scale_ + scaler.mean_
    return X


def _spectrum(X: np.ndarray, random_state: int, notes: list[str]) -> np.ndarray:
    """The cumulative explained-variance curve: ``np.cumsum(explained_variance_ratio_)``."""
    rows = X
    if len(X) > SPECTRUM_ROWS:
        pick = np.random.default_rng(random_state).choice(len(X), SPECTRUM_ROWS, replace=False)
        rows = X[np.sort(pick)]
        notes.append(f"The variance curve was estimated on {SPECTRUM_ROWS:,} sampled rows.")
    k = min(rows.shape)
    if X.shape[1] <= SPECTRUM_FULL_FEATURES:
        pca = PCA(svd_solver="full").fit(rows)
    else:
        k = min(k, SPECTRUM_COMPONENTS)
        pca = PCA(n_components=k, svd_solver="randomized", random_state=random_state).fit(rows)
        notes.append(f"The variance curve covers the first {k} components only (wide data).")
    return np.cumsum(pca.explained_variance_ratio_)


def _d_for(curve: np.ndarray, target: float) -> int:
    """The book's ``np.argmax(cumsum >= 0.95) + 1``."""
    reached = np.flatnonzero(curve >= target)
    if len(reached) == 0:
        raise UnsupervisedError(f"the first {len(curve)} components keep only {curve[-1]:.1%} "
                                f"of the variance, short of {target:.0%}",
                                "pass a whole number of components, or use method='pca'")
    return int(reached[0]) + 1


def _estimator(method: str, X: np.ndarray, target: float | None, d: int | None,
               curve: np.ndarray | None, random_state: int, eps: float, projection: str,
               reconstruct: bool, params: dict[str, Any], notes: list[str],
               options: dict[str, Any]) -> tuple[BaseEstimator, int]:
    """The unfitted estimator for ``method`` and the number of dimensions it will produce."""
    m, n = X.shape
    if method in PCA_FAMILY:
        if d is not None and d > min(m, n):
            raise UnsupervisedError(f"{d} components asked, but PCA gives at most {min(m, n)} "
                                    f"on {m} rows × {n} features",
                                    f"pass --components {min(m, n)} or fewer")
        if method == "pca":
            if target is not None:
                est = PCA(n_components=target, svd_solver="full", random_state=random_state,
                          **options)
                return est, _d_for(curve, target) if curve is not None else 0
            return PCA(n_components=d, random_state=random_state, **options), int(d or 0)
        if d is None:
            assert curve is not None and target is not None
            d = _d_for(curve, target)
        if method == "randomized_pca":
            return PCA(n_components=d, svd_solver="randomized", random_state=random_state,
                       **options), d
        options = {"batch_size": max(d, min(m, 5 * n))} | options
        if options["batch_size"] < d:
            raise UnsupervisedError(f"batch_size {options['batch_size']} is below the "
                                    f"{d} components", f"pass batch_size={d} or more")
        params["batch_size"] = options["batch_size"]
        return IncrementalPCA(n_components=d, **options), d
    if target is not None and target != DEFAULT_VARIANCE and method != "random_projection":
        notes.append(f"A variance ratio ({target:g}) only applies to the PCA family: "
                     f"{NAMES[method]} drew a 2-D map.")
    if method == "random_projection":
        if not 0 < eps < 1:
            raise UnsupervisedError(f"eps must be in (0, 1), got {eps:g}",
                                    "pass --eps 0.1 (the book's) or another value below 1")
        jl = jl_min_dim(m, eps)
        params.update(eps=eps, jl_min_dim=jl, projection=projection)
        if d is None:
            d = jl
            if d > n:
                raise UnsupervisedError(
                    f"Johnson–Lindenstrauss needs {jl:,} dimensions for eps={eps:g} on {m:,} "
                    f"rows, more than the {n:,} features: random projection pays off on "
                    "wide data only", "pass a larger eps, a number of components, or use pca")
        elif d > n:
            raise UnsupervisedError(f"{d} components asked, more than the {n} features",
                                    f"pass --components {n} or fewer")
        kinds = {"sparse": SparseRandomProjection, "gaussian": GaussianRandomProjection}
        if projection not in kinds:
            raise UnsupervisedError(f"unknown projection {projection!r}",
                                    "choose sparse (the book's preference) or gaussian")
        return kinds[projection](n_components=d, random_state=random_state, **options), d
    d = d or 2
    if d > n and method != "kernel_pca":
        raise UnsupervisedError(f"{d} components asked, more than the {n} features",
                                f"pass --components {n} or fewer")
    if d >= m:
        raise UnsupervisedError(f"{d} components asked for {m} rows",
                                "pass fewer components or more rows")
    if method == "kernel_pca":
        options = {"kernel": "rbf"} | options
        if options.get("gamma") is None and options["kernel"] in ("rbf", "sigmoid", "laplacian"):
            options["gamma"] = _median_gamma(X, random_state)
            notes.append(f"gamma = {options['gamma']:.3g}, one over the median squared distance "
                         "between rows; pass gamma=… or tune it with tune_kernel_pca.")
        params.update(kernel=options["kernel"], gamma=options.get("gamma"))
        return KernelPCA(n_components=d, fit_inverse_transform=reconstruct,
                         random_state=random_state, **options), d
    if method in ("lle", "isomap"):
        options = {"n_neighbors": 10 if method == "lle" else 5} | options
        k = int(options["n_neighbors"])
        if k >= m:
            raise UnsupervisedError(f"{NAMES[method]} with {k} neighbours needs more than {k} "
                                    f"rows, got {m}", "pass fewer neighbours or more rows")
        params["n_neighbors"] = k
        if method == "lle":
            return LocallyLinearEmbedding(n_components=d, random_state=random_state,
                                          **options), d
        return Isomap(n_components=d, **options), d
    if method == "mds":
        options = {"init": "classical_mds", "normalized_stress": "auto"} | options
        return MDS(n_components=d, random_state=random_state, **options), d
    if d > 3:
        raise UnsupervisedError(f"t-SNE draws 2-D or 3-D maps, {d} components asked",
                                "pass --components 2")
    options = {"perplexity": 30.0, "init": "pca", "learning_rate": "auto"} | options
    if options["perplexity"] >= m:
        options["perplexity"] = max(1.0, (m - 1) / 3)
        notes.append(f"Perplexity lowered to {options['perplexity']:.3g} for {m} rows.")
    params["perplexity"] = options["perplexity"]
    return TSNE(n_components=d, random_state=random_state, **options), d


def _median_gamma(X: np.ndarray, random_state: int, rows: int = 1_000) -> float:
    """The median heuristic for an RBF width: 1 / median squared distance (≤ 1,000 rows)."""
    from sklearn.metrics import pairwise_distances

    pick = X
    if len(X) > rows:
        pick = X[np.random.default_rng(random_state).choice(len(X), rows, replace=False)]
    squared = pairwise_distances(pick, metric="sqeuclidean")
    median = float(np.median(squared[np.triu_indices(len(pick), k=1)]))
    return 1.0 / median if median > 0 else 1.0 / X.shape[1]


def _reconstruct(method: str, est: BaseEstimator, Z: np.ndarray, X: np.ndarray,
                 notes: list[str]) -> np.ndarray | None:
    """Decompressed rows, where the method has an inverse (random projections: pinv)."""
    if method in PCA_FAMILY or (method == "kernel_pca" and est.fit_inverse_transform):
        return np.asarray(est.inverse_transform(Z))
    if method == "random_projection":
        if X.shape[1] > PINV_MAX_FEATURES:
            notes.append(f"No reconstruction error: the pseudo-inverse of a {Z.shape[1]:,} × "
                         f"{X.shape[1]:,} projection is too slow to compute (the book warns).")
            return None
        components = est.components_
        dense = components.toarray() if hasattr(components, "toarray") else components
        return Z @ np.linalg.pinv(dense).T
    return None


def jl_min_dim(n_rows: int, eps: float = 0.1) -> int:
    """Dimensions a random projection needs to keep squared distances within ±eps (JL)."""
    if n_rows < 1 or not 0 < eps < 1:
        raise UnsupervisedError(f"need rows ≥ 1 and eps in (0, 1), got {n_rows} and {eps:g}",
                                "pass eps=0.1 (the book's)")
    return int(johnson_lindenstrauss_min_dim(n_rows, eps=eps))


def pca_step(variance: float = DEFAULT_VARIANCE, random_state: int = 42) -> PCA:
    """An unfitted PCA keeping ``variance`` of it, to insert into a supervised pipeline."""
    target, _ = _check_components(variance)
    if target is None:
        raise UnsupervisedError(f"variance must be a ratio in (0, 1), got {variance}",
                                "pass variance=0.95")
    return PCA(n_components=target, svd_solver="full", random_state=random_state)

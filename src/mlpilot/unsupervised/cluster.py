"""Clustering (book chapter 9): fit, choose k, explain the clusters, assign new rows.

One entry point, :func:`cluster`, runs any of the book's clusterers on a table or an array
and chooses what the book says to choose: k-means' k by silhouette score (with the inertia
elbow reported beside it), a Gaussian mixture's k by BIC, DBSCAN's ``eps`` at the knee of
the k-distance curve. The result keeps a model that assigns new rows: k-means and mixtures
predict; DBSCAN, HDBSCAN and agglomerative clustering cannot, so a nearest-neighbour vote
among the clustered rows stands in (:class:`DensityClusterAssigner`, the book's recipe).
:func:`stream_kmeans` clusters a file larger than memory batch by batch.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.cluster import (
    DBSCAN,
    HDBSCAN,
    AgglomerativeClustering,
    KMeans,
    MiniBatchKMeans,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.mixture import BayesianGaussianMixture, GaussianMixture
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors
from sklearn.pipeline import Pipeline
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from mlpilot.atomic import write_text, write_with
from mlpilot.errors import UnsupervisedError
from mlpilot.registry.persistence import save_artifact
from mlpilot.unsupervised.inputs import FeatureMatrix, as_frame, feature_matrix
from mlpilot.unsupervised.page import Section
from mlpilot.unsupervised.profiles import ClusterProfiles, cluster_profiles
from mlpilot.unsupervised.streaming import BatchSource

__all__ = [
    "METHODS",
    "Clustering",
    "DensityClusterAssigner",
    "LabelAgreement",
    "assign_rows",
    "check_method",
    "cluster",
    "knee_index",
    "label_agreement",
    "load_cluster_model",
    "stream_kmeans",
]

#: Method name → what it is, as reports say it.
METHODS: dict[str, str] = {
    "kmeans": "k-means",
    "minibatch_kmeans": "mini-batch k-means",
    "dbscan": "DBSCAN",
    "hdbscan": "HDBSCAN",
    "agglomerative": "agglomerative clustering",
    "gmm": "Gaussian mixture",
    "bgm": "Bayesian Gaussian mixture",
}
#: Methods whose k is chosen by trying each k of ``k_range``.
SWEEP_METHODS = ("kmeans", "minibatch_kmeans", "agglomerative", "gmm")
DENSITY_METHODS = ("dbscan", "hdbscan")
MIXTURES = ("gmm", "bgm")
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
DEFAULT_K_RANGE = range(2, 11)
DEFAULT_MIN_SAMPLES = 5
#: Silhouette is O(n²): above this many rows it is computed on a random sample of them.
MAX_SILHOUETTE_ROWS = 10_000
#: Agglomerative clustering without a connectivity matrix needs O(n²) memory.
MAX_AGGLOMERATIVE_ROWS = 20_000
#: A k whose silhouette is within this share of the best is "close" (worth a look).
CLOSE_SILHOUETTE = 0.10
#: A Bayesian mixture's component counts as used above this weight.
EFFECTIVE_WEIGHT = 0.01
NOISE = -1
#: Types a saved clustering model may hold besides scikit-learn's and NumPy's own.
OWN_TYPES = ("mlpilot.unsupervised.cluster.DensityClusterAssigner",)
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.")


# --------------------------------------------------------------------------- small helpers
def knee_index(y: Sequence[float] | np.ndarray, x: Sequence[float] | np.ndarray | None = None
               ) -> int:
    """Index of the knee (elbow) of a curve: the point farthest from the chord end to end.

    Both axes are scaled to [0, 1] first, so the answer does not depend on units. Works for
    a falling convex curve (inertia vs k) and a rising one (sorted k-distances).
    """
    ys = np.asarray(y, dtype=float)
    xs = np.arange(len(ys), dtype=float) if x is None else np.asarray(x, dtype=float)
    if len(ys) < 3:
        return int(np.argmin(ys)) if len(ys) else 0
    xn = (xs - xs[0]) / ((xs[-1] - xs[0]) or 1.0)
    span = ys.max() - ys.min()
    yn = (ys - ys.min()) / (span or 1.0)
    dx, dy = xn[-1] - xn[0], yn[-1] - yn[0]
    distance = np.abs(dx * (yn[0] - yn) - (xn[0] - xn) * dy) / (np.hypot(dx, dy) or 1.0)
    return int(np.argmax(distance))


def _silhouette(X: np.ndarray, labels: np.ndarray, random_state: int) -> float | None:
    """Mean silhouette coefficient (noise left out); None when it is undefined."""
    keep = labels != NOISE
    X, labels = X[keep], labels[keep]
    n_clusters = len(np.unique(labels))
    if n_clusters < 2 or n_clusters >= len(X):
        return None
    size = MAX_SILHOUETTE_ROWS if len(X) > MAX_SILHOUETTE_ROWS else None
    return float(silhouette_score(X, labels, sample_size=size, random_state=random_state))


def _n_clusters(labels: np.ndarray) -> int:
    return len(set(np.asarray(labels).tolist()) - {NOISE})


def _close_ks(scores: pd.DataFrame, best_k: int, limit: int = 2) -> list[tuple[int, float]]:
    """The (at most ``limit``) other ks whose silhouette is within 10 % of the best one's."""
    rows = scores.dropna(subset=["silhouette"])
    best = float(rows.loc[rows["k"] == best_k, "silhouette"].iloc[0]) if (
        rows["k"] == best_k).any() else float(rows["silhouette"].max())
    close = rows[(rows["k"] != best_k) & (rows["silhouette"] >= best * (1 - CLOSE_SILHOUETTE))]
    close = close.sort_values("silhouette", ascending=False).head(limit)
    return [(int(k), float(s)) for k, s in zip(close["k"], close["silhouette"], strict=True)]


def _balance(labels: np.ndarray) -> float:
    """Smallest cluster size over largest (1.0 = all the same size)."""
    counts = pd.Series(labels[labels != NOISE]).value_counts()
    return float(counts.min() / counts.max()) if len(counts) else 0.0


# --------------------------------------------------------------------------- the assigner
class DensityClusterAssigner(ClassifierMixin, BaseEstimator):
    """Assign new rows to the clusters of rows already clustered: a k-nearest-neighbour vote.

    DBSCAN has no ``predict``; the book fits ``KNeighborsClassifier(n_neighbors=50)`` on the
    core samples and their cluster labels. With ``max_distance``, a row farther than that
    from its nearest fitted row is labelled -1 (an anomaly), as the book's
    ``y_pred[y_dist > 0.2] = -1``. ``n_neighbors`` is capped at the number of fitted rows.
    """

    def __init__(self, n_neighbors: int = 50, max_distance: float | None = None) -> None:
        self.n_neighbors = n_neighbors
        self.max_distance = max_distance

    def fit(self, X: Any, y: Any) -> DensityClusterAssigner:
        """Remember the rows ``X`` and their cluster labels ``y`` (e.g. DBSCAN's cores)."""
        if not isinstance(self.n_neighbors, int | np.integer) or self.n_neighbors < 1:
            raise ValueError(f"n_neighbors must be a positive integer, got {self.n_neighbors!r}")
        if self.max_distance is not None and not self.max_distance > 0:
            raise ValueError(f"max_distance must be positive or None, got {self.max_distance!r}")
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        self.knn_ = KNeighborsClassifier(n_neighbors=min(int(self.n_neighbors), len(X)))
        self.knn_.fit(X, y)
        self.classes_ = self.knn_.classes_
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The majority cluster among the nearest fitted rows; -1 beyond ``max_distance``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        labels = self.knn_.predict(X)
        if self.max_distance is None:
            return labels
        distance, _ = self.knn_.kneighbors(X, n_neighbors=1)
        far = distance[:, 0] > self.max_distance
        if not far.any():
            return labels
        # Cluster numbers stay integers; other label types become objects that can hold -1.
        out = labels.astype(np.int64 if labels.dtype.kind in "iub" else
                            labels.dtype if labels.dtype.kind == "f" else object)
        out[far] = NOISE
        return out

    def predict_proba(self, X: Any) -> np.ndarray:
        """Share of each cluster among the nearest fitted rows."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self.knn_.predict_proba(X)


# --------------------------------------------------------------------------- label agreement
@dataclass
class LabelAgreement:
    """How well clusters match a known label: adjusted Rand index and mapped accuracy."""

    adjusted_rand: float
    accuracy: float  # each cluster mapped to its most common label; noise counts as wrong
    mapping: dict[str, str]
    label_name: str = "label"

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label_name, "adjusted_rand": self.adjusted_rand,
                "accuracy": self.accuracy, "mapping": self.mapping}


def label_agreement(labels: Sequence[Any] | np.ndarray, truth: Sequence[Any] | np.ndarray |
                    pd.Series, *, label_name: str | None = None) -> LabelAgreement:
    """Compare cluster labels with true labels (the book's iris: mode per cluster → 0.967)."""
    clusters = np.asarray(labels)
    y = pd.Series(np.asarray(truth, dtype=object))
    if len(y) != len(clusters):
        raise UnsupervisedError(f"{len(y)} true labels for {len(clusters)} rows",
                                "pass one label per clustered row")
    known = y.notna().to_numpy()
    if not known.any():
        raise UnsupervisedError("the label column is empty", "pass a label with values")
    c, t = clusters[known], y[known].astype(str).to_numpy()
    mapping: dict[str, str] = {}
    for cluster in sorted(set(c.tolist()) - {NOISE}):
        mapping[str(cluster)] = str(pd.Series(t[c == cluster]).mode().sort_values().iloc[0])
    mapped = np.array([mapping.get(str(v)) for v in c], dtype=object)
    return LabelAgreement(float(adjusted_rand_score(t, c)), float(np.mean(mapped == t)),
                          mapping, label_name or (str(truth.name) if isinstance(
                              truth, pd.Series) and truth.name is not None else "label"))


# --------------------------------------------------------------------------- the result
@dataclass
class Clustering:
    """A fitted clustering: labels, the model that assigns new rows, the numbers behind k."""

    method: str
    labels: np.ndarray
    estimator: Any  # the fitted clusterer (KMeans, DBSCAN, GaussianMixture ...)
    predictor: Any  # what assigns rows in feature space (the estimator, or an assigner)
    features: FeatureMatrix
    frame: pd.DataFrame  # the rows clustered, original columns (for profiles)
    chosen_by: str
    params: dict[str, Any]
    random_state: int = 42
    scores: pd.DataFrame | None = None  # per k tried: inertia, silhouette / bic, aic
    elbow: int | None = None
    silhouette: float | None = None
    inertia: float | None = None
    bic: float | None = None
    aic: float | None = None
    eps: float | None = None
    min_samples: int | None = None
    kdistances: np.ndarray | None = None
    knee: int | None = None
    weights: np.ndarray | None = None
    labels_by_k: dict[int, np.ndarray] = field(default_factory=dict)
    agreement: LabelAgreement | None = None
    profiles: ClusterProfiles | None = None
    notes: list[str] = field(default_factory=list)

    # ---- numbers
    @property
    def n_clusters(self) -> int:
        """Clusters found (noise, -1, is not a cluster)."""
        return _n_clusters(self.labels)

    @property
    def n_noise(self) -> int:
        return int((self.labels == NOISE).sum())

    @property
    def sizes(self) -> pd.Series:
        """Rows per cluster (noise as -1), by cluster number."""
        return pd.Series(self.labels).value_counts().sort_index()

    @property
    def centers(self) -> np.ndarray | None:
        """Centroids (k-means) or component means (mixtures), in feature space."""
        for name in ("cluster_centers_", "means_"):
            if hasattr(self.estimator, name):
                return np.asarray(getattr(self.estimator, name))
        return None

    @property
    def effective_components(self) -> int | None:
        """Bayesian mixture: components with a weight above :data:`EFFECTIVE_WEIGHT`."""
        if self.method != "bgm" or self.weights is None:
            return None
        return int((self.weights > self.params.get("weight_threshold", EFFECTIVE_WEIGHT)).sum())

    @property
    def model(self) -> Pipeline:
        """Features then assignment: ``model.predict(new_rows)`` gives cluster labels."""
        features = self.features.transformer if self.features.transformer is not None \
            else "passthrough"
        return Pipeline([("features", features), ("cluster", self.predictor)])

    def assign(self, new_rows: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Cluster labels for new rows (same columns as the data clustered); -1 = noise."""
        return np.asarray(self.predictor.predict(self.features.transform(new_rows)))

    # ---- words
    def summary(self) -> list[str]:
        n, d = self.features.X.shape
        found = f"{self.n_clusters} cluster{'s' if self.n_clusters != 1 else ''}"
        if self.n_noise:
            found += f" and {self.n_noise:,} noise rows ({self.n_noise / n:.1%}, label -1)"
        lines = [f"{METHODS[self.method]} on {n:,} rows × {d} features found {found}."]
        lines.extend(self._choice_sentences())
        sizes = self.sizes.drop(NOISE, errors="ignore")
        if len(sizes) <= 10:
            lines.append("Cluster sizes: " + ", ".join(
                f"{c}: {s:,} ({s / n:.0%})" for c, s in sizes.items()) + ".")
        elif len(sizes):
            lines.append(f"Cluster sizes range from {sizes.min():,} to {sizes.max():,} rows.")
        if self.silhouette is not None and self.chosen_by != "silhouette":
            lines.append(f"Silhouette score: {self.silhouette:.3f} (−1 to 1, higher means "
                         "tighter, better separated clusters).")
        if self.agreement is not None:
            a = self.agreement
            lines.append(f"Against the label {a.label_name!r}: adjusted Rand index "
                         f"{a.adjusted_rand:.3f}; mapping each cluster to its most common "
                         f"label gives accuracy {a.accuracy:.3f}.")
        lines.append(self._assign_sentence())
        if self.features.dropped:
            lines.append("Columns left out: " + ", ".join(
                f"{c} ({why})" for c, why in self.features.dropped.items()) + ".")
        return lines + list(self.notes)

    def _choice_sentences(self) -> list[str]:
        out: list[str] = []
        scores = self.scores
        k = self.n_clusters
        if self.chosen_by == "silhouette" and scores is not None:
            ks = scores["k"].tolist()
            out.append(f"k = {k} has the best silhouette score ({self.silhouette:.3f}) of the "
                       f"k tried ({ks[0]}–{ks[-1]}).")
            out.extend(self._close_calls())
        elif self.chosen_by == "bic" and scores is not None:
            best_aic = int(scores.loc[scores["aic"].idxmin(), "k"])
            out.append(f"BIC is lowest at k = {k} ({self.bic:,.1f}); AIC is lowest at "
                       f"k = {best_aic}" + (" too." if best_aic == k else
                                           " (AIC tends to prefer more components)."))
        elif self.chosen_by == "knee" and self.eps is not None:
            out.append(f"eps = {self.eps:.4g} was taken at the knee of the k-distance curve "
                       f"(distance of each row to its {self.min_samples}th nearest neighbour); "
                       "if clusters look chopped, pass a larger eps, if they merge, a smaller "
                       "one.")
        elif self.chosen_by == "weights" and self.weights is not None:
            used = sorted(self.weights[self.weights > self.params.get(
                "weight_threshold", EFFECTIVE_WEIGHT)], reverse=True)
            out.append(f"The Bayesian mixture kept {self.effective_components} of its "
                       f"{len(self.weights)} components (weights "
                       + ", ".join(f"{w:.2f}" for w in used)
                       + "); the others' weights fell to about 0.")
        elif self.chosen_by == "given":
            what = "eps" if self.method == "dbscan" else "k"
            value = self.eps if self.method == "dbscan" else self.params.get("k")
            out.append(f"{what} = {value:g} was given." if value is not None else
                       "The number of clusters was found by the method itself.")
        elif self.chosen_by == "density":
            out.append("HDBSCAN chose the number of clusters itself (no k, no eps).")
        if self.inertia is not None:
            out.append(f"Inertia (sum of squared distances to the closest centroid): "
                       f"{self.inertia:,.4g}.")
        if self.elbow is not None:
            if self.elbow == k:
                out.append(f"The inertia curve's elbow is at k = {self.elbow} too.")
            else:
                out.append(f"The inertia curve's elbow is at k = {self.elbow}, not at the "
                           f"chosen k = {k}: the elbow is a coarse rule (inertia always "
                           "falls as k grows); the silhouette score is the finer one.")
        return out

    def _close_calls(self) -> list[str]:
        """Runner-up ks the silhouette score barely separates: say so, with the evidence."""
        if self.scores is None or self.silhouette is None or self.silhouette <= 0:
            return []
        parts: list[str] = []
        for k, s in _close_ks(self.scores, self.n_clusters):
            part = f"k = {k} ({s:.3f}"
            if k in self.labels_by_k:
                b_k, b_best = _balance(self.labels_by_k[k]), _balance(self.labels)
                if b_k > b_best + 0.15:
                    part += (f", with clusters more even in size: smallest/largest "
                             f"{b_k:.2f} vs {b_best:.2f}")
            parts.append(part + ")")
        if not parts:
            return []
        verb = "is" if len(parts) == 1 else "are"
        return [f"{' and '.join(parts)} {verb} close to the best score: compare the silhouette "
                "diagrams — a good k has knives of similar height that all reach past the "
                "dashed mean line."]

    def _assign_sentence(self) -> str:
        if self.method in ("kmeans", "minibatch_kmeans"):
            how = "go to the nearest centroid"
        elif self.method in MIXTURES:
            how = "go to their most likely component"
        else:
            p = self.predictor
            how = (f"get the majority cluster of their {p.knn_.n_neighbors} nearest "
                   f"{'core ' if self.method == 'dbscan' else ''}rows")
            if p.max_distance is not None:
                how += f", or -1 when farther than {p.max_distance:g} from all of them"
        return f"New rows (assign(), the saved model) {how}."

    # ---- files
    def to_dict(self) -> dict[str, Any]:
        n, d = self.features.X.shape
        out: dict[str, Any] = {
            "step": "cluster", "method": self.method, "n_rows": n, "n_features": d,
            "feature_names": self.features.feature_names, "dropped": self.features.dropped,
            "params": _jsonable(self.params), "chosen_by": self.chosen_by,
            "n_clusters": self.n_clusters, "n_noise": self.n_noise,
            "sizes": {str(k): int(v) for k, v in self.sizes.items()},
            "silhouette": self.silhouette, "inertia": self.inertia, "elbow": self.elbow,
            "bic": self.bic, "aic": self.aic, "eps": self.eps, "min_samples": self.min_samples,
            "weights": None if self.weights is None else [float(w) for w in self.weights],
            "effective_components": self.effective_components,
            "centers": None if self.centers is None else self.centers.tolist(),
            "scores": None if self.scores is None else _records(self.scores),
            "agreement": None if self.agreement is None else self.agreement.to_dict(),
            "profiles": None if self.profiles is None else self.profiles.to_dict(),
            "summary": self.summary(),
        }
        return out

    def write_report(self, directory: str | os.PathLike[str]) -> Path:
        """``cluster.html`` and ``cluster.json`` in ``directory``; returns the HTML path."""
        from mlpilot.unsupervised.page import write_page

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        write_text(out / "cluster.json", json.dumps(self.to_dict(), indent=2))
        cards = [("method", self.method), ("clusters", str(self.n_clusters)),
                 ("rows", f"{len(self.labels):,}")]
        if self.silhouette is not None:
            cards.append(("silhouette", f"{self.silhouette:.3f}"))
        if self.bic is not None:
            cards.append(("BIC", f"{self.bic:,.1f}"))
        if self.n_noise:
            cards.append(("noise rows", f"{self.n_noise:,}"))
        if self.agreement is not None:
            cards.append(("label accuracy", f"{self.agreement.accuracy:.3f}"))
        return write_page(out / "cluster.html", f"Clustering — {METHODS[self.method]}",
                          self._sections(), cards=cards,
                          subtitle=f"{len(self.labels):,} rows × {self.features.X.shape[1]} "
                                   "features")

    def _sections(self) -> list[Section]:
        """The report: clusters and map, how k was chosen, profiles, label, new rows."""
        from mlpilot.unsupervised import cluster_figures as cf

        X = self.features.X
        names = self.features.feature_names
        sections: list[Section] = []
        on_pcs = X.shape[1] > 2
        regions = self.predictor if X.shape[1] == 2 else None
        sections.append(Section("Clusters", self.summary(), figures=[(
            "Map of the clusters", cf.cluster_map(X, self.labels, centers=self.centers,
                                                  predictor=regions, feature_names=names,
                                                  title=f"{self.n_clusters} clusters"),
            ("Rows on the first two principal components (the clustering used all "
             f"{X.shape[1]} features)" if on_pcs else
             "Rows coloured by cluster, with the regions new rows would be assigned to")
            + "; × marks the centroids, grey × the noise rows." * (
                self.centers is not None or self.n_noise > 0))]))
        figures: list[tuple[str, Any, str]] = []
        text: list[str] = []
        tables: dict[str, pd.DataFrame] = {}
        if self.scores is not None:
            tables["Scores per k"] = self.scores.set_index("k")
            if "inertia" in self.scores:
                figures.append(("Inertia vs k", cf.inertia_figure(
                    self.scores, self.elbow, self.n_clusters),
                    "Inertia always falls as k grows; the elbow is where adding clusters "
                    "stops paying off much (the book's figure 9-8)."))
            if "silhouette" in self.scores:
                figures.append(("Silhouette score vs k", cf.silhouette_figure(
                    self.scores, self.n_clusters),
                    "Mean silhouette coefficient per k (figure 9-9): finer than the elbow, "
                    "costlier to compute."))
            if "bic" in self.scores:
                figures.append(("BIC and AIC vs k", cf.criteria_figure(self.scores),
                                "Information criteria (figure 9-20): likelihood penalised by "
                                "the number of parameters; the lowest wins."))
        if self.labels_by_k:
            figures.append(("Silhouette diagrams", cf.silhouette_diagrams(
                X, self.labels_by_k, random_state=self.random_state),
                "One knife per cluster, as tall as the cluster is large, as wide as its rows' "
                "silhouette coefficients; the dashed line is the mean score (figure 9-10). "
                "Prefer a k whose knives all reach past the line and have similar heights."))
        if self.kdistances is not None and self.eps is not None:
            figures.append(("k-distance plot", cf.kdistance_figure(
                self.kdistances, self.eps, self.min_samples or DEFAULT_MIN_SAMPLES, self.knee),
                "Distance from each row to its min_samples-th neighbour, sorted; rows above "
                "the eps line have too few neighbours to be core rows."))
        if self.weights is not None:
            figures.append(("Component weights", cf.bgm_weights_figure(
                self.weights, self.params.get("weight_threshold", EFFECTIVE_WEIGHT)),
                "The Bayesian mixture drives the weights of the components it does not need "
                "to about 0."))
        if self.method in MIXTURES and X.shape[1] == 2:
            figures.append(("Density", cf.density_figure(X, self.estimator),
                            "Contours of the mixture's density (−log density, log-spaced "
                            "levels), the component means and the boundaries between them "
                            "(figure 9-16)."))
        if figures or tables:
            sections.append(Section("Choosing the clusters", text, tables=tables,
                                    figures=figures))
        if self.profiles is not None:
            prof_figures = []
            if not self.profiles.numeric.empty and self.profiles.numeric.shape[1] > 0:
                z = self.profiles.numeric.copy()
                z.index = ["noise" if c == NOISE else str(c) for c in z.index]
                prof_figures.append(("Cluster profiles", cf.profile_heatmap(z),
                                     "Each cluster's mean per column, in standard deviations "
                                     "from the overall mean: red above, blue below."))
            tables = {"Clusters": self.profiles.table()}
            if not self.profiles.categories.empty:
                cats = self.profiles.categories.copy()
                for col in ("share_in_cluster", "share_overall"):
                    cats[col] = (cats[col] * 100).round(1)
                tables["Over-represented values (% of rows)"] = cats.set_index("cluster")
            sections.append(Section(
                "Cluster profiles",
                ["What sets each cluster apart, in the data's own columns (before scaling)."],
                tables=tables, figures=prof_figures))
        if self.agreement is not None:
            a = self.agreement
            mapping = pd.DataFrame({"cluster": list(a.mapping), "most common label":
                                    list(a.mapping.values())}).set_index("cluster")
            sections.append(Section(
                f"Agreement with {a.label_name!r}",
                [f"Adjusted Rand index {a.adjusted_rand:.3f} (1 = the same partition, "
                 "0 = chance).",
                 f"Mapping each cluster to its most common label gives accuracy "
                 f"{a.accuracy:.3f} (noise rows count as wrong). The label was not used to "
                 "cluster."], tables={"Cluster → label": mapping}))
        sections.append(Section("Assigning new rows", [
            self._assign_sentence(),
            "cluster-model.skops holds the whole model (the feature transformer, then the "
            "assignment): `mlpilot cluster --assign new.csv` labels new rows with it."]))
        return sections

    def save_model(self, path: str | os.PathLike[str]) -> Path:
        """The model (features + assignment) as a skops file; :func:`load_cluster_model`."""
        return save_artifact(self.model, Path(path)).path

    def write_labels(self, path: str | os.PathLike[str]) -> Path:
        """The rows clustered with a ``cluster`` column, as Parquet."""
        table = self.frame.copy()
        table["cluster"] = self.labels
        try:
            return write_with(path, lambda p: table.to_parquet(p, index=False))
        except (ValueError, TypeError, ImportError, OSError):
            # Columns Parquet cannot hold (mixed objects): keep the row numbers instead.
            slim = pd.DataFrame({"row": np.arange(len(self.labels)), "cluster": self.labels})
            return write_with(path, lambda p: slim.to_parquet(p, index=False))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (None if isinstance(v, float) and not np.isfinite(v) else
                 int(v) if isinstance(v, np.integer) else float(v) if isinstance(v, float)
                 else v) for k, v in rec.items()} for rec in frame.to_dict("records")]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | range):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


# --------------------------------------------------------------------------- fitting
def check_method(method: str) -> str:
    """The canonical method name (``k-means`` → ``kmeans``), or an error listing them."""
    name = method.strip().lower().replace("-", "_")
    aliases = {"k_means": "kmeans", "minibatch": "minibatch_kmeans",
               "mini_batch_kmeans": "minibatch_kmeans", "gaussian_mixture": "gmm",
               "bayesian_gmm": "bgm", "hierarchical": "agglomerative"}
    name = aliases.get(name, name)
    if name not in METHODS:
        raise UnsupervisedError(f"unknown clustering method {method!r}",
                                f"choose one of: {', '.join(METHODS)}")
    return name


def _check_k(k: int | None, n_rows: int) -> None:
    if k is None:
        return
    if int(k) != k or k < 2:
        raise UnsupervisedError(f"k must be at least 2, got {k}", "pass --k 2 or more")
    if k >= n_rows:
        raise UnsupervisedError(f"k = {k} needs more than {k} rows, the data has {n_rows}",
                                "pass a smaller --k")


def _check_k_range(k_range: Iterable[int], n_rows: int) -> list[int]:
    ks = sorted({int(k) for k in k_range})
    if not ks or ks[0] < 1:
        raise UnsupervisedError(f"k range must hold positive numbers, got {list(k_range)}",
                                "pass --k-range 2:10")
    ks = [k for k in ks if k < n_rows]
    if len([k for k in ks if k >= 2]) < 1 or len(ks) < 2:
        raise UnsupervisedError(f"the k range needs at least two values below the number of "
                                f"rows ({n_rows}) and one of 2 or more",
                                "pass a wider --k-range, e.g. 2:10")
    return ks


def _make(method: str, k: int | None, random_state: int, options: dict[str, Any]) -> Any:
    """The unfitted scikit-learn clusterer, with the book's defaults and the user's options."""
    if method == "kmeans":
        est: Any = KMeans(n_clusters=k or 8, n_init=10, algorithm="lloyd",
                          random_state=random_state)
    elif method == "minibatch_kmeans":
        # n_init=3: scikit-learn's default when the book ran it (now "auto", i.e. 1).
        est = MiniBatchKMeans(n_clusters=k or 8, n_init=3, random_state=random_state)
    elif method == "agglomerative":
        est = AgglomerativeClustering(n_clusters=k or 2)
    elif method == "gmm":
        est = GaussianMixture(n_components=k or 1, n_init=10, random_state=random_state)
    elif method == "bgm":
        est = BayesianGaussianMixture(n_components=k or 10, n_init=10,
                                      random_state=random_state)
    elif method == "dbscan":
        est = DBSCAN(min_samples=DEFAULT_MIN_SAMPLES)
    else:
        est = HDBSCAN(copy=True)
    valid = est.get_params()
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise UnsupervisedError(f"option {', '.join(unknown)} does not apply to {method}",
                                f"options for {method}: {', '.join(sorted(valid))}")
    return est.set_params(**options)


def _fit(est: Any, X: np.ndarray) -> Any:
    """Fit, turning scikit-learn's complaints about the options into one readable error."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            return est.fit(X)
        except (ValueError, TypeError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UnsupervisedError(f"{type(est).__name__} cannot fit: {first}",
                                    "check the clustering options") from exc


def _labels(est: Any, X: np.ndarray) -> np.ndarray:
    labels = getattr(est, "labels_", None)
    return np.asarray(labels if labels is not None else est.predict(X), dtype=int)


@dataclass
class _Sweep:
    scores: pd.DataFrame
    models: dict[int, Any]
    labels: dict[int, np.ndarray]


def _sweep(method: str, X: np.ndarray, ks: list[int], random_state: int,
           options: dict[str, Any], on_step: Callable[[int], None] | None) -> _Sweep:
    """Fit one model per k: inertia and silhouette (k-means), or BIC and AIC (mixtures)."""
    rows: list[dict[str, Any]] = []
    models: dict[int, Any] = {}
    labels: dict[int, np.ndarray] = {}
    for k in ks:
        if method == "agglomerative" and k < 2:
            continue
        est = _fit(_make(method, k, random_state, options), X)
        row: dict[str, Any] = {"k": k}
        if method == "gmm":
            row["bic"], row["aic"] = float(est.bic(X)), float(est.aic(X))
        else:
            lab = _labels(est, X)
            if hasattr(est, "inertia_"):
                row["inertia"] = float(est.inertia_) if method == "kmeans" else float(
                    -est.score(X))
            row["silhouette"] = _silhouette(X, lab, random_state) if k >= 2 else np.nan
            labels[k] = lab.astype(np.int32)
        rows.append(row)
        models[k] = est
        if on_step is not None:
            on_step(k)
    scores = pd.DataFrame(rows)
    if "silhouette" in scores:
        scores["silhouette"] = scores["silhouette"].astype(float)
    return _Sweep(scores, models, labels)


def _kdistances(X: np.ndarray, min_samples: int) -> np.ndarray:
    """Sorted distance of each row to its ``min_samples``-th nearest other row."""
    n = min(min_samples + 1, len(X))
    distances, _ = NearestNeighbors(n_neighbors=n).fit(X).kneighbors(X)
    return np.sort(distances[:, -1])


def _resolve_label(data: pd.DataFrame | np.ndarray, label: str | Sequence[Any] | None,
                   exclude: Sequence[str]) -> tuple[pd.Series | None, list[str]]:
    excluded = list(exclude)
    if label is None:
        return None, excluded
    if isinstance(label, str):
        if not isinstance(data, pd.DataFrame) or label not in data.columns:
            raise UnsupervisedError(f"label column {label!r} is not in the data",
                                    "pass the name of a column of the table")
        return data[label].reset_index(drop=True), [*excluded, label]
    truth = label if isinstance(label, pd.Series) else pd.Series(np.asarray(label, dtype=object))
    return truth.reset_index(drop=True), excluded


def cluster(data: pd.DataFrame | np.ndarray, *, method: str = "kmeans", k: int | None = None,
            k_range: Iterable[int] = DEFAULT_K_RANGE, exclude: Sequence[str] = (),
            random_state: int = 42, label: str | Sequence[Any] | pd.Series | None = None,
            on_step: Callable[[int], None] | None = None, **options: Any) -> Clustering:
    """Cluster the rows of ``data`` with ``method``; choose k (or eps) when not given.

    ``label`` (a column name, or one value per row) is never a feature: it only scores
    the clusters (adjusted Rand index, mapped accuracy). ``on_step(k)`` is called after
    each k tried (progress bars). Options go to the scikit-learn clusterer
    (``covariance_type``, ``n_init``, ``init``, ``linkage`` ...), except ``eps``/
    ``min_samples`` (DBSCAN), ``n_neighbors``/``max_distance`` (how DBSCAN, HDBSCAN and
    agglomerative clustering assign new rows) and ``weight_threshold`` (Bayesian mixture).
    """
    method = check_method(method)
    truth, excluded = _resolve_label(data, label, exclude)
    features = feature_matrix(data, exclude=excluded, scale=True)
    X = features.X
    n = len(X)
    frame = as_frame(data).drop(columns=[c for c in excluded if c in as_frame(data).columns])
    if truth is not None and len(truth) != n:
        raise UnsupervisedError(f"{len(truth)} labels for {n} rows", "pass one label per row")
    opts = dict(options)
    n_neighbors = int(opts.pop("n_neighbors", 50))
    max_distance = opts.pop("max_distance", None)
    if max_distance is not None and not float(max_distance) > 0:
        raise UnsupervisedError(f"max_distance must be positive, got {max_distance}",
                                "pass a distance above 0, or none")
    threshold = float(opts.pop("weight_threshold", EFFECTIVE_WEIGHT))
    _check_k(k, n)
    if method == "agglomerative" and n > MAX_AGGLOMERATIVE_ROWS:
        raise UnsupervisedError(f"agglomerative clustering of {n:,} rows needs O(n²) memory",
                                "use --method kmeans or minibatch_kmeans, or sample the rows")
    if "covariance_type" in opts and opts["covariance_type"] not in COVARIANCE_TYPES:
        raise UnsupervisedError(f"unknown covariance type {opts['covariance_type']!r}",
                                f"choose one of: {', '.join(COVARIANCE_TYPES)}")

    params: dict[str, Any] = {"k": k, **opts}
    result: dict[str, Any] = {"labels_by_k": {}}
    if method in SWEEP_METHODS:
        if k is None:
            ks = _check_k_range(k_range, n)
            sweep = _sweep(method, X, ks, random_state, opts, on_step)
            scores = sweep.scores
            if method == "gmm":
                chosen = int(scores.loc[scores["bic"].idxmin(), "k"])
                chosen_by = "bic"
            else:
                valid = scores.dropna(subset=["silhouette"])
                if valid.empty:
                    raise UnsupervisedError("no k in the range gives a silhouette score",
                                            "pass a k range with values of 2 or more")
                chosen = int(valid.loc[valid["silhouette"].idxmax(), "k"])
                chosen_by = "silhouette"
                if "inertia" in scores and len(scores) >= 3:
                    result["elbow"] = int(scores["k"].iloc[knee_index(scores["inertia"],
                                                                      scores["k"])])
                keep = {chosen - 1, chosen, chosen + 1, chosen + 2} | {
                    kk for kk, _ in _close_ks(scores, chosen)}
                result["labels_by_k"] = {kk: v for kk, v in sweep.labels.items()
                                         if kk in keep and kk >= 2}
            est = sweep.models[chosen]
            result["scores"] = scores
            params["k_range"] = ks
        else:
            est = _fit(_make(method, k, random_state, opts), X)
            if on_step is not None:
                on_step(k)
            chosen_by = "given"
        predictor: Any = est
        if method == "agglomerative":
            predictor = DensityClusterAssigner(n_neighbors, max_distance).fit(X, _labels(est, X))
    elif method == "bgm":
        upper = k if k is not None else max(_check_k_range(k_range, n))
        est = _fit(_make(method, upper, random_state, opts), X)
        if on_step is not None:
            on_step(upper)
        predictor = est
        chosen_by = "weights"
        result["weights"] = np.asarray(est.weights_)
        params.update(n_components=upper, weight_threshold=threshold)
    elif method == "dbscan":
        eps = opts.pop("eps", None)
        min_samples = int(opts.pop("min_samples", DEFAULT_MIN_SAMPLES))
        if min_samples < 1:
            raise UnsupervisedError(f"min_samples must be at least 1, got {min_samples}",
                                    "pass --min-samples 1 or more (the book uses 5)")
        if eps is not None and not float(eps) > 0:
            raise UnsupervisedError(f"eps must be positive, got {eps}",
                                    "pass --eps above 0, or leave it out to take it from the "
                                    "k-distance plot")
        distances = _kdistances(X, min_samples)
        knee = knee_index(distances)
        result.update(kdistances=distances, min_samples=min_samples)
        if eps is None:
            eps = float(distances[knee])
            result["knee"] = knee
            chosen_by = "knee"
        else:
            chosen_by = "given"
        est = _fit(_make(method, None, random_state,
                         {**opts, "eps": float(eps), "min_samples": min_samples}), X)
        if on_step is not None:
            on_step(1)
        result["eps"] = float(eps)
        params.update(eps=float(eps), min_samples=min_samples)
        if len(est.core_sample_indices_) == 0:
            raise UnsupervisedError(f"DBSCAN found no cluster with eps={eps:.4g}, "
                                    f"min_samples={min_samples}: every row is noise",
                                    "pass a larger --eps or a smaller --min-samples")
        predictor = DensityClusterAssigner(n_neighbors, max_distance).fit(
            est.components_, est.labels_[est.core_sample_indices_])
    else:  # hdbscan
        est = _fit(_make(method, None, random_state, opts), X)
        if on_step is not None:
            on_step(1)
        chosen_by = "density"
        members = est.labels_ != NOISE
        if not members.any():
            raise UnsupervisedError("HDBSCAN found no cluster: every row is noise",
                                    "pass a smaller min_cluster_size")
        predictor = DensityClusterAssigner(n_neighbors, max_distance).fit(
            X[members], est.labels_[members])
    params.update(n_neighbors=n_neighbors, max_distance=max_distance)

    labels = _labels(est, X)
    out = Clustering(method, labels, est, predictor, features, frame.reset_index(drop=True),
                     chosen_by, params, random_state, **result)
    out.silhouette = _silhouette(X, labels, random_state)
    if method == "kmeans":
        out.inertia = float(est.inertia_)
    elif method == "minibatch_kmeans":
        out.inertia = float(-est.score(X))
    if method == "gmm":
        out.bic, out.aic = float(est.bic(X)), float(est.aic(X))
    if not out.labels_by_k and out.silhouette is not None:
        out.labels_by_k = {out.n_clusters: labels.astype(np.int32)}
    if truth is not None:
        name = str(label if isinstance(label, str) else getattr(truth, "name", None) or "label")
        values = pd.Series(np.asarray(truth))
        if _is_continuous(values):
            means = values.groupby(labels).mean()
            out.notes.append(
                f"The label {name!r} is a continuous number, not classes, so no agreement "
                "score: its mean per cluster is "
                + ", ".join(f"{c}: {m:,.4g}" for c, m in means.items() if c != NOISE) + ".")
        else:
            out.agreement = label_agreement(labels, truth, label_name=name)
    out.profiles = cluster_profiles(frame.reset_index(drop=True), labels)
    if _n_clusters(labels) < 2:
        out.notes.append("Only one cluster was found: the data may have no cluster structure "
                         "at this scale (try other settings or another method).")
    return out


def _is_continuous(values: pd.Series) -> bool:
    """A numeric label with more distinct values than classes usually have (house prices)."""
    from mlpilot.frame import MAX_INTEGER_CLASSES

    numeric = pd.to_numeric(values, errors="coerce")
    return bool(numeric.notna().all() and numeric.nunique() > MAX_INTEGER_CLASSES)


# --------------------------------------------------------------------------- saved models
def load_cluster_model(path: str | os.PathLike[str]) -> Pipeline:
    """A model saved by :meth:`Clustering.save_model`, trusting only the types it may hold."""
    import skops.io as sio

    file = Path(path)
    if not file.exists():
        raise UnsupervisedError(f"no saved clustering model at {file}",
                                "run `mlpilot cluster` first (it writes cluster-model.skops)")
    types = sio.get_untrusted_types(file=file)
    unsafe = [t for t in types if t not in OWN_TYPES and not t.startswith(TRUSTED_PREFIXES)]
    if unsafe:
        raise UnsupervisedError(f"{file.name} holds types mlpilot does not trust: "
                                f"{', '.join(unsafe)}", "load it yourself with skops.io")
    return sio.load(file, trusted=list(types))


def assign_rows(model: Pipeline, rows: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Cluster labels of new rows with a saved model (numeric text parsed, as when fitted)."""
    features = model.named_steps.get("features")
    if isinstance(rows, pd.DataFrame) and hasattr(features, "transformers_"):
        expected = [str(c) for c in getattr(features, "feature_names_in_", [])]
        missing = [c for c in expected if c not in rows.columns]
        if missing:
            raise UnsupervisedError(f"columns missing from the new rows: {', '.join(missing)}",
                                    "pass rows with the columns the model was fitted on")
        rows = rows[expected].copy()
        for name, _, columns in features.transformers_:
            if name == "num":
                for col in columns:
                    values = rows[col]
                    rows[col] = pd.to_numeric(values.astype(float) if values.dtype == bool
                                              else values, errors="coerce").astype(float)
    return np.asarray(model.predict(rows))


# --------------------------------------------------------------------------- streaming
def stream_kmeans(source: BatchSource, n_clusters: int, *, random_state: int = 42,
                  n_init: int = 3, passes: int = 1) -> MiniBatchKMeans:
    """Mini-batch k-means over a file read batch by batch (``partial_fit`` per batch).

    ``partial_fit`` ignores ``n_init`` (the book: "you will need to manage multiple
    initializations yourself"), so ``n_init`` candidates are started on the first batches
    (at least ten rows per cluster) and the one with the lowest inertia there goes on.
    """
    if n_clusters < 1:
        raise UnsupervisedError(f"n_clusters must be at least 1, got {n_clusters}",
                                "pass 2 or more clusters")
    if n_init < 1 or passes < 1:
        raise UnsupervisedError("n_init and passes must be at least 1",
                                "pass n_init=3, passes=1 (the defaults)")
    batches = iter(source)
    warmup: list[np.ndarray] = []
    rows = 0
    for batch in batches:
        warmup.append(batch)
        rows += len(batch)
        if rows >= 10 * n_clusters:
            break
    if rows < n_clusters:
        raise UnsupervisedError(f"{source.path.name} has {rows} rows, fewer than "
                                f"{n_clusters} clusters", "pass fewer clusters")
    first = np.concatenate(warmup).astype(np.float64)
    seeds = np.random.RandomState(random_state).randint(np.iinfo(np.int32).max, size=n_init)
    best: MiniBatchKMeans | None = None
    best_inertia = np.inf
    for seed in seeds:
        candidate = MiniBatchKMeans(n_clusters=n_clusters, n_init=1, random_state=int(seed),
                                    batch_size=max(len(first), source.batch_rows))
        candidate.partial_fit(first)
        inertia = -candidate.score(first)
        if inertia < best_inertia:
            best, best_inertia = candidate, inertia
    assert best is not None
    for batch in batches:
        best.partial_fit(batch.astype(np.float64))
    for _ in range(passes - 1):
        for batch in source:
            best.partial_fit(batch.astype(np.float64))
    return best

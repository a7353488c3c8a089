"""Anomaly and novelty detection, book chapter 9: six detectors, one score scale, one threshold.

*Outlier detection* fits on the data and flags its own rows (the data may be contaminated:
the book's use is cleaning a dataset). *Novelty detection* fits on rows known to be clean and
flags new rows with :meth:`Anomalies.score`. Every method's score is turned so that higher
means more anomalous, and the threshold is the ``1 - contamination`` quantile of the fitted
rows' scores — the book flags GMM densities under their 2nd percentile, which is the same
cut. A label column marking known anomalies scores the flags (precision, recall, F1, PR
curve), and the report says why each top row stands out (robust z-scores).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.covariance import EllipticEnvelope
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
)
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import Pipeline
from sklearn.svm import OneClassSVM
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from mlpilot.atomic import write_text
from mlpilot.errors import UnsupervisedError
from mlpilot.registry.persistence import save_artifact
from mlpilot.unsupervised.inputs import FeatureMatrix, as_frame, feature_matrix

__all__ = ["METHODS", "Anomalies", "AnomalyDetector", "NoveltyScores", "detect_anomalies"]

#: The detectors, and what their score is (higher = more anomalous for all of them).
METHODS: dict[str, str] = {
    "gmm": "negative log-density under a Gaussian mixture",
    "isolation_forest": "isolation-forest anomaly score (short paths to isolate a row)",
    "lof": "local outlier factor (density relative to the nearest neighbours)",
    "one_class_svm": "negative one-class SVM decision value",
    "elliptic_envelope": "squared Mahalanobis distance under a robust (Fast-MCD) covariance",
    "pca_reconstruction": "mean squared PCA reconstruction error",
}
#: One-class SVM does not scale: above this many rows it is fitted on a random subsample.
SVM_MAX_ROWS = 10_000
#: Tables show every feature value up to this many features, only the explanation beyond.
WIDE = 12


def _lof_scores_new_rows(det: AnomalyDetector) -> bool:
    if det.method == "lof" and not det.novelty:
        raise AttributeError("LOF fitted for outlier detection (novelty=False) only flags the "
                             "rows it was fitted on; fit with novelty=True to score new rows")
    return True


def _lof_flags_fitted_rows(det: AnomalyDetector) -> bool:
    if det.method == "lof" and det.novelty:
        raise AttributeError("LOF fitted for novelty detection has no fit_predict; use "
                             "fit(X) and read train_scores_, or predict new rows")
    return True


class AnomalyDetector(OutlierMixin, BaseEstimator):
    """One of :data:`METHODS` with a contamination threshold, scikit-learn's outlier API.

    ``anomaly_score(X)`` is higher for more anomalous rows; ``score_samples`` is its negative
    (scikit-learn's convention: lower is more abnormal); ``decision_function`` is negative
    for flagged rows and ``predict`` returns -1 for them. ``train_scores_`` are the fitted
    rows' scores (for LOF, leave-self-out factors), ``threshold_`` their
    ``1 - contamination`` quantile.

    ``n_components``: mixture components for ``gmm`` (None: lowest BIC from 1 to
    ``max_components``), kept components (or variance share) for ``pca_reconstruction``
    (None: 95 % of the variance). ``options`` go to the underlying scikit-learn estimator.
    """

    def __init__(self, method: str = "isolation_forest", contamination: float = 0.02,
                 novelty: bool = False, n_components: int | float | None = None,
                 max_components: int = 8, n_init: int = 10, n_neighbors: int = 20,
                 max_train_rows: int = SVM_MAX_ROWS, random_state: int | None = None,
                 options: dict[str, Any] | None = None) -> None:
        self.method = method
        self.contamination = contamination
        self.novelty = novelty
        self.n_components = n_components
        self.max_components = max_components
        self.n_init = n_init
        self.n_neighbors = n_neighbors
        self.max_train_rows = max_train_rows
        self.random_state = random_state
        self.options = options

    def fit(self, X: Any, y: Any = None) -> AnomalyDetector:
        X = validate_data(self, X, dtype=np.float64)
        n = len(X)
        if n < 2:
            raise ValueError(f"need at least 2 rows to learn what is normal, n_samples = {n}")
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose one of {list(METHODS)}")
        if not 0 < self.contamination <= 0.5:
            raise ValueError(f"contamination must be in (0, 0.5], got {self.contamination}")
        opts = dict(self.options or {})
        fit_X = X
        self.subsampled_ = 0
        if self.method == "one_class_svm" and n > self.max_train_rows:
            rng = check_random_state(self.random_state)
            fit_X = X[np.sort(rng.choice(n, self.max_train_rows, replace=False))]
            self.subsampled_ = self.max_train_rows
        self.bic_: dict[int, float] = {}
        self.skipped_: list[int] = []
        self.estimator_ = self._make(fit_X, opts)
        if self.method == "lof":  # leave-self-out factors of the fitted rows
            self.train_scores_ = -np.asarray(self.estimator_.negative_outlier_factor_, float)
        else:
            self.train_scores_ = self._scores(X)
        self.threshold_ = float(np.percentile(self.train_scores_, 100 * (1 - self.contamination)))
        self.offset_ = -self.threshold_
        return self

    def _make(self, X: np.ndarray, opts: dict[str, Any]) -> Any:
        seed = self.random_state
        if self.method == "gmm":
            return self._gmm(X, opts)
        if self.method == "isolation_forest":
            return IsolationForest(random_state=seed, **opts).fit(X)
        if self.method == "lof":
            k = max(1, min(self.n_neighbors, len(X) - 1))
            return LocalOutlierFactor(n_neighbors=k, novelty=self.novelty, **opts).fit(X)
        if self.method == "one_class_svm":
            opts.setdefault("nu", self.contamination)
            return OneClassSVM(**opts).fit(X)
        if self.method == "elliptic_envelope":
            return EllipticEnvelope(random_state=seed, **opts).fit(X)
        keep = 0.95 if self.n_components is None else self.n_components
        pca = PCA(n_components=keep, random_state=seed, **opts).fit(X)
        n_features = X.shape[1]
        if pca.n_components_ >= n_features > 1:  # all kept: every error would be ~0
            pca = PCA(n_components=n_features - 1, random_state=seed, **opts).fit(X)
        return pca

    def _gmm(self, X: np.ndarray, opts: dict[str, Any]) -> GaussianMixture:
        seed = self.random_state
        if self.n_components is not None:
            return GaussianMixture(n_components=int(self.n_components), n_init=self.n_init,
                                   random_state=seed, **opts).fit(X)
        top = max(1, min(self.max_components, len(X) // 2))
        # A component holding a handful of rows models those rows, not a density: the
        # mixture would call a planted outlier normal (the book: GMMs fit outliers too).
        smallest = max(X.shape[1] + 1, 0.005 * len(X))

        def sound(gm: GaussianMixture) -> bool:
            return gm.n_components == 1 or (gm.weights_ * len(X)).min() >= smallest

        found: dict[int, GaussianMixture] = {}
        for k in range(1, top + 1):
            gm = GaussianMixture(n_components=k, n_init=min(self.n_init, 3), random_state=seed,
                                 **opts).fit(X)
            if sound(gm):
                self.bic_[k], found[k] = float(gm.bic(X)), gm
            else:
                self.skipped_.append(k)
        best = min(self.bic_, key=self.bic_.__getitem__)
        final = GaussianMixture(n_components=best, n_init=self.n_init, random_state=seed,
                                **opts).fit(X)
        return final if sound(final) else found[best]  # more inits can find the degenerate fit

    def _scores(self, X: np.ndarray) -> np.ndarray:
        est = self.estimator_
        if self.method == "elliptic_envelope":
            return np.asarray(est.mahalanobis(X), float)
        if self.method == "pca_reconstruction":
            rebuilt = est.inverse_transform(est.transform(X))
            return np.asarray(np.square(rebuilt - X).mean(axis=1), float)
        return -np.asarray(est.score_samples(X), float)

    @available_if(_lof_scores_new_rows)
    def anomaly_score(self, X: Any) -> np.ndarray:
        """Per-row score, higher = more anomalous (same scale as ``threshold_``)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self._scores(X)

    @available_if(_lof_scores_new_rows)
    def score_samples(self, X: Any) -> np.ndarray:
        """scikit-learn's convention: lower = more abnormal (``-anomaly_score``)."""
        return -self.anomaly_score(X)

    @available_if(_lof_scores_new_rows)
    def decision_function(self, X: Any) -> np.ndarray:
        """Negative for flagged rows: ``threshold_ - anomaly_score``."""
        return self.score_samples(X) - self.offset_

    @available_if(_lof_scores_new_rows)
    def predict(self, X: Any) -> np.ndarray:
        """-1 for a flagged row, 1 otherwise."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    @available_if(_lof_flags_fitted_rows)
    def fit_predict(self, X: Any, y: Any = None, **kwargs: Any) -> np.ndarray:
        """Fit and flag the same rows (-1 anomaly, 1 normal)."""
        self.fit(X)
        return np.where(self.train_scores_ > self.threshold_, -1, 1)


@dataclass
class NoveltyScores:
    """New rows scored by a fitted detector: score (higher = more anomalous) and flag."""

    rows: pd.Index
    scores: np.ndarray
    flags: np.ndarray
    threshold: float
    frame: pd.DataFrame
    top: pd.DataFrame
    metrics: dict[str, Any] | None = None

    def to_frame(self) -> pd.DataFrame:
        """One line per new row: row, score, flag (what ``anomalies-scores.parquet`` holds)."""
        return pd.DataFrame({"row": _plain_ids(self.rows), "score": self.scores,
                             "flag": self.flags})

    def summary(self) -> list[str]:
        n, k = len(self.scores), int(self.flags.sum())
        out = [f"{k:,} of {n:,} new rows ({k / max(n, 1):.1%}) score above the threshold "
               f"{self.threshold:.4g} set on the clean rows."]
        if self.metrics:
            out.append(_metrics_sentence(self.metrics))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"n_rows": len(self.scores), "n_flagged": int(self.flags.sum()),
                "threshold": self.threshold, "top": _records(self.top),
                "known_anomalies": _metrics_json(self.metrics)}


@dataclass
class Anomalies:
    """Scores and flags of every row, the fitted detector, why the top rows stand out."""

    method: str
    novelty: bool
    contamination: float
    detector: AnomalyDetector
    features: FeatureMatrix
    frame: pd.DataFrame
    scores: np.ndarray
    flags: np.ndarray
    threshold: float
    top: pd.DataFrame
    metrics: dict[str, Any] | None = None
    known: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    scored: NoveltyScores | None = None
    _center: pd.Series = field(default_factory=lambda: pd.Series(dtype=float), repr=False)
    _spread: pd.Series = field(default_factory=lambda: pd.Series(dtype=float), repr=False)
    n_top: int = 20

    @property
    def mode(self) -> str:
        return "novelty detection" if self.novelty else "outlier detection"

    @property
    def model(self) -> Any:
        """The detector, behind the fitted feature transformer when the input was a table."""
        if self.features.transformer is None:
            return self.detector
        return Pipeline([("features", self.features.transformer), ("detector", self.detector)])

    @property
    def n_flagged(self) -> int:
        return int(self.flags.sum())

    @property
    def image_side(self) -> int | None:
        """Side of the square image each row is (n_features a perfect square ≥ 16), else None."""
        numeric = self.frame.select_dtypes("number")
        n = numeric.shape[1]
        side = math.isqrt(n)
        return side if n >= 16 and side * side == n and n == self.frame.shape[1] else None

    def score(self, new_rows: pd.DataFrame | np.ndarray, *,
              label: str | pd.Series | np.ndarray | None = None) -> NoveltyScores:
        """Score and flag new rows (novelty detection); kept in :attr:`scored` for the report."""
        frame = as_frame(new_rows)
        known: np.ndarray | None = None
        if isinstance(label, str):
            if label in frame.columns:
                known, _ = _known_anomalies(frame[label])
                frame = frame.drop(columns=[label])
        elif label is not None:
            known, _ = _known_anomalies(_series(label))
        if self.method == "lof" and not self.novelty:
            raise UnsupervisedError(
                "LOF fitted for outlier detection cannot score new rows",
                "fit with novelty=True (--novelty-data on the CLI) on clean rows first")
        X = self.features.transform(frame if self.features.transformer is not None
                                    else np.asarray(frame, float))
        scores = self.detector.anomaly_score(X)
        flags = scores > self.threshold
        top = _top_table(frame, scores, flags, self._center, self._spread, self.n_top)
        metrics = _score_known(known, scores, flags) if known is not None else None
        self.scored = NoveltyScores(frame.index, scores, flags, self.threshold, frame, top,
                                    metrics)
        return self.scored

    def scores_frame(self) -> pd.DataFrame:
        """One line per fitted row: row, score, flag."""
        return pd.DataFrame({"row": _plain_ids(self.frame.index), "score": self.scores,
                             "flag": self.flags})

    def summary(self) -> list[str]:
        n = len(self.scores)
        what = ("The detector was fitted on rows taken as clean (novelty detection): new rows "
                "are flagged when they score above the threshold; on the clean rows "
                f"themselves {self.n_flagged:,} ({self.n_flagged / n:.1%}) score above it, the "
                "expected false-alarm rate." if self.novelty else
                "The detector was fitted on the rows it flags (outlier detection: the data may "
                f"be contaminated); {self.n_flagged:,} of {n:,} rows ({self.n_flagged / n:.1%})"
                " are flagged.")
        out = [f"{self.method} on {n:,} rows × {self.features.X.shape[1]} features: score = "
               f"{METHODS[self.method]} (higher = more anomalous); threshold {self.threshold:.4g}"
               f", the {1 - self.contamination:.0%} quantile of the fitted rows' scores "
               f"(contamination {self.contamination:g}).", what]
        if len(self.top):
            first = self.top.iloc[0]
            why = f" ({first['why']})" if first.get("why") else ""
            out.append(f"Most anomalous row: {first['row']} with score {first['score']:.4g}{why}.")
        if self.metrics:
            out.append(_metrics_sentence(self.metrics))
        if self.scored is not None:
            out.extend(self.scored.summary())
        out.extend(self.notes)
        return out

    def to_dict(self) -> dict[str, Any]:
        params = {k: v for k, v in self.detector.get_params().items() if k != "options"}
        params.update(self.detector.options or {})
        out: dict[str, Any] = {
            "step": "anomalies", "method": self.method, "mode": self.mode,
            "contamination": self.contamination, "threshold": self.threshold,
            "n_rows": len(self.scores), "n_features": int(self.features.X.shape[1]),
            "n_flagged": self.n_flagged, "flagged_share": self.n_flagged / len(self.scores),
            "score": METHODS[self.method], "params": _jsonable(params),
            "top": _records(self.top), "known_anomalies": _metrics_json(self.metrics),
            "dropped_columns": self.features.dropped, "notes": self.notes,
            "summary": self.summary()}
        if self.detector.bic_:
            out["bic"] = {str(k): v for k, v in self.detector.bic_.items()}
            out["n_components"] = int(self.detector.estimator_.n_components)
        if self.scored is not None:
            out["new_rows"] = self.scored.to_dict()
        return out

    def write_report(self, directory: str | os.PathLike[str]) -> Path:
        """``anomalies.html`` and ``anomalies.json`` in ``directory``; returns the HTML path."""
        from mlpilot.unsupervised.anomaly_figures import report_sections
        from mlpilot.unsupervised.page import write_page

        directory = Path(directory)
        write_text(directory / "anomalies.json", json.dumps(self.to_dict(), indent=2))
        cards = [("method", self.method), ("mode", self.mode),
                 ("rows", f"{len(self.scores):,}"),
                 ("flagged", f"{self.n_flagged:,} ({self.n_flagged / len(self.scores):.1%})"),
                 ("threshold", f"{self.threshold:.4g}")]
        if self.metrics:
            cards.append(("F1 vs known", f"{self.metrics['f1']:.3f}"))
        return write_page(directory / "anomalies.html", "Anomalies", report_sections(self),
                          cards=cards, subtitle=f"{self.mode} with {self.method}")

    def save_model(self, path: str | os.PathLike[str]) -> Path:
        """The fitted model (feature transformer + detector) as a skops file, atomically."""
        return save_artifact(self.model, Path(path)).path


def detect_anomalies(data: pd.DataFrame | np.ndarray, *, method: str = "isolation_forest",
                     contamination: float = 0.02, novelty: bool = False,
                     exclude: Sequence[str] = (), label: str | pd.Series | np.ndarray | None = None,
                     scale: bool = True, top: int = 20, random_state: int | None = 42,
                     **options: Any) -> Anomalies:
    """Fit ``method`` on ``data`` and flag the ``contamination`` share of its rows.

    ``novelty=True`` says the rows are clean: score new ones with :meth:`Anomalies.score`.
    ``label`` (a column name or values) marks known anomalies (0/1 or bool): the flags are
    then scored. ``options``: ``n_components``, ``max_components``, ``n_init``,
    ``n_neighbors``, ``max_train_rows``, and anything the scikit-learn estimator takes
    (``covariance_type``, ``n_estimators``, ``nu``, ``kernel`` ...).
    """
    if method not in METHODS:
        raise UnsupervisedError(f"unknown anomaly method {method!r}",
                                f"choose one of: {', '.join(METHODS)}")
    if not 0 < contamination <= 0.5:
        raise UnsupervisedError(f"contamination must be in (0, 0.5], got {contamination}",
                                "pass the expected share of anomalies, e.g. 0.02")
    notes: list[str] = []
    known: np.ndarray | None = None
    if isinstance(label, str):
        if not isinstance(data, pd.DataFrame) or label not in data.columns:
            raise UnsupervisedError(f"label column {label!r} is not in the data",
                                    "pass the name of a column marking known anomalies")
        known, note = _known_anomalies(data[label])
        exclude = [*exclude, label]
        notes.extend([note] if note else [])
    elif label is not None:
        known, note = _known_anomalies(_series(label))
        notes.extend([note] if note else [])
    fm = feature_matrix(data, exclude=exclude, scale=scale)
    if len(fm.X) < 2:
        raise UnsupervisedError(f"need at least 2 rows, got {len(fm.X)}",
                                "pass more rows to learn what is normal")
    if known is not None and len(known) != len(fm.X):
        raise UnsupervisedError(f"{len(known)} labels for {len(fm.X)} rows",
                                "pass one label per row")
    keys = ("n_components", "max_components", "n_init", "n_neighbors", "max_train_rows")
    named = {k: options.pop(k) for k in keys if k in options}
    detector = AnomalyDetector(method=method, contamination=contamination, novelty=novelty,
                               random_state=random_state, options=options or None, **named)
    try:
        detector.fit(fm.X)
    except (ValueError, TypeError) as exc:
        raise UnsupervisedError(f"{method} could not be fitted: {exc}",
                                "check the options, or try another --method") from exc
    if detector.subsampled_:
        notes.append(f"one-class SVM does not scale: fitted on a random {detector.subsampled_:,}"
                     f" of the {len(fm.X):,} rows, then every row scored")
    if method == "gmm":
        k = int(detector.estimator_.n_components)
        notes.append(f"{k} mixture component{'s' * (k != 1)}"
                     + (" chosen by the lowest BIC" if detector.bic_ else " (given)"))
        if detector.skipped_:
            notes.append("mixtures with a component of only a few rows were skipped (k = "
                         f"{', '.join(map(str, detector.skipped_))}): such a component fits "
                         "outliers instead of flagging them")
    if method == "pca_reconstruction":
        pca = detector.estimator_
        notes.append(f"PCA keeps {pca.n_components_} of {fm.X.shape[1]} dimensions "
                     f"({pca.explained_variance_ratio_.sum():.1%} of the variance)")
    frame = _feature_frame(data, fm, exclude)
    scores = detector.train_scores_
    flags = scores > detector.threshold_
    center, spread = _robust_stats(frame)
    table = _top_table(frame, scores, flags, center, spread, top)
    metrics = _score_known(known, scores, flags) if known is not None else None
    return Anomalies(method=method, novelty=novelty, contamination=contamination,
                     detector=detector, features=fm, frame=frame, scores=scores, flags=flags,
                     threshold=detector.threshold_, top=table, metrics=metrics, known=known,
                     notes=notes, _center=center, _spread=spread, n_top=top)


def _feature_frame(data: pd.DataFrame | np.ndarray, fm: FeatureMatrix,
                   exclude: Sequence[str]) -> pd.DataFrame:
    """The rows as a person reads them: original values of the columns used."""
    if not isinstance(data, pd.DataFrame):
        return pd.DataFrame(fm.X, columns=fm.feature_names)
    frame = data.drop(columns=[c for c in exclude if c in data.columns])
    return frame[fm.columns] if fm.columns else frame


def _series(values: pd.Series | np.ndarray) -> pd.Series:
    if isinstance(values, pd.Series):
        return values.reset_index(drop=True)
    return pd.Series(np.asarray(values), name="label")


def _known_anomalies(values: pd.Series) -> tuple[np.ndarray | None, str | None]:
    """0/1 or bool values as a float array (NaN where unknown); other labels are not anomalies."""
    present = values.dropna()
    if present.empty:
        return None, f"label column {values.name!r} is empty: flags not scored"
    if values.dtype == bool or set(pd.unique(present)).issubset({0, 1}):  # bools hash as 0/1
        out = pd.to_numeric(values.astype("object"), errors="coerce").astype(float).to_numpy()
        return out, None
    return None, (f"label column {values.name!r} does not mark anomalies (0/1 or true/false): "
                  "kept out of the features, flags not scored")


def _score_known(known: np.ndarray, scores: np.ndarray, flags: np.ndarray) -> dict[str, Any] | None:
    mask = ~np.isnan(known)
    y = known[mask].astype(int)
    if y.sum() == 0 or y.sum() == len(y):
        return None
    s, f = scores[mask], flags[mask].astype(int)
    precision, recall, _ = precision_recall_curve(y, s)
    return {"n_known": int(mask.sum()), "n_anomalies": int(y.sum()), "n_flagged": int(f.sum()),
            "precision": float(precision_score(y, f, zero_division=0)),
            "recall": float(recall_score(y, f, zero_division=0)),
            "f1": float(f1_score(y, f, zero_division=0)),
            "average_precision": float(average_precision_score(y, s)),
            "curve": (precision, recall)}


def _metrics_sentence(m: dict[str, Any]) -> str:
    return (f"Against the {m['n_anomalies']:,} known anomalies ({m['n_known']:,} labelled rows): "
            f"precision {m['precision']:.3f}, recall {m['recall']:.3f}, F1 {m['f1']:.3f}; "
            f"average precision of the scores {m['average_precision']:.3f} (lower the threshold "
            "for more recall, raise it for more precision).")


def _metrics_json(m: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if m is None else {k: v for k, v in m.items() if k != "curve"}


def _robust_stats(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Median and robust spread (1.4826 × MAD; the std where MAD is 0) per numeric column."""
    numeric = frame.select_dtypes("number").astype(float)
    if numeric.shape[1] == 0:
        return pd.Series(dtype=float), pd.Series(dtype=float)
    center = numeric.median()
    spread = 1.4826 * (numeric - center).abs().median()
    std = numeric.std(ddof=0)
    spread = spread.where(spread > 0, std).replace(0.0, np.nan)
    return center, spread


def _top_table(frame: pd.DataFrame, scores: np.ndarray, flags: np.ndarray, center: pd.Series,
               spread: pd.Series, n: int) -> pd.DataFrame:
    """The ``n`` highest-scoring rows: id, score, flag, values (narrow data) and why."""
    order = np.argsort(-scores, kind="stable")[:n]
    rows = frame.iloc[order]
    table = pd.DataFrame({"row": _plain_ids(rows.index), "score": scores[order],
                          "flagged": flags[order]})
    if len(center):
        z = (rows[center.index].astype(float) - center) / spread
        table["why"] = [_why(z.iloc[i]) for i in range(len(z))]
    if frame.shape[1] <= WIDE:
        values = rows.reset_index(drop=True)
        values.columns = [str(c) for c in values.columns]
        table = pd.concat([table, values.drop(columns=[c for c in ("row", "score", "flagged",
                                                                   "why") if c in values])],
                          axis=1)
    return table.reset_index(drop=True)


def _why(z: pd.Series, k: int = 3) -> str:
    """The ``k`` features furthest from the median, as robust z-scores."""
    z = z.dropna()
    z = z[z.abs() >= 1]
    z = z.reindex(z.abs().sort_values(ascending=False).index)[:k]
    return ", ".join(f"{name} {value:+.1f}σ" for name, value in z.items())


def _plain_ids(index: pd.Index) -> list[Any]:
    return [v.item() if isinstance(v, np.generic) else v for v in index]


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(table.to_json(orient="records"))


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if isinstance(v, str | int | float | bool | type(None)) else repr(v))
            for k, v in params.items()}

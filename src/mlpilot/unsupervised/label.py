"""Semi-supervised labelling, book chapter 9: label 50 rows by hand instead of 1,400.

k-means groups the rows; the row closest to each centroid (its *representative*) is the one
a person labels. Its label is then propagated to the whole cluster ("full") or to the
closest part of it ("partial": the book drops the farthest 1 % of each cluster, rows likely
to sit between two clusters). A classifier trained on propagated labels is compared with one
trained on the hand-labelled rows alone and on as many random labelled rows: that is the
gain. Active learning then asks a person for the rows the model is least sure of.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier

from mlpilot.atomic import write_text
from mlpilot.errors import UnsupervisedError
from mlpilot.registry.persistence import save_artifact
from mlpilot.unsupervised.book_compat import legacy_kmeans_plusplus
from mlpilot.unsupervised.inputs import FeatureMatrix, feature_matrix

__all__ = ["SEEDINGS", "ActiveLearning", "LabelGain", "Propagation", "Representatives",
           "human_labels", "label_gain", "next_to_label", "propagate", "representatives",
           "simulate_active_learning"]

#: "k-means++": today's scikit-learn; "sklearn-1.0": the seeding the book's run drew.
SEEDINGS = ("k-means++", "sklearn-1.0")
#: Columns of the file a person fills in.
ROW, CLUSTER, LABEL = "row", "cluster", "label"

ClassifierSpec = BaseEstimator | Callable[[int], BaseEstimator] | None


# --------------------------------------------------------------------------- representatives


def _fit_kmeans(X: np.ndarray, k: int, n_init: int, seeding: str,
                random_state: int | None) -> KMeans:
    if seeding == "k-means++":
        return KMeans(n_clusters=k, n_init=n_init, random_state=random_state).fit(X)
    rng = np.random.RandomState(random_state)
    best: KMeans | None = None
    for _ in range(n_init):
        km = KMeans(n_clusters=k, init=legacy_kmeans_plusplus(X, k, rng), n_init=1).fit(X)
        if best is None or km.inertia_ < best.inertia_:
            best = km
    assert best is not None
    return best


@dataclass
class Representatives:
    """k clusters of the rows and, per cluster, the row closest to its centroid (to label)."""

    kmeans: KMeans
    features: FeatureMatrix
    frame: pd.DataFrame
    positions: np.ndarray
    distances: np.ndarray
    seeding: str = "k-means++"
    random_state: int | None = 42
    notes: list[str] = field(default_factory=list)

    @property
    def k(self) -> int:
        return int(self.kmeans.n_clusters)

    @property
    def clusters(self) -> np.ndarray:
        return np.asarray(self.kmeans.labels_)

    @property
    def own_distance(self) -> np.ndarray:
        """Each row's distance to its own centroid."""
        return self.distances[np.arange(len(self.distances)), self.clusters]

    @property
    def row_ids(self) -> list[Any]:
        return _plain(self.frame.index[self.positions])

    @property
    def sizes(self) -> np.ndarray:
        return np.bincount(self.clusters, minlength=self.k)

    @property
    def image_side(self) -> int | None:
        """Side of the square image each row is (n_features a perfect square ≥ 16), else None."""
        n = self.frame.shape[1]
        side = math.isqrt(n)
        numeric = self.frame.select_dtypes("number").shape[1] == n
        return side if numeric and n >= 16 and side * side == n else None

    def images(self, positions: Sequence[int]) -> np.ndarray | None:
        side = self.image_side
        if side is None:
            return None
        return self.frame.iloc[list(positions)].to_numpy(dtype=float).reshape(-1, side, side)

    def todo(self) -> pd.DataFrame:
        """The rows to label: row id, cluster, features, an empty ``label`` column."""
        rows = self.frame.iloc[self.positions].reset_index(drop=True)
        rows = rows.rename(columns={c: f"feature:{c}" for c in rows.columns
                                    if str(c) in (ROW, CLUSTER, LABEL)})
        out = pd.DataFrame({ROW: self.row_ids, CLUSTER: np.arange(self.k)})
        out = pd.concat([out, rows], axis=1)
        out[LABEL] = ""
        return out

    def write_todo(self, path: str | os.PathLike[str]) -> Path:
        """:meth:`todo` as a CSV a person fills in (atomically)."""
        return write_text(path, self.todo().to_csv(index=False))

    def summary(self) -> list[str]:
        sizes = self.sizes
        return [f"k-means grouped {len(self.frame):,} rows into {self.k} clusters "
                f"({sizes.min()}–{sizes.max()} rows each); the row closest to each centroid is "
                f"its representative: label these {self.k} rows, not all {len(self.frame):,}.",
                *self.notes]

    def to_dict(self) -> dict[str, Any]:
        return {"step": "label", "stage": "representatives", "k": self.k,
                "n_rows": len(self.frame), "seeding": self.seeding,
                "random_state": self.random_state, "inertia": float(self.kmeans.inertia_),
                "representatives": [{"row": r, "cluster": i, "size": int(s)} for i, (r, s)
                                    in enumerate(zip(self.row_ids, self.sizes, strict=True))],
                "dropped_columns": self.features.dropped, "summary": self.summary()}

    def write_report(self, directory: str | os.PathLike[str]) -> Path:
        """``label.html`` and ``label.json``: the rows to label and where they sit."""
        from mlpilot.unsupervised.label_figures import representatives_sections
        from mlpilot.unsupervised.page import write_page

        directory = Path(directory)
        write_text(directory / "label.json", json.dumps(self.to_dict(), indent=2, default=str))
        return write_page(directory / "label.html", "Labelling: rows to label",
                          representatives_sections(self),
                          cards=[("rows", f"{len(self.frame):,}"), ("to label", str(self.k))],
                          subtitle="semi-supervised labelling, step 1")

    def save_model(self, path: str | os.PathLike[str]) -> Path:
        """The fitted k-means (behind the feature transformer for tables) as skops."""
        return _dump(_with_features(self.features, self.kmeans), path)


def representatives(data: pd.DataFrame | np.ndarray, *, k: int = 50,
                    exclude: Sequence[str] = (), scale: bool = True, n_init: int = 10,
                    seeding: str = "k-means++", random_state: int | None = 42) -> Representatives:
    """Cluster ``data`` with k-means and pick the row closest to each centroid.

    ``np.argmin(X_dist, axis=0)`` on the distances to every centroid, as the book does.
    ``seeding="sklearn-1.0"`` replays the book's k-means++ draws (see
    :func:`~mlpilot.unsupervised.book_compat.legacy_kmeans_plusplus`).
    """
    if seeding not in SEEDINGS:
        raise UnsupervisedError(f"unknown seeding {seeding!r}", f"choose one of {SEEDINGS}")
    fm = feature_matrix(data, exclude=exclude, scale=scale)
    n = len(fm.X)
    if k < 2:
        raise UnsupervisedError(f"k must be at least 2, got {k}", "pass --k 2 or more")
    if k > n:
        raise UnsupervisedError(f"k = {k} clusters for only {n} rows",
                                f"pass --k {max(2, n // 10)} or fewer")
    km = _fit_kmeans(fm.X, k, n_init, seeding, random_state)
    distances = km.transform(fm.X)
    positions = np.argmin(distances, axis=0)
    frame = data.drop(columns=[c for c in exclude if c in data.columns]) \
        if isinstance(data, pd.DataFrame) else pd.DataFrame(fm.X, columns=fm.feature_names)
    if isinstance(data, pd.DataFrame) and fm.columns:
        frame = frame[fm.columns]
    notes = [f"seeding as scikit-learn 1.0 drew it (the book's run), {n_init} inits"] \
        if seeding == "sklearn-1.0" else []
    return Representatives(km, fm, frame, positions, distances, seeding, random_state, notes)


# --------------------------------------------------------------------------- labels


def _normalize(values: pd.Series) -> pd.Series:
    """Labels as ints when they are whole numbers (8.0 from a CSV with blanks → 8), else text."""
    values = values[values.notna() & (values.astype(str).str.strip() != "")]
    numeric = pd.to_numeric(values, errors="coerce")
    if len(values) and numeric.notna().all() and (numeric == numeric.round()).all():
        return numeric.astype("int64")
    if len(values) and numeric.notna().all():
        return numeric.astype(float)
    return values.astype(str).str.strip()


def human_labels(reps: Representatives, labels: Any) -> pd.Series:
    """Hand labels as a Series indexed by row id (pool rows only), checked.

    ``labels``: one per representative (in cluster order), a mapping or Series row id →
    label, or a table with ``row`` and ``label`` columns (the filled ``label-todo.csv``).
    """
    if isinstance(labels, pd.DataFrame):
        missing = [c for c in (ROW, LABEL) if c not in labels.columns]
        if missing:
            raise UnsupervisedError(f"the labels file has no {' or '.join(map(repr, missing))}"
                                    " column", "fill the 'label' column of label-todo.csv, "
                                    "keeping its 'row' column")
        series = pd.Series(labels[LABEL].to_numpy(), index=labels[ROW].to_numpy())
    elif isinstance(labels, pd.Series):
        series = labels
    elif isinstance(labels, Mapping):
        series = pd.Series(labels, dtype=object)
    else:
        values = list(labels)
        if len(values) != reps.k:
            raise UnsupervisedError(f"{len(values)} labels for {reps.k} representatives",
                                    "pass one label per representative, in cluster order")
        series = pd.Series(values, index=reps.row_ids, dtype=object)
    series = _normalize(series)
    series = series[~series.index.duplicated(keep="last")]
    found = [_find(reps.frame.index, i) for i in series.index]
    unknown = [i for i, f in zip(series.index, found, strict=True) if f is None]
    if unknown:
        shown = ", ".join(map(str, unknown[:5])) + (" ..." if len(unknown) > 5 else "")
        raise UnsupervisedError(f"{len(unknown)} labelled row id(s) are not rows of the data: "
                                f"{shown}", "use the 'row' ids written by step 1, with the "
                                "same --data, --k and --seed")
    series.index = pd.Index(found)
    classes = pd.unique(series)
    if len(classes) < 2:
        got = "no row" if len(series) == 0 else f"only class {classes[0]!r}"
        raise UnsupervisedError(f"fewer than 2 classes labelled ({got})",
                                "label representatives of at least two classes")
    return series


def _find(index: pd.Index, row_id: Any) -> Any:
    """``row_id`` as it is in ``index`` (a CSV may turn 12 into 12.0 or "12"), else None."""
    if row_id in index:
        return row_id
    if isinstance(row_id, float) and row_id.is_integer() and int(row_id) in index:
        return int(row_id)
    text = str(row_id).strip()
    for candidate in (text, text.removesuffix(".0")):
        if candidate in index:
            return candidate
        if candidate.lstrip("-").isdigit() and int(candidate) in index:
            return int(candidate)
    return None


@dataclass
class Propagation:
    """Labels spread from the hand-labelled rows to their clusters (all, or the closest part)."""

    mode: str
    percentile: float
    values: np.ndarray
    kept: np.ndarray
    cluster: np.ndarray
    distance: np.ndarray
    n_human: int
    unlabelled_clusters: list[int]
    accuracy: float | None = None

    @property
    def y(self) -> np.ndarray:
        """The propagated labels of the kept rows, as a plain array."""
        return np.asarray(self.values[self.kept].tolist())

    def summary(self) -> list[str]:
        how = ("every row of each labelled cluster" if self.mode == "full" else
               f"the closest {self.percentile:g} % of each labelled cluster (the farthest rows, "
               "likely between two clusters, are left out)")
        out = [f"{self.n_human:,} hand labels spread to {how}: {int(self.kept.sum()):,} of "
               f"{len(self.kept):,} rows labelled."]
        if self.unlabelled_clusters:
            out.append(f"{len(self.unlabelled_clusters)} cluster(s) have no labelled row; "
                       "their rows stay unlabelled.")
        if self.accuracy is not None:
            out.append(f"The propagated labels are {self.accuracy:.1%} right (against the "
                       "known labels).")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "percentile": self.percentile, "n_human": self.n_human,
                "n_labelled": int(self.kept.sum()), "n_rows": len(self.kept),
                "unlabelled_clusters": self.unlabelled_clusters, "accuracy": self.accuracy}


def propagate(reps: Representatives | pd.DataFrame | np.ndarray, representative_labels: Any, *,
              mode: str = "full", percentile: float = 99.0,
              true_labels: Sequence[Any] | np.ndarray | pd.Series | None = None,
              random_state: int | None = 42) -> Propagation:
    """Give each cluster the label of its labelled row closest to the centroid.

    ``mode="full"``: every row of the cluster; ``"partial"``: only rows within the cluster's
    ``percentile``-th distance percentile (the book's 99). Hand-labelled rows keep their
    own label. ``true_labels`` (one per row) measures how right the propagated labels are.
    A table or array as first argument is clustered first, with k = number of labels.
    """
    if mode not in ("full", "partial"):
        raise UnsupervisedError(f"unknown propagation mode {mode!r}", "pass 'full' or 'partial'")
    if not 0 < percentile <= 100:
        raise UnsupervisedError(f"percentile must be in (0, 100], got {percentile}",
                                "pass e.g. 99 to drop the farthest 1 % of each cluster")
    if not isinstance(reps, Representatives):
        reps = representatives(reps, k=len(list(representative_labels)),
                               random_state=random_state)
    human = human_labels(reps, representative_labels)
    cluster, distance = reps.clusters, reps.own_distance
    positions = reps.frame.index.get_indexer(human.index)
    by_cluster: dict[int, tuple[float, Any]] = {}
    for pos, value in zip(positions, human.to_numpy(), strict=True):
        c, d = int(cluster[pos]), float(distance[pos])
        if c not in by_cluster or d < by_cluster[c][0]:
            by_cluster[c] = (d, value)
    values = np.full(len(cluster), None, dtype=object)
    for c, (_, value) in by_cluster.items():
        values[cluster == c] = value
    kept = values != None  # noqa: E711 - elementwise on an object array
    if mode == "partial":
        for c in by_cluster:
            inside = cluster == c
            cutoff = np.percentile(distance[inside], percentile)
            kept[inside & (distance > cutoff)] = False
    values[positions] = human.to_numpy()
    kept[positions] = True
    values[~kept] = None
    accuracy = None
    if true_labels is not None:
        truth = _truth(true_labels, len(cluster))
        known = kept & truth.notna().to_numpy()
        if known.any():
            accuracy = float(np.mean([a == b for a, b in
                                      zip(values[known], truth[known], strict=True)]))
    unlabelled = [c for c in range(reps.k) if c not in by_cluster]
    return Propagation(mode, percentile, values, kept, cluster, distance, len(human),
                       unlabelled, accuracy)


def _truth(labels: Any, n: int) -> pd.Series:
    truth = pd.Series(np.asarray(labels, dtype=object))
    if len(truth) != n:
        raise UnsupervisedError(f"{len(truth)} true labels for {n} rows",
                                "pass one true label per row (missing where unknown)")
    out = pd.Series([None] * n, dtype=object)
    normal = _normalize(truth)
    out[normal.index] = normal.to_numpy(dtype=object)
    return out


# --------------------------------------------------------------------------- the gain


def _classifier(spec: ClassifierSpec, n_rows: int) -> BaseEstimator:
    if spec is None:
        return LogisticRegression(max_iter=10_000)
    if isinstance(spec, BaseEstimator):
        return clone(spec)
    return spec(n_rows)


@dataclass
class ActiveLearning:
    """Accuracy per round of uncertainty sampling (an oracle answers for the person)."""

    history: pd.DataFrame
    batch: int

    def summary(self) -> list[str]:
        first, last = self.history.iloc[0], self.history.iloc[-1]
        return [f"Active learning, {len(self.history) - 1} rounds of {self.batch} least-certain "
                f"rows: test accuracy {first['test accuracy']:.3f} with {int(first['labelled'])}"
                f" labels → {last['test accuracy']:.3f} with {int(last['labelled'])}."]

    def to_dict(self) -> dict[str, Any]:
        return {"batch": self.batch, "history": json.loads(self.history.to_json(orient="records"))}


def next_to_label(model: Any, X_unlabelled: Any, n: int = 10) -> np.ndarray:
    """Positions of the ``n`` rows the model is least sure of (lowest top probability) first."""
    if not hasattr(model, "predict_proba"):
        raise UnsupervisedError("the model gives no probabilities",
                                "use a classifier with predict_proba (LogisticRegression ...)")
    if n < 1:
        raise UnsupervisedError(f"n must be at least 1, got {n}", "pass --next 1 or more")
    certainty = np.asarray(model.predict_proba(X_unlabelled)).max(axis=1)
    return np.argsort(certainty, kind="stable")[:n]


def simulate_active_learning(X_pool: np.ndarray, y_pool: Sequence[Any] | np.ndarray,
                             X_test: np.ndarray, y_test: Sequence[Any] | np.ndarray, *,
                             start: int | Sequence[int] = 50, rounds: int = 5, batch: int = 20,
                             classifier: ClassifierSpec = None,
                             random_state: int | None = 42) -> ActiveLearning:
    """Uncertainty sampling with known labels standing in for the person (an oracle).

    Start from ``start`` (positions, or that many random rows), then ``rounds`` times: train,
    ask for the ``batch`` least-certain unlabelled rows, add them.
    """
    X_pool, X_test = np.asarray(X_pool, dtype=float), np.asarray(X_test, dtype=float)
    y_pool, y_test = np.asarray(y_pool), np.asarray(y_test)
    rng = np.random.default_rng(random_state)
    labelled = (list(rng.choice(len(X_pool), start, replace=False)) if isinstance(start, int)
                else list(start))
    history = []
    for r in range(rounds + 1):
        model = _classifier(classifier, len(labelled)).fit(X_pool[labelled], y_pool[labelled])
        history.append({"round": r, "labelled": len(labelled),
                        "test accuracy": float(model.score(X_test, y_test))})
        if r == rounds:
            break
        rest = np.setdiff1d(np.arange(len(X_pool)), labelled)
        if len(rest) == 0:
            break
        labelled += list(rest[next_to_label(model, X_pool[rest], min(batch, len(rest)))])
    return ActiveLearning(pd.DataFrame(history), batch)


#: Approaches in the gain table.
HAND, FULL, RANDOM, ALL = ("hand-labelled rows only", "full propagation",
                           "as many random labelled rows", "every row labelled (ceiling)")
SPREADING, SELF_TRAINING = "LabelSpreading (knn)", "self-training"


def _partial_name(percentile: float) -> str:
    return f"partial propagation (closest {percentile:g} %)"


@dataclass
class LabelGain:
    """Classifiers trained on hand labels, propagated labels and random labels, compared."""

    representatives: Representatives
    human: pd.Series
    full: Propagation
    partial: Propagation
    table: pd.DataFrame
    models: dict[str, Any]
    chosen: str
    n_test: int = 0
    notes: list[str] = field(default_factory=list)
    active: ActiveLearning | None = None
    next_rows: pd.DataFrame | None = None
    truth: np.ndarray | None = None

    @property
    def model(self) -> Any:
        """The chosen classifier, behind the feature transformer when the input was a table."""
        return _with_features(self.representatives.features, self.models[self.chosen])

    def accuracy(self, approach: str) -> float | None:
        row = self.table[self.table["approach"] == approach]
        if row.empty or pd.isna(row["test accuracy"].iloc[0]):
            return None
        return float(row["test accuracy"].iloc[0])

    @property
    def gain(self) -> float | None:
        """Test accuracy of the chosen approach minus that of the hand-labelled rows alone."""
        best, hand = self.accuracy(self.chosen), self.accuracy(HAND)
        return None if best is None or hand is None else best - hand

    def suggest_next(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` unlabelled rows the chosen model is least sure of (active learning)."""
        reps = self.representatives
        rest = np.setdiff1d(np.arange(len(reps.frame)),
                            reps.frame.index.get_indexer(self.human.index))
        model = self.models[self.chosen]
        order = next_to_label(model, reps.features.X[rest], n)
        picked = rest[order]
        certainty = np.asarray(model.predict_proba(reps.features.X[picked])).max(axis=1)
        rows = reps.frame.iloc[picked].reset_index(drop=True)
        rows = rows.rename(columns={c: f"feature:{c}" for c in rows.columns
                                    if str(c) in (ROW, CLUSTER, LABEL, "certainty")})
        out = pd.DataFrame({ROW: _plain(reps.frame.index[picked]),
                            CLUSTER: reps.clusters[picked], "certainty": certainty})
        out = pd.concat([out, rows], axis=1)
        out[LABEL] = ""
        self.next_rows = out
        return out

    def propagated_frame(self) -> pd.DataFrame:
        """Per row: id, cluster, distance to centroid, labels (full, partial), hand-labelled."""
        reps = self.representatives
        hand = np.zeros(len(reps.frame), dtype=bool)
        hand[reps.frame.index.get_indexer(self.human.index)] = True
        return pd.DataFrame({ROW: _plain(reps.frame.index), CLUSTER: reps.clusters,
                             "distance": reps.own_distance, "label_full": self.full.values,
                             "label_partial": self.partial.values,
                             "kept_partial": self.partial.kept, "hand_labelled": hand})

    def summary(self) -> list[str]:
        out = [*self.full.summary()[:1], *self.partial.summary()]
        hand, best = self.accuracy(HAND), self.accuracy(self.chosen)
        if hand is not None and best is not None:
            out.append(f"On {self.n_test:,} labelled test rows: {hand:.3f} accuracy from the "
                       f"{len(self.human)} hand labels alone, {best:.3f} with {self.chosen}: "
                       f"a gain of {best - hand:+.3f}.")
            rand = self.accuracy(RANDOM)
            if rand is not None:
                out.append(f"As many random labelled rows would give {rand:.3f}: labelling the "
                           f"representatives is worth {hand - rand:+.3f} on its own.")
            ceiling = self.accuracy(ALL)
            if ceiling is not None:
                out.append(f"Labelling every row would give {ceiling:.3f}.")
        else:
            out.append(f"No labelled test rows: the gain cannot be measured; the model kept is "
                       f"{self.chosen}. Pass a label column with values for held-out rows.")
        if self.active is not None:
            out.extend(self.active.summary())
        out.extend(self.notes)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"step": "label", "stage": "gain", "k": self.representatives.k,
                "n_rows": len(self.representatives.frame), "n_hand_labels": len(self.human),
                "n_test": self.n_test, "chosen": self.chosen, "gain": self.gain,
                "approaches": json.loads(self.table.to_json(orient="records")),
                "full": self.full.to_dict(), "partial": self.partial.to_dict(),
                "active_learning": None if self.active is None else self.active.to_dict(),
                "next_to_label": None if self.next_rows is None else
                _records(self.next_rows[[ROW, CLUSTER, "certainty"]]),
                "notes": self.notes, "summary": self.summary()}

    def write_report(self, directory: str | os.PathLike[str]) -> Path:
        """``label.html`` and ``label.json``: the gain, the propagation, what to label next."""
        from mlpilot.unsupervised.label_figures import gain_sections
        from mlpilot.unsupervised.page import write_page

        directory = Path(directory)
        write_text(directory / "label.json", json.dumps(self.to_dict(), indent=2, default=str))
        cards = [("hand labels", str(len(self.human))),
                 ("rows labelled", f"{int(self.partial.kept.sum()):,}")]
        if self.gain is not None:
            cards.append(("gain", f"{self.gain:+.3f}"))
        if self.partial.accuracy is not None:
            cards.append(("label accuracy", f"{self.partial.accuracy:.1%}"))
        return write_page(directory / "label.html", "Labelling: the gain", gain_sections(self),
                          cards=cards, subtitle="semi-supervised labelling, step 2")

    def save_model(self, path: str | os.PathLike[str]) -> Path:
        """The chosen classifier (behind the feature transformer for tables) as skops."""
        return _dump(self.model, path)


def label_gain(reps: Representatives, representative_labels: Any, *,
               test: tuple[Any, Any] | None = None,
               true_labels: Sequence[Any] | np.ndarray | pd.Series | None = None,
               percentile: float = 99.0, classifier: ClassifierSpec = None,
               random_rows: Sequence[int] | None = None, alternatives: bool = True,
               active_rounds: int = 0, active_batch: int = 20, random_state: int | None = 42,
               on_step: Callable[[str], None] | None = None) -> LabelGain:
    """Train on hand labels, on propagated labels (full, partial), and compare: the gain.

    ``test`` = (rows, labels) measures test accuracy. ``true_labels`` (one per row, the book's
    simulation) adds the propagated-label accuracy, ``random_rows`` (positions; default a
    random draw) labelled as many as the hand labels, and the every-row ceiling.
    ``classifier``: an estimator, or a function of the training-row count returning one
    (default ``LogisticRegression(max_iter=10_000)``, the book's). ``alternatives`` adds
    scikit-learn's ``LabelSpreading`` and ``SelfTrainingClassifier`` from the hand labels.
    """
    step = on_step or (lambda _: None)
    human = human_labels(reps, representative_labels)
    X = reps.features.X
    full = propagate(reps, human, mode="full", true_labels=true_labels)
    partial = propagate(reps, human, mode="partial", percentile=percentile,
                        true_labels=true_labels)
    X_test = y_test = None
    if test is not None:
        rows, y = test
        X_test = reps.features.transform(rows if reps.features.transformer is not None
                                          else np.asarray(rows, dtype=float))
        truth = _truth(y, len(X_test))
        if truth.isna().any():
            raise UnsupervisedError("the test labels have missing values",
                                    "pass test rows whose labels are all known")
        y_test = np.asarray(truth.tolist())
    positions = reps.frame.index.get_indexer(human.index)
    results: list[dict[str, Any]] = []
    models: dict[str, Any] = {}

    def train(name: str, X_fit: np.ndarray, y_fit: np.ndarray, n_hand: int,
              label_accuracy: float | None = None) -> None:
        step(name)
        model = _classifier(classifier, len(X_fit)).fit(X_fit, y_fit)
        models[name] = model
        results.append({"approach": name, "hand labels": n_hand, "training rows": len(X_fit),
                        "test accuracy": None if X_test is None else
                        float(model.score(X_test, y_test)), "label accuracy": label_accuracy})

    y_hand = np.asarray(human.tolist())
    train(HAND, X[positions], y_hand, len(human))
    train(FULL, X[full.kept], full.y, len(human), full.accuracy)
    train(_partial_name(percentile), X[partial.kept], partial.y, len(human), partial.accuracy)
    notes: list[str] = []
    if true_labels is not None:
        truth = _truth(true_labels, len(X))
        known = np.flatnonzero(truth.notna().to_numpy())
        rng = np.random.default_rng(random_state)
        picks = (np.asarray(list(random_rows)) if random_rows is not None else
                 rng.choice(known, min(len(human), len(known)), replace=False))
        y_random = np.asarray(truth[picks].tolist())
        if len(set(y_random.tolist())) >= 2:
            train(RANDOM, X[picks], y_random, 0)
        train(ALL, X[known], np.asarray(truth[known].tolist()), 0)
    own = [HAND, FULL, _partial_name(percentile)]
    if alternatives:
        _alternatives(X, positions, y_hand, classifier, step, models, results, X_test, y_test,
                      notes)
    table = pd.DataFrame(results)
    chosen = _partial_name(percentile)
    if X_test is not None:
        chosen = max(own, key=lambda a: table.set_index("approach").loc[a, "test accuracy"])
    gain = LabelGain(reps, human, full, partial, table, models, chosen,
                     0 if X_test is None else len(X_test), notes)
    if true_labels is not None:
        gain.truth = _truth(true_labels, len(X)).to_numpy(dtype=object)
    if active_rounds > 0 and true_labels is not None and X_test is not None:
        step("active learning")
        truth = _truth(true_labels, len(X))
        if truth.notna().all():
            gain.active = simulate_active_learning(
                X, np.asarray(truth.tolist()), X_test, y_test, start=list(positions),
                rounds=active_rounds, batch=active_batch, classifier=classifier,
                random_state=random_state)
    return gain


def _alternatives(X: np.ndarray, positions: np.ndarray, y_hand: np.ndarray,
                  classifier: ClassifierSpec, step: Callable[[str], None],
                  models: dict[str, Any], results: list[dict[str, Any]],
                  X_test: np.ndarray | None, y_test: np.ndarray | None,
                  notes: list[str]) -> None:
    """scikit-learn's own semi-supervised learners, from the same hand labels (-1: unlabelled).

    They learn encoded labels (0, 1, ...): shown for comparison, never the model kept.
    """
    encoder = LabelEncoder().fit(y_hand)
    y_semi = np.full(len(X), -1)
    y_semi[positions] = encoder.transform(y_hand)
    learners: list[tuple[str, ClassifierMixin]] = [
        (SPREADING, LabelSpreading(kernel="knn", n_neighbors=7, max_iter=100)),
        (SELF_TRAINING, SelfTrainingClassifier(
            estimator=_classifier(classifier, len(X)), threshold=0.9, max_iter=10))]
    for name, learner in learners:
        step(name)
        try:
            learner.fit(X, y_semi)
        except (ValueError, TypeError, AttributeError) as exc:  # e.g. no predict_proba
            notes.append(f"{name} could not run: {exc}")
            continue
        models[name] = learner
        accuracy = None
        if X_test is not None:
            predicted = encoder.inverse_transform(learner.predict(X_test))
            accuracy = float(np.mean(predicted == y_test))
        results.append({"approach": name, "hand labels": len(y_hand), "training rows": len(X),
                        "test accuracy": accuracy, "label accuracy": None})


# --------------------------------------------------------------------------- helpers


def _with_features(features: FeatureMatrix, model: Any) -> Any:
    if features.transformer is None:
        return model
    return Pipeline([("features", features.transformer), ("model", model)])


def _dump(model: Any, path: str | os.PathLike[str]) -> Path:
    return save_artifact(model, Path(path)).path


def _plain(index: Any) -> list[Any]:
    return [v.item() if isinstance(v, np.generic) else v for v in index]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(frame.to_json(orient="records"))


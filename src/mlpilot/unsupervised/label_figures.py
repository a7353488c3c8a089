"""Figures of the labelling reports: what to label, and what labelling it bought.

Step 1 shows the representatives (as images when rows are images — the book's figure
9-13 — else on a 2-D map of the clusters). Step 2 shows the test accuracy of every approach
side by side (the gain), the propagated-label accuracy per cluster, and the accuracy per
active-learning round.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.decomposition import PCA

from mlpilot.explore.style import ACCENT, CMAP, NEGATIVE, figure_style, new_figure
from mlpilot.unsupervised.image_grid import image_grid
from mlpilot.unsupervised.page import Section

if TYPE_CHECKING:
    from mlpilot.unsupervised.label import LabelGain, Representatives

__all__ = ["active_curve", "gain_bars", "gain_sections", "representative_images",
           "representative_map", "representatives_sections"]

#: Images per line in a grid (the book's figure 9-13 shows 5 × 10).
PER_LINE = 10


def representative_images(images: np.ndarray, titles: list[str],
                          title: str = "Representatives") -> Figure:
    """A grid of images, one per cluster, titled (cluster, row id, label ...)."""
    return image_grid(images, titles, title, per_line=PER_LINE, interpolation="bilinear",
                      cell=(0.95, 1.15), fontsize=7)


def representative_map(reps: Representatives) -> Figure:
    """Rows on a 2-D map coloured by cluster; representatives as black stars with their cluster."""
    X = reps.features.X
    if X.shape[1] > 2:
        pca = PCA(n_components=2, random_state=0).fit(X)
        coords = pca.transform(X)
        ratio = pca.explained_variance_ratio_
        names = (f"PC1 ({ratio[0]:.0%} of variance)", f"PC2 ({ratio[1]:.0%})")
    elif X.shape[1] == 2:
        coords, names = X, tuple(reps.features.feature_names[:2])
        numeric = reps.frame.select_dtypes("number")
        if reps.features.transformer is not None and numeric.shape[1] == 2:
            coords = numeric.to_numpy(dtype=float)  # the columns' own units, not scaled
            names = (str(numeric.columns[0]), str(numeric.columns[1]))
    else:
        coords = np.c_[X[:, 0], reps.own_distance]
        names = (reps.features.feature_names[0], "distance to centroid")
    with figure_style():
        fig = new_figure(6.4, 5.0)
        ax = fig.add_subplot()
        ax.scatter(coords[:, 0], coords[:, 1], c=reps.clusters, cmap=CMAP, s=6, alpha=0.55,
                   linewidths=0)
        rep = coords[reps.positions]
        ax.scatter(rep[:, 0], rep[:, 1], marker="*", s=140, color="black", edgecolors="white",
                   linewidths=0.6, label="representative (label this row)")
        if reps.k <= 60:
            for c, (x, y) in enumerate(rep):
                ax.annotate(str(c), (x, y), fontsize=6.5, xytext=(3, 3),
                            textcoords="offset points")
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
        ax.set_title(f"{reps.k} clusters and their representatives")
        ax.legend(loc="best")
    return fig


def gain_bars(table: pd.DataFrame, chosen: str) -> Figure:
    """Test accuracy per approach, the kept model in the accent colour, oracle runs in grey."""
    shown = table.dropna(subset=["test accuracy"])
    with figure_style():
        fig = new_figure(7.5, 0.45 * len(shown) + 1.2)
        ax = fig.add_subplot()
        names = list(shown["approach"])[::-1]
        values = list(shown["test accuracy"])[::-1]
        hand = list(shown["hand labels"])[::-1]
        colours = [NEGATIVE if n == chosen else ACCENT if h else "#9a9a9a"
                   for n, h in zip(names, hand, strict=True)]
        bars = ax.barh(names, values, color=colours)
        for bar, value in zip(bars, values, strict=True):
            ax.text(bar.get_width() + 0.005, bar.get_y() + bar.get_height() / 2,
                    f"{value:.3f}", va="center", fontsize=8.5)
        low = max(0.0, min(values) - 0.1) if values else 0.0
        ax.set_xlim(low, 1.04)
        ax.set_xlabel("test accuracy")
        ax.set_title("What the labels bought (red: kept; grey: uses known labels)")
    return fig


def cluster_accuracy(gain: LabelGain, truth: np.ndarray) -> Figure:
    """Share of right propagated labels per cluster (full propagation), sorted."""
    prop = gain.full
    known = prop.kept & np.array([t is not None for t in truth])
    rows = []
    for c in range(gain.representatives.k):
        inside = (prop.cluster == c) & known
        if inside.any():
            rows.append(float(np.mean([a == b for a, b in
                                       zip(prop.values[inside], truth[inside], strict=True)])))
    rows.sort()
    with figure_style():
        fig = new_figure(7.0, 3.0)
        ax = fig.add_subplot()
        ax.bar(range(len(rows)), rows, color=[NEGATIVE if r < 0.8 else ACCENT for r in rows])
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("cluster (sorted)")
        ax.set_ylabel("right labels")
        ax.set_title("Propagated-label accuracy per cluster (red: under 80 %)")
    return fig


def active_curve(history: pd.DataFrame) -> Figure:
    """Test accuracy against the number of labelled rows, one point per round."""
    with figure_style():
        fig = new_figure(5.6, 3.4)
        ax = fig.add_subplot()
        ax.plot(history["labelled"], history["test accuracy"], marker="o", color=ACCENT)
        ax.set_xlabel("labelled rows")
        ax.set_ylabel("test accuracy")
        ax.set_title("Active learning: least-certain rows first")
    return fig


def _image_titles(reps: Representatives, labels: dict[Any, Any] | None = None) -> list[str]:
    titles = []
    for c, row in enumerate(reps.row_ids):
        text = f"#{c} row {row}"
        if labels is not None and row in labels:
            text += f"\n→ {labels[row]}"
        titles.append(text)
    return titles


def _representatives_figure(reps: Representatives,
                            labels: dict[Any, Any] | None = None) -> tuple[str, Figure, str]:
    images = reps.images(reps.positions)
    title = "The rows to label" if labels is None else "The hand-labelled representatives"
    if images is not None:
        return (title, representative_images(images, _image_titles(reps, labels)),
                "One row per cluster, closest to its centroid (the book's figure 9-13)"
                + ("." if labels is None else "; → the label given."))
    return ("Where the representatives sit", representative_map(reps),
            "Colours: clusters; stars: the row to label in each.")


def representatives_sections(reps: Representatives) -> list[Section]:
    """Step 1: what to label and where those rows sit."""
    table = reps.todo().drop(columns=["label"])
    if table.shape[1] > 14:
        table = table.iloc[:, :2]
    table.insert(2, "cluster size", reps.sizes)
    figures = [_representatives_figure(reps)]
    if reps.image_side is not None:
        figures.append(("The clusters on a map", representative_map(reps),
                        "First two principal components; stars: representatives."))
    return [Section("What to label", [
        *reps.summary(),
        "Fill the 'label' column of label-todo.csv (one label per row), then run "
        "`mlpilot label ... --labels label-todo.csv` with the same data, --k and --seed."],
        tables={"Representatives": table}, figures=figures)]


def gain_sections(gain: LabelGain) -> list[Section]:
    """Step 2: the gain, how right the propagation is, active learning, what to label next."""
    table = gain.table.copy()
    sections = [Section("The gain", gain.summary(), tables={"Approaches": table})]
    if table["test accuracy"].notna().any():
        sections[0].figures = [("Test accuracy by approach", gain_bars(table, gain.chosen),
                                "Each classifier is the same; only its labels differ.")]
    labels = dict(zip(gain.human.index, gain.human.tolist(), strict=True))
    prop = Section("Propagation", [*gain.full.summary(), *gain.partial.summary()],
                   figures=[_representatives_figure(gain.representatives, labels)])
    if gain.full.accuracy is not None:
        truth = gain.truth
        if truth is not None:
            prop.figures = [*prop.figures, ("Right labels per cluster",
                                            cluster_accuracy(gain, truth),
                                            "Clusters mixing classes spread wrong labels.")]
    sections.append(prop)
    if gain.active is not None:
        sections.append(Section("Active learning", gain.active.summary(),
                                tables={"Rounds": gain.active.history},
                                figures=[("Accuracy per round", active_curve(gain.active.history),
                                          "Each round labels the rows the model is least "
                                          "sure of.")]))
    if gain.next_rows is not None:
        sections.append(Section("Label next", [
            f"The {len(gain.next_rows)} rows the model is least sure of (lowest top "
            "probability): label them in label-next.csv and pass it with --labels too."],
            tables={"Next rows": gain.next_rows[["row", "cluster", "certainty"]]}))
    return sections

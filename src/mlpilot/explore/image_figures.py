"""Exploration figures of a table whose rows are images: samples, mean images, class balance.

Seven hundred histograms of single pixels say nothing; forty images with their classes (the
book's Figure 10-10) say at once what the task is, how hard it is and whether the labels
are sane. Each function returns a :class:`~matplotlib.figure.Figure` in the shared style.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .style import ACCENT, figure_style, new_figure, short

#: Images in the sample grid (the book's Figure 10-10 shows 40).
N_SAMPLES = 40
#: Classes drawn one per column at most; above that, the sample is not arranged by class.
MAX_CLASS_COLUMNS = 10
#: Classes whose mean image is drawn at most.
MAX_MEAN_CLASSES = 20


def sample_rows(n_rows: int, labels: pd.Series | None, n: int = N_SAMPLES
                ) -> tuple[np.ndarray, int]:
    """Row positions of the sample grid, and how many images per line.

    With 2 to :data:`MAX_CLASS_COLUMNS` classes: the first ``n / n_classes`` images of each
    class, one class per column (each column reads as one class). Otherwise the first ``n``
    rows, as in the book.
    """
    if labels is None or labels.notna().sum() == 0:
        return np.arange(min(n, n_rows)), 10
    classes = classes_of(labels)
    if len(classes) > MAX_CLASS_COLUMNS or len(classes) < 2:
        return np.flatnonzero(labels.notna().to_numpy())[:n], 10
    per_class = max(1, n // len(classes))
    values = labels.to_numpy()
    picks = [np.flatnonzero(values == c)[:per_class] for c in classes]
    depth = max(len(p) for p in picks)
    order = [p[i] for i in range(depth) for p in picks if i < len(p)]
    return np.asarray(order, dtype=int), len(classes)


def classes_of(labels: pd.Series) -> list[object]:
    values = labels.dropna().unique().tolist()
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def image_samples(images: np.ndarray, titles: Sequence[str], per_line: int) -> Figure:
    """A grid of images with their class above each (the book's Figure 10-10)."""
    from mlpilot.unsupervised.image_grid import image_grid

    return image_grid(images, [short(t, 14) for t in titles],
                      f"{len(images)} training images with their class", per_line=per_line)


def class_means(means: np.ndarray, titles: Sequence[str]) -> Figure:
    """The mean image of each class: what the pixels look like on average, class by class."""
    from mlpilot.unsupervised.image_grid import image_grid

    return image_grid(means, titles, "Mean image of each class",
                      per_line=min(len(means), 10), interpolation="bilinear",
                      cell=(1.2, 1.55))


def class_balance(counts: pd.Series, target: str) -> Figure:
    """Rows per class, in class order, with each class's share."""
    total = max(int(counts.sum()), 1)
    with figure_style():
        fig = new_figure(max(5.0, 0.55 * len(counts) + 1.5), 3.4)
        ax = fig.add_subplot()
        labels = [short(v, 16) for v in counts.index]
        x = np.arange(len(counts))
        ax.bar(x, counts.to_numpy(), color=ACCENT, alpha=0.85)
        ax.set_xticks(x, labels, rotation=30 if len(counts) > 6 else 0, ha="right"
                      if len(counts) > 6 else "center")
        for i, v in enumerate(counts.to_numpy()):
            ax.annotate(f"{100 * v / total:.0f}%", (i, v), ha="center", va="bottom",
                        fontsize=8, color="#444444")
        ax.grid(axis="x", visible=False)
        ax.set_ylabel("training rows")
        ax.set_title(f"Class balance of {short(target, 30)}")
    return fig

"""The report's figures for neural networks and images: training history, misclassified images.

Both return PNG bytes. The training history is the deep-learning module's own figure
(:func:`mlpilot.deep.training_figures.learning_curves_figure`: matplotlib only, no Keras).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mlpilot.deep.training_figures import learning_curves_figure
from mlpilot.evaluate.metrics import Metric
from mlpilot.explore.style import figure_style, new_figure, to_png
from mlpilot.features.images import ImageLayout
from mlpilot.report.neural import Mistakes


def history_figure(history: dict[str, Sequence[float]]) -> bytes:
    """Loss and metrics per epoch, training and validation (the book's Figure 10-11)."""
    with figure_style():
        return to_png(learning_curves_figure(history))


def mistakes_figure(mistakes: Mistakes) -> bytes:
    """The misclassified test images, titled "true → predicted"."""
    from mlpilot.unsupervised.image_grid import image_grid

    order = "most confident first" if mistakes.ordered_by_confidence else "in test-set order"
    title = (f"{len(mistakes.images)} of the {mistakes.n_errors:,} misclassified test images "
             f"({order}): true → predicted")
    fig = image_grid(mistakes.images, mistakes.titles, title, per_line=10,
                     cell=(1.35, 1.6), fontsize=8)
    with figure_style():
        return to_png(fig)


def pixel_importance_figure(table: pd.DataFrame, layout: ImageLayout, metric: Metric) -> bytes:
    """Each pixel's permutation importance drawn where the pixel is: where the model looks."""
    if layout.shape is None:
        raise ValueError("the pixels form no image")
    values = table.set_index("feature")["permutation_importance"].astype(float)
    grid = values.reindex(list(layout.columns)).fillna(0.0).to_numpy().reshape(layout.shape)
    with figure_style():
        fig = new_figure(5.0, 4.3)
        ax = fig.add_subplot()
        top = float(np.abs(grid).max()) or 1.0
        shown = ax.imshow(grid, cmap="RdBu_r", vmin=-top, vmax=top, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(visible=False)
        fig.colorbar(shown, ax=ax, shrink=0.85,
                     label=f"loss of {metric.label} when the pixel is shuffled")
        ax.set_title("Which pixels the model relies on")
        return to_png(fig)

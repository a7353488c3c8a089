"""Rows that are images (digits, faces) drawn as a grid of small pictures with a caption each.

Anomalies, representatives to label and reconstructions are easier to judge by eye than by
numbers; one helper draws them all the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from mlpilot.explore.style import figure_style, new_figure

__all__ = ["image_grid"]


def image_grid(images: np.ndarray, titles: Sequence[str], title: str, *, per_line: int = 10,
               interpolation: str = "nearest", cell: tuple[float, float] = (1.1, 1.35),
               fontsize: float = 7.5) -> Figure:
    """One small picture per image (grey, dark = high), ``per_line`` to a line."""
    n = len(images)
    cols = max(1, min(n, per_line))
    lines = max(1, -(-n // cols))
    with figure_style():
        fig = new_figure(cell[0] * cols + 0.4, cell[1] * lines + 0.5)
        for i in range(n):
            ax = fig.add_subplot(lines, cols, i + 1)
            ax.imshow(images[i], cmap="binary", interpolation=interpolation)
            ax.set_title(titles[i], fontsize=fontsize, fontweight="normal")
            ax.axis("off")
        fig.suptitle(title)
    return fig

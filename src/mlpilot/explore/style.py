"""One figure style for every exploration plot, defined once.

Figures are built with :class:`matplotlib.figure.Figure` directly (never ``pyplot``): nothing
is registered in pyplot's global figure list, nothing can pop up a window, and the user's
backend choice is left alone. Saving uses the Agg renderer, so no display is needed.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import matplotlib
from matplotlib.figure import Figure

#: Resolution of the embedded PNGs: sharp enough to read, small enough to embed.
DPI = 100
#: Colour map for a numeric colour scale (the book's geographic scatter uses "jet").
CMAP = "jet"
#: Diverging colour map for correlation matrices (-1 blue, +1 red).
DIVERGING_CMAP = "RdBu_r"
#: The one accent colour of bars and points.
ACCENT = "#1f77b4"
POSITIVE = "#2a7ab9"
NEGATIVE = "#d0543a"
#: Width of one grid cell (inches) in multi-panel figures.
PANEL_W = 4.0
PANEL_H = 2.9
HIST_BINS = 50

RC: dict[str, Any] = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "axes.edgecolor": "#888888",
    "axes.grid": True,
    "grid.color": "#e3e3e3",
    "grid.linewidth": 0.8,
    "axes.axisbelow": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "font.size": 10,
    "figure.titlesize": 13,
    "figure.titleweight": "bold",
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.15,
}


@contextmanager
def figure_style() -> Iterator[None]:
    """Apply the shared style while building (and saving) a figure."""
    with matplotlib.rc_context(RC):
        yield


def new_figure(width: float, height: float, layout: str | None = "constrained") -> Figure:
    """A figure of ``width`` × ``height`` inches (constrained layout unless ``layout=None``)."""
    return Figure(figsize=(width, height), dpi=DPI, layout=layout)


def to_png(fig: Figure) -> bytes:
    """Render ``fig`` to PNG bytes with the Agg renderer, then drop its contents."""
    buffer = io.BytesIO()
    with figure_style():
        fig.savefig(buffer, format="png", dpi=DPI)
    fig.clear()
    return buffer.getvalue()


def short(label: object, width: int = 28) -> str:
    """A label cut to ``width`` characters, so long names do not swamp an axis."""
    text = str(label)
    return text if len(text) <= width else text[: width - 1] + "…"

"""Figures of a network's training: learning curves, a schedule, the learning-rate range test.

Built from plain lists (a Keras ``history.history`` dict, a scheduler's recorded rates), so
the project report can redraw them from stored JSON without Keras. Each returns a matplotlib
``Figure`` in the shared style.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from mlpilot.explore.style import ACCENT, NEGATIVE, PANEL_H, PANEL_W, figure_style, new_figure

TRAIN_COLOR = NEGATIVE
VALID_COLOR = ACCENT
MOMENTUM_COLOR = "#2a9d55"
MUTED = "#888888"
#: History keys that are not metrics to draw as learning curves.
NOT_CURVES = ("learning_rate", "lr")


def _metric_families(history: Mapping[str, Sequence[float]]) -> list[str]:
    """Metric names with their validation twins folded in, loss first."""
    names: list[str] = []
    for key in history:
        base = key.removeprefix("val_")
        if base not in NOT_CURVES and base not in names:
            names.append(base)
    return sorted(names, key=lambda name: name != "loss")  # stable: loss, then as given


def learning_curves_figure(history: Mapping[str, Sequence[float]],
                           title: str | None = None, frozen_epochs: int | None = None) -> Figure:
    """Training (dashed) and validation (solid) curves per epoch, one panel per metric.

    The book's Figure 10-11 style: loss and val_loss, accuracy and val_accuracy, x = epoch
    (1 = the end of the first epoch). ``frozen_epochs`` marks where fine-tuning unfroze the
    reused layers.
    """
    families = _metric_families(history)
    if not families:
        raise ValueError("the history has no metric to draw (expected keys such as 'loss')")
    with figure_style():
        fig = new_figure(PANEL_W * len(families), PANEL_H)
        for i, name in enumerate(families, start=1):
            ax = fig.add_subplot(1, len(families), i)
            for key, color, style, label in ((name, TRAIN_COLOR, "--", "training"),
                                             (f"val_{name}", VALID_COLOR, "-", "validation")):
                values = history.get(key)
                if values:
                    epochs = np.arange(1, len(values) + 1)
                    ax.plot(epochs, np.asarray(values, dtype=float), style, color=color,
                            marker="." if len(values) <= 50 else None, label=label)
            if frozen_epochs:
                ax.axvline(frozen_epochs + 0.5, color=MUTED, linestyle=":", linewidth=1)
            ax.set_xlabel("Epoch")
            ax.set_title(name.replace("_", " "))
            ax.legend()
        if title:
            fig.suptitle(title)
    return fig


def schedule_figure(lrs: Sequence[float], momentums: Sequence[float] | None = None,
                    title: str = "Learning-rate schedule", x_label: str = "Iteration") -> Figure:
    """The learning rate per iteration (or epoch), with the momentum on a second axis."""
    if len(lrs) == 0:
        raise ValueError("no learning rate to draw")
    with figure_style():
        fig = new_figure(PANEL_W * 1.4, PANEL_H)
        ax = fig.add_subplot()
        ax.plot(np.arange(len(lrs)), np.asarray(lrs, dtype=float), color=ACCENT)
        ax.set_xlabel(x_label)
        ax.set_ylabel("Learning rate", color=ACCENT)
        ax.set_title(title)
        if momentums is not None and len(momentums):
            twin = ax.twinx()
            twin.plot(np.arange(len(momentums)), np.asarray(momentums, dtype=float),
                      color=MOMENTUM_COLOR, linestyle="--")
            twin.set_ylabel("Momentum", color=MOMENTUM_COLOR)
            twin.grid(False)
    return fig


def lr_finder_figure(lrs: Sequence[float], losses: Sequence[float], *,
                     suggested_lr: float | None = None,
                     smoothed_losses: Sequence[float] | None = None,
                     min_loss_lr: float | None = None) -> Figure:
    """The range test: loss against learning rate on a log axis (the notebook's plot).

    As in the notebook, the y-axis stops at the first loss plus the minimum, so the
    explosion at the end does not flatten the interesting part.
    """
    rates = np.asarray(lrs, dtype=float)
    raw = np.asarray(losses, dtype=float)
    if len(rates) == 0 or len(rates) != len(raw):
        raise ValueError("lrs and losses must be non-empty and of the same length")
    finite = raw[np.isfinite(raw)]
    with figure_style():
        fig = new_figure(PANEL_W * 1.4, PANEL_H)
        ax = fig.add_subplot()
        ax.plot(rates, raw, color=ACCENT, alpha=0.45 if smoothed_losses is not None else 1,
                linewidth=1, label="loss per step")
        if smoothed_losses is not None:
            ax.plot(rates, np.asarray(smoothed_losses, dtype=float), color=ACCENT,
                    linewidth=2, label="smoothed")
        ax.set_xscale("log")
        if len(finite):
            ax.axhline(finite.min(), color=MUTED, linewidth=1)
            top = finite[0] + finite.min()
            if top > 0:
                ax.set_ylim(0, top)
        if min_loss_lr is not None:
            ax.axvline(min_loss_lr, color=MUTED, linestyle=":",
                       label=f"lowest loss: {min_loss_lr:.2g}")
        if suggested_lr is not None:
            ax.axvline(suggested_lr, color=NEGATIVE, linestyle="--",
                       label=f"suggested: {suggested_lr:.2g}")
        ax.set_xlabel("Learning rate")
        ax.set_ylabel("Loss")
        ax.set_title("Learning-rate range test")
        ax.legend()
    return fig

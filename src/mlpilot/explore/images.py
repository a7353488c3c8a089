"""Exploring a table whose rows are images: what replaces the per-column analyses.

For 784 pixel columns the ordinary exploration would draw 784 histograms, fit a leakage
tree and a density estimate per pixel and list every pixel as a column: minutes of work
for a page nobody can read. Here pixels are looked at as images instead — samples with
their class (the book's Figure 10-10), the mean image per class, the class balance — and
their flags are summed up in a few table-level lines. Other columns (the target, any
metadata) are explored as usual. The per-column statistics stay complete: they are the
monitoring baseline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mlpilot.data.schema import ColumnKind, Schema
from mlpilot.features.images import ImageLayout, column_ranges, detect_image_table, pixel_images

from . import figures as fig
from . import image_figures as imf
from .flags import Flag, FlagKind, Severity, duplicate_flags, fmt, pct

Detector = Callable[[pd.DataFrame, Schema, "str | None"], list[Flag]]
#: A target with at most this many distinct values is drawn as classes.
MAX_CLASSES = 50
IMAGE_RULE = ("images: pixel columns are flagged as a whole (pixels constant in every "
              "image, missing pixels), duplicates over whole rows; the other detectors run on "
              "the non-pixel columns only")


def image_layout(frame: pd.DataFrame, schema: Schema, target: str | None
                 ) -> ImageLayout | None:
    """The frame's pixel columns and image shape, or ``None`` for an ordinary table."""
    candidates = [c for c in frame.columns if c != target
                  and schema.kind(str(c)) in (ColumnKind.NUMERIC, ColumnKind.BOOLEAN)]
    minimums, maximums = column_ranges(frame, candidates)
    return detect_image_table(schema, target, minimums=minimums, maximums=maximums)


def other_columns(frame: pd.DataFrame, layout: ImageLayout) -> list[str]:
    """The columns that are not pixels (the target, metadata), in frame order."""
    pixels = set(layout.columns)
    return [str(c) for c in frame.columns if c not in pixels]


def sub_schema(schema: Schema, columns: Sequence[str]) -> Schema:
    """``schema`` restricted to ``columns``."""
    keep = set(columns)
    return Schema({c: schema.columns[c] for c in columns},
                  [p for p in schema.geo_pairs if set(p) <= keep], schema.n_rows)


def image_flags(frame: pd.DataFrame, schema: Schema, target: str | None,
                layout: ImageLayout, detectors: Sequence[Detector]) -> list[Flag]:
    """The usual detectors on the non-pixel columns, duplicates over whole rows, and one
    summary flag per pixel problem (constant pixels, missing pixels)."""
    others = other_columns(frame, layout)
    flags = [f for detect in detectors if detect is not duplicate_flags
             for f in detect(frame[others], sub_schema(schema, others), target)]
    flags += duplicate_flags(frame, schema, target)
    return flags + pixel_flags(frame, layout)


def pixel_flags(frame: pd.DataFrame, layout: ImageLayout) -> list[Flag]:
    values = frame.loc[:, list(layout.columns)].to_numpy(dtype="float32", na_value=np.nan)
    n_pixels = values.shape[1]
    flags = []
    missing = np.isnan(values)
    if missing.any():
        cells = int(missing.sum())
        rows = int(missing.any(axis=1).sum())
        columns = int(missing.any(axis=0).sum())
        flags.append(Flag(None, FlagKind.MISSING_VALUES,
                          f"{cells:,} pixel values are missing, in {rows:,} images "
                          f"({pct(rows / len(frame))}) and {columns:,} of the {n_pixels:,} "
                          "pixel columns",
                          "prepare.py imputes each pixel's median; check where the images come "
                          "from (a broken scan, a cropped picture)", Severity.WARNING,
                          value=float(cells)))
    with np.errstate(all="ignore"):
        low, high = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
    constant = np.flatnonzero((low == high) | np.isnan(low))
    if len(constant):
        names = ", ".join(layout.columns[i] for i in constant[:4])
        more = ", …" if len(constant) > 4 else ""
        flags.append(Flag(None, FlagKind.CONSTANT,
                          f"{len(constant):,} of the {n_pixels:,} pixels hold the same value in "
                          f"every training image ({names}{more}): usually the border",
                          "Harmless for a neural net (their weights never move); dropping them "
                          "or PCA shrinks the input for other models", Severity.INFO,
                          value=float(len(constant))))
    return flags


def class_labels(frame: pd.DataFrame, target: str | None) -> pd.Series | None:
    """The target when it reads as classes (at most :data:`MAX_CLASSES` values), else None."""
    if target is None or frame[target].nunique() > MAX_CLASSES:
        return None
    return frame[target]


def class_counts(labels: pd.Series) -> pd.Series:
    """Rows per class, in class order (numbers as numbers, names alphabetically)."""
    counts = labels.value_counts(dropna=True)
    try:
        order = sorted(counts.index)
    except TypeError:
        order = sorted(counts.index, key=str)
    counts = counts.reindex(order)
    counts.index = [str(c) for c in counts.index]
    return counts


def class_mean_images(frame: pd.DataFrame, labels: pd.Series, layout: ImageLayout
                      ) -> tuple[np.ndarray, list[str]]:
    """The mean image of each class, and titles "class (count)"."""
    assert layout.shape is not None
    pixels = frame.loc[:, list(layout.columns)]
    grouped = pixels.groupby(labels.to_numpy(), dropna=True)
    means, counts = grouped.mean(), grouped.size()
    order = [c for c in imf.classes_of(labels) if c in means.index]
    images = means.loc[order].to_numpy(dtype="float32").reshape(len(order), *layout.shape)
    titles = [f"{str(c)[:14]}\n({int(counts[c]):,})" for c in order]
    return images, titles


def image_builders(frame: pd.DataFrame, target: str | None, layout: ImageLayout
                   ) -> dict[str, Callable[[], Figure]]:
    """Name → figure function for the image figures that apply."""
    builders: dict[str, Callable[[], Figure]] = {}
    labels = class_labels(frame, target)
    if layout.shape is not None:
        rows, per_line = imf.sample_rows(len(frame), labels)
        sample = frame.iloc[rows]
        images = pixel_images(sample, layout)
        titles = ([str(v) for v in sample[target]] if target is not None
                  else [f"row {i}" for i in rows])
        if target is not None and labels is None:  # a numeric target: show its value
            titles = [fmt(float(v)) if _is_number(v) else str(v) for v in sample[target]]
        builders["image_samples"] = lambda: imf.image_samples(images, titles, per_line)
        if labels is not None and 2 <= labels.nunique() <= imf.MAX_MEAN_CLASSES:
            means, mean_titles = class_mean_images(frame, labels, layout)
            builders["class_means"] = lambda: imf.class_means(means, mean_titles)
    if labels is not None and target is not None:
        counts = class_counts(labels)
        builders["class_balance"] = lambda: imf.class_balance(counts, target)
    return builders


def other_histograms(stats: dict[str, object], columns: Sequence[str]
                     ) -> dict[str, Callable[[], Figure]]:
    """Histograms of the non-pixel numeric feature columns, if there are any."""
    per_column = stats.get("columns", {})
    assert isinstance(per_column, dict)
    hists = {c: per_column[c]["histogram"] for c in columns
             if per_column.get(c, {}).get("histogram", {}).get("counts")}
    if not hists:
        return {}
    return {"histograms": lambda: fig.histograms(hists, ncols=3 if len(hists) <= 9 else 4)}


def image_summary(layout: ImageLayout) -> dict[str, object]:
    """The layout as plain JSON for the statistics (the pixel names are in ``columns``)."""
    return {"n_pixels": layout.n_pixels, "shape": list(layout.shape) if layout.shape else None,
            "first": layout.columns[0], "last": layout.columns[-1],
            "max_value": layout.max_value, "reason": layout.reason}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and bool(
        np.isfinite(float(value)))  # type: ignore[arg-type]

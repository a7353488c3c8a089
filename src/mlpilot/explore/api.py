"""``explore()``: the book's "explore the data" step, done automatically for any table."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from matplotlib.figure import Figure

from mlpilot.data.schema import ColumnKind, Schema, infer_schema
from mlpilot.errors import SchemaError

from . import figures as fig
from . import images
from .flags import (
    RULES,
    Flag,
    capped_flags,
    constant_flags,
    duplicate_flags,
    heavy_tail_flags,
    high_cardinality_flags,
    id_flags,
    missing_flags,
    mixed_type_flags,
    multimodal_flags,
    sort_flags,
)
from .leakage import leakage_flags
from .report import LEAKAGE_RULE, Exploration
from .stats import (
    category_columns,
    correlation_matrix,
    describe_table,
    numeric_columns,
    numeric_target,
    structure_table,
    table_stats,
    target_correlations,
    value_counts,
)

#: Columns drawn at most in the histogram grid / the category bar charts.
MAX_HISTOGRAMS = 48
MAX_CATEGORY_CHARTS = 12

Detector = Callable[[pd.DataFrame, Schema, "str | None"], list[Flag]]
DETECTORS: tuple[Detector, ...] = (
    leakage_flags, duplicate_flags, constant_flags, id_flags, capped_flags, heavy_tail_flags,
    multimodal_flags, high_cardinality_flags, mixed_type_flags, missing_flags,
)


def explore(
    frame: pd.DataFrame,
    target: str | None = None,
    schema: Schema | None = None,
    *,
    size_by: str | None = None,
    color_by: str | None = None,
    max_scatter_features: int = 3,
    draw: bool = True,
    name: str | None = None,
) -> Exploration:
    """Explore ``frame`` (the TRAINING rows only): statistics, flags and figures.

    ``size_by``/``color_by`` set the geographic scatter's marker size and colour (defaults: a
    column named ``population`` if any, and the target). The scatter matrix shows the target
    and its ``max_scatter_features`` most correlated features. ``draw=False`` skips the
    figures (statistics and flags only, much faster). ``name`` titles the report.
    """
    frame = _checked(frame, target, size_by, color_by)
    if schema is None:
        schema = infer_schema(frame, target)
    missing = [c for c in frame.columns if c not in schema.columns]
    if missing:
        raise SchemaError(f"the schema does not describe column(s) {missing[:5]}",
                          hint="infer the schema from the same table, or pass schema=None")

    layout = images.image_layout(frame, schema, target)
    if layout is not None:
        return _explore_images(frame, target, schema, layout, draw=draw, name=name)
    correlations = target_correlations(frame, schema, target)
    stats = table_stats(frame, schema, target, correlations)
    flags = sort_flags((f for detect in DETECTORS for f in detect(frame, schema, target)),
                       list(frame.columns), target)
    cats = category_columns(schema)
    exploration = Exploration(
        target=target,
        schema=schema,
        stats=stats,
        flags=flags,
        figures={},
        structure=structure_table(frame, schema),
        describe=describe_table(frame, numeric_columns(schema, target)),
        value_counts=value_counts(frame, cats),
        correlations=correlations,
        name=name,
    )
    if draw:
        builders = _figure_builders(frame, schema, target, exploration, size_by=size_by,
                                    color_by=color_by,
                                    max_scatter_features=max_scatter_features)
        exploration.figures = fig.render(builders)
    return exploration


def _explore_images(frame: pd.DataFrame, target: str | None, schema: Schema,
                    layout: images.ImageLayout, *, draw: bool, name: str | None
                    ) -> Exploration:
    """An image table: pixels looked at as images, the other columns as usual."""
    stats = table_stats(frame, schema, target, None)
    stats["image"] = images.image_summary(layout)
    flags = sort_flags(images.image_flags(frame, schema, target, layout, DETECTORS),
                       list(frame.columns), target)
    others = images.other_columns(frame, layout)
    others_schema = images.sub_schema(schema, others)
    counts = value_counts(frame, category_columns(others_schema))
    labels = images.class_labels(frame, target)
    if labels is not None and target is not None and target not in counts:
        counts[target] = images.class_counts(labels)
    exploration = Exploration(
        target=target, schema=schema, stats=stats, flags=flags, figures={},
        structure=structure_table(frame[others], others_schema),
        describe=describe_table(frame, numeric_columns(others_schema, target)),
        value_counts=counts, correlations=None, name=name, image=layout,
        rules=[*RULES, LEAKAGE_RULE, images.IMAGE_RULE])
    if draw:
        builders = images.image_builders(frame, target, layout)
        features = [c for c in numeric_columns(others_schema) if c != target]
        builders |= images.other_histograms(stats, features)
        exploration.figures = fig.render(builders)
    return exploration


def _checked(frame: pd.DataFrame, target: str | None, *others: str | None) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"explore() needs a pandas DataFrame, got {type(frame).__name__}")
    if frame.empty or frame.shape[1] == 0:
        raise SchemaError("the table is empty", hint="explore a table with rows and columns")
    if frame.columns.duplicated().any():
        dup = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise SchemaError(f"duplicate column names: {dup}", hint="rename the columns first")
    if not all(isinstance(c, str) for c in frame.columns):
        frame = frame.rename(columns=str)
    for column in (target, *others):
        if column is not None and column not in frame.columns:
            raise SchemaError(f"no column named {column!r}",
                              hint=f"choose one of {list(frame.columns)[:10]}")
    return frame


def _figure_builders(
    frame: pd.DataFrame, schema: Schema, target: str | None, exp: Exploration, *,
    size_by: str | None, color_by: str | None, max_scatter_features: int,
) -> dict[str, Callable[[], Figure]]:
    """Name → zero-argument function drawing that figure, for the figures that apply."""
    builders: dict[str, Callable[[], Figure]] = {}
    columns = exp.stats["columns"]
    hists = {c: columns[c]["histogram"] for c in numeric_columns(schema, target)
             if columns[c].get("histogram", {}).get("counts")}
    if hists:
        shown = dict(list(hists.items())[:MAX_HISTOGRAMS])
        builders["histograms"] = lambda: fig.histograms(shown, ncols=3 if len(shown) <= 9 else 4)
    if exp.value_counts:
        counts = dict(list(exp.value_counts.items())[:MAX_CATEGORY_CHARTS])
        builders["categories"] = lambda: fig.category_bars(counts)

    size = size_by if size_by is not None else _population_column(frame, schema)
    color = color_by if color_by is not None else target
    for i, (lat, lon) in enumerate(schema.geo_pairs[:2]):
        key = "geo_scatter" if i == 0 else f"geo_scatter_{i + 1}"
        builders[key] = (lambda la=lat, lo=lon: fig.geo_scatter(frame, la, lo, size, color))

    corr = exp.correlations
    if corr is not None and not corr.empty and target is not None:
        builders["target_correlation"] = lambda: fig.target_correlation_bars(corr, target)
    matrix = correlation_matrix(frame, schema, target)
    if matrix.shape[0] >= 2:
        builders["correlation_heatmap"] = lambda: fig.correlation_heatmap(matrix)
    if corr is not None and not corr.empty and target is not None:
        y = numeric_target(frame, schema, target)
        binary = y is not None and y.nunique() <= 2
        best = [str(c) for c in corr.index[:max(max_scatter_features, 0)]]
        if best and not binary:
            builders["scatter_matrix"] = lambda: fig.scatter_matrix(frame, [target, *best])
        strongest = str(corr.index[0])
        builders["target_vs_strongest"] = (
            lambda: fig.target_vs_feature(frame, strongest, target, binary=binary))
    return builders


def _population_column(frame: pd.DataFrame, schema: Schema) -> str | None:
    for name in frame.columns:
        if str(name).lower() == "population" and schema.kind(str(name)) == ColumnKind.NUMERIC:
            return str(name)
    return None

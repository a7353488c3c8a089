"""The automatic preparation step: schema + exploration flags → a readable pipeline.

The plan says, for each column, what is done to it and why (``mlpilot prepare --show``).
It is rendered as plain Python — ``prepare.py`` in the project — and that file *is* the
pipeline: :func:`build_from_source` executes it, so what the user reads (and may edit) is
exactly what runs. Two variants come out of one plan, as the book suggests:

* ``scaled`` — for linear models, SVMs, kNN and neural nets: the book's final
  ``ColumnTransformer`` (ratios, logs of heavy tails, cluster similarity for coordinates,
  one-hot categories, standardization);
* ``tree`` — for tree ensembles: no logs or scaling (trees do not care), raw coordinates
  kept beside the cluster similarities, categories as ordinal codes.

A table whose rows are images (:mod:`mlpilot.features.images`) gets the image plan: its
pixels are divided by their maximum (the book's ``X / 255``) and skip every per-column
analysis (logs, ratios, clusters), which mean nothing for pixels and would take hours for
784 of them.
"""

from __future__ import annotations

import datetime as _dt
import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from mlpilot.data.schema import NUMERIC_KINDS, ColumnKind, Schema
from mlpilot.features.images import ImageLayout, detect_image_table

Treatment = Literal["numeric", "log", "onehot", "target", "ordinal", "datetime", "geo", "drop",
                    "pixels"]
TREATMENTS: tuple[str, ...] = ("numeric", "log", "onehot", "target", "ordinal", "datetime",
                               "geo", "drop", "pixels")
VARIANTS = ("scaled", "tree")
#: Categoricals with more distinct values than this are target-encoded instead of one-hot.
MAX_ONE_HOT = 20
#: A candidate ratio is kept when it improves the CV score by at least this share
#: (about the noise level of a 3-fold CV on a few thousand rows).
MIN_RATIO_GAIN = 0.002
RATIO_SAMPLE = 8_000
#: The neighbours' mean target needs one target column; multilabel targets go without it.
NEIGHBOR_TARGET_TYPES = {"regression": "continuous", "binary": "binary",
                         "multiclass": "multiclass"}
#: Neighbours "alike in value" weigh one standard deviation of the value column like this
#: share of a coordinate's: a quarter keeps them local (0.125-0.5 all helped on housing).
NEIGHBOR_VALUE_WEIGHT = 0.25
#: Rows used to rank the value columns by mutual information with the target.
GEO_VALUE_SAMPLE = 5_000


@dataclass
class ColumnPlan:
    column: str
    treatment: str
    reason: str


@dataclass
class RatioPlan:
    numerator: str
    denominator: str
    reason: str = "candidate"
    gain: float | None = None

    @property
    def name(self) -> str:
        return f"{self.numerator}_per_{self.denominator}"


@dataclass
class PreparationPlan:
    """Every column's treatment (with the reason), the ratio features, the options."""

    columns: dict[str, ColumnPlan]
    ratios: list[RatioPlan] = field(default_factory=list)
    rejected_ratios: list[RatioPlan] = field(default_factory=list)
    geo_pairs: list[tuple[str, str]] = field(default_factory=list)
    imputer: str = "median"
    n_clusters: int = 10
    seed: int = 42
    task: str = "regression"
    name: str = "project"
    #: PCA after scaling (scaled variant only): a variance share in (0, 1) or a count.
    pca: float | None = None
    #: Set when the rows are images: the pixel columns, the image shape, the largest value.
    image: ImageLayout | None = None
    #: The value column that, beside the coordinates, chooses "neighbours alike" (the most
    #: informative one about the target; see :func:`choose_geo_value`).
    geo_value: str | None = None

    def with_treatment(self, treatment: str) -> list[str]:
        return [c.column for c in self.columns.values() if c.treatment == treatment]

    def rows(self) -> list[tuple[str, str, str]]:
        """(column, treatment, reason) per column; the pixels of an image as one row."""
        out = [(c.column, c.treatment, c.reason) for c in self.columns.values()
               if c.treatment != "pixels"]
        pixels = self.with_treatment("pixels")
        if pixels:
            first = self.columns[pixels[0]]
            span = pixels[0] if len(pixels) == 1 else f"{pixels[0]} … {pixels[-1]}"
            out.insert(0, (f"{span} ({len(pixels):,} pixels)", "pixels", first.reason))
        out += [(r.name, "ratio", r.reason) for r in self.ratios]
        return out


# ---------------------------------------------------------------------- planning
def plan_preparation(
    schema: Schema,
    targets: Sequence[str],
    *,
    heavy_tailed: Iterable[str] = (),
    minimums: dict[str, float] | None = None,
    overrides: dict[str, str] | None = None,
    imputer: str = "median",
    n_clusters: int = 10,
    seed: int = 42,
    task: str = "regression",
    name: str = "project",
    pca: float | None = None,
    maximums: dict[str, float] | None = None,
) -> PreparationPlan:
    """Decide each column's treatment from its kind and the exploration's flags.

    ``minimums``/``maximums`` (the exploration's per-column statistics) also tell whether
    the rows are images (:func:`~mlpilot.features.images.detect_image_table`).
    """
    heavy = set(heavy_tailed)
    minimums = minimums or {}
    overrides = overrides or {}
    geo_columns = {c for pair in schema.geo_pairs for c in pair}
    image = detect_image_table(schema, targets, minimums=minimums, maximums=maximums)
    pixels = set(image.columns) if image is not None else set()
    columns: dict[str, ColumnPlan] = {}
    for col in schema.columns.values():
        if col.name in targets:
            continue
        if col.name in overrides:
            columns[col.name] = ColumnPlan(col.name, overrides[col.name], "set in mlpilot.toml")
            continue
        if col.name in pixels:
            assert image is not None
            columns[col.name] = ColumnPlan(col.name, "pixels", _pixel_reason(image))
            continue
        columns[col.name] = _default_treatment(col, schema.n_rows, heavy, minimums,
                                               geo_columns, task)
    pairs = [p for p in schema.geo_pairs
             if all(columns.get(c) and columns[c].treatment == "geo" for c in p)]
    for c in columns.values():  # a "geo" override without a partner falls back to numeric
        if c.treatment == "geo" and not any(c.column in p for p in pairs):
            c.treatment, c.reason = "numeric", c.reason + " (no coordinate partner: numeric)"
    plan = PreparationPlan(columns, geo_pairs=pairs, imputer=imputer, n_clusters=n_clusters,
                           seed=seed, task=task, name=name, pca=pca, image=image)
    return plan


def _pixel_reason(image: ImageLayout) -> str:
    shape = f"{image.shape[0]}×{image.shape[1]} images" if image.shape else "images"
    scale = ("divided by the training maximum" if image.max_value is None
             else f"divided by {image.max_value:g}")
    impute = ("imputed first (some are missing)" if image.has_missing
              else "no imputation (none missing)")
    return (f"the rows are {shape} ({image.reason}): pixels {scale} so they lie in 0–1 "
            f"(the book's X / 255), {impute}; kept as they are for trees; no logs, ratios or "
            "cluster features (per-pixel analyses mean nothing for images)")


def _default_treatment(col: Any, n_rows: int, heavy: set[str], minimums: dict[str, float],
                       geo_columns: set[str], task: str) -> ColumnPlan:
    kind = col.kind
    if kind == ColumnKind.ID:
        return ColumnPlan(col.name, "drop", "an identifier: names rows, does not describe them")
    if kind == ColumnKind.TEXT:
        return ColumnPlan(col.name, "drop", "free text: needs a text model")
    if col.n_missing >= n_rows:
        return ColumnPlan(col.name, "drop", "all values missing in the training rows")
    if kind == ColumnKind.DATETIME:
        return ColumnPlan(col.name, "datetime", "a date: year, month, day, weekday, hour parts")
    if col.name in geo_columns:
        return ColumnPlan(col.name, "geo", "latitude/longitude pair: similarity to k-means "
                                           "cluster centres (the book's ClusterSimilarity), the "
                                           "nearest training rows' mean target (leave-one-out; "
                                           "for a quantity also its median and spread), "
                                           "the neighbourhood's mean of every value column and, "
                                           "for trees, rotated axes")
    numeric_dtype = col.dtype.lower().startswith(("int", "uint", "float", "bool"))
    if kind in NUMERIC_KINDS or (kind == ColumnKind.BOOLEAN and numeric_dtype):
        if col.name in heavy and minimums.get(col.name, -1.0) >= 0:
            return ColumnPlan(col.name, "log", "heavy right tail (exploration flag): log, then "
                                               "standardize")
        if kind == ColumnKind.BOOLEAN:
            return ColumnPlan(col.name, "numeric", "0/1 values: kept as a number")
        return ColumnPlan(col.name, "numeric", "numeric: median imputation, standardization")
    if col.n_unique <= MAX_ONE_HOT:
        return ColumnPlan(col.name, "onehot", f"{col.n_unique} categories: one-hot, unknown "
                                              "categories ignored")
    if task == "multilabel":
        return ColumnPlan(col.name, "ordinal", f"{col.n_unique} categories: ordinal codes")
    return ColumnPlan(col.name, "target", f"{col.n_unique} categories (too many to one-hot): "
                                          "target encoding, cross-fitted, missing as a category")


def ratio_candidates(plan: PreparationPlan, frame: pd.DataFrame,
                     heavy_tailed: Iterable[str]) -> list[RatioPlan]:
    """Pairs of count-like columns (non-negative whole numbers with a heavy tail)."""
    heavy = set(heavy_tailed)
    counts = []
    for name in plan.with_treatment("log") + plan.with_treatment("numeric"):
        values = pd.to_numeric(frame[name], errors="coerce").dropna()
        if name in heavy and len(values) and (values >= 0).all() and (values % 1 == 0).all():
            counts.append(name)
    medians = {c: float(frame[c].median()) for c in counts}
    out = []
    for i, a in enumerate(counts):
        for b in counts[i + 1:]:
            num, den = (a, b) if medians[a] >= medians[b] else (b, a)
            out.append(RatioPlan(num, den))
    return out


def select_ratios(plan: PreparationPlan, X: pd.DataFrame, y: pd.Series | pd.DataFrame,
                  candidates: list[RatioPlan], scorer: str) -> PreparationPlan:
    """Keep the ratio features that improve a quick cross-validated model (book ch. 2)."""
    if not candidates:
        return plan
    from sklearn.model_selection import KFold, StratifiedKFold

    from mlpilot.features.judge import RatioJudge

    if len(X) > RATIO_SAMPLE:
        rows = np.random.default_rng(plan.seed).choice(len(X), RATIO_SAMPLE, replace=False)
        X, y = X.iloc[rows].reset_index(drop=True), y.iloc[rows].reset_index(drop=True)
    classification = plan.task in ("binary", "multiclass")
    cv = (StratifiedKFold if classification else KFold)(3, shuffle=True, random_state=plan.seed)
    source = render_python(PreparationPlan(**{**plan.__dict__, "ratios": []}))
    judge = RatioJudge(lambda: build_from_source(source, "tree"), _judge_model(plan), X, y,
                       list(cv.split(X, y)), scorer)

    base, *alone = judge.scores([[], *([cand] for cand in candidates)])
    kept: list[RatioPlan] = []
    rejected: list[RatioPlan] = []
    # Each ratio is judged against none, in one batch. A greedy forward pass that re-asked
    # each ratio on top of the ones kept (dropping redundant ratios of the same counts) cost
    # three sequential rounds, a third of prepare's time on housing, and kept the same four
    # ratios there; the boosting models downstream score no worse with a redundant ratio.
    for cand, alone_score in sorted(zip(candidates, alone, strict=True),
                                    key=lambda pair: -pair[1]):
        cand.gain = (alone_score - base) / max(abs(base), 1e-12)
        if cand.gain >= MIN_RATIO_GAIN:
            cand.reason = f"ratio of counts; improves a quick 3-fold CV by {cand.gain:.1%}"
            kept.append(cand)
        else:
            cand.reason = f"ratio of counts; rejected (CV change {cand.gain:+.1%})"
            rejected.append(cand)
    plan.ratios, plan.rejected_ratios = kept, rejected
    return plan


def value_columns(plan: PreparationPlan) -> list[str]:
    """The numeric columns that describe a place rather than locate it."""
    return plan.with_treatment("numeric") + plan.with_treatment("log")


def choose_geo_value(plan: PreparationPlan, X: pd.DataFrame,
                     y: pd.Series | pd.DataFrame) -> PreparationPlan:
    """Pick the value column that best tells the target (mutual information on a sample):
    neighbours are then also looked for among rows alike in it (``NeighborTarget``'s
    ``value_weight``). On housing it is the income: nearby districts *of similar income*
    price a district better than all nearby districts (test RMSE -3 % with LightGBM)."""
    values = value_columns(plan)
    if not plan.geo_pairs or plan.task not in NEIGHBOR_TARGET_TYPES or not values:
        return plan
    from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

    target = y.iloc[:, 0] if isinstance(y, pd.DataFrame) else y
    frame = X[values].apply(pd.to_numeric, errors="coerce")
    keep = target.notna().to_numpy()
    frame, target = frame[keep], target[keep]
    if len(frame) > GEO_VALUE_SAMPLE:
        rows = np.random.default_rng(plan.seed).choice(len(frame), GEO_VALUE_SAMPLE,
                                                       replace=False)
        frame, target = frame.iloc[rows], target.iloc[rows]
    if len(frame) < 20:
        return plan
    filled = frame.fillna(frame.median()).fillna(0.0).to_numpy(dtype=float)
    score = mutual_info_regression if plan.task == "regression" else mutual_info_classif
    information = score(filled, target.to_numpy(), random_state=plan.seed)
    best = int(np.argmax(information))
    if information[best] <= 0:
        return plan
    plan.geo_value = values[best]
    column = plan.columns[plan.geo_value]
    column.reason += (f"; also picks neighbours alike beside the coordinates (the most "
                      f"informative column: mutual information {information[best]:.2f})")
    return plan


def _judge_model(plan: PreparationPlan) -> BaseEstimator:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    return (HistGradientBoostingRegressor if plan.task == "regression"
            else HistGradientBoostingClassifier)(max_iter=100, random_state=plan.seed)


# ---------------------------------------------------------------------- rendering
_IMPUTERS = {
    "median": 'SimpleImputer(strategy="median", keep_empty_features=True)',
    "knn": "KNNImputer(keep_empty_features=True)",
    "iterative": "IterativeImputer(random_state=SEED, keep_empty_features=True)",
}


Block = tuple[str, list[str], "list[str] | str"]


def _blocks(plan: PreparationPlan, variant: str) -> list[Block]:
    """(name, transformer steps, columns) for each ColumnTransformer entry.

    The columns are a list of names, or the name of a constant of prepare.py (``PIXELS``).
    """
    scaled = variant == "scaled"
    scale = ["StandardScaler()"] if scaled else []
    imp = "clone(IMPUTER)"
    most_frequent = 'SimpleImputer(strategy="most_frequent")'
    ordinal = ('OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, '
               "encoded_missing_value=-1)")
    blocks: list[Block] = []
    if plan.with_treatment("pixels"):
        blocks.append(_pixel_block(plan, scaled))
    for r in plan.ratios:
        blocks.append((r.name, [imp, f"RatioFeatures(names=[{r.name!r}])", *scale],
                       [r.numerator, r.denominator]))
    logs = plan.with_treatment("log")
    if logs:
        blocks.append(("log", [imp, "LogTransformer()", *scale] if scaled else [imp], logs))
    for i, pair in enumerate(plan.geo_pairs):
        suffix = "" if i == 0 else f"_{i}"
        blocks.append((f"geo{suffix}", ['SimpleImputer(strategy="median")',
                                        "ClusterSimilarity(n_clusters=N_CLUSTERS, gamma=1.0, "
                                        "random_state=SEED)"], list(pair)))
        kind = NEIGHBOR_TARGET_TYPES.get(plan.task)
        if kind is not None:
            # a continuous target's neighbours also give their median and spread
            spread = ', statistics=("mean", "median", "std")' if kind == "continuous" else ""
            blocks.append((f"neighbors{suffix}", [
                'SimpleImputer(strategy="median")',
                f"NeighborTarget(n_neighbors=(5, 15, 50), target_type={kind!r}{spread})",
                *scale], list(pair)))
            if plan.geo_value is not None:
                blocks.append((f"neighbors_alike{suffix}", [
                    'SimpleImputer(strategy="median")',
                    f"NeighborTarget(n_neighbors=(5, 15, 50), target_type={kind!r}, "
                    "value_weight=NEIGHBOR_VALUE_WEIGHT)", *scale],
                    [*pair, plan.geo_value]))
                if kind == "continuous":  # the area's line of price against income
                    blocks.append((f"neighbors_trend{suffix}", [
                        'SimpleImputer(strategy="median")',
                        "NeighborTrend(n_neighbors=(30, 100))", *scale],
                        [*pair, plan.geo_value]))
        values = value_columns(plan)
        if values:
            blocks.append((f"neighborhood{suffix}", [
                'SimpleImputer(strategy="median")', "NeighborMeans(n_neighbors=10)", *scale],
                [*pair, *values]))
        if not scaled:
            blocks.append((f"coordinates{suffix}", [imp], list(pair)))
            blocks.append((f"rotated{suffix}", ['SimpleImputer(strategy="median")',
                                                "RotatedCoordinates()"], list(pair)))
    onehot = plan.with_treatment("onehot")
    if onehot:
        if scaled:
            blocks.append(("categories", [most_frequent, 'OneHotEncoder(handle_unknown="ignore", '
                                          "sparse_output=False)"], onehot))
        else:  # native categorical splits (HistGradientBoosting reads the category dtype)
            blocks.append(("categories", ["CategoryCodes()"], onehot))
    target = plan.with_treatment("target")
    if target:
        kind, folds = (("continuous", "KFold") if plan.task == "regression"
                       else ("auto", "StratifiedKFold"))
        encoder = (f'TargetEncoder(target_type="{kind}", '
                   f"cv={folds}(5, shuffle=True, random_state=SEED))")
        # No imputer: TargetEncoder gives a missing value its own encoding, and on columns
        # such as titanic's Cabin (77 % missing) being missing is the information.
        blocks.append(("target_encoded", [encoder, *scale], target))
    if plan.with_treatment("ordinal"):
        blocks.append(("ordinal", [most_frequent, ordinal], plan.with_treatment("ordinal")))
    dates = plan.with_treatment("datetime")
    if dates:
        blocks.append(("dates", ["DatetimeParts()", 'SimpleImputer(strategy="median", '
                                 "keep_empty_features=True)", *scale], dates))
    numeric = plan.with_treatment("numeric")
    if numeric:
        blocks.append(("numeric", [imp, *scale], numeric))
    return blocks


def _pixel_block(plan: PreparationPlan, scaled: bool) -> Block:
    """Pixels divided by their maximum (scaled variant) or kept as they are (trees)."""
    missing = plan.image is not None and plan.image.has_missing
    steps = ["clone(IMPUTER)"] if missing else []
    if scaled:
        steps.append("PixelScaler(max_value=PIXEL_MAX)")
    return "pixels", steps or ['"passthrough"'], "PIXELS"


def numeric_inputs(plan: PreparationPlan) -> list[str]:
    cols = (plan.with_treatment("numeric") + plan.with_treatment("log")
            + plan.with_treatment("geo"))
    return list(dict.fromkeys(cols))


def render_python(plan: PreparationPlan) -> str:
    """The plan as an editable Python module defining ``build_preprocessing(variant)``."""
    pixels = bool(plan.with_treatment("pixels"))
    lines = [
        f'"""Preprocessing for the mlpilot project {plan.name!r}.',
        "",
        f"Written by `mlpilot prepare` on {_dt.date.today().isoformat()}. This file IS the",
        "pipeline: `mlpilot train` builds its preprocessing by calling build_preprocessing()",
        "below. Edit it freely (add a step, drop a column, change a parameter); delete it to",
        "go back to the automatic pipeline (`mlpilot prepare --force` rewrites it).",
        "",
        "Column treatments and why:",
    ]
    width = max((len(c) for c, _, _ in plan.rows()), default=10)
    lines += [f"    {c:<{width}}  {t:<9} {why}" for c, t, why in plan.rows()]
    for r in plan.rejected_ratios:
        lines.append(f"    {r.name:<{width}}  (not used) {r.reason}")
    lines += [
        '"""',
        "",
        "from sklearn.base import clone",
        "from sklearn.compose import ColumnTransformer",
        "from sklearn.decomposition import PCA",
        "from sklearn.experimental import enable_iterative_imputer  # noqa: F401",
        "from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer",
        "from sklearn.model_selection import KFold, StratifiedKFold",
        "from sklearn.pipeline import Pipeline, make_pipeline",
        "from sklearn.preprocessing import (OneHotEncoder, OrdinalEncoder, StandardScaler,",
        "                                   TargetEncoder)",
        "",
        "from mlpilot.features import (CategoryCodes, ClusterSimilarity, DataCleaner,",
        "                              DatetimeParts, LogTransformer, NeighborMeans,",
        "                              NeighborTarget, NeighborTrend, RatioFeatures,",
        "                              RotatedCoordinates)",
        *(["from mlpilot.features.images import PixelScaler"] if pixels else []),
        "",
        f"SEED = {plan.seed}",
        f"N_CLUSTERS = {plan.n_clusters}",
        *([f"NEIGHBOR_VALUE_WEIGHT = {NEIGHBOR_VALUE_WEIGHT}  # a value's std vs a "
           "coordinate's, for neighbours alike"] if plan.geo_value is not None else []),
        f"PCA_COMPONENTS = {_pca_literal(plan.pca)}  # None: no PCA (scaled variant only)",
        *(_pixel_constants(plan) if pixels else []),
        _numeric_inputs_line(plan, pixels),
        "",
        "",
        'def build_preprocessing(variant: str = "scaled") -> Pipeline:',
        '    """variant "scaled": linear models, SVMs, kNN, neural nets; "tree": tree models."""',
        f"    IMPUTER = {_IMPUTERS[plan.imputer]}  # noqa: N806",
        '    if variant == "tree":',
        "        columns = [",
    ]
    lines += _render_blocks(_blocks(plan, "tree"), indent=12)
    lines += ["        ]", "    else:", "        columns = ["]
    lines += _render_blocks(_blocks(plan, "scaled"), indent=12)
    lines += [
        "        ]",
        "    pipeline = Pipeline([",
        "        (\"clean\", DataCleaner(numeric_columns=NUMERIC_INPUTS)),",
        "        (\"columns\", ColumnTransformer(columns, remainder=\"drop\",",
        "                                     verbose_feature_names_out=False)),",
        "    ])",
        "    if variant == \"scaled\" and PCA_COMPONENTS is not None:",
        "        # Chapter 8: keep this share of the variance (or this many components).",
        "        pipeline.steps.append((\"pca\", PCA(n_components=PCA_COMPONENTS, "
        "random_state=SEED)))",
        "    # Trees get a DataFrame, so category columns keep their dtype (native splits).",
        "    return pipeline.set_output(transform=\"pandas\") if variant == \"tree\" else pipeline",
        "",
    ]
    return "\n".join(lines)


def _numeric_inputs_line(plan: PreparationPlan, pixels: bool) -> str:
    others = numeric_inputs(plan)
    if not pixels:
        return f"NUMERIC_INPUTS = {others!r}"
    return "NUMERIC_INPUTS = PIXELS" + (f" + {others!r}" if others else "")


def _pixel_constants(plan: PreparationPlan) -> list[str]:
    """``PIXELS`` (the pixel columns, row by row) and ``PIXEL_MAX`` (what they are divided by)."""
    columns = plan.with_treatment("pixels")
    image = plan.image
    whole = image is not None and len(columns) == image.n_pixels
    shape = (f"the {image.shape[0]}×{image.shape[1]} image, row by row"
             if whole and image is not None and image.shape else "the image's pixels")
    lines = _columns_literal("PIXELS", columns, f"  # {shape}")
    top = None if image is None else image.max_value
    lines.append(f"PIXEL_MAX = {top!r}  # pixels are divided by this "
                 "(None: the largest training value)")
    return lines


def _columns_literal(name: str, columns: list[str], comment: str) -> list[str]:
    """``NAME = [...]``: a comprehension for ``pixel0`` … ``pixel783``, else the names."""
    first = re.fullmatch(r"(.*?)(\d+)", columns[0]) if columns else None
    if first is not None:
        prefix, start = first.group(1), int(first.group(2))
        expected = [f"{prefix}{i}" for i in range(start, start + len(columns))]
        if columns == expected and re.fullmatch(r"[\w .\-]*", prefix):
            stop = start + len(columns)
            span = f"range({stop})" if start == 0 else f"range({start}, {stop})"
            return [f'{name} = [f"{prefix}{{i}}" for i in {span}]{comment}']
    body = textwrap.wrap(", ".join(repr(c) for c in columns), width=88,
                         break_long_words=False, break_on_hyphens=False)
    return [f"{name} = [{comment}", *(f"    {line}" for line in body), "]"]


def _pca_literal(pca: float | None) -> str:
    if pca is None:
        return "None"
    return str(int(pca)) if pca >= 1 else repr(float(pca))


def _render_blocks(blocks: list[Block], indent: int) -> list[str]:
    pad = " " * indent
    out = []
    for name, steps, cols in blocks:
        out.append(f"{pad}({name!r},")
        if len(steps) == 1:
            out.append(f"{pad} {steps[0]},")
        else:
            out.append(f"{pad} make_pipeline(")
            out += [f"{pad}     {step}," for step in steps]
            out.append(f"{pad} ),")
        out.append(f"{pad} {cols if isinstance(cols, str) else repr(cols)}),")
    return out


def build_from_source(source: str, variant: str = "scaled") -> BaseEstimator:
    """Execute a ``prepare.py`` source and build its preprocessing for ``variant``."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    namespace: dict[str, Any] = {"__name__": "mlpilot_prepare"}
    exec(compile(source, "prepare.py", "exec"), namespace)
    return namespace["build_preprocessing"](variant)

"""The monitoring baseline: what the training rows looked like, saved next to a model version.

Why a sample and not only summary numbers: drift thresholds are learned by drawing many
windows from the reference rows (see :mod:`mlpilot.monitor.thresholds`), which needs the rows
themselves. At most ``max_rows`` (20,000) training rows are kept, in a canonical form
(numbers as float64, categories as strings) so that the Parquet file round-trips exactly and
every later comparison sees the same values. The JSON holds the feature list, the schema and
the exploration statistics of *all* training rows (:func:`mlpilot.explore.stats.column_stats`).

Monitored features are numbers (numeric, latitude, longitude) and categories (categorical,
boolean). Targets, identifiers, free text and dates are left out: identifiers and time stamps
change by nature, and texts have no distribution worth a single number.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlpilot.atomic import sha256_file, write_parquet, write_text
from mlpilot.data.schema import NUMERIC_KINDS, ColumnKind, Schema
from mlpilot.errors import MonitorError
from mlpilot.explore.stats import as_float, column_stats, jsonable

FORMAT_VERSION = 1
BASELINE_FILE = "baseline.json"
REFERENCE_FILE = "reference.parquet"
#: Rows kept as the reference sample (a seeded random sample above this).
MAX_ROWS = 20_000
#: Fewer training rows than this make reference windows meaningless.
MIN_ROWS = 20
#: Quantile bins of the population stability index (deciles, the usual choice).
PSI_BINS = 10

NUMBER = "numeric"
CATEGORY = "categorical"
_TRUE = {"true", "yes", "y", "t", "1"}
_FALSE = {"false", "no", "n", "f", "0"}


def monitored_kind(kind: ColumnKind) -> str | None:
    """How a schema kind is monitored: as a number, as a category, or not at all."""
    if kind in NUMERIC_KINDS:
        return NUMBER
    if kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN):
        return CATEGORY
    return None


def numeric_values(col: pd.Series) -> np.ndarray:
    """A column as float64; anything non-numeric or infinite counts as missing (NaN)."""
    return as_float(col).to_numpy(dtype=float, na_value=np.nan)


def category_values(col: pd.Series, boolean: bool = False) -> pd.Series:
    """A column as strings (``None`` when missing), the same whatever the dtype it came in.

    Integral floats read ``"1"`` not ``"1.0"`` (an int column with gaps becomes float);
    boolean columns read ``"true"``/``"false"`` whether they came as bools, 0/1 or yes/no.
    """

    def text(value: Any) -> str:
        if isinstance(value, float | np.floating) and float(value).is_integer():
            value = int(value)
        out = str(value)
        if boolean:
            low = out.strip().lower()
            out = "true" if low in _TRUE else "false" if low in _FALSE else out
        return out

    values = col.astype("object")
    mask = values.notna().to_numpy()
    out = np.full(len(values), None, dtype=object)
    out[mask] = [text(v) for v in values.to_numpy()[mask]]
    return pd.Series(out, index=col.index, name=col.name, dtype="object")


def canonical_frame(frame: pd.DataFrame, features: dict[str, str],
                    booleans: frozenset[str] = frozenset()) -> pd.DataFrame:
    """The monitored columns of ``frame`` in canonical form; absent columns are all missing."""
    data: dict[str, Any] = {}
    for name, kind in features.items():
        if name not in frame.columns:
            data[name] = (np.full(len(frame), np.nan) if kind == NUMBER
                          else pd.Series([None] * len(frame), index=frame.index, dtype="object"))
        elif kind == NUMBER:
            data[name] = numeric_values(frame[name])
        else:
            data[name] = category_values(frame[name], boolean=name in booleans)
    return pd.DataFrame(data, index=frame.index)


# --------------------------------------------------------------------------------------------
# Prepared reference columns (derived on demand, never stored)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NumericReference:
    """One number column of the reference sample, arranged for fast comparisons."""

    missing: np.ndarray  # bool, one per reference row
    values: np.ndarray  # the non-missing values, in sample order
    sorted: np.ndarray
    grid: np.ndarray  # distinct values, ascending
    codes: np.ndarray  # position of each value in ``grid``
    psi_edges: np.ndarray  # interior decile edges (distinct)
    bins: np.ndarray  # PSI bin of each value
    mean: float
    std: float

    @classmethod
    def build(cls, raw: np.ndarray, n_bins: int = PSI_BINS) -> NumericReference:
        missing = np.isnan(raw)
        values = raw[~missing]
        grid, codes = np.unique(values, return_inverse=True)
        if len(values):
            inner = np.quantile(values, np.linspace(0, 1, n_bins + 1)[1:-1])
            edges = np.unique(inner)
        else:
            edges = np.empty(0)
        return cls(
            missing=missing, values=values, sorted=np.sort(values), grid=grid,
            codes=codes.ravel(), psi_edges=edges, bins=psi_bin(values, edges),
            mean=float(values.mean()) if len(values) else float("nan"),
            std=float(values.std(ddof=1)) if len(values) > 1 else float("nan"),
        )

    @property
    def n_bins(self) -> int:
        return len(self.psi_edges) + 1


def psi_bin(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The PSI bin of each value: bin ``i`` holds ``edges[i-1] <= x < edges[i]``."""
    return np.searchsorted(edges, values, side="right")


@dataclass(frozen=True)
class CategoryReference:
    """One category column of the reference sample: categories (most frequent first), codes."""

    missing: np.ndarray
    categories: tuple[str, ...]
    codes: np.ndarray  # 0..K-1 for each non-missing value, in sample order
    counts: np.ndarray

    @classmethod
    def build(cls, values: pd.Series) -> CategoryReference:
        missing = values.isna().to_numpy()
        present = values[~missing].astype(str)
        counts = present.value_counts()
        order = sorted(counts.index, key=lambda c: (-int(counts[c]), c))
        lookup = {c: i for i, c in enumerate(order)}
        codes = np.fromiter((lookup[v] for v in present), dtype=np.int64, count=len(present))
        return cls(missing=missing, categories=tuple(order), codes=codes,
                   counts=np.bincount(codes, minlength=len(order)))

    def encode(self, values: pd.Series) -> tuple[np.ndarray, list[str]]:
        """Codes of non-missing ``values`` (unseen ones get ``K``) and the unseen values."""
        present = values.dropna().astype(str)
        codes = pd.Index(self.categories, dtype="object").get_indexer(present).astype(np.int64)
        unseen = codes < 0
        codes[unseen] = len(self.categories)
        return codes, sorted(set(present[unseen]))


# --------------------------------------------------------------------------------------------
# The baseline
# --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class Baseline:
    """The training rows' reference for monitoring one model version.

    Build it once with :meth:`from_frame` on the training rows, :meth:`save` it with the model
    version, :meth:`load` it to check a batch of requests against it.
    """

    features: dict[str, str]  # name → "numeric" | "categorical", in column order
    reference: pd.DataFrame  # canonical sample of the training rows (monitored columns)
    schema: Schema
    targets: list[str]
    n_rows: int  # training rows the baseline was built from
    stats: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    created: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    # ---------------------------------------------------------------------------- building

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, schema: Schema,
                   target: str | list[str] | None = None, *, max_rows: int = MAX_ROWS,
                   seed: int = 0, meta: dict[str, Any] | None = None) -> Baseline:
        """The baseline of ``frame`` (the training rows), keeping at most ``max_rows`` rows."""
        targets = [target] if isinstance(target, str) else list(target or [])
        if len(frame) < MIN_ROWS:
            raise MonitorError(
                f"a baseline needs at least {MIN_ROWS} training rows, got {len(frame)}",
                "build it from the training rows of the model, not from a handful of rows")
        features: dict[str, str] = {}
        for name in frame.columns:
            info = schema.columns.get(str(name))
            if info is None or str(name) in targets:
                continue
            kind = monitored_kind(info.kind)
            if kind is not None:
                features[str(name)] = kind
        if not features:
            raise MonitorError(
                "no column of the training rows can be monitored",
                "monitoring compares numeric and category columns; ids, texts and dates "
                "are left out")
        booleans = frozenset(n for n in features if schema.kind(n) == ColumnKind.BOOLEAN)
        sample = frame if len(frame) <= max_rows else frame.sample(max_rows, random_state=seed)
        reference = canonical_frame(sample, features, booleans).reset_index(drop=True)
        kept = [c for c in frame.columns if str(c) in features or str(c) in targets]
        sub_schema = Schema(columns={str(c): schema.columns[str(c)] for c in kept
                                     if str(c) in schema.columns},
                            geo_pairs=[p for p in schema.geo_pairs
                                       if p[0] in features and p[1] in features],
                            n_rows=len(frame))
        stats = column_stats(frame[kept], sub_schema, targets[0] if targets else None)
        return cls(features=features, reference=reference, schema=sub_schema, targets=targets,
                   n_rows=len(frame), stats=jsonable(stats), seed=seed,
                   created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                   meta=dict(meta or {}))

    # ----------------------------------------------------------------------- saving/loading

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``reference.parquet`` then ``baseline.json`` (atomically) into ``directory``.

        The JSON is written last and records the Parquet file's SHA-256: a directory with a
        JSON always has the matching sample, and :meth:`load` notices a swapped file.
        """
        directory = Path(directory)
        parquet = write_parquet(directory / REFERENCE_FILE, self.reference)
        document = {
            "format": FORMAT_VERSION,
            "created": self.created,
            "n_rows": self.n_rows,
            "n_reference": len(self.reference),
            "seed": self.seed,
            "targets": self.targets,
            "features": self.features,
            "schema": self.schema.to_dict(),
            "stats": self.stats,
            "meta": jsonable(self.meta),
            "reference_file": REFERENCE_FILE,
            "reference_sha256": sha256_file(parquet),
        }
        text = json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)
        write_text(directory / BASELINE_FILE, text + "\n")
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> Baseline:
        """Read a baseline written by :meth:`save`, checking the sample's checksum."""
        directory = Path(directory)
        path = directory / BASELINE_FILE
        if not path.exists():
            raise MonitorError(f"no monitoring baseline at {directory}",
                               "a baseline is saved with each model version; build one with "
                               "Baseline.from_frame(training rows, schema, target).save(dir)")
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise MonitorError(f"{path} is not valid JSON: {exc}",
                               "rebuild the baseline from the training rows") from exc
        if document.get("format") != FORMAT_VERSION:
            raise MonitorError(f"{path} has format {document.get('format')!r}, "
                               f"this mlpilot reads format {FORMAT_VERSION}",
                               "rebuild the baseline with this version of mlpilot")
        parquet = directory / document["reference_file"]
        if not parquet.exists() or sha256_file(parquet) != document["reference_sha256"]:
            raise MonitorError(f"the reference sample {parquet} is missing or does not match "
                               f"the checksum recorded in {path}",
                               "restore both files together, or rebuild the baseline")
        features = {str(k): str(v) for k, v in document["features"].items()}
        reference = pd.read_parquet(parquet)
        for name, kind in features.items():
            reference[name] = (reference[name].astype("float64") if kind == NUMBER
                               else reference[name].astype("object").where(
                                   reference[name].notna(), None))
        return cls(features=features, reference=reference[list(features)],
                   schema=Schema.from_dict(document["schema"]),
                   targets=list(document["targets"]), n_rows=int(document["n_rows"]),
                   stats=document.get("stats", {}), seed=int(document.get("seed", 0)),
                   created=str(document.get("created", "")), meta=document.get("meta", {}))

    # --------------------------------------------------------------------------- using it

    @cached_property
    def booleans(self) -> frozenset[str]:
        return frozenset(n for n in self.features
                         if n in self.schema.columns and self.schema.kind(n) == ColumnKind.BOOLEAN)

    def canonical(self, current: pd.DataFrame) -> pd.DataFrame:
        """``current``'s monitored columns in the reference's canonical form."""
        return canonical_frame(current, self.features, self.booleans)

    @cached_property
    def _prepared(self) -> dict[str, NumericReference | CategoryReference]:
        return {}

    def numeric(self, name: str) -> NumericReference:
        """The prepared reference of a number column (built once, then cached)."""
        ref = self._prepared.get(name)
        if ref is None:
            ref = NumericReference.build(self.reference[name].to_numpy(dtype=float))
            self._prepared[name] = ref
        assert isinstance(ref, NumericReference)
        return ref

    def category(self, name: str) -> CategoryReference:
        """The prepared reference of a category column (built once, then cached)."""
        ref = self._prepared.get(name)
        if ref is None:
            ref = CategoryReference.build(self.reference[name])
            self._prepared[name] = ref
        assert isinstance(ref, CategoryReference)
        return ref

    def __repr__(self) -> str:
        kinds = {k: sum(v == k for v in self.features.values()) for k in (NUMBER, CATEGORY)}
        return (f"Baseline({len(self.features)} features ({kinds[NUMBER]} numeric, "
                f"{kinds[CATEGORY]} categorical), {len(self.reference):,} reference rows of "
                f"{self.n_rows:,}, targets={self.targets})")

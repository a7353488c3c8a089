"""What each cluster is: its size, and the columns and values that set it apart.

A clustering is only useful once a person can name its clusters ("young renters in the
city"). Per numeric column, the cluster's mean is compared with the overall mean in overall
standard deviations; per category column, the values over-represented in the cluster (share
in the cluster vs share overall, ranked by the same standard-deviation gap measured on the
value's 0/1 indicator). Profiles are computed on the original columns, not on the
scaled, one-hot encoded matrix the clustering saw, so they read in the data's own units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlpilot.data.schema import NUMERIC_KINDS, ColumnKind, infer_schema
from mlpilot.errors import UnsupervisedError
from mlpilot.unsupervised.inputs import as_frame

__all__ = ["ClusterProfiles", "cluster_profiles"]

#: A numeric difference smaller than this (in standard deviations) does not distinguish.
MIN_STD_DIFF = 0.25
#: A category value must be this much more common in the cluster (share points) to count.
MIN_SHARE_DIFF = 0.10
NOISE = -1


@dataclass
class ClusterProfiles:
    """Sizes, standardized numeric means and over-represented categories, per cluster."""

    sizes: pd.DataFrame  # index cluster; size, share
    numeric: pd.DataFrame  # clusters × numeric columns: (cluster mean − mean) / std
    means: pd.DataFrame  # clusters × numeric columns: the cluster means, in the data's units
    categories: pd.DataFrame  # cluster, column, value, share_in_cluster, share_overall
    top: dict[int, list[str]] = field(default_factory=dict)

    def distinguishing(self, cluster: int) -> list[str]:
        """The phrases that set ``cluster`` apart, strongest first."""
        return self.top.get(cluster, [])

    def table(self) -> pd.DataFrame:
        """One row per cluster: size, share and what distinguishes it (for reports)."""
        out = self.sizes.copy()
        out["share"] = (out["share"] * 100).round(1).astype(str) + "%"
        out["distinguished by"] = [
            "; ".join(self.top.get(int(c), [])) or "—" for c in out.index]
        out.index = [_name(int(c)) for c in out.index]
        out.index.name = "cluster"
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "clusters": [
                {"cluster": int(c), "size": int(row["size"]), "share": float(row["share"]),
                 "distinguished_by": self.top.get(int(c), []),
                 "std_diff": {k: _num(v) for k, v in self.numeric.loc[c].items()}
                 if c in self.numeric.index else {}}
                for c, row in self.sizes.iterrows()],
            "categories": [
                {k: (_num(v) if isinstance(v, float) else v) for k, v in rec.items()}
                for rec in self.categories.to_dict("records")],
        }


def cluster_profiles(data: pd.DataFrame | np.ndarray, labels: Sequence[int] | np.ndarray, *,
                     exclude: Sequence[str] = (), top: int = 3) -> ClusterProfiles:
    """Profile each cluster of ``labels`` on the columns of ``data`` (noise, -1, too)."""
    frame = as_frame(data).drop(columns=[c for c in exclude if c in as_frame(data).columns])
    labels = np.asarray(labels)
    if len(labels) != len(frame):
        raise UnsupervisedError(f"{len(labels)} labels for {len(frame)} rows",
                                "pass one cluster label per row")
    schema = infer_schema(frame)
    numeric = schema.names(*NUMERIC_KINDS, ColumnKind.BOOLEAN)
    categorical = schema.names(ColumnKind.CATEGORICAL)
    clusters = sorted(set(labels.tolist()))
    counts = pd.Series(labels).value_counts()
    sizes = pd.DataFrame({"size": [int(counts[c]) for c in clusters]}, index=clusters)
    sizes["share"] = sizes["size"] / len(labels)
    sizes.index.name = "cluster"

    values = pd.DataFrame({c: _as_float(frame[c]) for c in numeric}, index=frame.index)
    overall_mean = values.mean()
    overall_std = values.std(ddof=0).replace(0.0, np.nan)
    grouped = values.groupby(labels)
    means = grouped.mean().reindex(clusters)
    z = ((means - overall_mean) / overall_std).reindex(columns=numeric)

    rows: list[dict[str, Any]] = []
    for col in categorical:
        col_values = frame[col].astype("object").where(frame[col].notna(), "(missing)")
        overall = col_values.value_counts(normalize=True)
        for c in clusters:
            inside = col_values[labels == c].value_counts(normalize=True)
            for value, share in inside.items():
                diff = float(share - overall.get(value, 0.0))
                if diff >= MIN_SHARE_DIFF:
                    p = float(overall.get(value, 0.0))
                    # The value's indicator (0/1) measured like a numeric column: the gap
                    # in overall standard deviations, so both kinds rank on one scale.
                    sd = np.sqrt(p * (1 - p))
                    rows.append({"cluster": int(c), "column": str(col), "value": str(value),
                                 "share_in_cluster": float(share), "share_overall": p,
                                 "std_diff": diff / sd if sd > 0 else 0.0})
    categories = pd.DataFrame(rows, columns=["cluster", "column", "value",
                                             "share_in_cluster", "share_overall", "std_diff"])
    return ClusterProfiles(sizes, z, means, categories,
                           _top_phrases(z, categories, clusters, top))


def _top_phrases(z: pd.DataFrame, categories: pd.DataFrame, clusters: list[int],
                 top: int) -> dict[int, list[str]]:
    """Per cluster: the strongest numeric differences and category values, as phrases."""
    out: dict[int, list[str]] = {}
    for c in clusters:
        scored: list[tuple[float, str]] = []
        if c in z.index:
            for col, v in z.loc[c].dropna().items():
                if abs(v) >= MIN_STD_DIFF:
                    word = "high" if v > 0 else "low"
                    scored.append((abs(float(v)), f"{word} {col} ({v:+.1f} sd)"))
        picked = categories[categories["cluster"] == c]
        for rec in picked.to_dict("records"):
            scored.append((rec["std_diff"], f"{rec['column']} = {rec['value']} "
                                     f"({rec['share_in_cluster']:.0%} vs "
                                     f"{rec['share_overall']:.0%} overall)"))
        scored.sort(key=lambda item: -item[0])
        out[int(c)] = [text for _, text in scored[:top]]
    return out


_TRUE = {"true", "yes", "y", "t", "1"}
_FALSE = {"false", "no", "n", "f", "0"}


def _as_float(values: pd.Series) -> pd.Series:
    """Numbers as floats; booleans (True/False, "yes"/"no") as 1/0; anything else missing."""
    if values.dtype == bool:
        return values.astype(float)
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float)
    text = values.astype("string").str.strip().str.lower()
    if text.dropna().isin(_TRUE | _FALSE).all():
        flags = np.where(text.isin(_TRUE).fillna(False), 1.0,
                         np.where(text.isin(_FALSE).fillna(False), 0.0, np.nan))
        return pd.Series(flags, index=values.index)
    return pd.to_numeric(values, errors="coerce").astype(float)


def _name(cluster: int) -> str:
    return "noise" if cluster == NOISE else str(cluster)


def _num(value: Any) -> float | None:
    v = float(value)
    return v if np.isfinite(v) else None

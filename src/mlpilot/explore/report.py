"""The result of exploring a table: statistics, flags, figures, and how to save them."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mlpilot.atomic import write_text
from mlpilot.data.schema import Schema
from mlpilot.features.images import ImageLayout

from .flags import RULES, Flag
from .leakage import LEAK_ACCURACY, LEAK_AUC, LEAK_R2, LEAK_SAMPLE, TREE_DEPTH
from .page import render_document, render_fragment

LEAKAGE_RULE = (
    f"leakage: one feature alone (depth-{TREE_DEPTH} tree, or per-category mean, "
    f"cross-validated on ≤ {LEAK_SAMPLE:,} rows) reaches R² ≥ {LEAK_R2:g} (regression), "
    f"ROC AUC ≥ {LEAK_AUC:g} (binary) or balanced accuracy ≥ {LEAK_ACCURACY:g} (multiclass)"
)


@dataclass
class Exploration:
    """What :func:`mlpilot.explore.explore` found about one (training) table.

    ``stats`` is plain JSON (the monitoring baseline), ``flags`` the findings to act on,
    ``figures`` name → PNG bytes. The remaining attributes are the tables shown in the report;
    ``image`` is set when the rows are images (then the tables leave the pixels out).
    """

    target: str | None
    schema: Schema
    stats: dict[str, Any]
    flags: list[Flag]
    figures: dict[str, bytes]
    structure: pd.DataFrame
    describe: pd.DataFrame
    value_counts: dict[str, pd.Series]
    correlations: pd.DataFrame | None
    name: str | None = None
    rules: list[str] = field(default_factory=lambda: [*RULES, LEAKAGE_RULE])
    image: ImageLayout | None = None

    def flags_of(self, kind: str | None = None, column: str | None = None) -> list[Flag]:
        """The flags of one kind and/or about one column."""
        return [f for f in self.flags
                if (kind is None or f.kind == kind) and (column is None or f.column == column)]

    def to_dict(self) -> dict[str, Any]:
        """Statistics and flags as plain JSON-ready data."""
        return {"stats": self.stats, "flags": [f.to_dict() for f in self.flags]}

    def to_json(self, path: str | os.PathLike[str]) -> Path:
        """Write statistics and flags to ``path`` (atomically); returns the path."""
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False)
        return write_text(path, text + "\n")

    def html(self) -> str:
        """The report as one self-contained HTML document."""
        return render_document(self)

    def to_html(self, path: str | os.PathLike[str]) -> Path:
        """Write the self-contained HTML report to ``path`` (atomically); returns the path."""
        return write_text(path, self.html())

    def _repr_html_(self) -> str:
        return render_fragment(self)

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for f in self.flags:
            counts[str(f.kind)] = counts.get(str(f.kind), 0) + 1
        flags = ", ".join(f"{k}={n}" for k, n in counts.items()) or "none"
        return (f"Exploration({self.stats['n_rows']} rows × {self.stats['n_columns']} columns, "
                f"target={self.target!r}, flags: {flags}, figures: {sorted(self.figures)})")

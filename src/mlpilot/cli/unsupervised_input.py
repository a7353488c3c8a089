"""Where the unsupervised commands read their rows and write their reports.

``--data`` names a table (CSV, Parquet, SQLAlchemy URL with ``--query``, or a catalog name
such as ``digits``); without it, ``--project`` gives the project's training rows (never the
locked test rows) and its target becomes the label column. A label column is never used as
a feature: it colours maps, names clusters and scores labelling.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from mlpilot.data.sources import SourceSpec, detect_kind, read_source
from mlpilot.errors import ConfigError

Data = Annotated[str | None, typer.Option(
    "--data", "-d", help="table: .csv, .parquet, a SQLAlchemy URL (with --query) or a catalog "
                         "name (digits, moons, iris ...); default: the project's training rows")]
Query = Annotated[str | None, typer.Option(help="SQL query when --data is a database URL")]
Label = Annotated[str | None, typer.Option(
    help="a column kept out of the features (colours maps, scores labels); "
         "default: the project's target, or a catalog dataset's")]
OutDir = Annotated[Path | None, typer.Option(
    "--out", help="directory for reports and models (default: the project's reports/, "
                  "or ./mlpilot-reports)")]
ProjectOpt = Annotated[Path, typer.Option("--project", "-p", help="project directory",
                                          show_default="current directory")]


@dataclass
class InputTable:
    """The rows to work on, the label column (if any) set apart, and where to write."""

    frame: pd.DataFrame
    label: pd.Series | None
    out_dir: Path
    origin: str

    @property
    def features(self) -> pd.DataFrame:
        return self.frame if self.label is None else self.frame.drop(columns=[self.label.name])


def load_input(data: str | None, project: Path, label: str | None, out: Path | None,
               query: str | None = None) -> InputTable:
    """Read ``--data`` (or the project's training rows) and set the label column apart."""
    if data is None:
        from mlpilot.project import Project

        proj = Project.open(project)
        frame = proj.train_frame()
        origin = f"training rows of {proj.root.name}"
        if label is None and len(proj.targets) == 1:
            label = proj.targets[0]
        out_dir = out or proj.layout.reports
    else:
        kind = detect_kind(data, query)
        frame = read_source(SourceSpec(data, kind, query))
        origin = Path(data).name if kind != "sql" else "SQL query"
        if label is None and kind == "catalog":
            from mlpilot.data.catalog import dataset_info

            label = dataset_info(data).target
        out_dir = out or Path("mlpilot-reports")
    if label is not None and label not in frame.columns:
        raise ConfigError(f"label column {label!r} is not in the data",
                          f"columns are: {', '.join(map(str, frame.columns[:20]))}")
    out_dir.mkdir(parents=True, exist_ok=True)
    return InputTable(frame, frame[label] if label else None, out_dir, origin)

"""Where things live inside a project directory, defined once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlpilot.atomic import write_text
from mlpilot.project.config import CONFIG_FILE

LAYOUT_DOC = """\
# This is an mlpilot project

| path | what it holds |
|---|---|
| `mlpilot.toml` | the settings: data source, target, task, metric, split, budget, seed |
| `.mlpilot/state.db` | the state database (SQLite by default): dataset versions, \
the locked split, runs, scores, models, test-set reads |
| `data/versions/<hash>.parquet` | a snapshot of every dataset version the project used, \
named by its content hash |
| `data/schema.json` | the inferred column kinds, with the reason for each |
| `models/` | trained models (one file each; its SHA-256 is in the database) |
| `reports/` | exploration and evaluation reports (HTML, JSON) |

The test set is set aside when the project starts and stored as row keys in the database.
Only `mlpilot evaluate` reads it, and every read is recorded.
"""


@dataclass(frozen=True)
class ProjectLayout:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def state_dir(self) -> Path:
        return self.root / ".mlpilot"

    @property
    def database(self) -> Path:
        return self.state_dir / "state.db"

    @property
    def versions(self) -> Path:
        return self.root / "data" / "versions"

    @property
    def schema(self) -> Path:
        return self.root / "data" / "schema.json"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def snapshot(self, content_hash: str) -> Path:
        return self.versions / f"{content_hash[:16]}.parquet"

    def create(self) -> None:
        for directory in (self.state_dir, self.versions, self.models, self.reports):
            directory.mkdir(parents=True, exist_ok=True)
        readme = self.root / "README.md"
        if not readme.exists():
            write_text(readme, LAYOUT_DOC)

"""The project's state database, reached through SQLAlchemy (SQLite by default, any URL).

Tables use portable types only (no SQLite- or PostgreSQL-specific ones), so the same schema
runs on both. Every change happens inside a transaction (:meth:`StateStore.session`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from mlpilot.errors import ConfigError


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class DatasetVersion(Base):
    __tablename__ = "dataset_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    content_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    source: Mapped[str] = mapped_column(sa.Text)
    n_rows: Mapped[int]
    n_columns: Mapped[int]
    snapshot_path: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class Split(Base):
    __tablename__ = "splits"
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_version_id: Mapped[int] = mapped_column(sa.ForeignKey("dataset_versions.id"))
    strategy: Mapped[str] = mapped_column(sa.String(32))
    test_size: Mapped[float]
    seed: Mapped[int]
    key_column: Mapped[str | None] = mapped_column(sa.String(255))
    n_train: Mapped[int]
    n_test: Mapped[int]
    details_json: Mapped[str] = mapped_column(sa.Text, default="{}")
    #: The schema inferred from the training rows only (no statistic of a test row leaks).
    schema_json: Mapped[str] = mapped_column(sa.Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    @property
    def schema_dict(self) -> dict[str, Any]:
        return json.loads(self.schema_json)


class SplitRow(Base):
    """One row key and its side of the split: the test set, stored as keys."""

    __tablename__ = "split_rows"
    split_id: Mapped[int] = mapped_column(sa.ForeignKey("splits.id"), primary_key=True)
    row_key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    is_test: Mapped[bool]


class TestSetRead(Base):
    __tablename__ = "test_set_reads"
    __test__ = False
    id: Mapped[int] = mapped_column(primary_key=True)
    split_id: Mapped[int] = mapped_column(sa.ForeignKey("splits.id"))
    purpose: Mapped[str] = mapped_column(sa.Text)
    model_id: Mapped[int | None]
    n_rows: Mapped[int]
    read_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class Run(Base):
    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    run_key: Mapped[str] = mapped_column(sa.String(64), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="running")
    dataset_version_id: Mapped[int] = mapped_column(sa.ForeignKey("dataset_versions.id"))
    split_id: Mapped[int] = mapped_column(sa.ForeignKey("splits.id"))
    settings_json: Mapped[str] = mapped_column(sa.Text, default="{}")
    started_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class CandidateResult(Base):
    """One model's cross-validation result; finished ones are reused when a run resumes."""

    __tablename__ = "candidate_results"
    __table_args__ = (sa.UniqueConstraint("run_key", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_key: Mapped[str] = mapped_column(sa.String(64), index=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("runs.id"))
    name: Mapped[str] = mapped_column(sa.String(128))
    family: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16))
    fold_scores_json: Mapped[str] = mapped_column(sa.Text, default="[]")
    mean: Mapped[float | None]
    std: Mapped[float | None]
    fit_time: Mapped[float | None]
    score_time: Mapped[float | None]
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    @property
    def fold_scores(self) -> list[float]:
        return list(json.loads(self.fold_scores_json))


class ModelRecord(Base):
    __tablename__ = "models"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("runs.id"))
    name: Mapped[str] = mapped_column(sa.String(128))
    metric: Mapped[str] = mapped_column(sa.String(32))
    cv_mean: Mapped[float]
    cv_std: Mapped[float]
    artifact_path: Mapped[str] = mapped_column(sa.Text)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    dataset_version_id: Mapped[int] = mapped_column(sa.ForeignKey("dataset_versions.id"))
    split_id: Mapped[int] = mapped_column(sa.ForeignKey("splits.id"))
    library_versions_json: Mapped[str] = mapped_column(sa.Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class EvaluationRecord(Base):
    """One look at the test set by a model: the score, its interval, where the details are."""

    __tablename__ = "evaluations"
    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(sa.ForeignKey("models.id"))
    test_read_id: Mapped[int] = mapped_column(sa.ForeignKey("test_set_reads.id"))
    metric: Mapped[str] = mapped_column(sa.String(32))
    score: Mapped[float]
    ci_low: Mapped[float | None]
    ci_high: Mapped[float | None]
    n_rows: Mapped[int]
    details_path: Mapped[str] = mapped_column(sa.Text)  # the JSON with slices and diagnostics
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class DecisionThreshold(Base):
    """A binary model's decision threshold, chosen on out-of-fold scores for a target."""

    __tablename__ = "decision_thresholds"
    model_id: Mapped[int] = mapped_column(sa.ForeignKey("models.id"), primary_key=True)
    base_model_id: Mapped[int] = mapped_column(sa.ForeignKey("models.id"))
    threshold: Mapped[float]
    target: Mapped[str] = mapped_column(sa.String(16))  # "precision" | "recall"
    target_value: Mapped[float]
    precision: Mapped[float]
    recall: Mapped[float]
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class ModelMetadata(Base):
    """What the registry knows about a model version beyond its scores.

    ``trusted_types_json`` is the list of types the artifact was written with, recorded by
    mlpilot when it saved the file: loading trusts exactly these and never asks the file
    (a crafted artifact cannot widen its own trust).
    """

    __tablename__ = "model_metadata"
    model_id: Mapped[int] = mapped_column(sa.ForeignKey("models.id"), primary_key=True)
    format: Mapped[str] = mapped_column(sa.String(16))  # "skops" | "joblib"
    trusted_types_json: Mapped[str] = mapped_column(sa.Text, default="[]")
    params_json: Mapped[str] = mapped_column(sa.Text, default="{}")
    data_hash: Mapped[str] = mapped_column(sa.String(64))
    n_train_rows: Mapped[int]
    baseline_path: Mapped[str | None] = mapped_column(sa.Text)
    input_schema_json: Mapped[str] = mapped_column(sa.Text, default="{}")


class ModelAlias(Base):
    """A name (``champion``, ``challenger``) pointing at one model version."""

    __tablename__ = "model_aliases"
    alias: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    model_id: Mapped[int] = mapped_column(sa.ForeignKey("models.id"))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class Deployment(Base):
    """Append-only history: what went live (or was refused), when, why and by whom."""

    __tablename__ = "deployments"
    id: Mapped[int] = mapped_column(primary_key=True)
    alias: Mapped[str] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(16))  # promote | rollback | blocked
    model_id: Mapped[int] = mapped_column(sa.ForeignKey("models.id"))
    previous_model_id: Mapped[int | None] = mapped_column(sa.ForeignKey("models.id"))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    actor: Mapped[str] = mapped_column(sa.String(128), default="")
    details_json: Mapped[str] = mapped_column(sa.Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class StateStore:
    """Opens the database, creates missing tables, hands out transactional sessions."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = sa.create_engine(url)
            if self.engine.dialect.name == "sqlite":
                sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            Base.metadata.create_all(self.engine)
        except sa.exc.SQLAlchemyError as exc:
            raise ConfigError(f"cannot open the state database: {str(exc).splitlines()[0]}",
                              "check database_url in mlpilot.toml") from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on any error."""
        with self._sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()

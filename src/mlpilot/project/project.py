"""``Project``: the Python face of every command, and the keeper of the locked test set.

A project is a directory (``mlpilot.toml``, snapshots, models, reports) plus a state
database. ``Project.init`` reads the data, versions it, infers the schema, frames the task
and sets the test set aside *before anything else looks at the data*. After that, every
step reads :meth:`Project.train_frame` — the training rows only. The test rows are reachable
only through :meth:`Project.evaluate`, and each read is recorded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from mlpilot.atomic import sha256_file, write_array, write_parquet, write_text
from mlpilot.data import split as splitting
from mlpilot.data.schema import NUMERIC_KINDS, Schema, infer_schema
from mlpilot.data.sources import SourceSpec, check_frame, detect_kind, read_source
from mlpilot.data.versions import content_hash
from mlpilot.errors import (
    ConfigError,
    DataQualityWarning,
    MlpilotError,
    ModelNotFoundError,
    ProjectError,
    SplitError,
    TestSetReuseWarning,
)
from mlpilot.evaluate.evaluation import (
    EvaluationResult,
    evaluate_predictions,
    plain,
    records,
    slice_columns,
)
from mlpilot.evaluate.intervals import CONFIDENCE
from mlpilot.evaluate.metrics import Metric, get_metric
from mlpilot.evaluate.predictions import Predictions, from_probabilities, predict
from mlpilot.features.builder import (
    PreparationPlan,
    build_from_source,
    choose_geo_value,
    plan_preparation,
    ratio_candidates,
    render_python,
    select_ratios,
)
from mlpilot.frame import Framing, frame_problem
from mlpilot.models.unwrap import family_pipeline, unwrap_threshold
from mlpilot.models.zoo import Candidate, default_candidates
from mlpilot.project.config import (
    DataConfig,
    ProjectConfig,
    SplitConfig,
    load_config,
    save_config,
    validate_config,
)
from mlpilot.project.layout import ProjectLayout
from mlpilot.project.lifecycle import LifecycleMixin
from mlpilot.project.results import DatabaseResultStore
from mlpilot.project.state import (
    DatasetVersion,
    DecisionThreshold,
    EvaluationRecord,
    ModelMetadata,
    ModelRecord,
    Run,
    Split,
    SplitRow,
    StateStore,
    TestSetRead,
    utcnow,
)
from mlpilot.registry.params import library_versions, model_params
from mlpilot.registry.persistence import JOBLIB, load_artifact, save_artifact
from mlpilot.search.parallel import compute_backend
from mlpilot.search.shortlist import CandidateScore, Event, Leaderboard, make_cv
from mlpilot.search.train import (
    TrainOutcome,
    TuneReport,
    feature_importances,
    train_final,
    tune_and_choose,
)

if TYPE_CHECKING:
    from mlpilot.evaluate.threshold import ThresholdChoice
    from mlpilot.explore import Exploration

DATABASE_URL_ENV = "MLPILOT_DATABASE_URL"
#: Rows the learning and validation curves use at most (a random sample).
CURVE_ROWS = 5_000
#: About how long ``evaluate`` may spend on permutation importances: fewer shuffles, then
#: fewer rows, when the model is slow to predict (a fold-bagged ensemble of 15 pipelines
#: took 48 s for 3 shuffles of housing's 10 columns on 2,000 test rows).
EVALUATE_IMPORTANCE_SECONDS = 15.0


@dataclass
class TrainResult:
    leaderboard: Leaderboard
    model: ModelRecord
    run_id: int
    outcome: TrainOutcome


@dataclass
class Preparation:
    plan: PreparationPlan | None  # None when prepare.py was kept as the user left it
    path: Path
    written: bool


@dataclass
class Evaluation:
    metric: Metric
    score: float
    cv_mean: float
    cv_std: float
    n_rows: int
    model_id: int
    model_name: str
    previous_reads: int
    result: EvaluationResult | None = None
    details_path: Path | None = None


@dataclass
class ReportFiles:
    html: Path
    pdf: Path | None  # None when no headless browser was found


@dataclass
class ThresholdResult:
    choice: ThresholdChoice
    record: ModelRecord  # the new model version that carries the threshold
    base: ModelRecord  # the model it wraps


@dataclass
class TestRows:
    __test__ = False
    frame: pd.DataFrame
    previous: int  # earlier reads of the test set
    read_id: int


class Project(LifecycleMixin):
    """An mlpilot project directory and its state."""

    def __init__(self, root: Path, config: ProjectConfig) -> None:
        self.root = root
        self.config = config
        self.layout = ProjectLayout(root)
        self.state = StateStore(self.database_url)
        # Snapshot and split are immutable once written: read the training rows once.
        self._train_rows: pd.DataFrame | None = None
        # The last model this object saved, by record id: tune reuses its fitted members.
        self._saved: tuple[int, Any] | None = None

    # ------------------------------------------------------------------ creation
    @classmethod
    def init(
        cls,
        directory: str | os.PathLike[str],
        data: str | os.PathLike[str] | pd.DataFrame,
        target: str | Sequence[str],
        *,
        name: str | None = None,
        task: str = "auto",
        metric: str = "auto",
        seed: int = 42,
        budget: float = 120.0,
        cv_folds: int = 5,
        split: str = "auto",
        test_size: float = 0.2,
        stratify_on: str | None = None,
        bins: list[float] | None = None,
        time_column: str | None = None,
        id_column: str | None = None,
        query: str | None = None,
        encoding: str = "utf-8",
        database_url: str | None = None,
        exist_ok: bool = False,
    ) -> Project:
        """Create a project: validate everything first, then write (nothing half-made)."""
        root = Path(directory).expanduser().resolve()
        if (root / "mlpilot.toml").exists():
            if not exist_ok:
                raise ProjectError(f"{root} already holds an mlpilot project",
                                   "open it (--project DIR) or choose another directory")
            project = cls.open(root)
            wanted = target if isinstance(target, str) else list(target)
            if project.config.target != wanted:
                raise ProjectError(
                    f"{root} is a project for target {project.config.target!r}, not {wanted!r}",
                    "choose another --project directory")
            return project
        if root.exists() and not root.is_dir():
            raise ProjectError(f"{root} is a file", "choose a directory for the project")

        frame, source = _resolve_data(data, query, encoding)
        raw_config: dict[str, Any] = {
            "name": name or root.name, "target": target if isinstance(target, str)
            else list(target), "task": task, "metric": metric, "seed": seed, "budget": budget,
            "cv_folds": cv_folds, "database_url": database_url,
            "data": {"source": source, "query": query, "encoding": encoding,
                     "id_column": id_column},
            "split": {"strategy": split, "test_size": test_size, "stratify_on": stratify_on,
                      "bins": bins, "time_column": time_column},
        }
        if isinstance(data, pd.DataFrame):
            raw_config["data"]["kind"] = "parquet"
        config = validate_config(_drop_none(raw_config), "arguments")
        framing = frame_problem(frame, config.target, config.task, config.metric)
        for column in (id_column, stratify_on, time_column):
            if column is not None and column not in frame.columns:
                raise ConfigError(f"column {column!r} is not in the data",
                                  f"columns are: {', '.join(frame.columns[:20])}")

        layout = ProjectLayout(root)
        layout.create()
        if isinstance(data, pd.DataFrame):
            write_parquet(root / source, frame)
        save_config(config, layout.config)
        project = cls(root, config)
        version, frame = project._ingest(frame)
        project._lock_test_set(version, frame, framing)
        return project

    @classmethod
    def open(cls, directory: str | os.PathLike[str] = ".") -> Project:
        root = Path(directory).expanduser().resolve()
        if not root.is_dir():
            raise ProjectError(f"no project directory {root}",
                               "create one with `mlpilot init DIR --data FILE --target COLUMN`")
        config = load_config(ProjectLayout(root).config)
        return cls(root, config)

    @property
    def database_url(self) -> str:
        return (os.environ.get(DATABASE_URL_ENV) or self.config.database_url
                or f"sqlite:///{self.layout.database}")

    def close(self) -> None:
        self.state.dispose()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ data
    def _ingest(self, frame: pd.DataFrame) -> tuple[DatasetVersion, pd.DataFrame]:
        """Version the data: content hash, Parquet snapshot, schema — idempotent."""
        frame = _parquet_safe(frame)
        digest = content_hash(frame)
        with self.state.session() as session:
            existing = session.scalar(sa.select(DatasetVersion)
                                      .where(DatasetVersion.content_hash == digest))
            if existing is not None:
                return existing, frame
        snapshot = self.layout.snapshot(digest)
        if not snapshot.exists():
            write_parquet(snapshot, frame)
        with self.state.session() as session:
            version = DatasetVersion(
                content_hash=digest, source=self.config.data.source, n_rows=len(frame),
                n_columns=frame.shape[1], snapshot_path=str(snapshot.relative_to(self.root)))
            session.add(version)
        return version, frame

    @property
    def targets(self) -> list[str]:
        t = self.config.target
        return [t] if isinstance(t, str) else list(t)

    def dataset_version(self) -> DatasetVersion:
        """The dataset version the project works on: the newest one with a locked split.

        ``init`` makes the first; ``retrain --data`` adds later ones (old rows keep their side).
        """
        with self.state.session() as session:
            version = session.scalar(
                sa.select(DatasetVersion).join(Split, Split.dataset_version_id == DatasetVersion.id)
                .order_by(DatasetVersion.id.desc()))
        if version is None:
            raise ProjectError(f"the project in {self.root} has no data yet",
                               "re-create it with `mlpilot init`")
        return version

    @property
    def schema(self) -> Schema:
        """Column kinds and counts, inferred from the training rows only."""
        return Schema.from_dict(self.split().schema_dict)

    def _snapshot(self, version: DatasetVersion) -> pd.DataFrame:
        path = self.root / version.snapshot_path
        if not path.exists():
            raise ProjectError(f"the snapshot of dataset version {version.content_hash[:12]} "
                               f"is missing ({path})", "restore it from a backup")
        return pd.read_parquet(path)

    def _row_keys(self, frame: pd.DataFrame) -> pd.Series:
        column = self.config.data.id_column
        if column is None:
            return pd.Series(np.arange(len(frame)).astype(str), index=frame.index)
        return frame[column].astype(str)

    # ------------------------------------------------------------------ the locked test set
    def _lock_test_set(self, version: DatasetVersion, frame: pd.DataFrame,
                       framing: Framing) -> Split:
        existing = self._find_split(version.id)
        if existing is not None:
            return existing
        cfg = self.config.split
        result = _compute_split(frame, cfg, framing, self.config.data.id_column,
                                self.config.seed, infer_schema(frame, self.targets))
        return self._store_split(version, frame, result.is_test, result.strategy,
                                 result.details)

    def _store_split(self, version: DatasetVersion, frame: pd.DataFrame, is_test: np.ndarray,
                     strategy: str, details: dict[str, Any]) -> Split:
        """Write a version's split: the schema of its training rows, then the row keys."""
        keys = self._row_keys(frame)
        if keys.duplicated().any():
            raise SplitError(f"id column {self.config.data.id_column!r} has duplicate values",
                             "choose a column unique per row")
        train_rows = frame.loc[~is_test].reset_index(drop=True)
        schema_json = json.dumps(infer_schema(train_rows, self.targets,
                                              ids=[self.config.data.id_column]).to_dict(),
                                 indent=2)
        write_text(self.layout.schema, schema_json)
        with self.state.session() as session:
            split = Split(dataset_version_id=version.id, strategy=strategy,
                          test_size=self.config.split.test_size, seed=self.config.seed,
                          key_column=self.config.data.id_column, n_train=int((~is_test).sum()),
                          n_test=int(is_test.sum()), details_json=json.dumps(details),
                          schema_json=schema_json)
            session.add(split)
            session.flush()
            session.execute(sa.insert(SplitRow), [
                {"split_id": split.id, "row_key": k, "is_test": bool(t)}
                for k, t in zip(keys.to_numpy(), is_test, strict=True)])
        self._train_rows = None
        return split

    def _find_split(self, version_id: int) -> Split | None:
        with self.state.session() as session:
            return session.scalar(sa.select(Split).where(Split.dataset_version_id == version_id)
                                  .order_by(Split.id))

    def split(self) -> Split:
        split = self._find_split(self.dataset_version().id)
        if split is None:
            raise ProjectError("the project has no test set yet", "re-create it with mlpilot init")
        return split

    def _test_keys(self, split: Split) -> set[str]:
        with self.state.session() as session:
            rows = session.scalars(sa.select(SplitRow.row_key).where(
                SplitRow.split_id == split.id, SplitRow.is_test.is_(True)))
            return set(rows)

    def _side(self, want_test: bool, version_id: int | None = None) -> pd.DataFrame:
        """Training or test rows of a dataset version (the current one by default)."""
        if version_id is None:
            version, split = self.dataset_version(), self.split()
        else:
            with self.state.session() as session:
                version = session.get(DatasetVersion, version_id)  # type: ignore[assignment]
            found = self._find_split(version_id)
            if version is None or found is None:
                raise ProjectError(f"dataset version #{version_id} has no split",
                                   "it was never used for training")
            split = found
        frame = self._snapshot(version)
        is_test = self._row_keys(frame).isin(self._test_keys(split)).to_numpy()
        return frame.loc[is_test if want_test else ~is_test].reset_index(drop=True)

    def train_frame(self) -> pd.DataFrame:
        """The training rows (all columns). Test rows never leave the project through here."""
        if self._train_rows is None:
            self._train_rows = self._side(want_test=False)
        return self._train_rows.copy()

    def training_data(self) -> tuple[pd.DataFrame, pd.Series | pd.DataFrame]:
        """Features and target of the training rows with a known target."""
        return self._xy(self.train_frame())

    def _xy(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series | pd.DataFrame]:
        targets = self.targets
        frame = frame.dropna(subset=targets).reset_index(drop=True)
        X = frame.drop(columns=targets)
        y: pd.Series | pd.DataFrame = frame[targets[0]] if len(targets) == 1 \
            else _indicator(frame[targets])
        return X, y

    def test_reads(self) -> list[TestSetRead]:
        with self.state.session() as session:
            return list(session.scalars(sa.select(TestSetRead)
                                        .where(TestSetRead.split_id == self.split().id)
                                        .order_by(TestSetRead.id)))

    def _read_test_set(self, purpose: str, model_id: int | None) -> tuple[pd.DataFrame, int]:
        """The one door to the test rows: records the read, warns when it is not the first."""
        rows = self._open_test_set(purpose, model_id)
        return rows.frame, rows.previous

    def _open_test_set(self, purpose: str, model_id: int | None) -> TestRows:
        split = self.split()
        previous = len(self.test_reads())
        if previous:
            warnings.warn(TestSetReuseWarning(
                f"test set already used {previous} time{'s' if previous > 1 else ''}: "
                "estimates are now optimistic"), stacklevel=4)
        frame = self._side(want_test=True)
        with self.state.session() as session:
            read = TestSetRead(split_id=split.id, purpose=purpose, model_id=model_id,
                               n_rows=len(frame))
            session.add(read)
            session.flush()
            read_id = read.id
        return TestRows(frame, previous, read_id)

    # ------------------------------------------------------------------ exploration
    def explore(self, *, size_by: str | None = None, color_by: str | None = None,
                draw: bool = True) -> Exploration:
        """Explore the training rows; write ``reports/explore.html`` and ``explore.json``.

        The JSON statistics are the monitoring baseline of every model trained afterwards.
        """
        from mlpilot.explore import explore

        target = self.targets[0] if len(self.targets) == 1 else None
        exploration = explore(self.train_frame(), target, self.schema, size_by=size_by,
                              color_by=color_by, draw=draw, name=self.config.name)
        exploration.to_json(self.layout.reports / "explore.json")
        if draw:
            exploration.to_html(self.layout.reports / "explore.html")
        return exploration

    # ------------------------------------------------------------------ preparation
    @property
    def prepare_path(self) -> Path:
        return self.root / "prepare.py"

    def prepare(self, *, force: bool = False) -> Preparation:
        """Plan the preprocessing from the schema and exploration flags; write prepare.py.

        An existing ``prepare.py`` (perhaps edited by the user) is kept unless ``force``.
        """
        if self.prepare_path.exists() and not force:
            return Preparation(None, self.prepare_path, written=False)
        plan = self.plan_preparation()
        write_text(self.prepare_path, render_python(plan))
        write_text(self.layout.reports / "prepare.json", json.dumps(
            {"columns": [{"column": c, "treatment": t, "reason": r} for c, t, r in plan.rows()],
             "rejected_ratios": [{"ratio": r.name, "reason": r.reason}
                                 for r in plan.rejected_ratios]}, indent=2))
        return Preparation(plan, self.prepare_path, written=True)

    def plan_preparation(self) -> PreparationPlan:
        """The automatic plan (not written): treatments with reasons, ratios chosen by CV."""
        cfg = self.config.prepare
        X, y = self.training_data()
        framing = self.framing
        exploration = self.explore(draw=False)
        heavy = [f.column for f in exploration.flags if f.kind == "heavy_tail" and f.column]
        minimums = {name: float(col["min"]) for name, col in exploration.stats["columns"].items()
                    if isinstance(col, dict) and col.get("min") is not None
                    and isinstance(col.get("min"), (int, float))}
        plan = plan_preparation(self.schema, self.targets, heavy_tailed=heavy,
                                minimums=minimums, overrides=dict(cfg.columns),
                                imputer=cfg.imputer, n_clusters=cfg.n_clusters,
                                seed=self.config.seed, task=framing.task, name=self.config.name,
                                pca=cfg.pca)
        plan = choose_geo_value(plan, X, y)
        if cfg.ratios == "auto":
            candidates = ratio_candidates(plan, X, heavy)
            plan = select_ratios(plan, X, y, candidates,
                                 get_metric(framing.metric, framing.task).scorer)
        return plan

    def preprocessor(self, variant: str = "scaled") -> Any:
        """The preprocessing pipeline built from ``prepare.py`` (written first if missing)."""
        if not self.prepare_path.exists():
            self.prepare()
        try:
            return build_from_source(self.prepare_path.read_text(encoding="utf-8"), variant)
        except Exception as exc:
            raise ConfigError(f"prepare.py failed: {type(exc).__name__}: {exc}",
                              "fix the file, or rewrite it with `mlpilot prepare --force`"
                              ) from None

    # ------------------------------------------------------------------ framing
    @property
    def framing(self) -> Framing:
        frame = self.train_frame()
        return frame_problem(frame, self.config.target, self.config.task, self.config.metric)

    # ------------------------------------------------------------------ training
    def train(self, *, budget: float | None = None,
              candidates: Sequence[Candidate] | None = None,
              models: Sequence[str] | None = None, ensemble: bool | None = None,
              target_precision: float | None = None, target_recall: float | None = None,
              on_event: Event | None = None) -> TrainResult:
        """Shortlist the zoo by cross-validation (halving), ensemble, refit, save."""
        X, y = self.training_data()
        framing = self.framing
        metric = get_metric(framing.metric, framing.task)
        preprocessor = {v: self.preprocessor(v) for v in ("scaled", "tree")}
        names = models or self.config.models
        if candidates is None:
            candidates = default_candidates(framing.task, len(X), X.shape[1], names=names)
        candidates = list(candidates)
        version, split = self.dataset_version(), self.split()
        run_key = _digest({"version": version.content_hash, "split": split.id,
                           "task": framing.task, "metric": metric.name,
                           "folds": self.config.cv_folds, "seed": self.config.seed,
                           "prepare.py": sha256_file(self.prepare_path), "stage": "halving-v2"})
        budget = budget or self.config.budget
        with self.state.session() as session:
            run = Run(kind="train", run_key=run_key, dataset_version_id=version.id,
                      split_id=split.id, settings_json=json.dumps(
                          {"budget": budget, "metric": metric.name,
                           "candidates": [c.name for c in candidates]}))
            session.add(run)
            session.flush()
            run_id = run.id
        store = DatabaseResultStore(self.state, run_key, run_id, self.layout.state_dir / "oof")
        status = "failed"
        try:
            with compute_backend(self.config.dask):
                outcome = train_final(
                    X, y, candidates=candidates, preprocessor=preprocessor, task=framing.task,
                    metric=metric, n_splits=self.config.cv_folds, seed=self.config.seed,
                    budget=budget, n_jobs=self.config.n_jobs, store=store, on_event=on_event,
                    ensemble=self.config.ensemble if ensemble is None else ensemble)
            record = self._save_model(outcome.model, outcome.chosen, metric, run_id,
                                      version.id, split.id)
            self._save_importances(outcome, record)
            status = "finished"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            with self.state.session() as session:
                session.execute(sa.update(Run).where(Run.id == run_id)
                                .values(status=status, finished_at=utcnow()))
        if target_precision is not None or target_recall is not None:
            record = self.set_threshold(target_precision=target_precision,
                                        target_recall=target_recall, record=record).record
        return TrainResult(outcome.leaderboard, record, run_id, outcome)

    def tune(self, *, strategy: str = "optuna", budget: float | None = None,
             n_trials: int | None = None, models: Sequence[str] | None = None, top: int = 2,
             on_event: Event | None = None) -> TuneReport:
        """Fine-tune the best families of the last training run, then keep what CV prefers.

        Each family's search is stored (Optuna: a study in the project database, resumable;
        every strategy: ``reports/tune-<model>-<strategy>.csv``). The tuned pipelines join
        the last run's finalists in ensemble selection; the result replaces the current model
        only when its cross-validated score is better.
        """
        X, y = self.training_data()
        framing = self.framing
        metric = get_metric(framing.metric, framing.task)
        current = self.latest_model()
        run = self._run(current.run_id)
        store = DatabaseResultStore(self.state, run.run_key, run.id,
                                    self.layout.state_dir / "oof")
        finalists = store.finalists(metric)
        names = list(models or [r.name for r in finalists if r.name != "dummy"][:top])
        if not names:
            raise ModelNotFoundError("no shortlisted model to tune",
                                     "run `mlpilot train` first")
        budget = budget or self.config.budget
        preprocessor = {v: self.preprocessor(v) for v in ("scaled", "tree")}
        with compute_backend(self.config.dask):
            report = tune_and_choose(
                X, y, names=names, finalists=finalists, preprocessor=preprocessor,
                task=framing.task, metric=metric, strategy=strategy, budget=budget,
                n_trials=n_trials, n_splits=self.config.cv_folds, seed=self.config.seed,
                n_jobs=self.config.n_jobs, storage_url=self.database_url,
                study_prefix=run.run_key[:12], current_cv=current.cv_mean,
                on_event=on_event,
                fitted=self._fitted_members(current, {f.name for f in finalists}))
        for result in report.results:
            result.to_csv(self.layout.reports / f"tune-{result.candidate}-{strategy}.csv")
        if report.model is not None:
            report.record = self._save_model(report.model, report.chosen, metric, run.id,
                                              current.dataset_version_id, current.split_id)
        return report

    def leaderboard(self, record: ModelRecord | None = None) -> pd.DataFrame:
        """The shortlist behind a model: every candidate's CV score on its largest rung."""
        record = record or self.latest_model()
        run = self._run(record.run_id)
        store = DatabaseResultStore(self.state, run.run_key, run.id,
                                    self.layout.state_dir / "oof")
        return store.leaderboard(get_metric(record.metric)).to_frame()

    def _run(self, run_id: int) -> Run:
        with self.state.session() as session:
            run = session.get(Run, run_id)
            if run is None:  # pragma: no cover - a model always has its run
                raise ModelNotFoundError(f"run {run_id} is missing", "re-run `mlpilot train`")
            return run

    def _save_importances(self, outcome: TrainOutcome, record: ModelRecord) -> None:
        table = outcome.importances
        if table is None:
            return
        stem = Path(record.artifact_path).stem
        write_text(self.layout.reports / f"importances-{stem}.csv", table.to_csv(index=False))
        impurity = table.attrs.get("impurity")
        if impurity is not None:
            write_text(self.layout.reports / f"impurity-{stem}.csv",
                       impurity.rename("impurity_importance").to_csv(index_label="feature"))

    def _save_model(self, model: object, score: CandidateScore, metric: Metric, run_id: int,
                    version_id: int, split_id: int) -> ModelRecord:
        return self._store_model(model, score.name, float(score.mean or 0.0),
                                 float(score.std or 0.0), score.oof, metric.name, run_id,
                                 version_id, split_id)

    def _store_model(self, model: object, name: str, cv_mean: float, cv_std: float,
                     oof: np.ndarray | None, metric: str, run_id: int, version_id: int,
                     split_id: int) -> ModelRecord:
        """Register a model version: the skops artifact, its trusted types, its metadata."""
        saved = save_artifact(model, self._free_artifact_path(f"run{run_id}-{name}"))
        versions = library_versions(model)
        with self.state.session() as session:
            data_hash = session.get(DatasetVersion, version_id).content_hash  # type: ignore[union-attr]
            n_train = session.get(Split, split_id).n_train  # type: ignore[union-attr]
            artifact = str(saved.path.relative_to(self.root))
            record = ModelRecord(run_id=run_id, name=name, metric=metric, cv_mean=cv_mean,
                                 cv_std=cv_std, artifact_path=artifact,
                                 sha256=saved.sha256, dataset_version_id=version_id,
                                 split_id=split_id, library_versions_json=json.dumps(versions))
            session.add(record)
            session.flush()
            session.add(ModelMetadata(
                model_id=record.id, format=saved.format,
                trusted_types_json=json.dumps(list(saved.trusted_types)),
                params_json=json.dumps(model_params(model)), data_hash=data_hash,
                n_train_rows=n_train))
        if oof is not None:  # thresholds are chosen on these, never on the test set
            write_array(self._oof_path(record), oof)
        self._saved = (record.id, model)
        return record

    def _fitted_members(self, record: ModelRecord, names: set[str]) -> dict[str, Any]:
        """The model's fitted pipelines among ``names`` (the shortlist's, untuned), for a
        refit on the same rows to reuse; empty when the model cannot be read."""
        from sklearn.pipeline import Pipeline

        from mlpilot.search.ensemble import WeightedEnsemble

        if self._saved is not None and self._saved[0] == record.id:
            model = self._saved[1]
        else:
            try:
                model = self.load_model(record)
            except MlpilotError:
                return {}
        if isinstance(model, WeightedEnsemble):
            members = dict(model.named_estimators_)
        elif isinstance(model, Pipeline):
            members = {record.name: model}
        else:  # a wrapped model (a decision threshold): its members are not plain
            members = {}
        return {name: member for name, member in members.items() if name in names}

    def _free_artifact_path(self, stem: str) -> Path:
        """A model file name no earlier version uses: ``tune`` saves its ensemble under the
        same run and name as ``train``'s, and overwriting that file would break rollback."""
        taken = {p.stem for p in self.layout.models.glob(f"{stem}*")}
        n, candidate = 1, stem
        while candidate in taken:
            n += 1
            candidate = f"{stem}-v{n}"
        return self.layout.models / candidate

    # ------------------------------------------------------------------ decision threshold
    def set_threshold(self, *, target_precision: float | None = None,
                      target_recall: float | None = None,
                      record: ModelRecord | None = None) -> ThresholdResult:
        """Choose a binary model's decision threshold for a target precision or recall.

        Chosen the book's way on the model's out-of-fold scores (never the test set), then
        stored *with* the model: a new model version wraps it in scikit-learn's
        ``FixedThresholdClassifier``, so every later ``predict`` honours the threshold.
        """
        from mlpilot.evaluate.threshold import apply_threshold, choose_threshold

        record = record or self.latest_model()
        if self.framing.task != "binary":
            raise ConfigError(f"a decision threshold needs a binary task, not "
                              f"{self.framing.task}", "drop --target-precision/--target-recall")
        base = self.threshold(record)
        if base is not None:  # re-thresholding a thresholded model: start from its base
            record = self._model(base.base_model_id)
        oof = self.out_of_fold(record)
        if oof.scores is None:
            raise ModelNotFoundError(f"model #{record.id} ({record.name}) gives no probabilities",
                                     "train with models that have predict_proba")
        choice = choose_threshold(oof.y_true, oof.scores, pos_label=oof.positive,
                                  target_precision=target_precision,
                                  target_recall=target_recall)
        model = apply_threshold(self.load_model(record), choice.threshold,
                                response_method="predict_proba", pos_label=oof.positive)
        tag = f"p{choice.target_value:g}" if choice.target == "precision" else \
            f"r{choice.target_value:g}"
        with self._model_oof(record) as stored:
            new = self._store_model(model, f"{record.name}@{tag}", record.cv_mean,
                                    record.cv_std, stored, record.metric, record.run_id,
                                    record.dataset_version_id, record.split_id)
        with self.state.session() as session:
            session.add(DecisionThreshold(
                model_id=new.id, base_model_id=record.id, threshold=choice.threshold,
                target=choice.target, target_value=choice.target_value,
                precision=choice.precision, recall=choice.recall))
        return ThresholdResult(choice, new, record)

    def threshold(self, record: ModelRecord | None = None) -> DecisionThreshold | None:
        """The decision threshold stored with a model, if it has one."""
        record = record or self.latest_model()
        with self.state.session() as session:
            return session.get(DecisionThreshold, record.id)

    def _threshold_choice(self, record: ModelRecord) -> ThresholdChoice | None:
        from mlpilot.evaluate.threshold import ThresholdChoice

        stored = self.threshold(record)
        if stored is None:
            return None
        return ThresholdChoice(stored.threshold, stored.precision, stored.recall, stored.target,
                               stored.target_value, True, self.split().n_train)

    def _model(self, model_id: int) -> ModelRecord:
        with self.state.session() as session:
            record = session.get(ModelRecord, model_id)
        if record is None:
            raise ModelNotFoundError(f"no model #{model_id}", "see `mlpilot status`")
        return record

    @contextlib.contextmanager
    def _model_oof(self, record: ModelRecord) -> Iterator[np.ndarray | None]:
        path = self._oof_path(record)
        if not path.exists():
            yield None
            return
        with path.open("rb") as f:
            yield np.load(f)

    def _oof_path(self, record: ModelRecord) -> Path:
        return self.layout.state_dir / "oof" / f"model-{record.id}.npy"

    def out_of_fold(self, record: ModelRecord | None = None) -> Predictions:
        """The model's out-of-fold predictions on the training rows (from cross-validation)."""
        record = record or self.latest_model()
        with self._model_oof(record) as oof:
            if oof is None:
                raise ModelNotFoundError(f"model #{record.id} ({record.name}) has no stored "
                                         "out-of-fold predictions", "re-run `mlpilot train`")
            _, y = self.training_data()
            return from_probabilities(y, oof, self.framing.task)

    def models(self) -> list[ModelRecord]:
        with self.state.session() as session:
            return list(session.scalars(sa.select(ModelRecord).order_by(ModelRecord.id)))

    def latest_model(self) -> ModelRecord:
        models = self.models()
        if not models:
            raise ModelNotFoundError(f"no trained model in {self.root}",
                                     "run `mlpilot train` first")
        return models[-1]

    def load_model(self, record: ModelRecord | None = None, *, unsafe: bool = False) -> Any:
        """Load a saved model: checksum first, then skops trusting only the registry's types."""
        record = record or self.latest_model()
        with self.state.session() as session:
            metadata = session.get(ModelMetadata, record.id)
        trusted = json.loads(metadata.trusted_types_json) if metadata is not None else []
        return load_artifact(self.root / record.artifact_path, sha256=record.sha256,
                             format=metadata.format if metadata is not None else JOBLIB,
                             trusted_types=trusted, unsafe=unsafe)

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, record: ModelRecord | None = None, *,
                 confidence: float = CONFIDENCE) -> Evaluation:
        """Score the final model on the locked test set: interval, slices, diagnostics.

        The read is recorded (a second one warns); what it establishes is stored — the JSON
        in ``reports/evaluation-<model>.json``, the per-row predictions under ``.mlpilot/`` —
        so that the report never needs the test rows again.
        """
        record = record or self.latest_model()
        model = self.load_model(record)
        rows = self._open_test_set("evaluate", record.id)
        X, y = self._xy(rows.frame)
        framing = self.framing
        metric = get_metric(record.metric)
        p = predict(model, X, y, framing.task)
        # Importances on held-out rows say what generalises (on training rows, what is memorised).
        with warnings.catch_warnings():  # predict() above already said what was unseen
            warnings.simplefilter("ignore", DataQualityWarning)
            importances = feature_importances(model, X, y, metric, self.config.seed,
                                              seconds=EVALUATE_IMPORTANCE_SECONDS)
        stratified = [self.config.split.stratify_on] if self.config.split.stratify_on else []
        categorical, numeric = slice_columns(self.schema, X, importances, first=stratified)
        _, y_train = self.training_data()
        result = evaluate_predictions(p, X, metric, cv_mean=record.cv_mean, cv_std=record.cv_std,
                                      categorical=categorical, numeric=numeric,
                                      y_train=y_train, threshold=self._threshold_choice(record),
                                      confidence=confidence, seed=self.config.seed)
        if importances is not None:
            result.importances = importances
        details = self._store_evaluation(record, rows, result, p)
        return Evaluation(metric, result.score, record.cv_mean, record.cv_std, len(X), record.id,
                          record.name, rows.previous, result, details)

    def _store_evaluation(self, record: ModelRecord, rows: TestRows, result: EvaluationResult,
                          p: Predictions) -> Path:
        stem = Path(record.artifact_path).stem
        details = self.layout.reports / f"evaluation-{stem}.json"
        payload = {"model_id": record.id, "model": record.name, "test_read_id": rows.read_id,
                   "classes": None if p.classes is None else [plain(c) for c in p.classes],
                   **result.to_dict()}
        write_text(details, json.dumps(payload, indent=1, default=plain))
        if result.slices is not None:
            write_text(self.layout.reports / f"slices-{stem}.csv",
                       result.slices.to_csv(index=False))
        write_parquet(self.layout.state_dir / "evaluations" / f"model-{record.id}.parquet",
                      _parquet_safe(p.to_frame()))
        with self.state.session() as session:
            session.add(EvaluationRecord(
                model_id=record.id, test_read_id=rows.read_id, metric=result.metric.name,
                score=result.score, ci_low=_finite(result.interval.low),
                ci_high=_finite(result.interval.high), n_rows=result.n_rows,
                details_path=str(details.relative_to(self.root))))
        return details

    def evaluation(self, record: ModelRecord | None = None) -> dict[str, Any]:
        """The stored result of a model's last evaluation (no test-set read)."""
        record = record or self.latest_model()
        with self.state.session() as session:
            stored = session.scalar(sa.select(EvaluationRecord)
                                    .where(EvaluationRecord.model_id == record.id)
                                    .order_by(EvaluationRecord.id.desc()))
        if stored is None:
            raise ModelNotFoundError(f"model #{record.id} ({record.name}) has not been evaluated",
                                     "run `mlpilot evaluate` first")
        data: dict[str, Any] = json.loads((self.root / stored.details_path).read_text())
        return data

    def _importances(self, record: ModelRecord) -> pd.DataFrame | None:
        path = self.layout.reports / f"importances-{Path(record.artifact_path).stem}.csv"
        return pd.read_csv(path) if path.exists() else None

    # ------------------------------------------------------------------ curves and report
    def curves(self, record: ModelRecord | None = None, *, max_rows: int = CURVE_ROWS,
               n_splits: int = 3) -> dict[str, Any]:
        """Learning and validation curves of the final model (training rows only).

        The learning curve refits the whole final model on growing subsets; the validation
        curve sweeps its main family's key hyperparameter. Both on at most ``max_rows``
        rows (a random sample) and 3 folds, to stay quick; written to
        ``reports/curves-<model>.json`` for the report.
        """
        record = record or self.latest_model()
        X, y = self.training_data()
        if len(X) > max_rows:
            rows = np.sort(np.random.default_rng(self.config.seed).choice(len(X), max_rows,
                                                                           replace=False))
            X, y = X.iloc[rows], y.iloc[rows]
        metric = get_metric(record.metric)
        cv = make_cv(self.framing.task, n_splits, self.config.seed)
        model = unwrap_threshold(self.load_model(record))
        jobs = self.config.n_jobs
        with warnings.catch_warnings():  # unseen categories in folds: expected, not news
            warnings.simplefilter("ignore", DataQualityWarning)
            return self._curves(record, model, X, y, metric, cv, jobs)

    def _curves(self, record: ModelRecord, model: Any, X: pd.DataFrame, y: Any, metric: Metric,
                cv: Any, jobs: int) -> dict[str, Any]:
        from sklearn.base import clone

        from mlpilot.evaluate.curves import (
            key_parameter,
            learning_curve_table,
            validation_curve_table,
        )

        task = self.framing.task
        learning = learning_curve_table(clone(model), X, y, scoring=metric, cv=cv, n_jobs=jobs)
        out: dict[str, Any] = {
            "rows": len(X), "folds": cv.get_n_splits(), "learning": records(learning),
            "learning_caption": (f"{record.name} refitted on growing shares of {len(X):,} "
                                 f"training rows, {cv.get_n_splits()}-fold; a gap that stays "
                                 "wide means overfitting (more data would help), two low plateaus "
                                 "underfitting (the book's Figure 4-15)")}
        family, pipeline = family_pipeline(model, record.name)
        sweep = None if family is None else key_parameter(family, task)
        if sweep is not None and pipeline is not None:
            param, values = sweep
            table = validation_curve_table(clone(pipeline), X, y, param_name=param,
                                           values=values, scoring=metric, cv=cv, n_jobs=jobs)
            out.update(param=param.rsplit("__", 1)[-1], validation=records(table),
                       validation_caption=f"{family.name}'s {param.rsplit('__', 1)[-1]} swept "
                       f"over its search range, other settings as trained")
        stem = Path(record.artifact_path).stem
        write_text(self.layout.reports / f"curves-{stem}.json", json.dumps(out, default=plain))
        return out

    def report(self, record: ModelRecord | None = None, *,
               pdf: bool | None = None) -> ReportFiles:
        """The solution report: ``reports/report-<model>.html`` (+ ``.pdf`` with a browser).

        Built from stored results only (needs ``evaluate`` first); ``pdf=None`` makes the PDF
        when a headless browser is found, ``True`` insists (error when none is found).
        """
        from mlpilot.report.data import gather
        from mlpilot.report.page import render
        from mlpilot.report.pdf import find_browser, html_to_pdf

        record = record or self.latest_model()
        html = self.layout.reports / f"report-{Path(record.artifact_path).stem}.html"
        write_text(html, render(gather(self, record)))
        pdf_path = None
        if pdf is not False:
            if pdf and find_browser() is None:
                raise ConfigError("no headless browser found to print the PDF",
                                  "install chromium, or set MLPILOT_BROWSER to its path")
            pdf_path = html_to_pdf(html, html.with_suffix(".pdf"))
        return ReportFiles(html, pdf_path)

    # ------------------------------------------------------------------ summary
    def status(self) -> dict[str, Any]:
        version = self.dataset_version()
        split = self.split()
        models = self.models()
        return {
            "project": str(self.root), "name": self.config.name,
            "target": self.config.target, "dataset_version": version.content_hash[:16],
            "rows": version.n_rows, "columns": version.n_columns,
            "split": f"{split.strategy}: {split.n_train} train / {split.n_test} test",
            "test_set_reads": len(self.test_reads()), "models": len(models),
            "latest_model": f"{models[-1].name} (CV {models[-1].metric} {models[-1].cv_mean:.4g})"
            if models else "none", "database": _redact_url(self.database_url),
        }


# ---------------------------------------------------------------------- helpers
def _resolve_data(data: str | os.PathLike[str] | pd.DataFrame, query: str | None,
                  encoding: str) -> tuple[pd.DataFrame, str]:
    """Read the data once to validate it; return it and how the config names its source."""
    if isinstance(data, pd.DataFrame):
        return check_frame(data), "data/input.parquet"
    location = str(data)
    kind = detect_kind(location, query)
    frame = read_source(SourceSpec(location, kind, query, encoding))
    if kind in ("csv", "parquet"):
        location = str(Path(location).expanduser().resolve())
    return frame, location


def _compute_split(frame: pd.DataFrame, cfg: SplitConfig, framing: Framing,
                   id_column: str | None, seed: int, schema: Schema) -> splitting.SplitResult:
    strategy = cfg.strategy
    if strategy == "auto":
        if id_column is not None:
            strategy = "hash"
        elif cfg.time_column is not None:
            strategy = "time"
        elif framing.task == "multilabel":
            strategy = "random"
        else:
            strategy = "stratified"
    n = len(frame)
    if strategy == "hash":
        if id_column is None:
            raise SplitError("the hash split needs an ID column",
                             "set data.id_column (--id-column)")
        mask = splitting.hash_split(frame[id_column], cfg.test_size)
        return splitting.SplitResult("hash", mask, {"id_column": id_column,
                                                    "rule": "crc32(id) < test_size * 2**32"})
    if strategy == "time":
        if cfg.time_column is None:
            raise SplitError("the time split needs a time column", "set split.time_column")
        return splitting.SplitResult("time", splitting.time_split(frame[cfg.time_column],
                                                                  cfg.test_size),
                                     {"time_column": cfg.time_column})
    if strategy == "random":
        return splitting.SplitResult("random", splitting.random_split(n, cfg.test_size, seed))
    # stratified
    target = framing.targets[0]
    labelled = frame[target].notna().to_numpy()
    if framing.task in ("binary", "multiclass"):
        strata = frame[target].astype(str).where(labelled, "<missing>").to_numpy()
        details: dict[str, Any] = {"stratify_on": target, "reason": "classification target"}
    else:
        candidates = schema.names(*NUMERIC_KINDS, exclude=framing.targets)
        strata, details = splitting.strata_for_regression(
            frame, target, candidates, cfg.stratify_on, cfg.bins)
    if not splitting.usable_strata(strata, cfg.test_size):
        mask = splitting.random_split(n, cfg.test_size, seed)
        return splitting.SplitResult("random", mask, {
            "reason": "some strata are too small to stratify: random split instead"})
    mask = splitting.random_split(n, cfg.test_size, seed, stratify=strata)
    details["test_proportions"] = splitting.stratum_proportions(strata, mask)
    details["overall_proportions"] = splitting.stratum_proportions(strata, np.ones(n, bool))
    return splitting.SplitResult("stratified", mask, details)


def _parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns mixing numbers and strings cannot go to Parquet: keep them as text."""
    out = frame
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_object_dtype(col):
            kinds = {type(v) for v in col.dropna().head(10000)}
            if len(kinds) > 1:
                if out is frame:
                    out = frame.copy()
                out[name] = col.map(lambda v: v if pd.isna(v) else str(v)).astype("string")
    return out


def _indicator(frame: pd.DataFrame) -> pd.DataFrame:
    """Multilabel targets as a 0/1 indicator matrix (the second sorted value is 1)."""
    out = pd.DataFrame(index=frame.index)
    for name in frame.columns:
        values = sorted(frame[name].dropna().unique(), key=str)
        out[name] = (frame[name] == values[-1]).astype(int)
    return out


def _digest(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _finite(value: float) -> float | None:
    return value if np.isfinite(value) else None


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (_drop_none(v) if isinstance(v, dict) else v) for k, v in d.items() if v is not None}


def _redact_url(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


__all__ = ["DataConfig", "Evaluation", "Preparation", "Project", "TrainResult"]

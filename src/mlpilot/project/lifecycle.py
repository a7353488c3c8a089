"""Launch, monitor, maintain: the project's side of the registry, service and monitoring.

The book's last checklist step. Mixed into :class:`~mlpilot.project.project.Project`, so a
user calls ``project.promote()``, ``project.monitor()``, ``project.retrain(data=...)``; the
work itself lives in :mod:`mlpilot.registry`, :mod:`mlpilot.serve` and :mod:`mlpilot.monitor`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlpilot.atomic import write_parquet, write_text
from mlpilot.data import split as splitting
from mlpilot.data.schema import Schema
from mlpilot.errors import ConfigError, MonitorError, ProjectError, RegistryError, SchemaError
from mlpilot.evaluate.evaluation import plain, slice_columns
from mlpilot.evaluate.metrics import get_metric
from mlpilot.evaluate.predictions import predict
from mlpilot.monitor.gate import TOLERANCE, GateDecision, compare
from mlpilot.project.state import (
    Deployment,
    ModelMetadata,
    ModelRecord,
    Split,
    StateStore,
)
from mlpilot.registry.registry import CHALLENGER, CHAMPION, Registry

if TYPE_CHECKING:
    from fastapi import FastAPI

    from mlpilot.monitor.baseline import Baseline
    from mlpilot.monitor.check import MonitorResult
    from mlpilot.project.project import Project, TrainResult
    from mlpilot.registry.onnx_export import OnnxDecision
    from mlpilot.serve.model import InputSchema, ServedModel

#: How often a running service asks the registry which model should be live.
WATCH_SECONDS = 5.0
#: Rows of a model's training data: a type sample for the ONNX export, other rows for parity.
ONNX_TYPE_ROWS, ONNX_PARITY_ROWS = 200, 500


@dataclass
class MonitorOutcome:
    result: MonitorResult
    report: Path
    json: Path
    model_id: int
    n_rows: int


@dataclass
class RetrainOutcome:
    train: TrainResult
    champion: ModelRecord
    challenger: ModelRecord
    decision: GateDecision
    promoted: bool
    deployment: Deployment
    details: Path
    new_rows: int  # rows of the new data not seen in the previous version


class LifecycleMixin:
    """Registry, serving, monitoring and retraining methods of a project."""

    # ------------------------------------------------------------------ registry
    @property
    def registry(self: Project) -> Registry:  # type: ignore[misc]
        return Registry(self.state)

    def champion(self: Project) -> ModelRecord | None:  # type: ignore[misc]
        model_id = self.registry.alias(CHAMPION)
        return None if model_id is None else self._model(model_id)

    def promote(self: Project, record: ModelRecord | None = None, *,  # type: ignore[misc]
                alias: str = CHAMPION, reason: str = "") -> Deployment:
        """Make a model version the champion (the latest one by default); recorded."""
        record = record or self.latest_model()
        self.baseline(record)  # the monitoring baseline exists before the model goes live
        return self.registry.promote(record.id, alias=alias,
                                     reason=reason or "promoted by hand")

    def rollback(self: Project, *, alias: str = CHAMPION,  # type: ignore[misc]
                 reason: str = "") -> Deployment:
        """Put the previous champion back (its baseline comes with it); recorded."""
        return self.registry.rollback(alias=alias, reason=reason)

    def import_model(self: Project, path: str | os.PathLike[str], *,  # type: ignore[misc]
                     name: str | None = None, unsafe: bool = False) -> ModelRecord:
        """Register a model the user fitted elsewhere, cross-validated like the zoo's.

        A skops file whose types are not scikit-learn's defaults, or any pickle (joblib),
        can run code when loaded: both need ``unsafe=True`` (``--unsafe``), meant for the
        user's own files only. The model is re-saved as skops, so the registry records its
        types from then on.
        """
        import joblib
        from sklearn.base import clone
        from sklearn.model_selection import cross_validate

        from mlpilot.errors import UnsafeArtifactError
        from mlpilot.project.state import Run
        from mlpilot.registry.persistence import untrusted_types
        from mlpilot.search.shortlist import make_cv

        source = Path(path)
        if not source.exists():
            raise ConfigError(f"no model file {source}", "check the path")
        if source.suffix == ".skops":
            import skops.io as sio

            types = untrusted_types(source)
            if types and not unsafe:
                raise UnsafeArtifactError(
                    f"{source.name} holds types outside scikit-learn's defaults: "
                    f"{', '.join(types)}", "trust them only if you made the file: --unsafe")
            model = sio.load(source, trusted=types)
        elif unsafe:
            model = joblib.load(source)
        else:
            raise UnsafeArtifactError(f"{source.name} is a pickle, which can run any code when "
                                      "loaded", "import it only if you made it: --unsafe")
        if not hasattr(model, "predict"):
            raise ConfigError(f"{source.name} holds a {type(model).__name__}, not a model",
                              "save a fitted scikit-learn estimator or pipeline")
        X, y = self.training_data()
        metric = get_metric(self.framing.metric, self.framing.task)
        scores = cross_validate(clone(model), X, y, scoring=metric.scorer,
                                cv=make_cv(self.framing.task, self.config.cv_folds,
                                           self.config.seed), error_score="raise")
        values = [metric.from_sklearn(v) for v in scores["test_score"]]
        version, split = self.dataset_version(), self.split()
        with self.state.session() as session:
            run = Run(kind="import", run_key=f"import-{source.name}"[:64],
                      dataset_version_id=version.id, split_id=split.id, status="finished",
                      settings_json=json.dumps({"source": str(source.resolve())}))
            session.add(run)
            session.flush()
            run_id = run.id
        final = clone(model).fit(X, y)  # refit on the project's training rows, like the zoo
        return self._store_model(final, name or f"imported-{source.stem}",
                                 float(np.mean(values)), float(np.std(values)), None,
                                 metric.name, run_id, version.id, split.id)

    def live_model(self: Project) -> ModelRecord:  # type: ignore[misc]
        """The champion; the first time, the latest model becomes it (recorded as such)."""
        champion = self.champion()
        if champion is not None:
            return champion
        record = self.latest_model()
        self.promote(record, reason="first deployment: no champion yet, latest model")
        return record

    def export_onnx(self: Project,  # type: ignore[misc]
                    record: ModelRecord | None = None) -> OnnxDecision:
        """Try serving a model with onnxruntime: export, parity check, decision stored.

        Input types come from a sample of the model's training rows; parity runs on up to
        500 *other* training rows (plus edge rows). Parity compares two runtimes on the same
        inputs and needs no labels, so the locked test set is never read. The decision is
        kept next to the model (``models/<artifact>.onnx.json``); :meth:`served_model`
        follows it.
        """
        from mlpilot.registry.onnx_export import decide_onnx

        record = record or self.latest_model()
        frame = self._model_training_rows(record)
        X = frame.drop(columns=[t for t in self.targets if t in frame.columns])
        order = np.random.default_rng(self.config.seed).permutation(len(X))
        n_types = min(ONNX_TYPE_ROWS, max(1, len(X) // 2))
        types = X.iloc[order[:n_types]]
        held = X.iloc[order[n_types:n_types + ONNX_PARITY_ROWS]]
        artifact = self.root / record.artifact_path
        decision = decide_onnx(self.load_model(record), types, held,
                               artifact.with_suffix(".onnx"))
        stored = decision.to_dict()
        if decision.path is not None:  # relative: the project directory may move
            stored["path"] = str(decision.path.relative_to(self.root))
        write_text(self._onnx_decision_path(record),
                   json.dumps({"model_id": record.id, "model_sha256": record.sha256,
                               **stored}, indent=1))
        return decision

    def _onnx_decision_path(self: Project, record: ModelRecord) -> Path:  # type: ignore[misc]
        return (self.root / record.artifact_path).with_suffix(".onnx.json")

    def _serving_estimator(self: Project,  # type: ignore[misc]
                           record: ModelRecord) -> tuple[Any, str, str]:
        """The estimator to serve, the runtime's name and why: ONNX only when decided so."""
        from mlpilot.registry.onnx_export import OnnxDecision, OnnxExportError, OnnxPredictor

        path = self._onnx_decision_path(record)
        if not path.exists():
            return self.load_model(record), "skops", "not exported to ONNX"
        stored = json.loads(path.read_text(encoding="utf-8"))
        decision = OnnxDecision.from_dict(stored)
        if stored.get("model_sha256") != record.sha256:
            return self.load_model(record), "skops", "the ONNX decision is for another artifact"
        if not decision.use_onnx or decision.path is None:
            return self.load_model(record), "skops", decision.reason
        try:  # a modified .onnx raises ArtifactIntegrityError, as a modified .skops does
            model = OnnxPredictor.load(self.root / decision.path, sha256=decision.sha256)
        except OnnxExportError as exc:  # onnxruntime is not installed here
            return self.load_model(record), "skops", f"{exc.message}; serving the skops model"
        return model, "onnxruntime", decision.reason

    # ------------------------------------------------------------------ baselines & schemas
    def _metadata(self: Project, record: ModelRecord) -> ModelMetadata:  # type: ignore[misc]
        with self.state.session() as session:
            metadata = session.get(ModelMetadata, record.id)
        if metadata is None:
            raise RegistryError(f"model #{record.id} has no registry metadata",
                                "it was saved by an older mlpilot: re-train it")
        return metadata

    def _model_training_rows(self: Project,  # type: ignore[misc]
                             record: ModelRecord) -> pd.DataFrame:
        return self._side(want_test=False, version_id=record.dataset_version_id)

    def _model_schema(self: Project, record: ModelRecord) -> Schema:  # type: ignore[misc]
        with self.state.session() as session:
            split = session.get(Split, record.split_id)
        assert split is not None
        return Schema.from_dict(split.schema_dict)

    def baseline(self: Project, record: ModelRecord | None = None) -> Baseline:  # type: ignore[misc]
        """The monitoring baseline of a model: its training rows' statistics (built once)."""
        from mlpilot.monitor.baseline import BASELINE_FILE, Baseline

        record = record or self.live_model()
        metadata = self._metadata(record)
        directory = self.layout.state_dir / "baselines" / metadata.data_hash[:16]
        if (directory / BASELINE_FILE).exists():
            return Baseline.load(directory)
        baseline = Baseline.from_frame(self._model_training_rows(record),
                                       self._model_schema(record), self.targets,
                                       seed=self.config.seed)
        baseline.save(directory)
        with self.state.session() as session:
            stored = session.get(ModelMetadata, record.id)
            if stored is not None:
                stored.baseline_path = str(directory.relative_to(self.root))
        return baseline

    def input_schema(self: Project, record: ModelRecord) -> InputSchema:  # type: ignore[misc]
        """The columns a model expects, derived from its training rows (cached)."""
        from mlpilot.serve.model import InputSchema

        metadata = self._metadata(record)
        stored = json.loads(metadata.input_schema_json or "{}")
        if stored:
            return InputSchema.from_dict(stored)
        schema = InputSchema.from_training(self._model_training_rows(record),
                                           self._model_schema(record), self.targets)
        with self.state.session() as session:
            row = session.get(ModelMetadata, record.id)
            if row is not None:
                row.input_schema_json = json.dumps(schema.to_dict(), default=plain)
        return schema

    def served_model(self: Project, model_id: int) -> ServedModel:  # type: ignore[misc]
        """A model version ready for the service: estimator, input schema, metadata."""
        from mlpilot.serve.model import ServedModel

        record = self._model(model_id)
        metadata = self._metadata(record)
        model, runtime, why = self._serving_estimator(record)
        return ServedModel(
            model=model, model_id=record.id, name=record.name,
            task=self.framing.task, input_schema=self.input_schema(record),
            metadata={"data_hash": metadata.data_hash, "metric": record.metric,
                      "cv_mean": record.cv_mean, "cv_std": record.cv_std,
                      "created_at": record.created_at.isoformat(),
                      "library_versions": json.loads(record.library_versions_json),
                      "n_train_rows": metadata.n_train_rows, "project": self.config.name,
                      "runtime": runtime, "runtime_reason": why})

    # ------------------------------------------------------------------ serving
    @property
    def request_log_dir(self: Project) -> Path:  # type: ignore[misc]
        return self.layout.state_dir / "requests"

    def service(self: Project, *, token: str | None = None,  # type: ignore[misc]
                max_rows: int = 10_000, max_body_bytes: int = 10_000_000,
                watch_seconds: float = WATCH_SECONDS, log_requests: bool = True) -> FastAPI:
        """The FastAPI app serving the champion; it follows promotions and rollbacks."""
        from mlpilot.monitor.drift import drift_scores
        from mlpilot.serve.app import create_app
        from mlpilot.serve.requestlog import RequestLog
        from mlpilot.serve.slot import ModelSlot, ModelWatcher


        live = self.live_model()
        slot = ModelSlot(self.served_model(live.id))
        root = self.root
        # The watcher's own engine: each poll is a new transaction, so it sees promotions
        # committed by other processes, and it outlives this Project object.
        watch = Registry(StateStore(self.database_url))

        def check() -> int | None:
            return watch.alias(CHAMPION)

        def load(model_id: int) -> ServedModel:
            from mlpilot.project.project import Project

            with Project.open(root) as project:
                return project.served_model(model_id)

        baselines: dict[int, Baseline] = {}

        def drift(frame: pd.DataFrame) -> dict[str, float]:
            model_id = slot.current().model_id
            if model_id not in baselines:
                from mlpilot.project.project import Project

                with Project.open(root) as project:
                    baselines[model_id] = project.baseline(project._model(model_id))
            return drift_scores(baselines[model_id], frame)

        watcher = ModelWatcher(slot, check=check, load=load, interval_s=watch_seconds)
        log = RequestLog(self.request_log_dir) if log_requests else None
        app = create_app(slot, token=token, max_rows=max_rows, max_body_bytes=max_body_bytes,
                         request_log=log, drift=drift, watcher=watcher)
        app.state.request_log = log  # its owner (the CLI, a test) closes it when done
        return app

    def predict_file(self: Project, source: str | os.PathLike[str],  # type: ignore[misc]
                     output: str | os.PathLike[str], record: ModelRecord | None = None
                     ) -> Path:
        """Batch predictions: a CSV/Parquet file in, the same rows plus predictions out."""
        from mlpilot.project.project import _resolve_data

        record = record or self.live_model()
        served = self.served_model(record.id)
        frame, _ = _resolve_data(source, None, self.config.data.encoding)
        missing = [c for c in served.input_schema.required if c not in frame.columns]
        if missing:
            raise SchemaError(f"{source} lacks the model's input column(s) {missing}",
                              f"the model expects: {', '.join(served.input_schema.names)}")
        X = frame[[c for c in served.input_schema.names if c in frame.columns]]
        result = served.predict(X)
        out = frame.copy()
        out["prediction"] = result.predictions
        if result.probabilities is not None and result.classes is not None:
            for j, label in enumerate(result.classes):
                out[f"proba_{label}"] = np.asarray(result.probabilities)[:, j]
        path = Path(output)
        if path.suffix.lower() == ".parquet":
            write_parquet(path, out)
        elif path.suffix.lower() == ".csv":
            write_text(path, out.to_csv(index=False))
        else:
            raise ConfigError(f"cannot write predictions to {path.name}",
                              "name the output .csv or .parquet")
        return path

    # ------------------------------------------------------------------ monitoring
    def monitor(self: Project, data: str | os.PathLike[str] | pd.DataFrame | None = None,  # type: ignore[misc]
                *, last: int | None = None, record: ModelRecord | None = None) -> MonitorOutcome:
        """Input quality and drift of recent inputs (the request log, or a file) vs baseline."""
        from mlpilot.monitor.check import check
        from mlpilot.monitor.report import write_report
        from mlpilot.project.project import _resolve_data

        record = record or self.live_model()
        if data is None:
            current = self._logged_inputs(record, last)
            source = f"the last {len(current):,} logged request rows"
        else:
            current, _ = _resolve_data(data, None, self.config.data.encoding)
            current = current.tail(last) if last else current
            source = str(data) if not isinstance(data, pd.DataFrame) else "a data frame"
        current = current.drop(columns=[t for t in self.targets if t in current.columns])
        baseline = self.baseline(record)
        result = check(baseline, current, seed=self.config.seed)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        report = write_report(result, baseline, current,
                              self.layout.reports / f"monitor-{stamp}.html",
                              title=f"Monitoring: {self.config.name}, model #{record.id} "
                                    f"({record.name}), {source}")
        details = write_text(self.layout.reports / f"monitor-{stamp}.json",
                             json.dumps({"model_id": record.id, "source": source,
                                         **result.to_dict()}, indent=1, default=plain))
        return MonitorOutcome(result, report, details, record.id, len(current))

    def _logged_inputs(self: Project, record: ModelRecord,  # type: ignore[misc]
                       last: int | None) -> pd.DataFrame:
        requests = self.requests()
        requests = requests[requests["model_id"] == record.id]
        if requests.empty:
            raise MonitorError(f"no logged request for model #{record.id} ({record.name})",
                               "serve it (`mlpilot serve`) or pass --data FILE")
        if last:
            requests = requests.tail(last)
        names = [c for c in self.input_schema(record).names if c in requests.columns]
        return requests[names].reset_index(drop=True)

    def requests(self: Project) -> pd.DataFrame:  # type: ignore[misc]
        """Every logged prediction request row, oldest first."""
        from mlpilot.serve.requestlog import read_request_log

        if not self.request_log_dir.exists():
            raise MonitorError("no request has been logged yet",
                               "serve the model (`mlpilot serve`) and send requests")
        return read_request_log(self.request_log_dir)

    def feedback(self: Project, labels: str | os.PathLike[str] | pd.DataFrame,  # type: ignore[misc]
                 *, id_column: str = "request_id", label_column: str | None = None
                 ) -> pd.DataFrame:
        """Join late true labels to logged predictions: realised performance per version."""
        from mlpilot.monitor.feedback import join_feedback, realised_performance
        from mlpilot.project.project import _resolve_data

        frame = labels if isinstance(labels, pd.DataFrame) else _resolve_data(
            labels, None, self.config.data.encoding)[0]
        label_column = label_column or self.targets[0]
        joined = join_feedback(self.requests(), frame, id_column=id_column,
                               label_column=label_column)
        table = realised_performance(joined, self.framing.task, self.framing.metric)
        write_text(self.layout.reports / "feedback.csv", table.to_csv(index=False))
        return table

    # ------------------------------------------------------------------ retraining
    def retrain(self: Project, data: str | os.PathLike[str] | pd.DataFrame,  # type: ignore[misc]
                *, budget: float | None = None, models: Sequence[str] | None = None,
                tolerance: float = TOLERANCE, on_event: Any = None) -> RetrainOutcome:
        """New data → new version (old rows keep their side) → train → gate → promote or not.

        The challenger must not be worse than the champion beyond ``tolerance``, overall and
        on every slice of the updated test set (paired bootstrap intervals); otherwise the
        champion stays and the history says why.
        """
        champion = self.champion()
        if champion is None:
            raise RegistryError("there is no champion to compare a retrained model with",
                                "promote one first: `mlpilot models promote`")
        new_rows = self._add_dataset_version(data)
        result = self.train(budget=budget, models=models, on_event=on_event)
        challenger = result.model
        if self.registry.alias(CHALLENGER) != challenger.id:
            self.registry.promote(challenger.id, alias=CHALLENGER,
                                  reason="retrained on new data")
        decision = self._gate(champion, challenger, tolerance)
        details = {"champion": champion.id, "challenger": challenger.id, **decision.to_dict()}
        stem = Path(challenger.artifact_path).stem
        path = write_text(self.layout.reports / f"retrain-{stem}.json",
                          json.dumps(details, indent=1, default=plain))
        if decision.promote:
            event = self.registry.promote(challenger.id, reason=f"retrain: {decision.reason}",
                                          details={"gate": str(path.relative_to(self.root))})
            self.baseline(challenger)
        else:
            event = self.registry.record_blocked(
                challenger.id, reason=f"retrain: {decision.reason}",
                details={"gate": str(path.relative_to(self.root))})
        return RetrainOutcome(result, champion, challenger, decision, decision.promote, event,
                              path, new_rows)

    def _gate(self: Project, champion: ModelRecord, challenger: ModelRecord,  # type: ignore[misc]
              tolerance: float) -> GateDecision:
        rows = self._open_test_set("retrain gate", challenger.id)
        X, y = self._xy(rows.frame)
        task = self.framing.task
        old = predict(self.load_model(champion), X, y, task)
        new = predict(self.load_model(challenger), X, y, task)
        stratified = [self.config.split.stratify_on] if self.config.split.stratify_on else []
        categorical, numeric = slice_columns(self.schema, X, self._importances(champion),
                                             first=stratified)
        return compare(old, new, X, get_metric(challenger.metric), categorical=categorical,
                       numeric=numeric, tolerance=tolerance, seed=self.config.seed)

    def _add_dataset_version(self: Project,  # type: ignore[misc]
                             data: str | os.PathLike[str] | pd.DataFrame) -> int:
        """Ingest new data and split it so that every row already seen keeps its side."""
        from mlpilot.project.project import _resolve_data

        old_version, old_split = self.dataset_version(), self.split()
        frame, _ = _resolve_data(data, None, self.config.data.encoding)
        missing = [c for c in self.targets if c not in frame.columns]
        if missing:
            raise SchemaError(f"the new data lacks the target column(s) {missing}",
                              "retraining needs labelled rows")
        version, frame = self._ingest(frame)
        if version.id == old_version.id or self._find_split(version.id) is not None:
            raise ProjectError("this data is already a version of the project",
                               "retrain on new rows (or changed labels)")
        old_frame = self._snapshot(old_version)
        old_test = self._row_keys(old_frame).isin(self._test_keys(old_split)).to_numpy()
        identity = self._row_identity
        mask, seen = splitting.extend_split(identity(old_frame), old_test, identity(frame),
                                            self.config.split.test_size)
        self._store_split(version, frame, mask, "extended", {
            "previous_version": old_version.content_hash[:16],
            "rows_kept_on_their_side": seen, "new_rows": len(frame) - seen,
            "rule": "old rows keep their side; new rows: crc32(row) < test_size * 2**32"})
        return len(frame) - seen

    def _row_identity(self: Project, frame: pd.DataFrame) -> np.ndarray:  # type: ignore[misc]
        """IDs when the project has an ID column, else a hash of each row's features."""
        if self.config.data.id_column is not None:
            return frame[self.config.data.id_column].astype(str).to_numpy()
        return splitting.row_fingerprints(frame, exclude=self.targets)

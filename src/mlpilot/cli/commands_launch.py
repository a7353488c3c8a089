"""Launch, monitor, maintain: models (registry), serve, predict, monitor, feedback, retrain."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mlpilot.cli.commands_project import Budget, ProjectDir
from mlpilot.cli.live import LiveLeaderboard
from mlpilot.cli.output import console, handle_errors
from mlpilot.evaluate.metrics import get_metric
from mlpilot.project import Project
from mlpilot.registry.registry import CHAMPION

ModelId = Annotated[int | None, typer.Argument(help="model version id (see `models list`)",
                                               show_default="the latest")]
Alias = Annotated[str, typer.Option(help="alias to move")]
Reason = Annotated[str, typer.Option(help="why (kept in the history)")]
TOKEN_ENV = "MLPILOT_SERVE_TOKEN"

models_app = typer.Typer(help="The model registry: versions, aliases, promotion, rollback, "
                              "history; and the zoo of families.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
    app.command("rollback")(rollback)
    app.command("serve")(serve)
    app.command("predict")(predict)
    app.command("monitor")(monitor)
    app.command("feedback")(feedback)
    app.command("retrain")(retrain)


# ---------------------------------------------------------------------- registry
@models_app.command("list")
@handle_errors
def models_list(project: ProjectDir = Path(".")) -> None:
    """Every model version: CV and test scores, data version, aliases."""
    proj = Project.open(project)
    tests = proj.registry.test_scores()
    table = Table(title=f"Model versions — {proj.config.name}")
    for col in ("id", "name", "metric", "CV", "test", "data", "format", "aliases", "created"):
        table.add_column(col, justify="right" if col in ("id", "CV", "test") else "left")
    for version in proj.registry.versions():
        r = version.record
        test = tests.get(version.id)
        table.add_row(str(r.id), r.name, r.metric, f"{r.cv_mean:.4g} ± {r.cv_std:.2g}",
                      "" if test is None else f"{test:.4g}",
                      (version.metadata.data_hash[:12] if version.metadata else ""),
                      version.format, ", ".join(version.aliases),
                      r.created_at.strftime("%Y-%m-%d %H:%M"))
    console.print(table)


@models_app.command("show")
@handle_errors
def models_show(model: ModelId = None, project: ProjectDir = Path(".")) -> None:
    """One version in full: scores, hyperparameters, library versions, trusted types."""
    proj = Project.open(project)
    model_id = model if model is not None else proj.latest_model().id
    version = proj.registry.get(model_id)
    r, m = version.record, version.metadata
    info = {
        "id": r.id, "name": r.name, "metric": r.metric, "cv": f"{r.cv_mean:.6g} ± {r.cv_std:.3g}",
        "aliases": ", ".join(version.aliases) or "none", "artifact": r.artifact_path,
        "sha256": r.sha256, "format": version.format, "created": r.created_at.isoformat(),
        "data hash": m.data_hash if m else "", "training rows": m.n_train_rows if m else "",
        "baseline": (m.baseline_path or "not built yet") if m else "",
        "trusted types": ", ".join(version.trusted_types) or "(scikit-learn/numpy defaults)",
        "libraries": ", ".join(f"{k} {v}" for k, v in
                               json.loads(r.library_versions_json).items()),
    }
    table = Table(show_header=False, box=None)
    for key, value in info.items():
        table.add_row(f"[bold]{key}[/]", str(value))
    console.print(table)
    if m is not None:
        params = json.loads(m.params_json)
        if params:
            shown = list(params.items())[:40]
            console.print("[bold]hyperparameters[/] " + ", ".join(f"{k}={v}" for k, v in shown)
                          + (f" … ({len(params)} in all)" if len(params) > len(shown) else ""),
                          soft_wrap=True)


@models_app.command("promote")
@handle_errors
def models_promote(model: ModelId = None, alias: Alias = CHAMPION, reason: Reason = "",
                   project: ProjectDir = Path(".")) -> None:
    """Point an alias (champion by default) at a version; a running service follows."""
    proj = Project.open(project)
    record = proj._model(model) if model is not None else None
    event = proj.promote(record, alias=alias, reason=reason)
    before = f" (was #{event.previous_model_id})" if event.previous_model_id else ""
    console.print(f"model #{event.model_id} is now the {alias}{before}")


@models_app.command("import")
@handle_errors
def models_import(
    path: Annotated[Path, typer.Argument(help="a fitted scikit-learn model (.skops, or "
                                         ".joblib/.pkl with --unsafe)")],
    name: Annotated[str | None, typer.Option(help="name in the registry")] = None,
    unsafe: Annotated[bool, typer.Option("--unsafe", help="load a pickle or untrusted skops "
                                         "types: only for your own files")] = False,
    project: ProjectDir = Path("."),
) -> None:
    """Register your own model: cross-validated, refit on the training rows, saved as skops."""
    proj = Project.open(project)
    record = proj.import_model(path, name=name, unsafe=unsafe)
    console.print(f"model #{record.id} ({record.name}): CV {record.metric} "
                  f"{record.cv_mean:.4g} ± {record.cv_std:.2g}; promote it with "
                  f"`mlpilot models promote {record.id}`")


@models_app.command("export-onnx")
@handle_errors
def models_export_onnx(model: ModelId = None, project: ProjectDir = Path(".")) -> None:
    """Export a version to ONNX; served with onnxruntime only if it matches the skops model."""
    proj = Project.open(project)
    record = proj._model(model) if model is not None else None
    decision = proj.export_onnx(record)
    console.print(decision.reason, soft_wrap=True)
    if decision.path is not None and decision.sha256 is not None:
        console.print(f"written: {decision.path} (sha256 {decision.sha256[:12]}…)")


@models_app.command("rollback")
@handle_errors
def models_rollback(alias: Alias = CHAMPION, reason: Reason = "",
                    project: ProjectDir = Path(".")) -> None:
    """Restore the previous champion and its monitoring baseline."""
    rollback(alias=alias, reason=reason, project=project)


@models_app.command("history")
@handle_errors
def models_history(project: ProjectDir = Path(".")) -> None:
    """The append-only deployment history: what was live, when, why, who."""
    proj = Project.open(project)
    table = Table(title="Deployment history")
    for col in ("#", "when", "alias", "action", "model", "previous", "who", "why"):
        table.add_column(col)
    for e in proj.registry.history():
        style = {"blocked": "yellow", "rollback": "cyan"}.get(e.action, "")
        table.add_row(str(e.id), e.created_at.strftime("%Y-%m-%d %H:%M:%S"), e.alias,
                      f"[{style}]{e.action}[/]" if style else e.action, f"#{e.model_id}",
                      f"#{e.previous_model_id}" if e.previous_model_id else "", e.actor,
                      e.reason)
    console.print(table)


@models_app.command("zoo")
def models_zoo() -> None:
    """The model zoo: every candidate, its family, tasks, whether it is in the default
    shortlist."""
    from mlpilot.cli.commands_project import zoo_table

    console.print(zoo_table())


@handle_errors
def rollback(alias: Alias = CHAMPION, reason: Reason = "",
             project: ProjectDir = Path(".")) -> None:
    """Restore the previous champion (and its monitoring baseline), recorded in history."""
    proj = Project.open(project)
    event = proj.rollback(alias=alias, reason=reason)
    console.print(f"rolled back: model #{event.model_id} is the {alias} again "
                  f"(was #{event.previous_model_id})")


# ---------------------------------------------------------------------- serving
@handle_errors
def serve(
    project: ProjectDir = Path("."),
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    token: Annotated[str | None, typer.Option(
        help=f"bearer token clients must send (default: ${TOKEN_ENV}); required off loopback",
        show_default=False)] = None,
    max_rows: Annotated[int, typer.Option(help="most rows per request")] = 10_000,
    max_body_mb: Annotated[float, typer.Option(help="largest request body, MB")] = 10.0,
) -> None:
    """Serve the champion over HTTP (POST /predict, /healthz, /readyz, /metadata, /metrics).

    Promotions and rollbacks are picked up without a restart."""
    from mlpilot.serve.run import serve as run_server
    from mlpilot.serve.security import check_bind

    token = token or os.environ.get(TOKEN_ENV) or None
    check_bind(host, token)
    proj = Project.open(project)
    app = proj.service(token=token, max_rows=max_rows,
                       max_body_bytes=int(max_body_mb * 1_000_000))
    live = proj.live_model()
    console.print(f"serving model #{live.id} ({live.name}) on http://{host}:{port} — "
                  f"docs at /docs, requests logged to {proj.request_log_dir}")
    try:
        run_server(app, host=host, port=port, token=token)
    finally:
        if app.state.request_log is not None:
            app.state.request_log.close()


@handle_errors
def predict(
    data: Annotated[str, typer.Argument(help="CSV or Parquet file of rows to predict")],
    output: Annotated[Path, typer.Option("--output", "-o", help="where to write (.csv or "
                                         ".parquet)")],
    model: Annotated[int | None, typer.Option(help="model version", show_default="the "
                                              "champion")] = None,
    project: ProjectDir = Path("."),
) -> None:
    """Batch predictions: the input rows with a prediction column (and class probabilities)."""
    proj = Project.open(project)
    record = proj._model(model) if model is not None else None
    path = proj.predict_file(data, output, record)
    console.print(f"predictions written to {path}")


# ---------------------------------------------------------------------- monitoring
@handle_errors
def monitor(
    project: ProjectDir = Path("."),
    data: Annotated[str | None, typer.Option(help="a CSV/Parquet batch to check instead of "
                                             "the request log")] = None,
    last: Annotated[int | None, typer.Option(help="only the most recent N rows")] = None,
) -> None:
    """Input quality and drift vs the champion's training baseline; exit 1 when an alert
    fires (for cron)."""
    proj = Project.open(project)
    outcome = proj.monitor(data, last=last)
    result = outcome.result
    table = Table(title=f"Monitoring model #{outcome.model_id} on {outcome.n_rows:,} rows")
    for col in ("feature", "check", "value", "threshold", "message"):
        table.add_column(col)
    for alert in result.alerts:
        table.add_row(alert.feature, alert.check, f"{alert.value:.4g}",
                      f"{alert.threshold:.4g}", alert.message)
    if result.alerts:
        console.print(table)
    console.print(f"{len(result.alerts)} alert(s); report {outcome.report}")
    raise typer.Exit(result.exit_code)


@handle_errors
def feedback(
    labels: Annotated[str, typer.Argument(help="CSV/Parquet with request ids and true labels")],
    id_column: Annotated[str, typer.Option(help="column holding the request id")] =
        "request_id",
    label_column: Annotated[str | None, typer.Option(help="column holding the true label",
                                                     show_default="the target's name")] = None,
    project: ProjectDir = Path("."),
) -> None:
    """Join late-arriving labels to logged predictions: realised performance per version."""
    proj = Project.open(project)
    table = proj.feedback(labels, id_column=id_column, label_column=label_column)
    out = Table(title="Realised performance")
    for col in table.columns:
        out.add_column(str(col))
    for row in table.itertuples(index=False):
        out.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row])
    console.print(out)


# ---------------------------------------------------------------------- maintenance
@handle_errors
def retrain(
    data: Annotated[str, typer.Option("--data", "-d", help="the new dataset (all rows, old and "
                                      "new)")],
    project: ProjectDir = Path("."),
    budget: Budget = None,
    models: Annotated[str | None, typer.Option(help="comma-separated candidates")] = None,
    tolerance: Annotated[float, typer.Option(help="how much worse (relative) the challenger "
                                             "may be on any scope")] = 0.02,
) -> None:
    """Retrain on new data and promote the result only if it is not worse than the champion
    overall and on every slice."""
    proj = Project.open(project)
    names = [m.strip() for m in models.split(",")] if models else None
    metric = get_metric(proj.framing.metric)
    with LiveLeaderboard(metric, budget or proj.config.budget, "Retraining") as live:
        outcome = proj.retrain(data, budget=budget, models=names, tolerance=tolerance,
                               on_event=live)
    d = outcome.decision
    console.print(f"{outcome.new_rows:,} new rows; challenger #{outcome.challenger.id} "
                  f"({outcome.challenger.name}) vs champion #{outcome.champion.id} "
                  f"({outcome.champion.name})")
    table = Table(title=f"Promotion gate — {d.metric}, tolerance {d.tolerance:.0%}")
    for col in ("scope", "n", "champion", "challenger", "worse by", "95 % interval", "blocks"):
        table.add_column(col)
    for c in d.checks:
        if c.blocks or c.feature == "(all)":
            table.add_row(c.scope, str(c.n), f"{c.champion:.4g}", f"{c.challenger:.4g}",
                          f"{c.relative:+.1%}", f"{c.low:.4g} – {c.high:.4g}",
                          "[red]yes[/]" if c.blocks else "no")
    console.print(table)
    verdict = "[green]promoted[/]" if outcome.promoted else "[yellow]blocked[/]"
    console.print(f"{verdict}: {d.reason}. Details: {outcome.details}", soft_wrap=True)

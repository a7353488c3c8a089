"""Project commands: init, run, train, tune, status, schema, explore, prepare, demo."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from mlpilot.cli.commands_evaluate import TargetPrecision, TargetRecall, print_evaluation
from mlpilot.cli.live import LiveLeaderboard
from mlpilot.cli.output import console, handle_errors
from mlpilot.evaluate.metrics import get_metric
from mlpilot.project import Evaluation, Project, TrainResult

ProjectDir = Annotated[Path, typer.Option("--project", "-p", help="project directory",
                                          show_default="current directory")]
Budget = Annotated[float | None, typer.Option(help="seconds for the model search")]


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("run")(run)
    app.command("train")(train)
    app.command("tune")(tune)
    app.command("status")(status)
    app.command("schema")(schema)
    app.command("explore")(explore)
    app.command("prepare")(prepare)
    app.command("demo")(demo)


def _init_options(
    target: str, task: str, metric: str, split: str, test_size: float, id_column: str | None,
    stratify_on: str | None, time_column: str | None, query: str | None, encoding: str,
    seed: int, budget: float | None, cv_folds: int,
) -> dict[str, Any]:
    targets = [t.strip() for t in target.split(",") if t.strip()]
    options: dict[str, Any] = dict(
        target=targets[0] if len(targets) == 1 else targets, task=task, metric=metric,
        split=split, test_size=test_size, id_column=id_column, stratify_on=stratify_on,
        time_column=time_column, query=query, encoding=encoding, seed=seed, cv_folds=cv_folds)
    if budget is not None:
        options["budget"] = budget
    return options


@handle_errors
def init(
    directory: Annotated[Path, typer.Argument(help="project directory to create")],
    data: Annotated[str, typer.Option("--data", "-d", help="CSV/Parquet file, dataset name, "
                                      "or SQLAlchemy URL (with --query)")],
    target: Annotated[str, typer.Option("--target", "-t", help="column to predict "
                                        "(comma-separated: multilabel)")],
    task: Annotated[str, typer.Option(help="auto, regression, binary, multiclass, "
                                      "multilabel")] = "auto",
    metric: Annotated[str, typer.Option(help="auto or a metric name (rmse, roc_auc ...)")] = "auto",
    split: Annotated[str, typer.Option(help="auto, random, stratified, hash, time")] = "auto",
    test_size: Annotated[float, typer.Option(help="share of rows for the test set")] = 0.2,
    id_column: Annotated[str | None, typer.Option(help="unique row ID (enables the stable "
                                                  "hash split)")] = None,
    stratify_on: Annotated[str | None, typer.Option(help="regression: column to bin "
                                                    "and stratify on")] = None,
    time_column: Annotated[str | None, typer.Option(help="time split: column of "
                                                    "timestamps")] = None,
    query: Annotated[str | None, typer.Option(help="SQL query for a database source")] = None,
    encoding: Annotated[str, typer.Option(help="CSV text encoding")] = "utf-8",
    seed: Annotated[int, typer.Option(help="random seed")] = 42,
    budget: Budget = None,
    cv_folds: Annotated[int, typer.Option(help="cross-validation folds")] = 5,
) -> None:
    """Create a project: read and version the data, frame the task, lock the test set."""
    options = _init_options(target, task, metric, split, test_size, id_column, stratify_on,
                            time_column, query, encoding, seed, budget, cv_folds)
    with console.status("reading the data and setting the test set aside…"):
        project = Project.init(directory, data, **options)
    _print_framing(project)


def _print_framing(project: Project) -> None:
    framing = project.framing
    split = project.split()
    console.print(f"[bold]project[/] {project.root}")
    console.print(f"[bold]task[/] {framing.task} — {framing.task_reason}")
    console.print(f"[bold]metric[/] {framing.metric} — {framing.metric_reason}")
    console.print(f"[bold]test set[/] {split.n_test:,} rows set aside and locked "
                  f"({split.strategy}); {split.n_train:,} rows for training")


def _train_with_progress(project: Project, budget: float | None,
                         models: list[str] | None = None, ensemble: bool | None = None,
                         **threshold: float | None) -> TrainResult:
    metric = get_metric(project.framing.metric)
    with LiveLeaderboard(metric, budget or project.config.budget) as live:
        return project.train(budget=budget, models=models, ensemble=ensemble, on_event=live,
                             **threshold)


def _print_training(result: TrainResult, project: Project) -> None:
    outcome = result.outcome
    chosen, metric = outcome.chosen, result.leaderboard.metric
    choice = outcome.ensemble
    if choice is not None:
        mark = "[green]kept[/]" if choice.kept else "[dim]not kept[/]"
        console.print(f"[bold]ensemble[/] {mark}: {choice.reason}")
        if choice.kept:
            weights = ", ".join(f"{n} {w:.2f}" for n, w in
                                sorted(choice.weights.items(), key=lambda t: -t[1]) if w > 0)
            console.print(f"  weights: {weights}")
    console.print(f"[bold]final model[/] {chosen.name}: CV {metric.label} "
                  f"{metric.format(chosen.mean or 0)} ± {metric.format(chosen.std or 0)}; "
                  f"refitted on all training rows and saved as model #{result.model.id} "
                  f"({result.model.artifact_path}) in {outcome.seconds:.0f} s")
    if outcome.importances is not None:
        top = outcome.importances.head(5)
        listed = ", ".join(f"{f} ({v:.3g})" for f, v in
                           zip(top["feature"], top["permutation_importance"], strict=True))
        console.print(f"[bold]relies most on[/] {listed} [dim](permutation importance; "
                      "reports/importances-*.csv)[/]")
    console.print(f"[dim]preprocessing: {project.prepare_path} (see `mlpilot prepare --show`; "
                  "edit the file to change it)[/]")


@handle_errors
def run(
    source: Annotated[str, typer.Argument(help="CSV/Parquet file, dataset name, or "
                                          "SQLAlchemy URL (with --query)")],
    target: Annotated[str, typer.Option("--target", "-t", help="column to predict")],
    budget: Budget = None,
    project: Annotated[Path | None, typer.Option("--project", "-p", help="project directory "
                       "(default: ./mlpilot-<source name>)")] = None,
    query: Annotated[str | None, typer.Option(help="SQL query for a database source")] = None,
    id_column: Annotated[str | None, typer.Option(help="unique row ID")] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 42,
) -> None:
    """End to end: init, lock the test set, shortlist the zoo, ensemble, save the best."""
    directory = project or default_project_dir(source)
    options = _init_options(target, "auto", "auto", "auto", 0.2, id_column, None, None, query,
                            "utf-8", seed, None, 5)
    with console.status("reading the data and setting the test set aside…"):
        proj = Project.init(directory, source, exist_ok=True, **options)
    _print_framing(proj)
    result = _train_with_progress(proj, budget)
    _print_training(result, proj)


def default_project_dir(source: str) -> Path:
    if Path("mlpilot.toml").exists():
        return Path(".")
    stem = Path(source.split("?")[0]).name.split(".")[0] or "project"
    if "://" in source:
        stem = "sql"
    return Path(f"mlpilot-{stem}")


@handle_errors
def train(
    project: ProjectDir = Path("."),
    budget: Budget = None,
    models: Annotated[str | None, typer.Option(help="comma-separated candidates (see "
                                               "`mlpilot models zoo`); default: the zoo's "
                                               "choice")] = None,
    ensemble: Annotated[bool | None, typer.Option("--ensemble/--no-ensemble",
                                                  help="try an ensemble of the best models "
                                                  "(default: mlpilot.toml)")] = None,
    dask: Annotated[str | None, typer.Option(help="Dask scheduler address (tcp://host:8786) "
                                             "to run the folds on")] = None,
    target_precision: TargetPrecision = None,
    target_recall: TargetRecall = None,
) -> None:
    """Shortlist the zoo by cross-validation within the budget (cheap models first,
    successive halving), ensemble if it helps, refit the winner and save it. Re-running
    after an interruption resumes: finished results are read back."""
    proj = Project.open(project)
    if dask is not None:
        proj.config = proj.config.model_copy(update={"dask": dask})
    names = [m.strip() for m in models.split(",") if m.strip()] if models else None
    result = _train_with_progress(proj, budget, names, ensemble,
                                  target_precision=target_precision, target_recall=target_recall)
    _print_training(result, proj)


@handle_errors
def tune(
    project: ProjectDir = Path("."),
    strategy: Annotated[str, typer.Option(help="optuna (TPE + pruning), grid, random or "
                                          "halving (the book's searches)")] = "optuna",
    budget: Budget = None,
    trials: Annotated[int | None, typer.Option(help="trials per model (optuna, random, "
                                               "halving)")] = None,
    models: Annotated[str | None, typer.Option(help="comma-separated models to tune "
                                               "(default: the best of the last train)")] = None,
    top: Annotated[int, typer.Option(help="how many of the best families to tune")] = 2,
) -> None:
    """Fine-tune the best families (and their preprocessing knobs), re-ensemble, and keep
    the result only if cross-validation says it beats the current model."""
    proj = Project.open(project)
    metric = get_metric(proj.framing.metric)
    names = [m.strip() for m in models.split(",") if m.strip()] if models else None
    with LiveLeaderboard(metric, budget or proj.config.budget, "Tuned") as live:
        report = proj.tune(strategy=strategy, budget=budget, n_trials=trials, models=names,
                           top=top, on_event=live)
    for result in report.results:
        gain = (f"; {result.improvement:+.1%} against its defaults"
                if result.improvement is not None else "")
        console.print(f"[bold]{result.candidate}[/] ({result.strategy}, {result.n_trials} "
                      f"trials): CV {metric.label} {metric.format(result.best_score)}{gain}")
        shown = {k.split("__")[-1]: v for k, v in result.best_params.items()}
        console.print(f"  [dim]{shown}[/]", soft_wrap=True)
    chosen = report.chosen
    if report.improved and report.record is not None:
        console.print(f"[bold]final model[/] {chosen.name}: CV {metric.label} "
                      f"{metric.format(chosen.mean or 0)} ± {metric.format(chosen.std or 0)}; "
                      f"saved as model #{report.record.id} ({report.record.artifact_path})")
    else:
        console.print(f"[bold]kept the current model[/]: the best after tuning, {chosen.name} "
                      f"(CV {metric.format(chosen.mean or 0)}), is not better")
    console.print(f"[dim]trials: {proj.layout.reports}/tune-<model>-{strategy}.csv[/]")


def zoo_table() -> Table:
    """The model zoo: every candidate, its family, tasks, and whether it is in the default
    shortlist."""
    from mlpilot.models.zoo import all_candidates, available

    table = Table(title="Model zoo")
    for col in ("model", "family", "preprocessing", "tasks", "default", "tunable"):
        table.add_column(col)
    for c in all_candidates():
        default = ("yes" if c.default else "on request") if available(c) else \
            f"[yellow]needs {c.requires}[/]"
        table.add_row(c.name, c.family, c.prep, ", ".join(sorted(c.tasks)), default,
                      ", ".join(sorted(c.space_for("regression") or c.space_for("binary"))))
    return table


@handle_errors
def status(project: ProjectDir = Path(".")) -> None:
    """Where the project stands: data version, split, test-set reads, models."""
    table = Table(show_header=False, box=None)
    for key, value in Project.open(project).status().items():
        table.add_row(f"[bold]{key.replace('_', ' ')}[/]", str(value))
    console.print(table)


@handle_errors
def schema(project: ProjectDir = Path(".")) -> None:
    """The inferred kind of each column, and why."""
    proj = Project.open(project)
    sch = proj.schema
    table = Table(title="Schema")
    for col in ("column", "kind", "missing", "distinct", "why"):
        table.add_column(col)
    for c in sch.columns.values():
        table.add_row(c.name, str(c.kind), str(c.n_missing), str(c.n_unique), c.reason)
    console.print(table)
    if sch.geo_pairs:
        console.print("geographic pairs: " + ", ".join(f"{a}/{b}" for a, b in sch.geo_pairs))


@handle_errors
def explore(
    project: ProjectDir = Path("."),
    size_by: Annotated[str | None, typer.Option(help="map: marker size column "
                                                "(default: population, if present)")] = None,
    color_by: Annotated[str | None, typer.Option(help="map: colour column "
                                                 "(default: the target)")] = None,
) -> None:
    """Explore the training rows: statistics, flags and figures as an HTML report."""
    proj = Project.open(project)
    with console.status("exploring the training rows (the test set stays locked)…"):
        exploration = proj.explore(size_by=size_by, color_by=color_by)
    flags = exploration.flags
    table = Table(title=f"{len(flags)} flag(s) on {exploration.stats['n_rows']:,} training rows")
    for col in ("column", "flag", "evidence", "suggestion"):
        table.add_column(col, overflow="fold")
    for flag in flags:
        table.add_row(flag.column or "(table)", str(flag.kind), flag.evidence, flag.suggestion)
    console.print(table)
    console.print(f"[bold]report[/] {proj.layout.reports / 'explore.html'}")
    console.print(f"[bold]statistics[/] {proj.layout.reports / 'explore.json'} "
                  "(the monitoring baseline)")


@handle_errors
def prepare(
    project: ProjectDir = Path("."),
    show: Annotated[bool, typer.Option("--show", help="print each column's treatment "
                                       "and the reason")] = False,
    force: Annotated[bool, typer.Option("--force", help="rewrite prepare.py even if it "
                                        "exists (your edits are lost)")] = False,
) -> None:
    """Build the preprocessing pipeline and write it as readable Python (prepare.py)."""
    proj = Project.open(project)
    with console.status("planning the preprocessing (ratio features are tried by CV)…"):
        result = proj.prepare(force=force)
    if not result.written:
        console.print(f"[bold]kept[/] {result.path} as it is (your edits win; --force rewrites "
                      "it)")
    else:
        console.print(f"[bold]wrote[/] {result.path}")
    if show:
        plan = result.plan or (proj.plan_preparation() if not result.written else None)
        table = Table(title="Preparation: each column's treatment")
        for col in ("column", "treatment", "why"):
            table.add_column(col, overflow="fold")
        if plan is not None:
            for column, treatment, why in plan.rows():
                table.add_row(column, treatment, why)
            for r in plan.rejected_ratios:
                table.add_row(f"[dim]{r.name}[/]", "[dim]not used[/]", f"[dim]{r.reason}[/]")
        console.print(table)
        if result.plan is None:
            console.print("[dim]the table shows the automatic plan; prepare.py may differ "
                          "where you edited it[/]")
        pipe = proj.preprocessor("scaled")
        X, _ = proj.training_data()
        names = pipe.fit(X, _).get_feature_names_out()
        console.print(f"[bold]{len(names)} features[/] (scaled variant): {', '.join(names)}",
                      soft_wrap=True)


@handle_errors
def demo(
    name: Annotated[str, typer.Argument(help="a catalog dataset (see `mlpilot datasets`)")]
    = "breast_cancer",
    project: Annotated[Path | None, typer.Option("--project", "-p", help="keep the project "
                       "here (default: a temporary directory)")] = None,
    budget: Budget = 60.0,
) -> None:
    """Run the whole path offline on a bundled dataset and print a short summary."""
    from mlpilot.data.catalog import dataset_info

    info = dataset_info(name)
    console.rule(f"mlpilot demo — {info.title}")
    with tempfile.TemporaryDirectory(prefix="mlpilot-demo-") as tmp:
        directory = project or Path(tmp) / info.name
        with console.status(f"loading {info.name}, versioning it, locking the test set…"):
            proj = Project.init(directory, info.name, info.target or "", exist_ok=True)
        _print_framing(proj)
        result = _train_with_progress(proj, budget)
        _print_training(result, proj)
        ev = proj.evaluate()
        print_evaluation(ev)
        if project is not None:
            with console.status("writing the solution report…"):
                files = proj.report()
            console.print(f"[bold]report[/] {files.html}"
                          + (f" and {files.pdf}" if files.pdf else ""))
        launched = _demo_launch(proj, ev.model_id, directory)
        console.rule("summary")
        summary = demo_summary(proj, result, ev) + launched
        if project is None:
            summary += " (a temporary project, removed now: pass --project DIR to keep it)"
        console.print(summary, soft_wrap=True)
        proj.close()


def _demo_launch(project: Project, model_id: int, directory: Path) -> str:
    """The book's last step, offline: promote, predict a batch, monitor it against the
    training baseline (the service itself is `mlpilot serve`)."""
    with console.status("launching: champion, batch predictions, monitoring…"):
        champion = project.champion()
        if champion is None or champion.id != model_id:
            project.promote(project._model(model_id), reason="demo: evaluated model")
        X, _ = project.training_data()
        batch = directory / "data" / "demo-batch.csv"
        batch.parent.mkdir(parents=True, exist_ok=True)
        X.sample(min(len(X), 200), random_state=0).to_csv(batch, index=False)
        scored = project.predict_file(batch, directory / "reports" / "demo-predictions.csv")
        outcome = project.monitor(batch)
    alerts = len(outcome.result.alerts)
    console.print(f"[bold]launch[/] model #{model_id} is the champion; {scored.name} holds its "
                  f"predictions for {outcome.n_rows} rows; monitoring them against the "
                  f"training baseline: {alerts} alert(s) ({outcome.report.name})", soft_wrap=True)
    return (f" Model #{model_id} is the champion (`mlpilot serve --project {directory}` serves "
            f"it); a batch of {outcome.n_rows} rows was scored and monitored: {alerts} alert(s).")


def demo_summary(project: Project, result: TrainResult, ev: Evaluation) -> str:
    framing = project.framing
    split = project.split()
    m = ev.metric
    board = result.leaderboard
    dummy = next((r for r in board.rows if r.name == "dummy" and r.mean is not None), None)
    versus = (f", against {m.format(dummy.mean)} for the dummy baseline"
              if dummy is not None and dummy.mean is not None else "")
    return (
        f"mlpilot framed '{framing.target}' as {framing.task} ({framing.task_reason}) and chose "
        f"{m.label}. It versioned the data ({project.dataset_version().content_hash[:12]}), set "
        f"{split.n_test} test rows aside before looking at anything ({split.strategy} split), "
        f"and cross-validated {len(board.ranked())} models on the other {split.n_train}. "
        f"The best, {ev.model_name}, scored {m.format(ev.cv_mean)} ± {m.format(ev.cv_std)} "
        f"in cross-validation{versus}; on the locked test set it scores {m.format(ev.score)}. "
        f"Project: {project.root}."
    )

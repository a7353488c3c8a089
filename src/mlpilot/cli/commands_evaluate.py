"""Evaluation commands: evaluate (the one test-set look), threshold, curves, report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from mlpilot.cli.output import console, handle_errors
from mlpilot.evaluate.metrics import METRICS, Metric
from mlpilot.project import Evaluation, Project

ProjectDir = Annotated[Path, typer.Option("--project", "-p", help="project directory",
                                          show_default="current directory")]
TargetPrecision = Annotated[float | None, typer.Option(
    help="choose the decision threshold for this precision (binary; e.g. 0.9)")]
TargetRecall = Annotated[float | None, typer.Option(
    help="choose the decision threshold for this recall (binary)")]
#: Slices listed in the terminal (all are in the report and reports/slices-*.csv).
SLICES_SHOWN = 12


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)
    app.command("threshold")(threshold)
    app.command("curves")(curves)
    app.command("report")(report)


def print_evaluation(ev: Evaluation) -> None:
    m = ev.metric
    result = ev.result
    interval = ""
    if result is not None and result.interval.low == result.interval.low:  # not NaN
        interval = (f" [dim](95 % interval {m.format(result.interval.low)} – "
                    f"{m.format(result.interval.high)})[/]")
    console.print(f"[bold]test {m.label}[/] {m.format(ev.score)}{interval} on {ev.n_rows:,} "
                  f"locked rows (model #{ev.model_id} {ev.model_name}; CV estimate "
                  f"{m.format(ev.cv_mean)} ± {m.format(ev.cv_std)})")
    if result is None:
        return
    others = [f"{r['label']} {METRICS[n].format(r['value'])}"
              for n, r in result.metrics.items() if n != m.name]
    if others:
        console.print(f"[dim]also: {', '.join(others)}[/]")
    for warning in result.warnings:
        console.print(f"[bold yellow]warning:[/] {warning}", soft_wrap=True)
    if result.slices is not None and not result.slices.empty:
        console.print(_slice_table(result.slices, m))
    if ev.details_path is not None:
        console.print(f"[dim]details: {ev.details_path}; `mlpilot report` presents them[/]")


def _slice_table(slices: Any, m: Metric) -> Table:
    from mlpilot.evaluate.slices import worst_slices

    shown = worst_slices(slices, SLICES_SHOWN)
    if shown.empty:
        return Table(title="Slices: none has enough test rows to be scored")
    flagged = int(slices["worse"].fillna(False).astype(bool).sum())
    table = Table(title=f"Slices, worst first ({flagged} significantly worse than the whole)")
    for column in ("feature", "slice", "rows", m.label, "95 % interval", ""):
        table.add_column(column, justify="right" if column in ("rows", m.label) else "left")
    for row in shown.itertuples(index=False):
        r = row._asdict()
        table.add_row(str(r["feature"]), str(r["slice"]), f"{int(r['n']):,}",
                      m.format(r["score"]),
                      f"{m.format(r['low'])} – {m.format(r['high'])}"
                      if r["low"] == r["low"] else "—",
                      "[red]worse[/]" if r["worse"] else "")
    return table


@handle_errors
def evaluate(
    project: ProjectDir = Path("."),
    target_precision: TargetPrecision = None,
    target_recall: TargetRecall = None,
) -> None:
    """Score the final model on the locked test set, once: the metric with its 95 % interval,
    every usual metric, slices, diagnostics (each read is recorded). With a precision or
    recall target, first choose the decision threshold on out-of-fold predictions."""
    proj = Project.open(project)
    if target_precision is not None or target_recall is not None:
        _set_threshold(proj, target_precision, target_recall)
    print_evaluation(proj.evaluate())


def _set_threshold(proj: Project, precision: float | None, recall: float | None) -> None:
    result = proj.set_threshold(target_precision=precision, target_recall=recall)
    c = result.choice
    console.print(f"[bold]threshold[/] {c.threshold:.4g} for {c.target} ≥ {c.target_value:g}: "
                  f"out-of-fold precision {c.precision:.3f}, recall {c.recall:.3f}; saved with "
                  f"the model as #{result.record.id} {result.record.name}")


@handle_errors
def threshold(
    project: ProjectDir = Path("."),
    target_precision: TargetPrecision = None,
    target_recall: TargetRecall = None,
) -> None:
    """Choose a binary model's decision threshold for a target precision or recall, on its
    out-of-fold predictions (never the test set), and store it with the model."""
    _set_threshold(Project.open(project), target_precision, target_recall)


@handle_errors
def curves(project: ProjectDir = Path(".")) -> None:
    """Learning curve of the final model and validation curve of its key hyperparameter
    (training rows only; shown by `mlpilot report`)."""
    proj = Project.open(project)
    with console.status("fitting on growing subsets and across the key hyperparameter…"):
        out = proj.curves()
    learning = out["learning"][-1]
    console.print(f"[bold]learning curve[/] on {out['rows']:,} rows: at full size, training "
                  f"{learning['train_mean']:.4g} vs validation {learning['validation_mean']:.4g}")
    if "validation" in out:
        console.print(f"[bold]validation curve[/] over {out['param']}: "
                      + ", ".join(f"{r['value']}: {r['validation_mean']:.4g}"
                                  for r in out["validation"]))


@handle_errors
def report(
    project: ProjectDir = Path("."),
    pdf: Annotated[bool | None, typer.Option("--pdf/--no-pdf", help="also print a PDF "
                                             "(default: when a headless browser is found)")]
    = None,
    with_curves: Annotated[bool, typer.Option("--curves/--no-curves", help="compute learning "
                                              "and validation curves first if missing")] = True,
) -> None:
    """Present the solution: one self-contained HTML page (and a PDF) from the stored results
    — framing, data, what was tried, the final pipeline, the test score with its interval,
    slices, top features, errors, limitations. Run `mlpilot evaluate` first."""
    proj = Project.open(project)
    record = proj.latest_model()
    proj.evaluation(record)  # fail early, with a hint, when there is nothing to present
    curves_file = proj.layout.reports / f"curves-{Path(record.artifact_path).stem}.json"
    if with_curves and not curves_file.exists():
        with console.status("learning and validation curves…"):
            proj.curves(record)
    with console.status("writing the report…"):
        files = proj.report(record, pdf=pdf)
    console.print(f"[bold]report[/] {files.html}")
    if files.pdf is not None:
        console.print(f"[bold]pdf[/] {files.pdf}")
    elif pdf is None:
        console.print("[dim]no headless browser found: no PDF (install chromium)[/]")

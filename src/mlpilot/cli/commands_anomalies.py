"""``mlpilot anomalies``: flag unusual rows (outlier detection) or new ones (novelty detection).

Without ``--novelty-data`` the detector is fitted on the rows it flags; with it, the rows of
``--data`` are taken as clean and the new file is scored against them. Writes the report
(``anomalies.html``/``.json``), the fitted model (``anomalies-model.skops``) and every
scored row (``anomalies-scores.parquet``: row, score, flag).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mlpilot.atomic import write_parquet
from mlpilot.cli.output import console, handle_errors
from mlpilot.cli.unsupervised_input import Data, Label, OutDir, ProjectOpt, Query, load_input
from mlpilot.unsupervised.anomalies import METHODS, Anomalies, detect_anomalies

Method = Annotated[str, typer.Option(
    "--method", "-m", help=f"detector: {', '.join(METHODS)}")]
Contamination = Annotated[float, typer.Option(
    help="expected share of anomalies: the threshold flags this share of the fitted rows "
         "(the book: 0.02, the 2nd percentile of GMM densities)")]
NoveltyData = Annotated[Path | None, typer.Option(
    "--novelty-data", help="novelty detection: fit on --data (taken as clean), score this "
                           "file's rows (.csv or .parquet)")]
Top = Annotated[int, typer.Option(help="anomalies listed in the report")]
#: Rows listed in the terminal.
SHOWN = 5


def register(app: typer.Typer) -> None:
    app.command("anomalies")(anomalies)


@handle_errors
def anomalies(
    data: Data = None,
    project: ProjectOpt = Path("."),
    label: Label = None,
    out: OutDir = None,
    query: Query = None,
    method: Method = "isolation_forest",
    contamination: Contamination = 0.02,
    novelty_data: NoveltyData = None,
    top: Top = 20,
) -> None:
    """Flag anomalies: a score per row (higher = more anomalous), a threshold, a report."""
    from mlpilot.data.sources import SourceSpec, detect_kind, read_source

    inp = load_input(data, project, label, out, query)
    new_frame = None
    if novelty_data is not None:
        new_frame = read_source(SourceSpec(str(novelty_data), detect_kind(str(novelty_data))))
    with console.status(f"fitting {method} on {len(inp.frame):,} rows ..."):
        result = detect_anomalies(inp.features, method=method, contamination=contamination,
                                  novelty=new_frame is not None, label=inp.label, top=top)
        scored = None
        if new_frame is not None:
            label_name = str(inp.label.name) if inp.label is not None else None
            scored = result.score(new_frame, label=label_name)
    out_dir = inp.out_dir
    scores = scored.to_frame() if scored is not None else result.scores_frame()
    write_parquet(out_dir / "anomalies-scores.parquet", scores)
    result.save_model(out_dir / "anomalies-model.skops")
    report = result.write_report(out_dir)
    _print(result, inp.origin)
    console.print(f"report: {report}")
    console.print(f"[dim]scores: {out_dir / 'anomalies-scores.parquet'}; model: "
                  f"{out_dir / 'anomalies-model.skops'}[/]")


def _print(result: Anomalies, origin: str) -> None:
    n = len(result.scores)
    table = Table(title=f"Anomalies in {origin} — {result.mode}")
    table.add_column("")
    table.add_column("", justify="right")
    table.add_row("method", result.method)
    table.add_row("rows fitted", f"{n:,}")
    table.add_row("threshold", f"{result.threshold:.4g}")
    table.add_row("flagged", f"{result.n_flagged:,} ({result.n_flagged / n:.1%})")
    if result.metrics:
        m = result.metrics
        table.add_row("precision / recall / F1",
                      f"{m['precision']:.3f} / {m['recall']:.3f} / {m['f1']:.3f}")
    if result.scored is not None:
        s = result.scored
        table.add_row("new rows flagged",
                      f"{int(s.flags.sum()):,} of {len(s.scores):,} "
                      f"({s.flags.sum() / max(len(s.scores), 1):.1%})")
    console.print(table)
    shown = result.scored.top if result.scored is not None else result.top
    rows = Table(title="Most anomalous " + ("new rows" if result.scored is not None else "rows"))
    rows.add_column("row", justify="right")
    rows.add_column("score", justify="right")
    rows.add_column("why (robust z-scores)")
    for rec in shown.head(SHOWN).to_dict("records"):
        rows.add_row(str(rec["row"]), f"{rec['score']:.4g}", str(rec.get("why", "")))
    console.print(rows)
    for note in result.notes:
        console.print(f"[dim]{note}[/]", soft_wrap=True)

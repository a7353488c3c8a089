"""`mlpilot reduce`: fewer columns (PCA, random projection, manifold maps), with a report.

Reads a table (``--data``, or the project's training rows) or streams a file too large for
memory (``--stream``, incremental PCA), then writes ``reduce.html``, ``reduce.json``, the
fitted model (``reduce-model.skops``) and the embedding (``reduce-embedding.parquet``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mlpilot.cli.output import console, handle_errors
from mlpilot.cli.unsupervised_input import Data, Label, OutDir, ProjectOpt, Query, load_input
from mlpilot.errors import UnsupervisedError

if TYPE_CHECKING:
    from mlpilot.unsupervised.reduce import Reduction

Method = Annotated[str, typer.Option(
    "--method", "-m", help="pca, randomized_pca, incremental_pca, kernel_pca, lle, isomap, mds, "
                           "random_projection or tsne")]
Components = Annotated[str | None, typer.Option(
    "--components", "-k", help="a variance ratio to keep (0.95, the default, PCA family) or a "
                               "number of dimensions (2 for maps)", show_default=False)]
Eps = Annotated[float, typer.Option(
    help="random projection: distance distortion allowed; sets d by Johnson–Lindenstrauss")]
Projection = Annotated[str, typer.Option(help="random projection: sparse or gaussian")]
Sample = Annotated[int, typer.Option(
    help="rows kept for the O(m²) methods (kernel_pca, lle, isomap, mds, tsne)")]
Stream = Annotated[Path | None, typer.Option(
    help="a .parquet or .npy file reduced by incremental PCA in batches, never loaded whole")]
BatchRows = Annotated[int | None, typer.Option(help="rows per batch with --stream")]
Scale = Annotated[bool | None, typer.Option(
    "--scale/--no-scale", help="standardize features (default: yes, unless rows look like "
                               "images)", show_default=False)]


def register(app: typer.Typer) -> None:
    app.command("reduce")(reduce_command)


@handle_errors
def reduce_command(
    data: Data = None,
    project: ProjectOpt = Path("."),
    label: Label = None,
    out: OutDir = None,
    query: Query = None,
    method: Method = "pca",
    components: Components = None,
    eps: Eps = 0.1,
    projection: Projection = "sparse",
    sample: Sample = 5_000,
    stream: Stream = None,
    batch_rows: BatchRows = None,
    scale: Scale = None,
) -> None:
    """Reduce the number of features (book ch. 8): choose d for 95 % of the variance, draw a
    map coloured by the label, measure the reconstruction error; writes a report, the model
    and the embedding."""
    from mlpilot.unsupervised.reduce import (
        NAMES,
        QUADRATIC,
        check_method,
        parse_components,
        reduce,
    )

    n_components = parse_components(components)
    if stream is not None:
        if data is not None:
            raise UnsupervisedError("pass either --data or --stream, not both",
                                    "--stream reads a file batch by batch without loading it")
        if method not in ("pca", "incremental_pca"):
            raise UnsupervisedError(f"--stream runs incremental PCA, not {method}",
                                    "leave out --method, or load the data with --data")
        out_dir = out or Path("mlpilot-reports")
        out_dir.mkdir(parents=True, exist_ok=True)
        result = _stream(stream, n_components, label, batch_rows,
                         out_dir / "reduce-embedding.parquet")
    else:
        table = load_input(data, project, label, out, query)
        out_dir = table.out_dir
        rows = len(table.features)
        key = check_method(method)
        if key in QUADRATIC and rows > sample:
            console.print(f"[dim]{NAMES[key]} costs O(m²): running on {sample:,} sampled rows "
                          f"of {rows:,} (--sample to change)[/]")
        with console.status(f"reducing {rows:,} rows with {method}…"):
            result = reduce(table.features, method=method, n_components=n_components,
                            label=table.label, sample=sample, scale=scale, eps=eps,
                            projection=projection, origin=table.origin)
        result.write_embedding(out_dir / "reduce-embedding.parquet")
    report = result.write_report(out_dir)
    result.save_model(out_dir / "reduce-model.skops")
    _print(result, report)


def _stream(path: Path, n_components: float | int, label: str | None,
            batch_rows: int | None, embedding: Path) -> Reduction:
    """Incremental PCA over ``path`` with a progress bar (rows read, every pass)."""
    from mlpilot.unsupervised.reduce_stream import reduce_stream
    from mlpilot.unsupervised.streaming import open_batches

    probe = open_batches(path)
    passes = 2 if isinstance(n_components, int) else 3
    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                  transient=True) as bar:
        task = bar.add_task(f"incremental PCA over {path.name} ({passes} passes, rows)",
                            total=probe.n_rows * passes)
        return reduce_stream(path, n_components, label=label,
                             batch_rows=batch_rows, embedding_path=embedding,
                             on_batch=lambda n: bar.advance(task, n))


def _print(result: Reduction, report: Path) -> None:
    """Key numbers as a short table, the notes, and where the report is."""
    table = Table(title=f"{result.name}: {result.n_features:,} → {result.n_components:,} "
                        "dimensions", min_width=44)
    table.add_column("")
    table.add_column("value", justify="right")
    rows = f"{result.n_rows:,}"
    if result.sampled_from:
        rows += f" (sampled from {result.sampled_from:,})"
    table.add_row("rows", rows)
    table.add_row("dimensions kept (d)", f"{result.n_components:,}")
    if result.variance_kept is not None:
        table.add_row("variance kept", f"{result.variance_kept:.2%}")
    if "jl_min_dim" in result.params:
        table.add_row("JL minimum dimension", f"{result.params['jl_min_dim']:,} "
                                              f"(eps {result.params['eps']:g})")
    table.add_row("reconstruction error", "—" if result.reconstruction_error is None
                  else f"{result.reconstruction_error:.4g}")
    seconds = sum(result.timings.values())
    table.add_row("time (s)", f"{seconds:.2f}" if seconds >= 0.01 else "< 0.01")
    console.print(table)
    for note in result.notes:
        console.print(f"[dim]{note}[/]", soft_wrap=True)
    console.print(f"report: {report}")

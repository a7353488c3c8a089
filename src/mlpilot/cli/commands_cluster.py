"""`mlpilot cluster`: group rows (k-means, DBSCAN, mixtures ...), assign new rows, segment images.

Three modes. By default, cluster a table (``--data``, or the project's training rows) and
write ``cluster.html``, ``cluster.json``, the model (``cluster-model.skops``: the feature
transformer, then the assignment) and the labels (``cluster-labels.parquet``). With
``--assign FILE``, label the rows of FILE with the model saved earlier in the output
directory. With ``--image``, segment an image by colour (the book's figure 9-12).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mlpilot.cli.output import console, handle_errors
from mlpilot.cli.unsupervised_input import Data, Label, OutDir, ProjectOpt, Query, load_input
from mlpilot.errors import UnsupervisedError

if TYPE_CHECKING:
    from mlpilot.unsupervised.cluster import Clustering

Method = Annotated[str, typer.Option(
    "--method", "-m", help="kmeans, minibatch_kmeans, dbscan, hdbscan, agglomerative, gmm "
                           "or bgm")]
K = Annotated[int | None, typer.Option(
    "--k", "-k", help="number of clusters (default: chosen — silhouette for k-means, BIC "
                      "for gmm; bgm: the upper bound)", show_default=False)]
KRange = Annotated[str, typer.Option(
    "--k-range", help="the k tried when --k is left out: FIRST:LAST (inclusive) or a list "
                      "2,3,5")]
Eps = Annotated[float | None, typer.Option(
    help="DBSCAN neighbourhood radius (default: the knee of the k-distance plot)",
    show_default=False)]
MinSamples = Annotated[int | None, typer.Option(
    "--min-samples", help="DBSCAN: rows within eps (itself included) to be a core row "
                          "(default 5)", show_default=False)]
Covariance = Annotated[str | None, typer.Option(
    help="gmm/bgm covariance type: full, tied, diag or spherical (default full)",
    show_default=False)]
MaxDistance = Annotated[float | None, typer.Option(
    "--max-distance", help="dbscan/hdbscan/agglomerative: new rows farther than this from "
                           "every clustered row are labelled -1", show_default=False)]
Assign = Annotated[Path | None, typer.Option(
    help="label the rows of this file (.csv/.parquet) with the model saved in the output "
         "directory; writes them with a `cluster` column", show_default=False)]
Image = Annotated[str | None, typer.Option(
    help="segment an image by colour: a PNG/JPEG path or sample:china.jpg",
    show_default=False)]
Colors = Annotated[int, typer.Option(help="with --image: the number of colours")]
Seed = Annotated[int, typer.Option(help="random seed")]


#: Method-specific options: the flag, and the methods it applies to.
FLAG_METHODS: dict[str, tuple[str, tuple[str, ...]]] = {
    "eps": ("--eps", ("dbscan",)),
    "min_samples": ("--min-samples", ("dbscan", "hdbscan")),
    "covariance_type": ("--covariance", ("gmm", "bgm")),
    "max_distance": ("--max-distance", ("dbscan", "hdbscan", "agglomerative")),
}


def register(app: typer.Typer) -> None:
    app.command("cluster")(cluster_command)


@handle_errors
def cluster_command(
    data: Data = None,
    project: ProjectOpt = Path("."),
    label: Label = None,
    out: OutDir = None,
    query: Query = None,
    method: Method = "kmeans",
    k: K = None,
    k_range: KRange = "2:10",
    eps: Eps = None,
    min_samples: MinSamples = None,
    covariance: Covariance = None,
    max_distance: MaxDistance = None,
    assign: Assign = None,
    image: Image = None,
    colors: Colors = 8,
    seed: Seed = 42,
) -> None:
    """Cluster rows (book ch. 9): choose k (or eps), profile each cluster, save a model that
    assigns new rows; or --assign new rows with it; or --image to segment a picture."""
    if image is not None:
        _segment(image, colors, out, seed)
        return
    if assign is not None:
        _assign(assign, data, project, out)
        return
    from mlpilot.unsupervised.cluster import METHODS, SWEEP_METHODS, check_method, cluster

    key = check_method(method)
    options: dict[str, Any] = {}
    if eps is not None:
        options["eps"] = eps
    if min_samples is not None:
        options["min_samples"] = min_samples
    if covariance is not None:
        options["covariance_type"] = covariance
    if max_distance is not None:
        options["max_distance"] = max_distance
    for name in options:
        flag, methods = FLAG_METHODS[name]
        if key not in methods:
            raise UnsupervisedError(f"{flag} does not apply to {key}",
                                    f"it is for {', '.join(methods)}")
    ks = parse_k_range(k_range)
    table = load_input(data, project, label, out, query)
    steps = len(ks) if k is None and key in SWEEP_METHODS else 1
    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                  transient=True) as bar:
        task = bar.add_task(f"{METHODS[key]} on {len(table.features):,} rows"
                            + (" (one tick per k)" if steps > 1 else ""), total=steps)
        result = cluster(table.features, method=key, k=k, k_range=ks, random_state=seed,
                         label=table.label, on_step=lambda _k: bar.advance(task), **options)
    report = result.write_report(table.out_dir)
    result.save_model(table.out_dir / "cluster-model.skops")
    result.write_labels(table.out_dir / "cluster-labels.parquet")
    _print(result, report, table.origin)


def parse_k_range(text: str) -> range | list[int]:
    """``2:10`` → 2..10 inclusive; ``2,3,5`` → those values."""
    try:
        if ":" in text:
            first, last = (int(part) for part in text.split(":"))
            values: range | list[int] = range(first, last + 1)
        else:
            values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if len(values) < 2 or min(values) < 1:
        raise UnsupervisedError(f"cannot read --k-range {text!r}",
                                "pass FIRST:LAST (e.g. 2:10) or a list (2,3,5), k ≥ 1")
    return values


def _out_dir(data: str | None, project: Path, out: Path | None) -> Path:
    """Where the saved model is: --out, else the project's reports, else ./mlpilot-reports."""
    if out is not None:
        return out
    if data is None:
        from mlpilot.errors import ProjectError
        from mlpilot.project import Project

        try:
            return Project.open(project).layout.reports
        except ProjectError:
            pass
    return Path("mlpilot-reports")


def _assign(path: Path, data: str | None, project: Path, out: Path | None) -> None:
    """Label the rows of ``path`` with the saved model; write them with a cluster column."""
    from mlpilot.atomic import write_text, write_with
    from mlpilot.data.sources import SourceSpec, detect_kind, read_source
    from mlpilot.unsupervised.cluster import assign_rows, load_cluster_model

    if data is not None:
        raise UnsupervisedError("--assign uses the saved model; --data would refit it",
                                "run `mlpilot cluster --data ...` first, then --assign alone")
    out_dir = _out_dir(data, project, out)
    model = load_cluster_model(out_dir / "cluster-model.skops")
    rows = read_source(SourceSpec(str(path), detect_kind(str(path), None), None))
    labelled = rows.copy()
    labelled["cluster"] = assign_rows(model, rows)
    if path.suffix == ".parquet":
        dest = out_dir / f"{path.stem}-clusters.parquet"
        write_with(dest, lambda p: labelled.to_parquet(p, index=False))
    else:
        dest = out_dir / f"{path.stem}-clusters.csv"
        write_text(dest, labelled.to_csv(index=False))
    counts = labelled["cluster"].value_counts().sort_index()
    table = Table(title=f"{len(labelled):,} rows of {path.name} assigned", min_width=40)
    table.add_column("cluster")
    table.add_column("rows", justify="right")
    for cluster_id, n in counts.items():
        table.add_row("noise (-1)" if cluster_id == -1 else str(cluster_id), f"{n:,}")
    console.print(table)
    console.print(f"rows with their cluster: {dest}")


def _segment(image: str, colors: int, out: Path | None, seed: int) -> None:
    """Colour segmentation: the book's 10/8/6/4/2 colours plus ``colors``, and its image."""
    from mlpilot.unsupervised.segment import BOOK_COLORS, segment

    if colors < 1:
        raise UnsupervisedError(f"--colors must be at least 1, got {colors}",
                                "pass --colors 2 or more")
    counts = sorted({*BOOK_COLORS, colors}, reverse=True)
    out_dir = out or Path("mlpilot-reports")
    out_dir.mkdir(parents=True, exist_ok=True)
    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                  MofNCompleteColumn(), console=console, transient=True) as bar:
        task = bar.add_task("segmenting (one tick per colour count)", total=1)
        result = segment(image, counts, random_state=seed)
        bar.advance(task)
    report = result.write_report(out_dir)
    picture = result.write_image(out_dir / "cluster-segmented.png", colors)
    table = Table(title=f"Colour segmentation of {image}", min_width=40)
    table.add_column("colours asked")
    table.add_column("distinct colours", justify="right")
    for n in counts:
        table.add_row(str(n), str(result.colors_used(n)))
    console.print(table)
    for note in result.notes:
        console.print(f"[dim]{note}[/]", soft_wrap=True)
    console.print(f"{colors}-colour image: {picture}")
    console.print(f"report: {report}")


def _print(result: Clustering, report: Path, origin: str) -> None:
    """Key numbers as a short table, then the sentences of the summary, then the files."""
    table = Table(title=f"{result.method}: {result.n_clusters} clusters in {origin}",
                  min_width=44)
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row("rows × features", f"{len(result.labels):,} × {result.features.X.shape[1]}")
    table.add_row("clusters", str(result.n_clusters))
    table.add_row("chosen by", result.chosen_by)
    if result.n_noise:
        table.add_row("noise rows (-1)", f"{result.n_noise:,}")
    if result.silhouette is not None:
        table.add_row("silhouette", f"{result.silhouette:.3f}")
    if result.inertia is not None:
        table.add_row("inertia", f"{result.inertia:,.4g}")
    if result.elbow is not None:
        table.add_row("elbow (inertia)", str(result.elbow))
    if result.bic is not None:
        table.add_row("BIC / AIC", f"{result.bic:,.1f} / {result.aic:,.1f}")
    if result.eps is not None:
        table.add_row("eps", f"{result.eps:.4g}")
    if result.effective_components is not None:
        table.add_row("components in use", str(result.effective_components))
    if result.agreement is not None:
        table.add_row(f"agreement with {result.agreement.label_name} (ARI)",
                      f"{result.agreement.adjusted_rand:.3f}")
        table.add_row("mapped label accuracy", f"{result.agreement.accuracy:.3f}")
    console.print(table)
    for line in result.summary()[1:]:
        console.print(f"[dim]{line}[/]", soft_wrap=True)
    console.print(f"report: {report}")

"""``mlpilot label``: label a few representative rows, propagate, measure the gain.

Step 1 (no ``--labels``): k-means picks the row closest to each centroid and writes them to
``label-todo.csv`` with an empty ``label`` column (and ``label.html`` showing them). Step 2
(``--labels label-todo.csv``, filled in): the labels spread to the clusters, a classifier is
trained, and the report compares it with the hand labels alone (``label.html``/``.json``,
``label-propagated.parquet``, ``label-model.skops``). ``--next N`` writes the N rows the model
is least sure of to ``label-next.csv`` (active learning): fill it and pass it with
``--labels`` too.

The label column (``--label``, default the project's target) holds known labels: rows where
it has a value are the test set; when every row has one (a simulation, like the book's
digits) ``--test-size`` of them are held out and the rest's labels only score the
propagation and the random-rows baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mlpilot.atomic import write_parquet, write_text
from mlpilot.cli.output import console, handle_errors
from mlpilot.cli.unsupervised_input import (
    Data,
    InputTable,
    Label,
    OutDir,
    ProjectOpt,
    Query,
    load_input,
)
from mlpilot.errors import UnsupervisedError
from mlpilot.unsupervised.label import LabelGain, label_gain, representatives

K = Annotated[int, typer.Option("--k", help="clusters, hence rows to label by hand")]
Labels = Annotated[list[Path] | None, typer.Option(
    "--labels", help="filled-in label-todo.csv (and label-next.csv ...): step 2")]
Next = Annotated[int, typer.Option(
    "--next", help="write the N rows the model is least sure of to label-next.csv")]
TestSize = Annotated[float, typer.Option(
    help="share of rows held out as the test set when the label column is fully known")]
Percentile = Annotated[float, typer.Option(
    help="partial propagation keeps rows within this distance percentile of each cluster")]
Seed = Annotated[int, typer.Option(help="random seed (k-means, test split): keep it between "
                                        "the two steps")]
Rounds = Annotated[int, typer.Option(
    help="simulate this many active-learning rounds (needs a fully known label column)")]


def register(app: typer.Typer) -> None:
    app.command("label")(label)


@dataclass
class _Split:
    pool: pd.DataFrame
    test: pd.DataFrame | None
    test_labels: pd.Series | None
    oracle: pd.Series | None
    note: str


def _split(inp: InputTable, test_size: float, seed: int) -> _Split:
    """Pool (rows to cluster and label) and test rows, from the label column's values."""
    features, truth = inp.features, inp.label
    if truth is None:
        return _Split(features, None, None, None, "no label column: the gain cannot be "
                      "measured (pass --label with known labels for some rows)")
    known = truth.notna() & (truth.astype(str).str.strip() != "")
    if not known.all():
        if not known.any():
            return _Split(features, None, None, None,
                          f"label column {truth.name!r} is empty: the gain cannot be measured")
        return _Split(features[~known], features[known], truth[known], None,
                      f"{int(known.sum()):,} rows with a known {truth.name!r} are the test set; "
                      f"the {int((~known).sum()):,} others are to be labelled")
    if not 0 <= test_size < 1:
        raise UnsupervisedError(f"--test-size must be in [0, 1), got {test_size}",
                                "pass e.g. 0.2")
    order = np.random.default_rng(seed).permutation(len(features))
    n_test = round(test_size * len(features))
    test, pool = np.sort(order[:n_test]), np.sort(order[n_test:])
    note = (f"every row has a known {truth.name!r} (a simulation): {n_test:,} rows held out as "
            f"the test set; the others' labels only score the propagation and the random "
            "baseline")
    if n_test == 0:
        return _Split(features, None, None, truth, note)
    return _Split(features.iloc[pool], features.iloc[test], truth.iloc[test], truth.iloc[pool],
                  note)


def _read_labels(paths: list[Path]) -> pd.DataFrame:
    frames = []
    for path in paths:
        if not path.exists():
            raise UnsupervisedError(f"labels file {path} does not exist",
                                    "pass the label-todo.csv written by step 1")
        try:
            frame = pd.read_csv(path, dtype={"label": object})
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise UnsupervisedError(f"cannot read labels file {path}: {exc}",
                                    "pass the CSV written by step 1") from exc
        missing = [c for c in ("row", "label") if c not in frame.columns]
        if missing:
            raise UnsupervisedError(f"{path.name} has no {' or '.join(map(repr, missing))} "
                                    "column", "fill the 'label' column of the file written "
                                    "by step 1, keeping its 'row' column")
        frames.append(frame[["row", "label"]])
    return pd.concat(frames, ignore_index=True)


@handle_errors
def label(
    data: Data = None,
    project: ProjectOpt = Path("."),
    label: Label = None,
    out: OutDir = None,
    query: Query = None,
    k: K = 50,
    labels: Labels = None,
    next_rows: Next = 0,
    test_size: TestSize = 0.2,
    percentile: Percentile = 99.0,
    seed: Seed = 42,
    rounds: Rounds = 0,
) -> None:
    """Label k representative rows by hand, propagate their labels, and measure the gain."""
    inp = load_input(data, project, label, out, query)
    split = _split(inp, test_size, seed)
    with console.status(f"k-means with {k} clusters on {len(split.pool):,} rows ..."):
        reps = representatives(split.pool, k=k, random_state=seed)
    out_dir = inp.out_dir
    if not labels:
        todo = reps.write_todo(out_dir / "label-todo.csv")
        report = reps.write_report(out_dir)
        table = Table(title=f"Rows to label in {inp.origin}")
        table.add_column("")
        table.add_column("", justify="right")
        table.add_row("rows to cluster", f"{len(split.pool):,}")
        table.add_row("clusters = rows to label", str(reps.k))
        table.add_row("cluster sizes", f"{reps.sizes.min()}–{reps.sizes.max()}")
        console.print(table)
        console.print(f"[dim]{split.note}[/]", soft_wrap=True)
        console.print(f"to label: {todo} — fill its 'label' column, then run again with "
                      f"--labels {todo.name}")
        console.print(f"report: {report}")
        return
    filled = _read_labels(labels)
    test = None if split.test is None else (split.test, split.test_labels)
    oracle = None if split.oracle is None else split.oracle.to_numpy()
    steps = 5 + (2 if oracle is not None else 0) + (1 if rounds and oracle is not None else 0)
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("training", total=steps)

        def tick(name: str) -> None:
            progress.update(task, advance=1, description=f"training: {name}")

        gain = label_gain(reps, filled, test=test, true_labels=oracle, percentile=percentile,
                          random_state=seed, active_rounds=rounds, on_step=tick)
    if next_rows:
        nxt = gain.suggest_next(next_rows)
        write_text(out_dir / "label-next.csv", nxt.to_csv(index=False))
    write_parquet(out_dir / "label-propagated.parquet", _parquet_safe(gain.propagated_frame()))
    gain.save_model(out_dir / "label-model.skops")
    report = gain.write_report(out_dir)
    _print(gain, split.note)
    if next_rows:
        console.print(f"label next: {out_dir / 'label-next.csv'} — fill it and pass it with "
                      "--labels too")
    console.print(f"report: {report}")
    console.print(f"[dim]labels: {out_dir / 'label-propagated.parquet'}; model: "
                  f"{out_dir / 'label-model.skops'}[/]")


def _parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Label columns mixing types (or all missing) stored as text."""
    out = frame.copy()
    for column in ("label_full", "label_partial"):
        kinds = {type(v) for v in out[column] if v is not None}
        if len(kinds) != 1:
            out[column] = [None if v is None else str(v) for v in out[column]]
    return out


def _print(gain: LabelGain, note: str) -> None:
    table = Table(title=f"Labelling: {len(gain.human)} hand labels, "
                        f"{int(gain.partial.kept.sum()):,} rows labelled")
    table.add_column("approach")
    table.add_column("hand labels", justify="right")
    table.add_column("training rows", justify="right")
    table.add_column("test accuracy", justify="right")
    table.add_column("label accuracy", justify="right")
    for rec in gain.table.to_dict("records"):
        name = rec["approach"]
        table.add_row(f"[bold]{name}[/]" if name == gain.chosen else name,
                      str(rec["hand labels"]), f"{rec['training rows']:,}",
                      _fmt(rec["test accuracy"]), _fmt(rec["label accuracy"]))
    console.print(table)
    if gain.gain is not None:
        console.print(f"gain over the hand labels alone: [bold]{gain.gain:+.3f}[/] "
                      f"({gain.chosen}, kept)")
    console.print(f"[dim]{note}[/]", soft_wrap=True)


def _fmt(value: object) -> str:
    return "—" if value is None or value != value else f"{float(value):.3f}"  # NaN → —

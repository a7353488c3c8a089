"""Data commands: the dataset catalog."""

from __future__ import annotations

import typer
from rich.table import Table

from mlpilot import settings
from mlpilot.cli.output import console, handle_errors
from mlpilot.data.catalog import list_datasets


def register(app: typer.Typer) -> None:
    app.command("datasets")(datasets)


@handle_errors
def datasets() -> None:
    """List the catalog: the book's datasets and scikit-learn's bundled ones."""
    home = settings.data_home()
    table = Table(title=f"Datasets (data home: {home})")
    for col in ("name", "target", "task", "rows", "where"):
        table.add_column(col)
    for info in list_datasets():
        if info.origin == "sklearn":
            where = "bundled with scikit-learn"
        else:
            present = all((home / f.path).exists() for f in info.files)
            where = "in the data home" if present else "downloaded on first use"
        table.add_row(info.name, info.target or "", info.task, info.rows, where)
    console.print(table)
    console.print("Load one with [bold]mlpilot.load_dataset(name)[/] or use its name as "
                  "--data / SOURCE.")

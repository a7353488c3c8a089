"""`mlpilot recipe list|run NAME`: the book's runs, reproduced."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from mlpilot.cli.output import console, handle_errors
from mlpilot.recipes import RECIPES, get_recipe

recipe_app = typer.Typer(help="Reproductions of the book's runs, the book's figures beside ours.",
                         no_args_is_help=True)


@recipe_app.command("list")
@handle_errors
def list_recipes() -> None:
    """List the recipes."""
    table = Table(title="Recipes")
    for col in ("name", "chapter", "what"):
        table.add_column(col)
    for r in RECIPES.values():
        table.add_row(r.name, str(r.chapter), r.title)
    console.print(table)


@recipe_app.command("run")
@handle_errors
def run_recipe(name: Annotated[str, typer.Argument(help="recipe name")]) -> None:
    """Run a recipe and print the book's figures beside ours."""
    recipe = get_recipe(name)
    with console.status(f"running {recipe.name}…"):
        result = recipe.run()
    table = Table(title=f"{recipe.name} — {recipe.title}")
    # "bound": checks that hold on any data (precision ≥ 0.90 ...) show their bound there.
    for col in ("quantity", "book / bound", "mlpilot", ""):
        table.add_column(col, justify="left" if col in ("quantity", "") else "right")
    for c in result.comparisons:
        table.add_row(c.quantity, c.fmt.format(c.book), c.fmt.format(c.ours),
                      f"[dim]reference ({c.reference})[/]" if c.reference else
                      "[green]✓ better[/]" if c.better else
                      "[green]✓[/]" if c.ok else "[red]✗ differs[/]")
    console.print(table)
    for note in result.notes:
        console.print(f"[dim]{note}[/]")

"""The ``mlpilot`` command: thin translations of the library's calls.

Each command parses its options, calls :class:`mlpilot.Project` (or the catalog, or a
recipe), and prints. Every command that acts on a project takes ``--project DIR``.
"""

from __future__ import annotations

import typer

from mlpilot.cli import (
    commands_anomalies,
    commands_cluster,
    commands_data,
    commands_evaluate,
    commands_label,
    commands_launch,
    commands_project,
    commands_recipes,
    commands_reduce,
)

app = typer.Typer(
    name="mlpilot",
    help="Carry a machine-learning project from raw data to a monitored model, "
         "the way Hands-On Machine Learning teaches it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Markdown joins the lines of a wrapped docstring (rich mode would keep each break).
    rich_markup_mode="markdown",
    add_completion=False,
)

commands_project.register(app)
commands_evaluate.register(app)
commands_data.register(app)
commands_launch.register(app)
commands_reduce.register(app)
commands_cluster.register(app)
commands_anomalies.register(app)
commands_label.register(app)
app.add_typer(commands_recipes.recipe_app, name="recipe")


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()

"""The ``mlpilot`` command: thin translations of the library's calls.

Each command parses its options, calls :class:`mlpilot.Project` (or the catalog, or a
recipe), and prints. Every command that acts on a project takes ``--project DIR``.
"""

from __future__ import annotations

import typer

from mlpilot.cli import (
    commands_data,
    commands_evaluate,
    commands_launch,
    commands_project,
    commands_recipes,
)

app = typer.Typer(
    name="mlpilot",
    help="Carry a machine-learning project from raw data to a monitored model, "
         "the way Hands-On Machine Learning teaches it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

commands_project.register(app)
commands_evaluate.register(app)
commands_data.register(app)
commands_launch.register(app)
app.add_typer(commands_recipes.recipe_app, name="recipe")


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()

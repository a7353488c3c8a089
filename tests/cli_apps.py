"""A Typer app holding one command module's commands, for CliRunner tests of that module."""

from __future__ import annotations

from collections.abc import Callable

import typer


def single_command_app(register: Callable[[typer.Typer], None]) -> typer.Typer:
    """``register(app)`` on a fresh app; the callback keeps the command a subcommand."""
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:
        """Test app."""

    return app

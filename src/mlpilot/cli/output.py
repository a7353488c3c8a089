"""How the CLI speaks: one console, one error format, one leaderboard table."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from mlpilot.errors import MlpilotError
from mlpilot.search.shortlist import Leaderboard

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

F = TypeVar("F", bound=Callable[..., Any])

#: Exit code for a problem the user can fix (bad input, missing file ...), as the guide says.
USER_ERROR = 2


def handle_errors(func: F) -> F:
    """Turn typed library errors into one line (and a hint), exit code 2, no traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("default")
                warnings.showwarning = _show_warning
                return func(*args, **kwargs)
        except MlpilotError as exc:
            line = f"[bold red]error:[/] {exc.message}"
            if exc.hint:
                line += f" [dim]— {exc.hint}[/]"
            err_console.print(line, soft_wrap=True)
            raise typer.Exit(USER_ERROR) from None

    return wrapper  # type: ignore[return-value]


def _show_warning(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
    """mlpilot's own warnings as one yellow line; other libraries' chatter stays quiet."""
    from mlpilot.errors import TestSetReuseWarning

    if issubclass(category, TestSetReuseWarning):
        err_console.print(f"[bold yellow]warning:[/] {message}", soft_wrap=True)


def leaderboard_table(board: Leaderboard, title: str = "Leaderboard") -> Table:
    """Ranked results (those that reached more rows first), then skipped and failed ones."""
    metric = board.metric
    arrow = "↑" if metric.greater_is_better else "↓"
    table = Table(title=f"{title} — cross-validated {metric.label} ({arrow} better)")
    table.add_column("#", justify="right")
    table.add_column("model")
    table.add_column("rows", justify="right")
    table.add_column(f"CV {metric.label}", justify="right")
    table.add_column("± std", justify="right")
    table.add_column("fit s", justify="right")
    table.add_column("predict s", justify="right")
    table.add_column("note")
    ranked = board.ranked()
    for i, row in enumerate(ranked, 1):
        table.add_row(str(i), f"[bold]{row.name}[/]" if i == 1 else row.name,
                      f"{row.n_rows:,}" if row.n_rows else "",
                      metric.format(row.mean or 0.0), metric.format(row.std or 0.0),
                      f"{row.fit_time:.2f}" if row.fit_time is not None else "",
                      f"{row.score_time:.2f}" if row.score_time is not None else "",
                      "resumed" if row.reused else "")
    for row in board.latest():
        if row not in ranked:
            table.add_row("", row.name, f"{row.n_rows:,}" if row.n_rows else "", "", "", "",
                          "", f"[yellow]{row.status}[/]: {row.error}")
    return table

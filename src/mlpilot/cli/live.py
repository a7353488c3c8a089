"""The live leaderboard: a progress bar and the ranked table, redrawn as results arrive."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from mlpilot.cli.output import console, leaderboard_table
from mlpilot.evaluate.metrics import Metric
from mlpilot.search.shortlist import CandidateScore, Leaderboard


class LiveLeaderboard:
    """An ``on_event`` callback for :func:`~mlpilot.search.shortlist.shortlist` and the tuner.

    The bar counts the budget's seconds (the search stops when it is spent); the table is
    the leaderboard so far, so the first rows show up within seconds.
    """

    def __init__(self, metric: Metric, budget: float, title: str = "Leaderboard") -> None:
        self.board = Leaderboard(metric, [])
        self.budget, self.title = budget, title
        self.started = time.perf_counter()
        self.first_row_after: float | None = None
        self.tuning = ""
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 TextColumn("{task.percentage:>3.0f}% of the budget"),
                                 TimeElapsedColumn(), console=console)
        self.bar = self.progress.add_task("starting", total=budget)
        self.live = Live(self._render(), console=console, refresh_per_second=4, transient=False)

    def __enter__(self) -> LiveLeaderboard:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._tick()
        self.live.update(self._render())
        self.live.__exit__(*exc)  # type: ignore[arg-type]

    def __call__(self, kind: str, payload: Any) -> None:
        if kind == "rung":
            size, names = payload
            self.progress.console.log(f"[dim]{len(names)} candidate(s) on {size:,} rows[/]")
        elif kind == "start" and isinstance(payload, dict):  # the tuner
            self.tuning = payload.get("candidate", "")
            self._describe(f"tuning [bold]{self.tuning}[/] ({payload.get('strategy')})")
        elif kind == "start":
            candidate, size = payload
            self._describe(f"cross-validating [bold]{candidate.name}[/] on {size:,} rows")
        elif kind == "trial":
            row = payload if isinstance(payload, dict) else {}
            score = row.get("mean_score")
            shown = self.board.metric.format(score) if isinstance(score, float) else "–"
            self._describe(f"tuning [bold]{self.tuning}[/]: trial {row.get('trial', '?')} "
                           f"{row.get('state', '')} {shown}")
        elif kind == "refit":
            name = getattr(payload, "name", str(payload))
            self._describe(f"refitting [bold]{name}[/] on all training rows")
        elif isinstance(payload, CandidateScore):
            self.board.rows.append(payload)
            if payload.status == "done" and self.first_row_after is None:
                self.first_row_after = time.perf_counter() - self.started
        self._tick()
        self.live.update(self._render())

    def _describe(self, text: str) -> None:
        self.progress.update(self.bar, description=text)

    def _tick(self) -> None:
        elapsed = time.perf_counter() - self.started
        self.progress.update(self.bar, completed=min(elapsed, self.budget))

    def _render(self) -> Group:
        parts: list[Any] = [self.progress]
        if self.board.rows:
            parts.insert(0, leaderboard_table(self.board, self.title))
        return Group(*parts)

"""Drift scores on the rows the service has just seen, computed off the request path.

The window keeps references to the last ``every`` input rows (the typed frames the model
received, so no re-parsing) and, each time ``every`` new rows have arrived, hands them to
the drift function in a background thread. At most one computation runs at a time: if
one is still running, the next starts with the first request after it finishes.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

import pandas as pd

__all__ = ["DriftWindow"]

log = logging.getLogger(__name__)

DriftFunction = Callable[[pd.DataFrame], dict[str, float]]


class DriftWindow:
    """A bounded window of recent input rows and the trigger of drift computations."""

    def __init__(self, compute: DriftFunction, every: int,
                 on_scores: Callable[[dict[str, float], int], None]) -> None:
        if every < 1:
            raise ValueError("drift_every must be at least 1")
        self.compute = compute
        self.every = every
        self.on_scores = on_scores
        self.runs = 0
        self._frames: deque[pd.DataFrame] = deque()
        self._rows = 0  # rows held in _frames
        self._since = 0  # rows added since the last computation started
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, frame: pd.DataFrame) -> None:
        """Record a request's rows; start a computation when ``every`` new rows are in."""
        with self._lock:
            self._frames.append(frame)
            self._rows += len(frame)
            self._since += len(frame)
            while len(self._frames) > 1 and self._rows - len(self._frames[0]) >= self.every:
                self._rows -= len(self._frames.popleft())
            running = self._thread is not None and self._thread.is_alive()
            if self._since < self.every or running:
                return
            self._since = 0
            snapshot = list(self._frames)
            self._thread = threading.Thread(target=self._run, args=(snapshot,),
                                            name="mlpilot-drift", daemon=True)
            self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a running computation (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self, frames: list[pd.DataFrame]) -> None:
        try:
            window = pd.concat(frames, ignore_index=True).tail(self.every)
            window = window.reset_index(drop=True)
            scores = self.compute(window)
            self.on_scores({str(k): float(v) for k, v in scores.items()}, len(window))
            self.runs += 1
        except Exception:  # a failing drift function must not affect predictions
            log.exception("drift computation failed")

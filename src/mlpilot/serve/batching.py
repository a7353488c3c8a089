"""Adaptive micro-batching: concurrent small requests share one ``model.predict`` call.

A scikit-learn pipeline costs a few milliseconds per call whatever the number of rows
(column selection, validation, per-step overhead), so under concurrent load most of the
time would go to overhead. Requests that are waiting while a batch is predicted are
predicted together in the next one: no timer, no added latency when the service is idle
(a lone request is a batch of one), throughput that grows with the load.

Batches run on the event loop itself: handing them to a thread costs more than a small
batch and makes the loop compete for the GIL. Rows are predicted independently by every
scikit-learn estimator, so a row's answer does not depend on its batch; if a batch fails,
its requests are retried one by one so that one bad request cannot fail the others.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pandas as pd

from mlpilot.serve.model import Prediction, ServedModel

__all__ = ["Batcher"]


@dataclass
class _Item:
    model: ServedModel
    frame: pd.DataFrame
    future: asyncio.Future[Prediction]


class Batcher:
    """Collects frames waiting for the same model and predicts them in one call."""

    def __init__(self, max_rows: int = 1000) -> None:
        self.max_rows = max_rows
        self.batches = 0  # calls to predict, for tests and curiosity
        self._pending: list[_Item] = []
        self._task: asyncio.Task[None] | None = None

    async def predict(self, model: ServedModel, frame: pd.DataFrame) -> Prediction:
        """Predict ``frame`` with ``model``, possibly together with other requests' rows."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Prediction] = loop.create_future()
        task = self._task
        if task is None or task.done() or task.get_loop() is not loop:
            # (a new event loop, e.g. a restarted server: forget the old loop's requests)
            self._pending = [i for i in self._pending if i.future.get_loop() is loop]
            self._task = loop.create_task(self._drain())
        self._pending.append(_Item(model, frame, future))
        return await future

    async def _drain(self) -> None:
        while self._pending:
            # Requests read in the same loop iteration are queued behind this task: one
            # yield lets them join the batch.
            await asyncio.sleep(0)
            batch = self._take()
            self._run(batch)

    def _take(self) -> list[_Item]:
        """The oldest request plus those for the same model, up to ``max_rows`` rows."""
        first = self._pending[0]
        batch: list[_Item] = []
        rest: list[_Item] = []
        rows = 0
        for item in self._pending:
            fits = not batch or rows + len(item.frame) <= self.max_rows
            if item.model is first.model and fits:
                batch.append(item)
                rows += len(item.frame)
            else:
                rest.append(item)
        self._pending = rest
        return batch

    def _run(self, batch: list[_Item]) -> None:
        live = [item for item in batch if not item.future.cancelled()]
        if not live:
            return
        self.batches += 1
        model = live[0].model
        dtypes = live[0].frame.dtypes
        if len(live) == 1 or not all(i.frame.dtypes.equals(dtypes) for i in live[1:]):
            for item in live:  # (a bool column with and without nulls: do not mix dtypes)
                _settle(item, model)
            return
        try:
            frame = pd.concat([item.frame for item in live], ignore_index=True)
            result = model.predict(frame)
        except Exception:  # find out whose rows the model refuses
            for item in live:
                _settle(item, model)
            return
        start = 0
        for item in live:
            end = start + len(item.frame)
            probabilities = (result.probabilities[start:end]
                             if result.probabilities is not None else None)
            item.future.set_result(Prediction(result.predictions[start:end], probabilities,
                                              result.classes))
            start = end


def _settle(item: _Item, model: ServedModel) -> None:
    try:
        item.future.set_result(model.predict(item.frame))
    except Exception as exc:  # handed to the request that sent the rows
        item.future.set_exception(exc)

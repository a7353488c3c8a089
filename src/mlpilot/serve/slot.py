"""Hot swap: the live model is one reference, replaced atomically, never mutated.

A request calls :meth:`ModelSlot.current` once at its start and uses that object to the
end, so a swap in the middle of a request cannot mix two models (its schema with the
other's estimator); requests that start after the swap see the new model. Nothing is
drained or paused: the old model is simply garbage once its last request finishes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from mlpilot.serve.model import ServedModel

__all__ = ["ModelSlot", "ModelWatcher"]

log = logging.getLogger(__name__)


class ModelSlot:
    """Holds the model being served (or None before the first one is loaded)."""

    def __init__(self, model: ServedModel | None = None) -> None:
        self._model = model
        self._swap_lock = threading.Lock()  # serialises writers; readers take no lock
        self.swaps = 0

    def current(self) -> ServedModel | None:
        """The live model: a single attribute read, atomic under the GIL."""
        return self._model

    @property
    def model_id(self) -> int | None:
        model = self._model
        return None if model is None else model.model_id

    def swap(self, new: ServedModel) -> ServedModel | None:
        """Make ``new`` the live model; return the previous one."""
        with self._swap_lock:
            old, self._model = self._model, new
            self.swaps += 1
        log.info("now serving model %s (%s), was %s", new.model_id, new.name,
                 None if old is None else old.model_id)
        return old


class ModelWatcher:
    """Background thread that keeps the slot on the model that should be live.

    At start and then every ``interval_s`` it calls ``check()`` (e.g. the registry's
    champion id; None means "no opinion") and, when that differs from the slot's model,
    ``load(id)`` then swaps.
    A failing check or load is logged and the current model keeps serving; the same id
    is retried at the next interval.
    """

    def __init__(self, slot: ModelSlot, check: Callable[[], int | None],
                 load: Callable[[int], ServedModel], interval_s: float = 10.0) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.slot = slot
        self.check = check
        self.load = load
        self.interval_s = interval_s
        self.failures = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> bool:
        """One check (and swap when needed); True when a new model went live."""
        try:
            wanted = self.check()
            if wanted is None or wanted == self.slot.model_id:
                return False
            model = self.load(wanted)
        except Exception:  # a broken registry must not take the service down
            self.failures += 1
            log.exception("could not load the model to serve; the current one keeps serving")
            return False
        self.slot.swap(model)
        return True

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="mlpilot-model-watcher",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        self.poll()  # at once: a service started without a model becomes ready sooner
        while not self._stop.wait(self.interval_s):
            self.poll()

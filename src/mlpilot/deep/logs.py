"""TensorBoard logs (book 10.1.k): one folder per run, event files under train/ and validation/.

Keras 3's ``TensorBoard`` callback writes its event files with ``tf.summary`` whatever the
backend, so it needs TensorFlow installed, even on JAX or PyTorch, and, since TensorFlow 2.20
no longer depends on it, the ``tensorboard`` package too (``tf.summary.scalar`` lives there).
Both are optional for mlpilot users; without them the callback fails only once training has
started, so :func:`tensorboard_callback` checks first and says what to install. View the logs
with ``tensorboard --logdir=<root>`` (tensorboard.dev uploads ended in 2023).
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

from mlpilot.deep.backend import keras_module
from mlpilot.errors import DeepLearningError

RUN_FORMAT = "run_%Y_%m_%d_%H_%M_%S"
#: What writes the event files: tf.summary (TensorFlow) and its scalar ops (TensorBoard).
TENSORBOARD_PACKAGES = ("tensorflow", "tensorboard")


def run_logdir(root: str | Path = "logs", when: time.struct_time | None = None) -> Path:
    """The book's run folder, ``root/run_%Y_%m_%d_%H_%M_%S`` (local time, now by default)."""
    return Path(root) / time.strftime(RUN_FORMAT, when or time.localtime())


def tensorboard_callback(logdir: str | Path, **kwargs: Any) -> Any:
    """A ``keras.callbacks.TensorBoard`` writing to ``logdir``; extra arguments go to it.

    Raises :class:`DeepLearningError` when TensorFlow or TensorBoard (which write the event
    files) is missing. Profiling (``profile_batch``) needs Python ≥ 3.12 on JAX and is not
    available on PyTorch.
    """
    missing = [name for name in TENSORBOARD_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise DeepLearningError(
            f"TensorBoard logs need {' and '.join(missing)} to write the event files "
            f"(not installed)", "pip install tensorflow-cpu tensorboard; the model itself "
            "can keep its Keras backend")
    keras = keras_module()
    return keras.callbacks.TensorBoard(log_dir=str(logdir), **kwargs)


def event_files(logdir: str | Path) -> dict[str, list[Path]]:
    """The event files under ``logdir``, by subfolder (``train``, ``validation``...)."""
    found: dict[str, list[Path]] = {}
    for path in sorted(Path(logdir).rglob("events.out.tfevents.*")):
        found.setdefault(path.parent.relative_to(logdir).as_posix(), []).append(path)
    return found


__all__ = ["RUN_FORMAT", "TENSORBOARD_PACKAGES", "event_files", "run_logdir",
           "tensorboard_callback"]

"""Which Keras backend runs mlpilot's neural networks, set before Keras is first imported.

Keras 3 reads ``KERAS_BACKEND`` once, when it is imported. mlpilot's default is JAX: on this
project's 2-core CPU it trains the book's Fashion-MNIST MLP about 3x faster per epoch than
TensorFlow and 6x faster than PyTorch, and installs in half TensorFlow's space (figures in
``docs/benchmarks.md``). A user's own ``KERAS_BACKEND`` always wins.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from types import ModuleType

from mlpilot.errors import DeepLearningError

DEFAULT_BACKEND = "jax"
BACKENDS = ("jax", "tensorflow", "torch")
#: The Python package each backend needs, and how to install it on a CPU-only machine.
_BACKEND_PACKAGES = {
    "jax": ("jax", "pip install jax"),
    "tensorflow": ("tensorflow", "pip install tensorflow-cpu"),
    "torch": ("torch", "pip install torch --index-url https://download.pytorch.org/whl/cpu"),
}


def requested_backend() -> str:
    """The backend Keras will use: ``KERAS_BACKEND`` if set, else mlpilot's default."""
    return os.environ.get("KERAS_BACKEND", DEFAULT_BACKEND).strip().lower()


def keras_module() -> ModuleType:
    """Import Keras with mlpilot's backend choice, or a clear error saying what to install."""
    if "keras" in sys.modules:
        return sys.modules["keras"]
    backend = requested_backend()
    if backend not in BACKENDS:
        raise DeepLearningError(f"unknown Keras backend {backend!r}",
                                f"set KERAS_BACKEND to one of: {', '.join(BACKENDS)}")
    package, install = _BACKEND_PACKAGES[backend]
    if importlib.util.find_spec(package) is None:
        raise DeepLearningError(f"the Keras backend {backend!r} needs {package}, which is not "
                                "installed", f"{install}, or set KERAS_BACKEND to another "
                                f"backend ({', '.join(BACKENDS)})")
    if importlib.util.find_spec("keras") is None:
        raise DeepLearningError("Keras is not installed", "pip install keras")
    os.environ["KERAS_BACKEND"] = backend
    import keras

    return keras


def backend_name() -> str:
    """The backend of the Keras that is (or will be) imported."""
    return str(keras_module().backend.backend())


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and the backend: the same seed gives the same network."""
    keras_module().utils.set_random_seed(int(seed))

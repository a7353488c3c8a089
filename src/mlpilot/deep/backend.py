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
from pathlib import Path
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
    if backend == "jax":
        use_compilation_cache()
    import keras

    return keras


def use_compilation_cache() -> Path | None:
    """Keep JAX's compiled train steps on disk (``~/.cache/mlpilot/jax``), shared by every
    process and run, unless the user set a cache directory or ``MLPILOT_JAX_CACHE=off``.

    Cross-validation builds the same network once per fold, and each would compile the same
    train and test steps again: on the shortlist's small MLP, compiling is three quarters of
    a 5-fold run (4.1 s → 1.1 s with the cache; docs/benchmarks.md). ``MLPILOT_JAX_CACHE``
    may also name the directory.
    """
    setting = os.environ.get("MLPILOT_JAX_CACHE", "").strip()
    if setting.lower() in ("off", "0", "false", "no"):
        return None
    import jax

    if jax.config.jax_compilation_cache_dir:  # the user's own choice wins
        return Path(jax.config.jax_compilation_cache_dir)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    directory = Path(setting) if setting else Path(base) / "mlpilot" / "jax"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only home: compile every time, as JAX does by default
        return None
    jax.config.update("jax_compilation_cache_dir", str(directory))
    # mlpilot's networks compile in well under JAX's default threshold of one second
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    return directory


def backend_name() -> str:
    """The backend of the Keras that is (or will be) imported."""
    return str(keras_module().backend.backend())


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and the backend: the same seed gives the same network.

    ``keras.utils.set_random_seed`` also seeds TensorFlow whenever it is installed, importing
    it: seconds and about a gigabyte in a JAX or PyTorch process that never uses it. So off
    TensorFlow the same steps are taken without it (Keras's global seed, Python, NumPy, and
    torch's generator); with a TensorFlow backend, or TensorFlow already imported, Keras's
    own function runs.
    """
    keras = keras_module()
    seed = int(seed)
    if keras.backend.backend() == "tensorflow" or "tensorflow" in sys.modules:
        keras.utils.set_random_seed(seed)
        return
    import random

    import numpy as np
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED

    global_state.set_global_attribute(GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)
    if keras.backend.backend() == "torch":
        import torch

        torch.manual_seed(seed)

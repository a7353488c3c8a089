"""Neural networks with Keras 3 (book ch. 10–12), on JAX, TensorFlow or PyTorch.

Import :mod:`mlpilot.deep.backend` first in any module that imports Keras: it sets the
backend (``KERAS_BACKEND``, default JAX) before Keras reads it.
"""

from mlpilot.deep.backend import BACKENDS, DEFAULT_BACKEND, backend_name, keras_module, set_seed

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "backend_name", "keras_module", "set_seed"]

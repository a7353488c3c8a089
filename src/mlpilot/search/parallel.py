"""Where folds and trials run: this machine's cores, or a Dask cluster.

Every parallel loop in mlpilot goes through joblib, so one context manager decides where
the work runs. Without an address it is joblib's default (loky processes, ``n_jobs``);
with ``tcp://host:8786`` (or a ``distributed.Client``/``LocalCluster`` the caller made),
joblib's Dask backend ships each fold to the cluster's workers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from mlpilot.errors import ConfigError


@contextlib.contextmanager
def compute_backend(address: str | Any | None = None) -> Iterator[Any]:
    """Run the joblib work inside the block on ``address``'s Dask cluster (if given)."""
    if address is None:
        yield None
        return
    try:
        from dask.distributed import Client
    except ImportError:
        raise ConfigError("a Dask address was given but dask.distributed is not installed",
                          'pip install "dask[distributed]"') from None
    from joblib import parallel_config

    own = isinstance(address, str)
    try:
        client = Client(address, timeout=10) if own else Client(address)
    except OSError as exc:
        raise ConfigError(f"cannot reach the Dask scheduler at {address}: {exc}",
                          "start it (`dask scheduler`) or fix `dask` in mlpilot.toml / "
                          "--dask") from None
    try:
        with parallel_config(backend="dask"):
            yield client
    finally:
        if own:
            client.close()

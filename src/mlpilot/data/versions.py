"""Dataset versions: a content hash names exactly the data a model saw."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd


def content_hash(frame: pd.DataFrame) -> str:
    """SHA-256 over column names, dtypes and every cell; independent of the index.

    Two tables with the same columns and rows in the same order hash the same whatever file
    format they came from, so re-reading a source that did not change gives the same version.
    """
    digest = hashlib.sha256()
    for name, dtype in frame.dtypes.items():
        digest.update(f"{name}\x1f{_dtype_family(dtype)}\x1e".encode())
    row_hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)
    digest.update(row_hashes.tobytes())
    return digest.hexdigest()


def _dtype_family(dtype: object) -> str:
    """Object and string dtypes hash alike: CSV and Parquet reads of one table agree."""
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        return "string"
    return str(dtype)

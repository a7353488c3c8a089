"""Atomic writes: a file is either the old one or the complete new one, never half-written.

Everything mlpilot stores on disk goes through these helpers: write to a temporary file in
the destination's directory, flush and fsync, then ``os.replace`` (atomic on POSIX).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``dest``; rename it onto ``dest`` on success."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; results are for people to read
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes(dest: str | os.PathLike[str], data: bytes) -> Path:
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)
    return Path(dest)


def write_array(dest: str | os.PathLike[str], array: np.ndarray) -> Path:
    """A NumPy array as an ``.npy`` file, atomically (never pickled)."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return write_bytes(dest, buffer.getvalue())


def write_text(dest: str | os.PathLike[str], text: str) -> Path:
    return write_bytes(dest, text.encode("utf-8"))


def write_with(dest: str | os.PathLike[str], writer: Callable[[Path], object]) -> Path:
    """Atomically write ``dest`` with ``writer(tmp_path)`` (e.g. a joblib or parquet writer)."""
    with atomic_path(dest) as tmp:
        writer(tmp)
    return Path(dest)


def write_parquet(dest: str | os.PathLike[str], frame: pd.DataFrame) -> Path:
    return write_with(dest, lambda tmp: frame.to_parquet(tmp, index=False))


def sha256_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

"""Reading data larger than memory in batches: Parquet row groups or a ``np.memmap`` file.

The book streams MNIST from a ``np.memmap`` into ``IncrementalPCA``; a table on disk is more
often Parquet. Both are read here as float32 batches of at most ``batch_rows`` rows, so peak
memory is one batch (plus the model), whatever the file's size.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from mlpilot.errors import UnsupervisedError

__all__ = ["BatchSource", "open_batches", "write_memmap"]

DEFAULT_BATCH_ROWS = 10_000


@dataclass
class BatchSource:
    """A file read batch by batch: ``n_rows`` × ``n_features`` float32 values."""

    path: Path
    n_rows: int
    n_features: int
    columns: list[str]
    batch_rows: int = DEFAULT_BATCH_ROWS

    def __iter__(self) -> Iterator[np.ndarray]:
        if self.path.suffix == ".parquet":
            reader = pq.ParquetFile(self.path)
            for batch in reader.iter_batches(batch_size=self.batch_rows, columns=self.columns):
                yield np.column_stack([np.asarray(col.to_numpy(zero_copy_only=False),
                                                  dtype=np.float32)
                                       for col in batch.columns])
        else:
            data = _open_memmap(self.path, self.n_features)
            for start in range(0, self.n_rows, self.batch_rows):
                yield np.asarray(data[start:start + self.batch_rows], dtype=np.float32)


def open_batches(path: str | os.PathLike[str], *, n_features: int | None = None,
                 columns: Sequence[str] | None = None,
                 batch_rows: int = DEFAULT_BATCH_ROWS) -> BatchSource:
    """A batch reader for ``.parquet`` (numeric columns), ``.npy`` or a raw float32 memmap.

    A raw ``.dat``/``.mmap`` file has no header: pass ``n_features`` (the book's
    ``np.memmap(...).reshape(-1, 784)``).
    """
    file = Path(path)
    if not file.exists():
        raise UnsupervisedError(f"no file {file}", "check the path")
    if file.suffix == ".parquet":
        schema = pq.read_schema(file)
        names = list(columns) if columns else [
            f.name for f in schema if _is_numeric(f.type)]
        if not names:
            raise UnsupervisedError(f"{file.name} has no numeric column",
                                    "pass a Parquet file with numeric columns")
        n_rows = pq.ParquetFile(file).metadata.num_rows
        return BatchSource(file, n_rows, len(names), names, batch_rows)
    data = _open_memmap(file, n_features)
    return BatchSource(file, data.shape[0], data.shape[1],
                       [f"x{i}" for i in range(data.shape[1])], batch_rows)


def write_memmap(path: str | os.PathLike[str], batches: Iterator[np.ndarray] | Sequence[np.ndarray],
                 n_features: int) -> Path:
    """Append float32 batches to a ``.npy`` file without holding them all (for tests, demos)."""
    file = Path(path)
    tmp = file.with_name(file.name + ".tmp")
    n_rows = 0
    with open(tmp, "wb") as raw:
        for batch in batches:
            array = np.ascontiguousarray(batch, dtype=np.float32).reshape(-1, n_features)
            raw.write(array.tobytes())
            n_rows += len(array)
    header_file = file.with_name(file.name + ".hdr")
    mm = np.lib.format.open_memmap(header_file, mode="w+", dtype=np.float32,
                                   shape=(n_rows, n_features))
    offset = mm.offset
    del mm
    with open(header_file, "r+b") as out, open(tmp, "rb") as src:
        out.seek(offset)
        while chunk := src.read(1 << 24):
            out.write(chunk)
    os.replace(header_file, file)
    tmp.unlink()
    return file


def _open_memmap(file: Path, n_features: int | None) -> np.ndarray:
    if file.suffix == ".npy":
        data = np.load(file, mmap_mode="r")
    else:
        if n_features is None:
            raise UnsupervisedError(f"{file.name} is a raw memmap with no shape",
                                    "pass n_features (columns per row), or save it as .npy")
        data = np.memmap(file, dtype=np.float32, mode="r").reshape(-1, n_features)
    if data.ndim != 2:
        raise UnsupervisedError(f"{file.name} holds a {data.ndim}-D array",
                                "store rows × features")
    return data


def _is_numeric(kind: object) -> bool:
    import pyarrow.types as pt

    return bool(pt.is_integer(kind) or pt.is_floating(kind) or pt.is_boolean(kind))

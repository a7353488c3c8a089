"""Reading data larger than memory in batches: Parquet row groups or a ``np.memmap`` file.

The book streams MNIST from a ``np.memmap`` into ``IncrementalPCA``; a table on disk is more
often Parquet. Both are read here as float32 batches of at most ``batch_rows`` rows, so peak
memory is one batch (plus the model), whatever the file's size. Array files are read with
plain file reads at their data offset rather than mapped: a map reserves the whole file's
address space (a memory limit refuses it) and the pages it touches count as resident.
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
            layout = _array_layout(self.path, self.n_features)
            with open(self.path, "rb") as raw:
                raw.seek(layout.offset)
                for start in range(0, self.n_rows, self.batch_rows):
                    rows = min(self.batch_rows, self.n_rows - start)
                    batch = np.empty((rows, self.n_features), dtype=layout.dtype)
                    if raw.readinto(memoryview(batch).cast("B")) != batch.nbytes:
                        raise UnsupervisedError(f"{self.path.name} ended early",
                                                "the file is truncated: write it again")
                    yield batch.astype(np.float32, copy=False)


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
    layout = _array_layout(file, n_features)
    return BatchSource(file, layout.n_rows, layout.n_features,
                       [f"x{i}" for i in range(layout.n_features)], batch_rows)


def write_memmap(path: str | os.PathLike[str], batches: Iterator[np.ndarray] | Sequence[np.ndarray],
                 n_features: int) -> Path:
    """Append float32 batches to a ``.npy`` file without holding them all (for tests, demos).

    One pass: the header is written with room for any row count, the rows follow, and the
    header is rewritten in place with the real count; the file appears under its name (atomic
    rename) only when complete.
    """
    file = Path(path)
    partial = file.with_name(file.name + ".partial")
    n_rows = 0
    with open(partial, "wb") as out:
        out.write(_npy_header(0, n_features))
        for batch in batches:
            array = np.ascontiguousarray(batch, dtype=np.float32).reshape(-1, n_features)
            out.write(array.tobytes())
            n_rows += len(array)
        out.seek(0)
        out.write(_npy_header(n_rows, n_features))
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, file)
    return file


#: Bytes of the ``.npy`` header ``write_memmap`` writes: fits any shape, keeps 64-byte alignment.
_HEADER_BYTES = 128


def _npy_header(n_rows: int, n_features: int) -> bytes:
    """A version 1.0 ``.npy`` header of exactly ``_HEADER_BYTES`` (padded with spaces)."""
    text = repr({"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
                 "fortran_order": False, "shape": (n_rows, n_features)})
    room = _HEADER_BYTES - len(np.lib.format.magic(1, 0)) - 2
    return (np.lib.format.magic(1, 0) + room.to_bytes(2, "little")
            + text.ljust(room - 1).encode("latin1") + b"\n")


@dataclass(frozen=True)
class _ArrayLayout:
    offset: int
    n_rows: int
    n_features: int
    dtype: np.dtype


def _array_layout(file: Path, n_features: int | None) -> _ArrayLayout:
    """Where the rows start, how many there are and their type (``.npy`` header or raw)."""
    if file.suffix == ".npy":
        with open(file, "rb") as raw:
            try:
                major, _ = np.lib.format.read_magic(raw)
                read_header = (np.lib.format.read_array_header_1_0 if major == 1
                               else np.lib.format.read_array_header_2_0)
                shape, fortran, dtype = read_header(raw)
            except ValueError as exc:
                raise UnsupervisedError(f"{file.name} is not a .npy file: {exc}",
                                        "save it with np.save or write_memmap") from None
            offset = raw.tell()
        if len(shape) != 2 or fortran or dtype.hasobject:
            raise UnsupervisedError(f"{file.name} holds a {len(shape)}-D "
                                    f"{'Fortran-ordered ' if fortran else ''}{dtype} array",
                                    "store a C-ordered 2-D numeric array (rows × features)")
        return _ArrayLayout(offset, shape[0], shape[1], dtype)
    if n_features is None:
        raise UnsupervisedError(f"{file.name} is a raw memmap with no shape",
                                "pass n_features (columns per row), or save it as .npy")
    item = np.dtype(np.float32).itemsize
    size = file.stat().st_size
    if size % (item * n_features):
        raise UnsupervisedError(f"{file.name} does not hold whole rows of {n_features} float32",
                                "check n_features")
    return _ArrayLayout(0, size // (item * n_features), n_features, np.dtype(np.float32))


def _is_numeric(kind: object) -> bool:
    import pyarrow.types as pt

    return bool(pt.is_integer(kind) or pt.is_floating(kind) or pt.is_boolean(kind))

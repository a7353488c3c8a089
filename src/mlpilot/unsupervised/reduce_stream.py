"""Incremental PCA out of core (book ch. 8): data larger than memory, one batch at a time.

The book feeds ``IncrementalPCA.partial_fit`` from ``np.array_split`` batches or a
``np.memmap``; here the batches come from a Parquet or ``.npy`` file on disk
(:mod:`.streaming`), so peak memory is one batch plus the model, whatever the file's size.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.decomposition import IncrementalPCA
from sklearn.pipeline import Pipeline
from sklearn.utils import gen_batches

from mlpilot.atomic import atomic_path
from mlpilot.errors import UnsupervisedError
from mlpilot.unsupervised.reduce import (
    DEFAULT_VARIANCE,
    PREVIEW_IMAGES,
    Reduction,
    _check_components,
    _image_side,
)
from mlpilot.unsupervised.streaming import BatchSource, open_batches

__all__ = ["incremental_pca_stream", "reduce_stream", "transform_stream"]

#: Rows of a streamed embedding kept in memory for the report's map.
STREAM_PREVIEW_ROWS = 5_000
#: Components of the first streamed pass that draws the variance curve (float ratio asked).
STREAM_SPECTRUM_COMPONENTS = 500

#: Called with the number of rows of each batch done (a progress bar).
OnBatch = Callable[[int], None]


# --------------------------------------------------------------------------- out of core


def _plan(n_rows: int, batch_rows: int, n_components: int) -> list[int]:
    """Batch sizes as ``IncrementalPCA.fit`` would cut them (the last one never too small)."""
    return [s.stop - s.start for s in gen_batches(n_rows, batch_rows,
                                                  min_batch_size=n_components)]


def _rebatched(source: BatchSource, sizes: Sequence[int]) -> Iterator[np.ndarray]:
    """The source's batches cut to ``sizes``; at most one batch (plus a remainder) held."""
    batches = iter(source)
    pending: list[np.ndarray] = []
    have = 0
    for size in sizes:
        while have < size:
            try:
                batch = next(batches)
            except StopIteration:
                raise UnsupervisedError(f"{source.path.name} ended early",
                                        "the file changed while it was read") from None
            pending.append(batch)
            have += len(batch)
        joined = pending[0] if len(pending) == 1 else np.concatenate(pending)
        pending = [joined[size:]] if len(joined) > size else []
        have = len(joined) - size
        yield joined[:size]


def incremental_pca_stream(source: BatchSource, n_components: int, *,
                           batch_rows: int | None = None,
                           on_batch: OnBatch | None = None) -> IncrementalPCA:
    """``IncrementalPCA.partial_fit`` on each batch of ``source``, never the whole file.

    Batches are cut like ``IncrementalPCA(batch_size=batch_rows).fit(X)`` cuts them, so the
    result equals the in-memory fit. Peak memory: one batch plus the model.
    """
    b = int(batch_rows or source.batch_rows)
    if not isinstance(n_components, int | np.integer) or n_components < 1:
        raise UnsupervisedError(f"streamed PCA needs a whole number of components, got "
                                f"{n_components!r}", "pass --components 50 (for example)")
    if n_components > source.n_features:
        raise UnsupervisedError(f"{n_components} components asked, more than the "
                                f"{source.n_features} features",
                                f"pass --components {source.n_features} or fewer")
    if b < n_components or source.n_rows < n_components:
        raise UnsupervisedError(f"each batch needs at least {n_components} rows (batches of "
                                f"{b}, {source.n_rows} rows in all)",
                                "use larger batches or fewer components")
    model = IncrementalPCA(n_components=int(n_components), batch_size=b)
    src = dataclasses.replace(source, batch_rows=b)
    for batch in _rebatched(src, _plan(source.n_rows, b, int(n_components))):
        model.partial_fit(batch)
        if on_batch is not None:
            on_batch(len(batch))
    return model


def transform_stream(model: BaseEstimator, source: BatchSource, *,
                     batch_rows: int | None = None) -> Iterator[np.ndarray]:
    """The reduced rows of ``source``, batch by batch (same order)."""
    src = source if batch_rows is None else dataclasses.replace(source, batch_rows=batch_rows)
    for batch in src:
        yield np.asarray(model.transform(batch))


def reduce_stream(path: str | os.PathLike[str] | BatchSource,
                  n_components: float | int = DEFAULT_VARIANCE, *,
                  columns: Sequence[str] | None = None, n_features: int | None = None,
                  label: str | None = None, batch_rows: int | None = None,
                  embedding_path: str | os.PathLike[str] | None = None,
                  on_batch: OnBatch | None = None) -> Reduction:
    """Incremental PCA over a file that is never loaded (.parquet, .npy, raw float32 memmap).

    A float ``n_components`` costs one more pass: an incremental PCA with many components
    draws the variance curve and picks d. A last pass writes the embedding to
    ``embedding_path`` (Parquet) and measures the reconstruction error. ``label`` (a Parquet
    column) is left out of the features and colours the map of the first rows.
    """
    target, d = _check_components(n_components)
    if isinstance(path, BatchSource):
        source = path
    else:
        file = Path(path)
        if columns is None and label is not None and file.suffix == ".parquet":
            import pyarrow.parquet as pq

            from mlpilot.unsupervised.streaming import _is_numeric

            columns = [f.name for f in pq.read_schema(file) if _is_numeric(f.type)
                       and f.name != label]
        source = open_batches(file, n_features=n_features, columns=columns,
                              **({"batch_rows": batch_rows} if batch_rows else {}))
    if source.n_rows < 2:
        raise UnsupervisedError(f"reduction needs at least 2 rows, got {source.n_rows}",
                                "pass a file with more rows")
    b = int(batch_rows or source.batch_rows)
    notes: list[str] = []
    timings: dict[str, float] = {}
    curve = None
    if d is None:
        assert target is not None
        k = min(source.n_features, b, STREAM_SPECTRUM_COMPONENTS, source.n_rows)
        start = time.perf_counter()
        wide = incremental_pca_stream(source, k, batch_rows=b, on_batch=on_batch)
        timings["spectrum_s"] = time.perf_counter() - start
        curve = np.cumsum(wide.explained_variance_ratio_)
        reached = np.flatnonzero(curve >= target)
        if len(reached):
            d = int(reached[0]) + 1
        else:
            d = k
            notes.append(f"{k} components keep only {curve[-1]:.1%} of the variance, short of "
                         f"{target:.0%}: pass a whole number of components for more.")
    start = time.perf_counter()
    model = incremental_pca_stream(source, d, batch_rows=b, on_batch=on_batch)
    timings["fit_s"] = time.perf_counter() - start
    start = time.perf_counter()
    target_file = atomic_path(embedding_path) if embedding_path else contextlib.nullcontext()
    with target_file as tmp:
        error_sum, preview_rows, first = _final_pass(model, dataclasses.replace(
            source, batch_rows=b), tmp, on_batch)
    timings["transform_s"] = time.perf_counter() - start
    embedding = preview_rows
    ratios = np.asarray(model.explained_variance_ratio_)
    labels = _stream_labels(source, label, len(embedding))
    side = _image_side(first, ()) if first is not None else None
    preview = None
    if side is not None and first is not None:
        pick = np.unique(np.linspace(0, len(first) - 1,
                                     min(PREVIEW_IMAGES, len(first))).astype(int))
        originals = np.asarray(first[pick], dtype=float)
        preview = (originals, np.asarray(model.inverse_transform(model.transform(first[pick]))))
    notes.append(f"Streamed from {source.path.name} in batches of {b:,} rows; features were "
                 "used as stored (not standardized).")
    return Reduction(method="incremental_pca", model=Pipeline([("reduce", model)]),
                     embedding=embedding, n_rows=source.n_rows, n_features=source.n_features,
                     n_components=d, label=labels, target_variance=target,
                     explained_variance_ratio=ratios,
                     cumulative_variance=curve if curve is not None else np.cumsum(ratios),
                     reconstruction_error=error_sum / source.n_rows, timings=timings,
                     params={"batch_rows": b}, image_side=side, preview=preview, notes=notes,
                     origin=source.path.name, streamed=True)


def _final_pass(model: IncrementalPCA, source: BatchSource, tmp: Path | None,
                on_batch: OnBatch | None) -> tuple[float, np.ndarray, np.ndarray | None]:
    """One pass: embedding to Parquet (when ``tmp``), squared error sum, first rows kept."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    error_sum, kept, first = 0.0, [], None
    n_kept = 0
    writer: pq.ParquetWriter | None = None
    try:
        for batch in source:
            Z = model.transform(batch)
            error_sum += float(np.sum((batch - model.inverse_transform(Z)) ** 2))
            if first is None:
                first = batch[:PREVIEW_IMAGES * 40]
            if n_kept < STREAM_PREVIEW_ROWS:
                kept.append(Z[:STREAM_PREVIEW_ROWS - n_kept])
                n_kept += len(kept[-1])
            if tmp is not None:
                table = pa.table({f"z{i + 1}": np.asarray(Z[:, i], dtype=np.float32)
                                  for i in range(Z.shape[1])})
                writer = writer or pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
            if on_batch is not None:
                on_batch(len(batch))
    finally:
        if writer is not None:
            writer.close()
    return error_sum, np.concatenate(kept), first


def _stream_labels(source: BatchSource, label: str | None, n: int) -> pd.Series | None:
    """The label of the first ``n`` rows of a Parquet file (for the map), else None."""
    if label is None or source.path.suffix != ".parquet" or n == 0:
        return None
    import pyarrow.parquet as pq

    reader = pq.ParquetFile(source.path)
    if label not in reader.schema_arrow.names:
        raise UnsupervisedError(f"label column {label!r} is not in {source.path.name}",
                                "pass a column of the Parquet file")
    parts, have = [], 0
    for batch in reader.iter_batches(batch_size=n, columns=[label]):
        parts.append(batch.column(0).to_pandas())
        have += batch.num_rows
        if have >= n:
            break
    return pd.concat(parts, ignore_index=True).iloc[:n].rename(label)



"""Reading data larger than memory in batches: what comes back is exactly what was written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlpilot.errors import UnsupervisedError
from mlpilot.unsupervised.streaming import open_batches, write_memmap


def test_npy_written_in_batches_reads_back_in_other_batches(tmp_path: Path) -> None:
    rows = np.random.default_rng(0).random((1_000, 7)).astype(np.float32)
    path = write_memmap(tmp_path / "rows.npy", (rows[i:i + 300] for i in range(0, 1_000, 300)),
                        7)
    assert np.array_equal(np.load(path), rows)  # a plain .npy any tool can open
    source = open_batches(path, batch_rows=128)
    batches = list(source)
    assert (source.n_rows, source.n_features) == (1_000, 7)
    assert max(len(b) for b in batches) == 128
    assert np.array_equal(np.vstack(batches), rows)
    assert [p.name for p in tmp_path.iterdir()] == ["rows.npy"]  # no partial file left


def test_raw_memmap_and_parquet(tmp_path: Path) -> None:
    rows = np.arange(60, dtype=np.float32).reshape(20, 3)
    rows.tofile(tmp_path / "rows.dat")
    assert np.array_equal(np.vstack(list(open_batches(tmp_path / "rows.dat", n_features=3,
                                                      batch_rows=8))), rows)
    with pytest.raises(UnsupervisedError, match="n_features"):
        open_batches(tmp_path / "rows.dat")
    with pytest.raises(UnsupervisedError, match="whole rows"):
        open_batches(tmp_path / "rows.dat", n_features=7)
    frame = pd.DataFrame(rows, columns=["a", "b", "c"]).assign(name="x")
    frame.to_parquet(tmp_path / "rows.parquet")
    source = open_batches(tmp_path / "rows.parquet", batch_rows=8)
    assert source.columns == ["a", "b", "c"]  # the text column is not a feature
    assert np.array_equal(np.vstack(list(source)), rows)


def test_a_truncated_file_is_an_error_not_short_data(tmp_path: Path) -> None:
    path = write_memmap(tmp_path / "rows.npy", [np.ones((100, 4))], 4)
    data = path.read_bytes()
    path.write_bytes(data[:-40])
    with pytest.raises(UnsupervisedError, match="ended early"):
        list(open_batches(path, batch_rows=30))

"""Reading tables: every bad input is a typed error that says what to do."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from mlpilot.data.sources import SourceSpec, check_frame, detect_kind, read_source
from mlpilot.errors import DataSourceError, SchemaError


def test_csv_and_parquet_read_the_same_table(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    from_csv = read_source(SourceSpec(str(tmp_path / "t.csv")))
    from_parquet = read_source(SourceSpec(str(tmp_path / "t.parquet")))
    assert from_csv["a"].tolist() == from_parquet["a"].tolist() == [1, 2, 3]
    assert from_csv["b"].tolist() == from_parquet["b"].tolist()


def test_sql_query_source(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = sa.create_engine(url)
    pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]}).to_sql("t", engine, index=False)
    engine.dispose()
    assert detect_kind(url) == "sql"
    frame = read_source(SourceSpec(url, query="SELECT x, y FROM t WHERE x > 1"))
    assert frame.to_dict("list") == {"x": [2.0], "y": [1]}


def test_sql_source_needs_a_query_and_hides_passwords() -> None:
    with pytest.raises(DataSourceError, match="needs a query"):
        read_source(SourceSpec("sqlite:///x.db"))
    with pytest.raises(DataSourceError) as info:
        read_source(SourceSpec("postgresql://me:secret@127.0.0.1:1/db", query="SELECT 1"))
    assert "secret" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="file not found"):
        read_source(SourceSpec(str(tmp_path / "nope.csv")))


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(DataSourceError, match="empty"):
        read_source(SourceSpec(str(tmp_path / "empty.csv")))


def test_header_only_file(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("a,b\n")
    with pytest.raises(DataSourceError, match="no data rows"):
        read_source(SourceSpec(str(tmp_path / "h.csv")))


def test_non_utf8_csv_suggests_an_encoding(tmp_path: Path) -> None:
    (tmp_path / "latin.csv").write_bytes("name,v\nJosé,1\nZoë,2\n".encode("latin-1"))
    with pytest.raises(DataSourceError, match="not valid utf-8") as info:
        read_source(SourceSpec(str(tmp_path / "latin.csv")))
    assert "latin-1" in (info.value.hint or "")
    frame = read_source(SourceSpec(str(tmp_path / "latin.csv"), encoding="latin-1"))
    assert frame["name"].tolist() == ["José", "Zoë"]


def test_binary_file_is_not_csv(tmp_path: Path) -> None:
    (tmp_path / "bin.csv").write_bytes(b"\x00\x01\x02garbage\x00")
    with pytest.raises(DataSourceError):
        read_source(SourceSpec(str(tmp_path / "bin.csv")))


def test_duplicate_columns_in_csv_are_caught_before_pandas_renames_them(tmp_path: Path) -> None:
    (tmp_path / "dup.csv").write_text("a,b,a\n1,2,3\n")
    with pytest.raises(SchemaError, match="duplicate column names: a"):
        read_source(SourceSpec(str(tmp_path / "dup.csv")))


def test_duplicate_columns_in_dataframe() -> None:
    frame = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(SchemaError, match="duplicate"):
        check_frame(frame)


def test_directory_is_not_a_table(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="directory"):
        read_source(SourceSpec(str(tmp_path)))


def test_corrupt_parquet(tmp_path: Path) -> None:
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(DataSourceError, match="Parquet"):
        read_source(SourceSpec(str(tmp_path / "bad.parquet")))

"""Reading a table from where the user keeps it: CSV, Parquet, a SQL query, a DataFrame.

Every failure becomes a :class:`~mlpilot.errors.DataSourceError` or
:class:`~mlpilot.errors.SchemaError` that says what is wrong and what to do.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from mlpilot.errors import DataSourceError, SchemaError

SourceKind = Literal["csv", "parquet", "sql", "catalog", "dataframe"]
_CSV_SUFFIXES = {".csv", ".tsv", ".txt", ".gz", ".bz2", ".zip", ".xz"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}


@dataclass(frozen=True)
class SourceSpec:
    """Where the data comes from: a path, a catalog name, or a SQLAlchemy URL plus a query."""

    location: str
    kind: SourceKind | None = None
    query: str | None = None
    encoding: str = "utf-8"


def detect_kind(location: str, query: str | None = None) -> SourceKind:
    if "://" in location and not location.startswith(("http://", "https://", "file://")):
        return "sql"
    suffixes = [s.lower() for s in Path(location).suffixes]
    if suffixes and suffixes[-1] in _PARQUET_SUFFIXES:
        return "parquet"
    if suffixes and suffixes[-1] in _CSV_SUFFIXES:
        return "csv"
    from mlpilot.data.catalog import DATASETS

    if location in DATASETS and not Path(location).exists():
        return "catalog"
    if Path(location).is_dir():
        raise DataSourceError(
            f"{location} is a directory, not a table",
            "point --data at a .csv or .parquet file, a dataset name, or a SQLAlchemy URL",
        )
    return "csv"


def read_source(spec: SourceSpec, base_dir: Path | None = None) -> pd.DataFrame:
    """Read the table described by ``spec``; relative paths are taken from ``base_dir``."""
    kind = spec.kind or detect_kind(spec.location, spec.query)
    if kind == "sql":
        frame = _read_sql(spec.location, spec.query)
    elif kind == "catalog":
        from mlpilot.data.catalog import load_dataset

        frame = load_dataset(spec.location)
    else:
        path = Path(spec.location).expanduser()
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        _check_file(path)
        frame = _read_parquet(path) if kind == "parquet" else _read_csv(path, spec.encoding)
    return check_frame(frame, origin=spec.location)


def check_frame(frame: pd.DataFrame, origin: str = "the DataFrame") -> pd.DataFrame:
    """Reject tables no step can work with: no rows, no columns, duplicate column names."""
    if not isinstance(frame, pd.DataFrame):
        raise DataSourceError(
            f"expected a pandas DataFrame, got {type(frame).__name__}",
            "pass a DataFrame, a file path or a SQLAlchemy URL",
        )
    duplicates = [str(c) for c, n in Counter(map(str, frame.columns)).items() if n > 1]
    if duplicates:
        raise SchemaError(
            f"{origin} has duplicate column names: {', '.join(duplicates)}",
            "rename the columns so that each name appears once",
        )
    if frame.shape[1] == 0:
        raise DataSourceError(f"{origin} has no columns", "check the file's header row")
    if len(frame) == 0:
        raise DataSourceError(f"{origin} has a header but no data rows", "check the file")
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _check_file(path: Path) -> None:
    if not path.exists():
        raise DataSourceError(f"file not found: {path}", "check the path and the working directory")
    if path.is_dir():
        raise DataSourceError(f"{path} is a directory, not a table", "point at a file inside it")
    if path.stat().st_size == 0:
        raise DataSourceError(f"file is empty: {path}", "the file has no bytes; re-export it")


def _read_csv(path: Path, encoding: str) -> pd.DataFrame:
    compressed = path.suffix.lower() in {".gz", ".bz2", ".zip", ".xz"}
    sep = "\t" if ".tsv" in [s.lower() for s in path.suffixes] else ","
    try:
        if not compressed:
            _check_csv_header(path, encoding, sep)
        return pd.read_csv(path, encoding=encoding, sep=sep, low_memory=False)
    except UnicodeDecodeError as exc:
        raise DataSourceError(
            f"{path} is not valid {encoding} text (byte {exc.start}: {exc.reason})",
            "re-save it as UTF-8, or set the encoding (e.g. --encoding latin-1)",
        ) from None
    except pd.errors.EmptyDataError:
        raise DataSourceError(f"file has no data: {path}", "the file holds no header or rows") \
            from None
    except (pd.errors.ParserError, csv.Error, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataSourceError(f"cannot read {path} as CSV: {first}",
                              "check that it is a comma-separated table") from None


def _check_csv_header(path: Path, encoding: str, sep: str) -> None:
    """pandas silently renames duplicate headers (``a``, ``a.1``): catch them first."""
    with open(path, encoding=encoding, newline="") as fh:
        head = fh.read(1 << 16)
    if "\x00" in head:
        raise DataSourceError(f"{path} looks binary, not CSV text",
                              "export the table as CSV or Parquet")
    first = next(csv.reader(io.StringIO(head), delimiter=sep), [])
    names = [c.strip() for c in first]
    duplicates = sorted({n for n in names if names.count(n) > 1 and n})
    if duplicates:
        raise SchemaError(
            f"{path} has duplicate column names: {', '.join(duplicates)}",
            "rename the columns so that each name appears once",
        )


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise SchemaError(f"{path} has duplicate column names: {', '.join(duplicates)}",
                              "rename the columns so that each name appears once")
        return pd.read_parquet(path)
    except SchemaError:
        raise
    except Exception as exc:  # pyarrow raises several unrelated types for corrupt files
        raise DataSourceError(f"cannot read {path} as Parquet: {exc}",
                              "check that the file is a complete Parquet file") from None


def _read_sql(url: str, query: str | None) -> pd.DataFrame:
    import sqlalchemy as sa

    if not query:
        raise DataSourceError(f"a SQL source needs a query: {url}",
                              'add --query "SELECT ... FROM ..." (or data.query in mlpilot.toml)')
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            result = conn.execute(sa.text(query))
            names = list(result.keys())
            rows = result.fetchall()
        engine.dispose()
    except Exception as exc:
        first = str(exc).strip().splitlines()[0]
        raise DataSourceError(f"SQL query failed on {_redact(url)}: {first}",
                              "check the URL, the credentials and the query") from None
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SchemaError(f"the query returns duplicate column names: {', '.join(duplicates)}",
                          "alias the columns (SELECT a.x AS a_x, ...)")
    return pd.DataFrame.from_records(rows, columns=names)


def _redact(url: str) -> str:
    """Never print a password in an error message."""
    try:
        import sqlalchemy as sa

        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]

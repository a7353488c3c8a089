"""The request log: one JSON line per prediction request, bounded on disk.

It is what monitoring reads (drift against the training data, accuracy once labels come
back), through :func:`read_request_log`. Lines go to ``requests.jsonl`` in the directory;
past ``max_bytes`` the file becomes ``requests.1.jsonl`` (the older ones shift up to
``requests.<max_files - 1>.jsonl``, the oldest is deleted), so the log never holds more
than ``max_files`` files.

Writing is off the request path: :meth:`RequestLog.write` appends the record to a bounded
in-memory queue and returns (no JSON, no I/O, no thread wake-up). A background thread
wakes every ``interval_s`` (0.1 s), turns what has accumulated into JSON lines (with the
request body verbatim when the service passes it: the rows are not encoded a second time)
and appends them with one ``write`` + ``flush`` (per file, when rotating): lines are never
interleaved and a crash loses at most the last 0.1 s and leaves at most one partial line
(the reader skips it). Waking per record instead cost a third of the throughput on 100-row requests:
the writer and the event loop then trade the GIL on every request. When the disk cannot
keep up and 10 000 records wait, new ones are dropped and counted
(:attr:`RequestLog.dropped`) rather than slowing predictions down. :meth:`RequestLog.flush`
waits until everything queued is on disk; :meth:`close` flushes and stops the thread. One
service process writes a directory (the service runs one worker).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd

from mlpilot.errors import ServeError
from mlpilot.serve.model import json_safe

__all__ = ["LOG_NAME", "META_COLUMNS", "RequestLog", "read_request_log"]

log = logging.getLogger(__name__)

LOG_NAME = "requests.jsonl"
#: Columns :func:`read_request_log` adds around the input columns.
META_COLUMNS = ("request_id", "model_id", "timestamp", "row")
_QUEUE_SIZE = 10_000  # records waiting at most; beyond, new ones are dropped (and counted)
_BATCH = 1000  # records per write at most

Rows = Sequence[dict[str, Any]] | Callable[[], Sequence[dict[str, Any]]]
Record = tuple[str, int | None, _dt.datetime, Rows, Sequence[Any], bytes | None]


def _rotated(directory: Path, index: int) -> Path:
    return directory / (LOG_NAME if index == 0 else f"requests.{index}.jsonl")


def _log_files(directory: Path) -> list[Path]:
    """Existing log files, oldest first (highest rotation index first, live file last)."""
    indexed: list[tuple[int, Path]] = []
    for path in directory.glob("requests*.jsonl"):
        middle = path.name[len("requests"):-len(".jsonl")]
        if middle == "":
            indexed.append((0, path))
        elif middle.startswith(".") and middle[1:].isdigit():
            indexed.append((int(middle[1:]), path))
    return [path for _, path in sorted(indexed, reverse=True)]


class RequestLog:
    """Appends request records to ``directory/requests.jsonl`` with size-based rotation."""

    def __init__(self, directory: str | Path, max_bytes: int = 50_000_000,
                 max_files: int = 10, interval_s: float = 0.1) -> None:
        if max_bytes <= 0 or max_files < 1:
            raise ServeError("the request log needs max_bytes > 0 and max_files >= 1",
                             "keep at least one file of some size")
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.interval_s = interval_s
        self.dropped = 0
        self.written = 0
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ServeError(f"cannot create the request log directory {self.directory}: {exc}",
                             "make it writable, or log requests somewhere else") from exc
        self._prune()
        self._file: BinaryIO = open(_rotated(self.directory, 0), "ab")  # noqa: SIM115
        self._size = self._file.tell()
        self._pending: deque[Record] = deque()
        self._queued = 0  # records accepted so far
        self._done = 0  # records handled (written or failed) so far
        self._pending_lock = threading.Lock()  # held for an append or a swap, never for I/O
        self._file_lock = threading.Lock()  # one writer of the file at a time
        self._wake = threading.Event()
        self._progress = threading.Condition()
        self._stopping = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="mlpilot-request-log",
                                        daemon=True)
        self._thread.start()

    def __enter__(self) -> RequestLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, request_id: str, model_id: int | None, rows: Rows,
              predictions: Sequence[Any], timestamp: _dt.datetime | None = None,
              body: bytes | None = None) -> None:
        """Queue one request's record; nothing is serialised or written here.

        ``rows``: the input records, or a callable returning them (evaluated off the request
        path). ``body``: the request's JSON body (``records`` or ``dataframe_split``); when
        given it is logged verbatim instead of ``rows``, which saves encoding the rows again.
        """
        if self._closed:
            raise ServeError("the request log is closed", "create a new RequestLog")
        record = (request_id, model_id, timestamp or _dt.datetime.now(_dt.UTC), rows,
                  predictions, body)
        with self._pending_lock:
            if len(self._pending) < _QUEUE_SIZE:
                self._pending.append(record)
                self._queued += 1
                return
            self.dropped += 1
        if self.dropped in (1, 10, 100) or self.dropped % 1000 == 0:
            log.warning("request log cannot keep up: %d records dropped", self.dropped)

    def flush(self, timeout: float | None = 30.0) -> None:
        """Wait until every record queued so far is written and flushed to the file."""
        if self._closed:
            return
        target = self._queued
        self._wake.set()
        with self._progress:
            self._progress.wait_for(lambda: self._done >= target or not self._thread.is_alive(),
                                    timeout)

    def close(self) -> None:
        """Write what is queued, stop the writer thread and close the file (idempotent)."""
        if self._closed:
            return
        self._stopping = True
        self._wake.set()
        self._thread.join()
        self._closed = True
        with self._file_lock:
            self._file.close()

    # --- the writer thread -------------------------------------------------------------

    def _run(self) -> None:
        # Woken by a timer, not by each record: a wake-up per record would make this
        # thread and the event loop trade the GIL back and forth on every request.
        while True:
            self._wake.wait(self.interval_s)
            self._wake.clear()
            stopping = self._stopping
            with self._pending_lock:
                records = list(self._pending)
                self._pending.clear()
            for start in range(0, len(records), _BATCH):
                self._write_records(records[start:start + _BATCH])
            with self._progress:
                self._done += len(records)
                self._progress.notify_all()
            if stopping:
                return

    def _write_records(self, records: list[Record]) -> None:
        lines: list[bytes] = []
        for record in records:
            try:
                lines.append(self._line(*record))
            except Exception:  # a record that cannot be written must not stop the rest
                log.exception("could not serialise a request log record")
        try:
            if lines:
                self._append(lines)
        except Exception:  # a full disk must not kill the writer
            log.exception("could not write %d request log records", len(lines))

    @staticmethod
    def _line(request_id: str, model_id: int | None, when: _dt.datetime, rows: Rows,
              predictions: Sequence[Any], body: bytes | None) -> bytes:
        head = json.dumps({"request_id": request_id, "model_id": model_id,
                           "timestamp": when.isoformat(timespec="microseconds")},
                          separators=(",", ":"))[:-1].encode()
        if body is not None and json.detect_encoding(body) == "utf-8":
            # A body json.loads accepted has its line breaks between tokens only (JSON
            # strings cannot hold raw ones): as spaces, the body fits on one line.
            inputs = b',"body":' + body.replace(b"\n", b" ").replace(b"\r", b" ")
        else:
            if body is not None:  # UTF-16/32 JSON: decode and log the rows themselves
                rows = _rows_of(json.loads(body))
            inputs = b',"rows":' + _dumps(list(rows() if callable(rows) else rows))
        return head + inputs + b',"predictions":' + _dumps(list(predictions)) + b"}\n"

    def _append(self, lines: list[bytes]) -> None:
        """Whole lines only, one ``write`` + ``flush`` per file they go to."""
        with self._file_lock:
            chunk: list[bytes] = []
            size = 0
            for line in lines:
                if self._size + size + len(line) > self.max_bytes and (self._size or chunk):
                    self._write(chunk, size)
                    self._rotate()
                    chunk, size = [], 0
                chunk.append(line)
                size += len(line)
            self._write(chunk, size)

    def _write(self, chunk: list[bytes], size: int) -> None:
        if chunk:
            self._file.write(b"".join(chunk))
            self._file.flush()
            self._size += size
            self.written += len(chunk)

    def _rotate(self) -> None:
        self._file.close()
        oldest = self.max_files - 1
        if oldest == 0:
            _rotated(self.directory, 0).unlink(missing_ok=True)
        else:
            _rotated(self.directory, oldest).unlink(missing_ok=True)
            for index in range(oldest - 1, -1, -1):
                source = _rotated(self.directory, index)
                if source.exists():
                    source.replace(_rotated(self.directory, index + 1))
        self._file = open(_rotated(self.directory, 0), "ab")  # noqa: SIM115
        self._size = 0

    def _prune(self) -> None:
        """Delete rotated files beyond ``max_files`` (left by a larger earlier setting)."""
        for path in _log_files(self.directory):
            name = path.name
            index = 0 if name == LOG_NAME else int(name.split(".")[1])
            if index >= self.max_files:
                path.unlink(missing_ok=True)


def _dumps(value: Any) -> bytes:
    try:
        text = json.dumps(value, separators=(",", ":"), allow_nan=False, default=str)
    except ValueError:  # NaN / inf sent by a client: JSON has no such numbers
        text = json.dumps(json_safe(value), separators=(",", ":"))
    return text.encode("utf-8")


def _rows_of(body: Any) -> list[Any]:
    """The input rows of a logged request body (records or dataframe_split)."""
    if not isinstance(body, dict):
        return []
    if isinstance(body.get("records"), list):
        return body["records"]
    split = body.get("dataframe_split")
    if isinstance(split, dict) and isinstance(split.get("data"), list):
        columns = split.get("columns") or []
        return [dict(zip(columns, row, strict=False)) for row in split["data"]
                if isinstance(row, list)]
    return []


def read_request_log(directory: str | Path) -> pd.DataFrame:
    """Every logged row, oldest first: ``request_id, model_id, timestamp, row``, the input
    columns, ``prediction``. ``timestamp`` is a UTC datetime; an input column named like
    one of these gets an ``input.`` prefix. No log yet → an empty frame with those columns.
    A partial line (a crash mid-write) is skipped.
    """
    reserved = {*META_COLUMNS, "prediction"}
    rows: list[dict[str, Any]] = []
    inputs: dict[str, None] = {}  # input columns in first-seen order
    for path in _log_files(Path(directory)):
        try:
            lines = path.read_bytes().splitlines()
        except FileNotFoundError:  # rotated away between listing and reading
            continue
        for line in lines:
            try:
                record = json.loads(line)
                values = record["rows"] if "rows" in record else _rows_of(record["body"])
                predictions = record["predictions"]
            except (ValueError, KeyError, TypeError):
                continue
            meta = (record.get("request_id"), record.get("model_id"), record.get("timestamp"))
            for i, (values_i, prediction) in enumerate(zip(values, predictions, strict=False)):
                out: dict[str, Any] = dict(zip(META_COLUMNS, (*meta, i), strict=True))
                if isinstance(values_i, dict):
                    for key, value in values_i.items():
                        name = f"input.{key}" if key in reserved else key
                        inputs.setdefault(name)
                        out[name] = _finite(value)
                out["prediction"] = prediction
                rows.append(out)
    columns = [*META_COLUMNS, *inputs, "prediction"]
    frame = pd.DataFrame.from_records(rows, columns=columns)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601")
    return frame


def _finite(value: Any) -> Any:
    """NaN / Infinity (which a verbatim body may hold) read as missing."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value

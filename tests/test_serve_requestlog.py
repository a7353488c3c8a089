"""The request log: bounded rotation, thread-safe appends, oldest-first reading."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from mlpilot.errors import ServeError
from mlpilot.serve.requestlog import RequestLog, read_request_log


def _write(log: RequestLog, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        log.write(f"req-{i}", 1, [{"x": float(i), "city": "Paris"}], [i * 10])


def test_rotation_keeps_at_most_max_files_and_reads_oldest_first(tmp_path: Path) -> None:
    with RequestLog(tmp_path, max_bytes=400, max_files=3) as log:
        _write(log, 40)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["requests.1.jsonl", "requests.2.jsonl", "requests.jsonl"]
    assert all(p.stat().st_size <= 400 for p in tmp_path.iterdir())
    frame = read_request_log(tmp_path)
    ids = [int(r.split("-")[1]) for r in frame["request_id"]]
    assert ids == sorted(ids) and ids[-1] == 39  # oldest first, newest kept
    assert 0 not in ids  # the oldest requests were rotated away
    assert list(frame.columns) == ["request_id", "model_id", "timestamp", "row", "x", "city",
                                   "prediction"]
    assert (frame["prediction"] == frame["x"] * 10).all()


def test_a_single_file_log_starts_over_when_full(tmp_path: Path) -> None:
    with RequestLog(tmp_path, max_bytes=300, max_files=1) as log:
        _write(log, 20)
    assert [p.name for p in tmp_path.iterdir()] == ["requests.jsonl"]
    assert read_request_log(tmp_path)["request_id"].iloc[-1] == "req-19"


def test_each_predicted_row_is_one_frame_row(tmp_path: Path) -> None:
    with RequestLog(tmp_path) as log:
        log.write("a", 3, [{"x": 1.0}, {"x": None, "row": "clash"}], ["p", "q"])
        log.write("b", 4, lambda: [{"x": float("nan")}], [1.5])  # rows built off the path
    frame = read_request_log(tmp_path)
    assert frame["request_id"].tolist() == ["a", "a", "b"]
    assert frame["row"].tolist() == [0, 1, 0]
    assert frame["model_id"].tolist() == [3, 3, 4]
    assert frame["input.row"].tolist()[1] == "clash"  # an input named like a meta column
    assert frame["x"].isna().tolist() == [False, True, True]  # NaN logged as null
    assert json.loads((tmp_path / "requests.jsonl").read_text().splitlines()[1])["rows"] == [
        {"x": None}]


def test_request_bodies_are_logged_verbatim_and_read_as_rows(tmp_path: Path) -> None:
    records = b'{"records": [{"x": 1.5, "city": "Lyon"},\n {"x": NaN, "city": null}]}'
    split = json.dumps({"dataframe_split": {"columns": ["city", "x"], "data": [["Nice", 2]],
                                            "index": [0]}}).encode("utf-16")
    with RequestLog(tmp_path) as log:
        log.write("r", 1, (), [10.0, 20.0], body=records)
        log.write("s", 1, (), [30.0], body=split)  # not UTF-8: decoded, rows logged
    lines = (tmp_path / "requests.jsonl").read_bytes().splitlines()
    assert len(lines) == 2 and b'"body":{"records"' in lines[0] and b'"rows":[' in lines[1]
    frame = read_request_log(tmp_path)
    assert frame["request_id"].tolist() == ["r", "r", "s"]
    assert frame["city"].isna().tolist() == [False, True, False]
    assert frame["city"].tolist()[::2] == ["Lyon", "Nice"]
    assert frame["x"].tolist()[0] == 1.5 and np.isnan(frame["x"].tolist()[1])
    assert frame["prediction"].tolist() == [10.0, 20.0, 30.0]


def test_concurrent_writes_never_interleave_lines(tmp_path: Path) -> None:
    with RequestLog(tmp_path, max_bytes=20_000, max_files=50) as log:
        threads = [threading.Thread(target=_write, args=(log, 100, 1000 * t)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    frame = read_request_log(tmp_path)
    assert len(frame) == 800 and frame["request_id"].is_unique


def test_a_partial_last_line_is_skipped_and_appending_resumes(tmp_path: Path) -> None:
    with RequestLog(tmp_path) as log:
        _write(log, 2)
    with open(tmp_path / "requests.jsonl", "ab") as fh:
        fh.write(b'{"request_id": "torn", "rows": [{"x"')  # a crash mid-write
    assert read_request_log(tmp_path)["request_id"].tolist() == ["req-0", "req-1"]


def test_flush_makes_records_readable_and_close_is_final(tmp_path: Path) -> None:
    log = RequestLog(tmp_path)
    _write(log, 3)
    log.flush()
    assert len(read_request_log(tmp_path)) == 3
    log.close()
    log.close()  # idempotent
    with pytest.raises(ServeError):
        _write(log, 1)


def test_no_log_yet_reads_as_an_empty_frame(tmp_path: Path) -> None:
    frame = read_request_log(tmp_path / "nothing-here")
    assert frame.empty
    assert list(frame.columns) == ["request_id", "model_id", "timestamp", "row", "prediction"]


def test_rotated_files_beyond_a_smaller_limit_are_removed_at_start(tmp_path: Path) -> None:
    for i in range(1, 6):
        (tmp_path / f"requests.{i}.jsonl").write_text("")
    RequestLog(tmp_path, max_files=3).close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "requests.1.jsonl", "requests.2.jsonl", "requests.jsonl"]

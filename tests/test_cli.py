"""The command line: every command works on a project; bad input is one line, exit code 2."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from mlpilot.cli.main import app

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    """Exit code and output with line wrapping undone (rich wraps at the terminal width)."""
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_init_train_evaluate_status(tmp_path: Path) -> None:
    proj = str(tmp_path / "p")
    code, out = invoke("init", proj, "--data", "wine", "--target", "cultivar")
    assert code == 0, out
    assert "multiclass" in out and "locked" in out
    code, out = invoke("train", "--project", proj, "--budget", "30")
    assert code == 0, out
    assert "Leaderboard" in out and "accuracy" in out
    code, out = invoke("evaluate", "--project", proj)
    assert code == 0 and "test accuracy" in out
    code, out = invoke("evaluate", "--project", proj)
    assert code == 0 and "already used 1 time" in out
    code, out = invoke("status", "-p", proj)
    assert code == 0 and "test set reads" in out and "2" in out
    code, out = invoke("schema", "-p", proj)
    assert code == 0 and "alcohol" in out


def test_run_is_one_command(tmp_path: Path) -> None:
    csv = tmp_path / "diabetes.csv"
    from mlpilot import load_dataset

    load_dataset("diabetes").to_csv(csv, index=False)
    code, out = invoke("run", str(csv), "--target", "progression", "-p", str(tmp_path / "r"))
    assert code == 0, out
    flat = " ".join(out.split())
    assert "CV RMSE" in flat and "saved as model #1" in flat
    # Running again resumes: nothing is recomputed.
    code, out = invoke("run", str(csv), "--target", "progression", "-p", str(tmp_path / "r"))
    assert code == 0 and "resumed" in out


def test_demo_runs_offline(tmp_path: Path) -> None:
    code, out = invoke("demo", "--project", str(tmp_path / "demo"))
    assert code == 0, out
    flat = " ".join(out.split())
    assert "mlpilot framed 'diagnosis' as binary" in flat and "locked test set" in flat
    assert "is the champion" in flat and "0 alert(s)" in flat  # launched and monitored


def test_datasets_and_recipes_are_listed() -> None:
    code, out = invoke("datasets")
    assert code == 0 and "housing" in out and "fashion_mnist" in out and "moons" in out
    code, out = invoke("recipe", "list")
    assert code == 0 and "ch01-lifesat" in out and "ch02-housing-split" in out


def _write(path: Path, content: bytes) -> str:
    path.write_bytes(content)
    return str(path)


@pytest.mark.parametrize(("content", "target", "message"), [
    (None, "y", "file not found"),
    (b"", "y", "file is empty"),
    ("x,y\nJosé,1\n".encode("latin-1"), "y", "not valid utf-8"),
    (b"a,b,a\n1,2,3\n", "b", "duplicate column names"),
    (b"x,y\n1,2\n3,4\n", "z", "target column 'z' is not in the data"),
    (b"x,y\n1,\n2,\n3,\n", "y", "all values missing"),
    (b"x,y\n1,a\n2,a\n3,a\n", "y", "single value"),
])
def test_bad_input_is_one_line_and_exit_code_2(tmp_path: Path, content: bytes | None,
                                               target: str, message: str) -> None:
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_bytes(content)
    code, out = invoke("init", str(tmp_path / "p"), "--data", str(path), "--target", target)
    assert code == 2
    assert message in " ".join(out.split())
    assert "Traceback" not in out
    assert out.strip().startswith("error:")


def test_fewer_rows_than_folds_is_a_clear_error(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": range(6), "y": [0.5 * i for i in range(6)]})
    frame.to_csv(tmp_path / "tiny.csv", index=False)
    code, out = invoke("run", str(tmp_path / "tiny.csv"), "--target", "y",
                       "-p", str(tmp_path / "p"))
    assert code == 2 and "cross-validation" in " ".join(out.split())
    assert "Traceback" not in out


def test_commands_need_a_project(tmp_path: Path) -> None:
    code, out = invoke("train", "--project", str(tmp_path / "nowhere"))
    assert code == 2 and "error:" in out


def test_explore_writes_the_report(tmp_path: Path, data_home: Path) -> None:
    proj = str(tmp_path / "h")
    code, out = invoke("init", proj, "--data", str(data_home / "housing" / "housing.csv"),
                       "--target", "median_house_value")
    assert code == 0, out
    code, out = invoke("explore", "-p", proj)
    flat = " ".join(out.split())
    assert code == 0, out
    assert "capped" in flat and "heavy_tail" in flat and "explore.html" in flat
    html = (tmp_path / "h" / "reports" / "explore.html").read_text()
    assert "data:image/png;base64," in html
    assert (tmp_path / "h" / "reports" / "explore.json").exists()

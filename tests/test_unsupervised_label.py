"""Semi-supervised labelling (book ch. 9): representatives, propagation, the gain, CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io
import typer
from sklearn.datasets import load_digits, make_blobs
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC
from typer.testing import CliRunner

from cli_apps import single_command_app
from mlpilot.cli.commands_label import register
from mlpilot.errors import UnsupervisedError
from mlpilot.recipes.ch09_semi_supervised import RECIPE
from mlpilot.unsupervised.label import (
    FULL,
    HAND,
    RANDOM,
    label_gain,
    next_to_label,
    propagate,
    representatives,
    simulate_active_learning,
)


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return X, y


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    X, y = make_blobs(n_samples=300, centers=[[0, 0], [6, 0], [0, 6]], cluster_std=1.0,
                      random_state=0)
    return X, y


def images(html: str) -> int:
    return len(re.findall(r"data:image/png;base64,", html))


def test_recipe_matches_the_book() -> None:
    result = RECIPE.run()
    failures = [(c.quantity, c.book, c.ours) for c in result.comparisons if not c.ok]
    assert not failures
    assert len(result.comparisons) == 7


def test_one_representative_per_cluster_closest_to_its_centroid(blobs) -> None:  # type: ignore[no-untyped-def]
    X, _ = blobs
    reps = representatives(X, k=6, random_state=0)
    assert len(reps.positions) == 6 and len(set(reps.positions.tolist())) == 6
    for c, pos in enumerate(reps.positions):
        assert reps.clusters[pos] == c
        inside = np.flatnonzero(reps.clusters == c)
        assert pos == inside[np.argmin(reps.own_distance[inside])]
    todo = reps.todo()
    assert list(todo.columns[:2]) == ["row", "cluster"] and todo.columns[-1] == "label"
    assert (todo["label"] == "").all() and todo["row"].tolist() == reps.positions.tolist()


def test_partial_propagation_drops_the_farthest_rows(blobs) -> None:  # type: ignore[no-untyped-def]
    X, y = blobs
    reps = representatives(X, k=3, random_state=0)
    labels = y[reps.positions]
    full = propagate(reps, labels, mode="full", true_labels=y)
    part = propagate(reps, labels, mode="partial", percentile=90, true_labels=y)
    assert full.kept.all() and full.accuracy is not None and full.accuracy > 0.97
    assert part.kept.mean() == pytest.approx(0.9, abs=0.02)
    for c in range(3):
        inside = reps.clusters == c
        dropped = inside & ~part.kept
        assert dropped.any()
        assert reps.own_distance[dropped].min() > reps.own_distance[inside & part.kept].max()
    assert all(v is None for v in part.values[~part.kept])
    assert part.kept[reps.positions].all()  # the labelled rows always stay


def test_hand_labels_beyond_the_representatives_keep_their_own_label(blobs) -> None:  # type: ignore[no-untyped-def]
    X, y = blobs
    reps = representatives(X, k=3, random_state=0)
    extra = int(np.flatnonzero(reps.clusters == 0)[-1])
    labels = {int(p): int(y[p]) for p in reps.positions} | {extra: 99}
    prop = propagate(reps, labels)
    assert prop.values[extra] == 99 and prop.n_human == 4


@pytest.mark.parametrize(("labels", "message"), [
    ([0] * 6, "fewer than 2 classes"),
    ([0, 1, 2], "3 labels for 6 representatives"),
    ({123456: 1, 0: 2}, "not rows of the data"),
    (pd.DataFrame({"row": [1, 2], "answer": [0, 1]}), "no 'label' column"),
])
def test_bad_labels_are_unsupervised_errors(blobs, labels: object, message: str) -> None:  # type: ignore[no-untyped-def]
    reps = representatives(blobs[0], k=6, random_state=0)
    with pytest.raises(UnsupervisedError, match=message):
        propagate(reps, labels)


def test_bad_k_is_an_unsupervised_error(blobs) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnsupervisedError, match="at least 2"):
        representatives(blobs[0], k=1)
    with pytest.raises(UnsupervisedError, match="only 300 rows"):
        representatives(blobs[0], k=301)


def test_label_gain_compares_hand_propagated_and_random_labels(digits, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    X, y = digits
    reps = representatives(X[:600], k=20, random_state=42)
    gain = label_gain(reps, y[:600][reps.positions], test=(X[1400:], y[1400:]),
                      true_labels=y[:600], alternatives=True, active_rounds=2, active_batch=10)
    table = gain.table.set_index("approach")
    assert table.loc[HAND, "test accuracy"] > table.loc[RANDOM, "test accuracy"]
    assert gain.gain is not None and gain.gain > 0
    assert gain.chosen in (HAND, FULL, gain.table["approach"].iloc[2])
    assert gain.partial.accuracy is not None and gain.partial.accuracy > 0.8
    nxt = gain.suggest_next(7)
    assert len(nxt) == 7 and nxt["certainty"].is_monotonic_increasing
    assert not set(nxt["row"]) & set(gain.human.index)
    html = gain.write_report(tmp_path).read_text()
    for title in ("Test accuracy by approach", "hand-labelled representatives",
                  "Right labels per cluster",
                  "Accuracy per round", "Label next"):
        assert title in html
    assert images(html) >= 4
    data = json.loads((tmp_path / "label.json").read_text())
    assert data["chosen"] == gain.chosen and len(data["approaches"]) == len(gain.table)
    path = gain.save_model(tmp_path / "label-model.skops")
    model = skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))
    assert model.score(X[1400:], y[1400:]) == pytest.approx(gain.accuracy(gain.chosen))


def test_step_one_report_shows_the_rows_to_label(digits, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reps = representatives(digits[0][:400], k=10, random_state=0)
    html = reps.write_report(tmp_path).read_text()
    assert "The rows to label" in html and images(html) == 2  # image grid + map
    assert json.loads((tmp_path / "label.json").read_text())["k"] == 10


def test_active_learning_accuracy_rises(digits) -> None:  # type: ignore[no-untyped-def]
    X, y = digits
    run = simulate_active_learning(X[:1000], y[:1000], X[1400:], y[1400:], start=20, rounds=4,
                                   batch=20, random_state=0)
    acc = run.history["test accuracy"].to_numpy()
    assert run.history["labelled"].tolist() == [20, 40, 60, 80, 100]
    assert acc[-1] > acc[0] + 0.05


def test_next_to_label_picks_the_least_certain_rows(blobs) -> None:  # type: ignore[no-untyped-def]
    X, y = blobs
    model = LogisticRegression().fit(X, y)
    picked = next_to_label(model, X, n=5)
    certainty = model.predict_proba(X).max(axis=1)
    assert sorted(certainty[picked]) == pytest.approx(sorted(certainty)[:5])
    with pytest.raises(UnsupervisedError, match="probabilities"):
        next_to_label(LinearSVC().fit(X, y), X)


# --------------------------------------------------------------------------- CLI


def cli() -> typer.Typer:
    return single_command_app(register)


runner = CliRunner()


@pytest.fixture
def digits_csv(tmp_path: Path, digits) -> Path:  # type: ignore[no-untyped-def]
    X, y = digits
    frame = pd.DataFrame(X[:500], columns=[f"p{i}" for i in range(64)]).assign(digit=y[:500])
    frame.to_csv(tmp_path / "digits.csv", index=False)
    return tmp_path / "digits.csv"


def test_cli_two_step_label_flow(digits_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    base = ["label", "--data", str(digits_csv), "--label", "digit", "--k", "15",
            "--out", str(out)]
    step1 = runner.invoke(cli(), base)
    assert step1.exit_code == 0, step1.output
    todo = pd.read_csv(out / "label-todo.csv")
    assert len(todo) == 15 and todo["label"].isna().all() and "digit" not in todo.columns
    assert images((out / "label.html").read_text()) >= 1
    truth = pd.read_csv(digits_csv)["digit"]
    todo["label"] = truth.loc[todo["row"]].to_numpy()
    todo.to_csv(out / "label-todo.csv", index=False)
    step2 = runner.invoke(cli(), [*base, "--labels", str(out / "label-todo.csv"),
                                  "--next", "5"])
    assert step2.exit_code == 0, step2.output
    assert "gain over the hand labels alone" in " ".join(step2.output.split())
    for name in ("label.html", "label.json", "label-propagated.parquet", "label-model.skops",
                 "label-next.csv"):
        assert (out / name).exists()
    propagated = pd.read_parquet(out / "label-propagated.parquet")
    assert len(propagated) == 400 and propagated["hand_labelled"].sum() == 15  # 100 held out
    assert len(pd.read_csv(out / "label-next.csv")) == 5
    data = json.loads((out / "label.json").read_text())
    assert data["stage"] == "gain" and data["n_test"] == 100
    assert images((out / "label.html").read_text()) >= 2


@pytest.mark.parametrize(("fill", "message"), [
    ("no-label-column", "no 'label' column"),
    ("unknown-ids", "not rows of the data"),
    ("one-class", "fewer than 2 classes"),
])
def test_cli_bad_labels_file_is_one_line_exit_2(digits_csv: Path, tmp_path: Path, fill: str,
                                               message: str) -> None:
    out = tmp_path / "out"
    base = ["label", "--data", str(digits_csv), "--k", "6", "--out", str(out)]
    assert runner.invoke(cli(), base).exit_code == 0
    todo = pd.read_csv(out / "label-todo.csv")
    if fill == "no-label-column":
        todo = todo.drop(columns=["label"])
    elif fill == "unknown-ids":
        todo["row"] = todo["row"] + 100_000
        todo["label"] = [0, 1] * 3
    else:
        todo["label"] = 3
    todo.to_csv(out / "filled.csv", index=False)
    result = runner.invoke(cli(), [*base, "--labels", str(out / "filled.csv")])
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error:") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_cli_bad_k_is_one_line_exit_2(digits_csv: Path, tmp_path: Path) -> None:
    result = runner.invoke(cli(), ["label", "--data", str(digits_csv), "--k", "1",
                                   "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "k must be at least 2" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

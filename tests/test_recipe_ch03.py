"""The chapter 3 recipe on a Fashion-MNIST subset: every check that must hold on any data."""

from __future__ import annotations

import time
from pathlib import Path

from mlpilot.recipes import RECIPES
from mlpilot.recipes.ch03_classification import run


def test_ch03_recipe_checks_hold_on_a_subset(data_home: Path) -> None:
    start = time.perf_counter()
    result = run(rows=6000)
    elapsed = time.perf_counter() - start
    checks = [c for c in result.comparisons if not c.reference]
    assert len(checks) >= 8
    failures = [(c.quantity, c.book, c.ours) for c in checks if not c.ok]
    assert not failures
    assert result.ok  # reference rows (the book's MNIST figures) never fail
    assert any(c.reference == "MNIST" for c in result.comparisons)
    assert any(note.startswith("timings:") for note in result.notes)
    assert elapsed < 120  # about 55 s on 2 shared cores


def test_ch03_recipe_is_registered() -> None:
    assert RECIPES["ch03-classification"].chapter == 3

"""Recipes reproduce the book's figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlpilot.recipes import RECIPES


@pytest.mark.parametrize("name", ["ch01-lifesat", "ch02-housing-split", "ch02-housing-pipeline",
                                  "ch02-housing-test-ci"])
def test_recipe_matches_the_book(name: str, data_home: Path) -> None:
    result = RECIPES[name].run()
    failures = [(c.quantity, c.book, c.ours) for c in result.comparisons if not c.ok]
    assert not failures

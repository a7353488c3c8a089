"""The book's chapter 10–11 neural-network runs reproduce on the Keras backend running the tests.

`make test` runs this file on JAX (the default) and again with ``KERAS_BACKEND=tensorflow``;
``ch12-custom-huber`` is run by ``tests/test_deep_custom.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlpilot.recipes import RECIPES


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ch10-fashion-mlp", "ch10-wide-deep", "ch11-mc-dropout",
                                  "ch11-1cycle"])
def test_deep_recipe_matches_the_book(name: str, data_home: Path) -> None:
    result = RECIPES[name].run()
    failures = [(c.quantity, c.book, c.ours) for c in result.comparisons if not c.ok]
    assert not failures, (failures, result.notes)

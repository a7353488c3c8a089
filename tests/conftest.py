"""Shared fixtures: the data home (MLPILOT_DATA_HOME) and small projects."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")
# rich wraps at the terminal width: give CLI tests a wide one so messages stay on one line.
os.environ["COLUMNS"] = "300"


@pytest.fixture(scope="session")
def data_home() -> Path:
    """The shared datasets, as CI points at them; tests needing them skip when absent."""
    home = os.environ.get("MLPILOT_DATA_HOME")
    if not home or not (Path(home) / "housing" / "housing.csv").exists():
        pytest.skip("MLPILOT_DATA_HOME with the book's datasets is not set")
    return Path(home)


@pytest.fixture(scope="session")
def housing(data_home: Path) -> pd.DataFrame:
    return pd.read_csv(data_home / "housing" / "housing.csv")


@pytest.fixture
def small_regression() -> pd.DataFrame:
    from mlpilot import load_dataset

    return load_dataset("diabetes")


@pytest.fixture
def small_binary() -> pd.DataFrame:
    from mlpilot import load_dataset

    return load_dataset("breast_cancer")

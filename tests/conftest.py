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


POSTGRES_ENV = "MLPILOT_TEST_POSTGRES_URL"  # set by .ci/run after starting the server
REQUIRE_POSTGRES_ENV = "MLPILOT_REQUIRE_POSTGRES"  # CI: a missing server fails, never skips


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The URL of a real PostgreSQL server (`.ci/postgres.sh` starts one)."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        if os.environ.get(REQUIRE_POSTGRES_ENV):
            pytest.fail(f"{POSTGRES_ENV} is not set but {REQUIRE_POSTGRES_ENV} is")
        pytest.skip(f"no PostgreSQL server ({POSTGRES_ENV} not set; run .ci/postgres.sh)")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path):
    """The project's state database on each backend: SQLite in the project, or a fresh
    PostgreSQL database made for this test and dropped after it."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    import uuid

    import sqlalchemy as sa

    server = request.getfixturevalue("postgres_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = sa.engine.make_url(server)
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()

"""Test-set strategies: the book's crc32 rule, stability under appended rows, stratification."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlpilot.data import split as splitting
from mlpilot.errors import SplitError


def book_is_id_in_test_set(identifier: int, test_ratio: float) -> bool:
    """Chapter 2, verbatim: ``crc32(np.int64(identifier)) < test_ratio * 2**32``."""
    return zlib.crc32(np.int64(identifier)) < test_ratio * 2**32


@given(st.lists(st.integers(min_value=-(2**62), max_value=2**62), max_size=200, unique=True))
def test_crc32_rule_is_the_books(ids: list[int]) -> None:
    for i in ids:
        assert splitting.crc32_in_test(i, 0.2) == book_is_id_in_test_set(i, 0.2)


@settings(max_examples=60, deadline=None)
@given(
    old=st.lists(st.integers(0, 10**9), min_size=1, max_size=300, unique=True),
    new=st.lists(st.integers(0, 10**9), max_size=300, unique=True),
    test_size=st.floats(0.05, 0.5),
)
def test_hash_split_is_stable_under_appended_rows(old: list[int], new: list[int],
                                                  test_size: float) -> None:
    appended = old + [i for i in new if i not in set(old)]
    before = splitting.hash_split(pd.Series(old, name="id"), test_size)
    after = splitting.hash_split(pd.Series(appended, name="id"), test_size)
    # Every old row stays on its side, whatever was appended.
    assert before.tolist() == after[: len(old)].tolist()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=200, unique=True))
def test_hash_split_with_string_ids_is_stable_under_reordering(ids: list[str]) -> None:
    mask = splitting.hash_split(pd.Series(ids, name="id"), 0.2)
    shuffled = list(reversed(ids))
    mask2 = splitting.hash_split(pd.Series(shuffled, name="id"), 0.2)
    assert dict(zip(ids, mask, strict=True)) == dict(zip(shuffled, mask2, strict=True))


def test_hash_split_ratio_is_close_to_test_size() -> None:
    mask = splitting.hash_split(pd.Series(np.arange(20_000), name="id"), 0.2)
    assert mask.mean() == pytest.approx(0.2, abs=0.01)


def test_hash_split_rejects_duplicate_or_missing_ids() -> None:
    with pytest.raises(SplitError, match="duplicate"):
        splitting.hash_split(pd.Series([1, 1, 2], name="id"), 0.2)
    with pytest.raises(SplitError, match="missing"):
        splitting.hash_split(pd.Series([1.0, np.nan], name="id"), 0.2)


def test_random_split_is_reproducible_with_a_seed() -> None:
    a = splitting.random_split(1000, 0.2, seed=7)
    b = splitting.random_split(1000, 0.2, seed=7)
    c = splitting.random_split(1000, 0.2, seed=8)
    assert a.sum() == 200 and (a == b).all() and not (a == c).all()


def test_time_split_puts_the_latest_rows_in_the_test_set() -> None:
    times = pd.Series(pd.date_range("2024-01-01", periods=100, freq="D")).sample(
        frac=1, random_state=0).reset_index(drop=True)
    mask = splitting.time_split(times, 0.2)
    assert mask.sum() == 20
    assert times[mask].min() > times[~mask].max()


def test_regression_strata_use_the_strongest_predictor() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"noise": rng.normal(size=500), "income": rng.lognormal(size=500)})
    frame["price"] = frame["income"] * 3 + rng.normal(scale=0.1, size=500)
    strata, details = splitting.strata_for_regression(frame, "price", ["noise", "income"])
    assert details["stratify_on"] == "income"
    assert len(np.unique(strata)) == splitting.N_STRATA

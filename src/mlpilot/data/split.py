"""Setting the test set aside: random, stratified, stable hash on an ID, or by time.

The split is computed once, when the project starts and before anything looks at the data,
and is stored as row keys. The strategies follow chapter 2 of the book:

* ``random`` — ``train_test_split`` with a seed;
* ``stratified`` — on the target for classification; for regression on a binned strong
  predictor (the book's ``income_cat``) or, failing one, the binned target;
* ``hash`` — the book's crc32 rule on an ID column: a row is in the test set when
  ``crc32(id) < test_size * 2**32``, so refreshed data never moves an old row across;
* ``time`` — the latest rows (by a time column) are the test set.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from mlpilot.errors import SplitError

N_STRATA = 5
MIN_STRONG_CORRELATION = 0.3


@dataclass
class SplitResult:
    strategy: str
    is_test: np.ndarray  # boolean mask aligned with the frame's rows
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def n_test(self) -> int:
        return int(self.is_test.sum())

    @property
    def n_train(self) -> int:
        return int((~self.is_test).sum())


def crc32_in_test(identifier: object, test_size: float) -> bool:
    """The book's rule: ``crc32(np.int64(id)) < test_ratio * 2**32`` (strings: their UTF-8)."""
    if isinstance(identifier, (int, np.integer)) and not isinstance(identifier, bool):
        data = np.int64(identifier).tobytes()
    elif isinstance(identifier, (float, np.floating)) and float(identifier).is_integer():
        data = np.int64(int(identifier)).tobytes()
    else:
        data = str(identifier).encode("utf-8")
    return (zlib.crc32(data) & 0xFFFFFFFF) < test_size * 2**32


def hash_split(ids: pd.Series, test_size: float) -> np.ndarray:
    if ids.isna().any():
        raise SplitError(f"the ID column {ids.name!r} has missing values",
                         "a stable hash split needs an ID on every row")
    if ids.duplicated().any():
        raise SplitError(f"the ID column {ids.name!r} has duplicate values",
                         "choose a column that is unique per row for the hash split")
    return np.fromiter((crc32_in_test(v, test_size) for v in ids.to_numpy()), bool, len(ids))


def random_split(n_rows: int, test_size: float, seed: int,
                 stratify: np.ndarray | None = None) -> np.ndarray:
    positions = np.arange(n_rows)
    _, test_pos = train_test_split(positions, test_size=test_size, random_state=seed,
                                   stratify=stratify)
    mask = np.zeros(n_rows, dtype=bool)
    mask[test_pos] = True
    return mask


def time_split(times: pd.Series, test_size: float) -> np.ndarray:
    parsed = pd.to_datetime(times, errors="coerce", format="mixed") \
        if not pd.api.types.is_numeric_dtype(times) else times
    if parsed.isna().any():
        raise SplitError(f"the time column {times.name!r} has missing or unparsable values",
                         "fill them or choose another split strategy")
    n_test = max(1, round(len(times) * test_size))
    order = np.argsort(parsed.to_numpy(), kind="stable")
    mask = np.zeros(len(times), dtype=bool)
    mask[order[-n_test:]] = True
    return mask


def strata_for_regression(frame: pd.DataFrame, target: str, candidates: list[str],
                          column: str | None = None, bins: list[float] | None = None
                          ) -> tuple[np.ndarray, dict[str, Any]]:
    """Bins of a strong predictor (or of the target) to stratify a regression split on."""
    if column is None:
        column, corr = strongest_predictor(frame, target, candidates)
        if column is None or abs(corr) < MIN_STRONG_CORRELATION:
            column = target
            reason = "no feature correlates strongly with the target: binned target"
        else:
            reason = f"{column} is the strongest predictor (Spearman {corr:+.2f})"
    else:
        reason = f"stratify_on = {column!r} (configured)"
    values = frame[column]
    if bins is not None:
        codes = pd.cut(values, bins=bins, labels=False, include_lowest=True)
        how = f"bins {bins}"
    else:
        codes = pd.qcut(values, q=N_STRATA, labels=False, duplicates="drop")
        how = f"{N_STRATA} quantile bins"
    strata = codes.fillna(-1).astype(int).to_numpy()
    return strata, {"stratify_on": column, "binning": how, "reason": reason}


def strongest_predictor(frame: pd.DataFrame, target: str,
                        candidates: list[str]) -> tuple[str | None, float]:
    if not candidates:
        return None, 0.0
    corr = frame[candidates].corrwith(frame[target], method="spearman").dropna()
    if corr.empty:
        return None, 0.0
    best = corr.abs().idxmax()
    return str(best), float(corr[best])


def stratum_proportions(strata: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    values, counts = np.unique(strata[mask], return_counts=True)
    return {str(v): float(c / counts.sum()) for v, c in zip(values, counts, strict=True)}


def usable_strata(strata: np.ndarray, test_size: float) -> bool:
    """train_test_split needs each stratum twice and room for every stratum in the test set."""
    _, counts = np.unique(strata, return_counts=True)
    n_test = len(strata) * test_size
    return bool(counts.min() >= 2 and len(counts) <= n_test and len(counts) <= len(strata) - n_test)


def row_fingerprints(frame: pd.DataFrame, exclude: Sequence[str] = ()) -> np.ndarray:
    """A stable 64-bit hash of each row's feature values (the target left out).

    It identifies a row across dataset versions when there is no ID column: a district whose
    label was corrected is still the same district and must stay on its side of the split.
    """
    features = frame.drop(columns=[c for c in exclude if c in frame.columns])
    features = features.reindex(columns=sorted(features.columns, key=str))
    return pd.util.hash_pandas_object(features, index=False).to_numpy().view(np.int64)


def extend_split(old_rows: np.ndarray, old_is_test: np.ndarray, new_rows: np.ndarray,
                 test_size: float) -> tuple[np.ndarray, int]:
    """The split of a new dataset version: old rows keep their side, new rows are hashed.

    ``old_rows``/``new_rows`` are row identities (IDs or :func:`row_fingerprints`). A new row
    goes to the test set when ``crc32(identity) < test_size * 2**32`` (the book's stable
    rule), so adding data never moves a row that a model was already trained or tested on.
    Returns the test mask of the new rows and how many of them were seen before.
    """
    side = dict(zip(old_rows.tolist(), old_is_test.tolist(), strict=True))
    mask = np.empty(len(new_rows), dtype=bool)
    seen = 0
    for i, key in enumerate(new_rows.tolist()):
        known = side.get(key)
        if known is None:
            mask[i] = crc32_in_test(key, test_size)
        else:
            mask[i] = known
            seen += 1
    return mask, seen

"""Alert thresholds learned from the reference rows, instead of fixed p-values.

Why: a fixed ``p < 0.05`` alerts on 5 % of healthy batches per feature and per check, and
with thousands of rows every negligible difference becomes "significant". Instead, for a
batch of ``n`` rows we draw ``n_windows`` windows of ``n`` rows from the reference sample
(without replacement, seeded), compute the same statistic between each window and the rest of
the reference, and alert only clearly above the ``quantile`` (default 99th) of those
values. The windows show how far a healthy batch of that size wanders by chance:
heavy tails, ties, rare categories and sample size are all accounted for, with no
distributional assumption. Comparing each window with the *rest* of the reference (not the
whole of it, which contains the window) mimics a new batch independent of the reference.

The margin guards against the noise of estimating a 99th percentile from ~100 windows (it
is about the second largest value): the threshold is ``q + margin × (q − median)``, the
null's upper tail extended by its own width once more (``margin=1``). It is shift- and
scale-free, so it suits signed differences (missing share) as well as distances. Measured on
the housing data (4,000 windows of 500 and 2,000 rows as the truth, 200 draws of 100), the
99th percentile of 100 windows alone is exceeded by about 2 % of healthy batches per check,
1.25 × it by 0.1–0.7 %, and ``margin=1`` by 0.01–0.1 %: with ~30 checks per batch, a healthy
batch alerts about once in a hundred or less.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

#: Defaults of :func:`mlpilot.monitor.check`.
QUANTILE = 0.99
N_WINDOWS = 100
MARGIN = 1.0


@dataclass(frozen=True)
class Learned:
    """A threshold and the null distribution it came from (kept for the report)."""

    value: float
    quantile: float
    n_windows: int
    window_size: int
    null_median: float
    null_max: float


def feature_rng(seed: int, feature: str, check: str) -> np.random.Generator:
    """A generator per (seed, feature, check): a feature's windows never depend on the others."""
    return np.random.default_rng([seed, zlib.crc32(feature.encode()), zlib.crc32(check.encode())])


def draw_windows(population: int, size: int, n_windows: int,
                 rng: np.random.Generator) -> np.ndarray:
    """``n_windows`` × ``size`` row positions, each row drawn without replacement."""
    if size <= 0 or population <= 0:
        return np.empty((n_windows, 0), dtype=np.int64)
    return np.stack([rng.choice(population, size, replace=False) for _ in range(n_windows)])


def max_window(population: int) -> int:
    """The largest window that leaves as many reference rows to compare it with."""
    return max(population // 2, 1)


def learn(null: np.ndarray, window_size: int, *, quantile: float = QUANTILE,
          margin: float = MARGIN, floor: float = 0.0) -> Learned:
    """Threshold = max(``floor``, q + ``margin`` × (q − median)), q the null's ``quantile``."""
    finite = null[np.isfinite(null)]
    if len(finite) == 0:
        return Learned(float("nan"), quantile, 0, window_size, float("nan"), float("nan"))
    high, median = float(np.quantile(finite, quantile)), float(np.median(finite))
    return Learned(max(floor, high + margin * (high - median)), quantile, len(finite),
                   window_size, median, float(finite.max()))

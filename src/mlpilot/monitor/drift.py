"""Distribution drift statistics, written on count arrays so one formula serves both the
current batch (one row) and the reference windows (one row per window), vectorised.

Which statistic for which batch size (``small_rows``, default 1,000 rows):

* small batches, numbers: **Kolmogorov–Smirnov** ``D`` (largest gap between the two
  cumulative distributions); exact on a few hundred rows, no binning to choose.
* small batches, categories: **Pearson chi²** of the batch's counts against the reference
  shares. As the textbook rule asks, no bucket expects fewer than 5 rows: categories that
  rare at this batch size are pooled, with unseen values (and, while the pool still expects
  fewer than 5, the least frequent other categories). Otherwise one more "ISLAND" row, or one
  typo, would swing the statistic; unseen values have their own check
  (:mod:`mlpilot.monitor.quality`).
* large batches, numbers: **PSI** (population stability index) on the reference's decile
  bins, shares floored at 1e-4 so an empty bin does not give an infinite value. On large
  batches KS p-values flag differences too small to matter; PSI measures how much of the mass
  moved, in units practitioners know (0.1 "some", 0.25 "large" shift). Optionally
  ``numeric_large="wasserstein"``: the earth mover's distance divided by the reference
  standard deviation ("how many std the mass moved").
* large batches, categories: **Jensen–Shannon distance** (base 2, between 0 and 1), bounded
  and defined when a category is missing on one side.

p-values are reported for KS and chi² (asymptotic) but never decide an alert: the threshold
is learned from reference windows (:mod:`mlpilot.monitor.thresholds`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .baseline import NUMBER, Baseline, CategoryReference, NumericReference, psi_bin

KS = "ks"
CHI2 = "chi2"
PSI = "psi"
WASSERSTEIN = "wasserstein"
JS = "jensen_shannon"
LABELS = {KS: "KS", CHI2: "chi²", PSI: "PSI", WASSERSTEIN: "Wasserstein/std",
          JS: "Jensen–Shannon"}
SMALL_ROWS = 1000
PSI_FLOOR = 1e-4
#: Pearson chi²: the smallest expected count of a bucket (Cochran's rule).
MIN_EXPECTED = 5.0


def choose_statistic(kind: str, n_rows: int, *, small_rows: int = SMALL_ROWS,
                     numeric_large: str = PSI) -> str:
    """The statistic for a feature of ``kind`` in a batch of ``n_rows`` (see module doc)."""
    if n_rows < small_rows:
        return KS if kind == NUMBER else CHI2
    return numeric_large if kind == NUMBER else JS


# --------------------------------------------------------------------------- the formulas


def ks(cdf_a: np.ndarray, cdf_b: np.ndarray) -> np.ndarray:
    """Kolmogorov–Smirnov D per row: the largest gap between two CDFs on a common grid."""
    return np.abs(cdf_a - cdf_b).max(axis=-1)


def wasserstein(cdf_a: np.ndarray, cdf_b: np.ndarray, grid: np.ndarray,
                scale: float) -> np.ndarray:
    """Earth mover's distance per row (∫|F_a − F_b|) on a sorted grid, divided by ``scale``."""
    gaps = np.abs(cdf_a - cdf_b)[..., :-1] * np.diff(grid)
    return gaps.sum(axis=-1) / (scale if scale > 0 else 1.0)


def _shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum(axis=-1, keepdims=True)
    return counts / np.where(total > 0, total, 1)


def psi(counts: np.ndarray, ref_counts: np.ndarray, floor: float = PSI_FLOOR) -> np.ndarray:
    """Population stability index per row: Σ (p − q) ln(p / q), shares floored at ``floor``."""
    p = np.maximum(_shares(counts), floor)
    q = np.maximum(_shares(ref_counts), floor)
    return ((p - q) * np.log(p / q)).sum(axis=-1)


def jensen_shannon(counts: np.ndarray, ref_counts: np.ndarray) -> np.ndarray:
    """Jensen–Shannon distance per row (base 2: 0 identical, 1 disjoint)."""
    p, q = _shares(counts), _shares(ref_counts)
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log2(p / m), 0.0).sum(axis=-1)
        kl_q = np.where(q > 0, q * np.log2(q / m), 0.0).sum(axis=-1)
    return np.sqrt(np.clip((kl_p + kl_q) / 2, 0.0, 1.0))


def chi_square(counts: np.ndarray, ref_counts: np.ndarray) -> np.ndarray:
    """Pearson chi² of observed counts against the reference shares, per row.

    A bucket the reference never saw gets half a reference row: large but finite.
    """
    total_ref = ref_counts.sum(axis=-1, keepdims=True)
    q = np.maximum(ref_counts, 0.5) / np.where(total_ref > 0, total_ref, 1)
    expected = counts.sum(axis=-1, keepdims=True) * q
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(expected > 0, (counts - expected) ** 2 / expected, 0.0)
    return terms.sum(axis=-1)


def ks_p_value(d: float, n: int, n_ref: int) -> float:
    """Asymptotic two-sample KS p-value (reported only; ties make it conservative)."""
    if n == 0 or n_ref == 0 or not np.isfinite(d):
        return float("nan")
    en = n * n_ref / (n + n_ref)
    return float(stats.kstwo.sf(d, max(round(en), 1)))


def chi2_groups(ref_counts: np.ndarray, size: int) -> np.ndarray:
    """One-hot map (K+1 codes → buckets) pooling what a batch of ``size`` rows expects < 5 of.

    Code ``K`` (unseen values) is always pooled; the pool grows with the least frequent
    remaining categories until it expects at least :data:`MIN_EXPECTED` rows.
    """
    k = len(ref_counts)
    expected = size * ref_counts / max(ref_counts.sum(), 1)
    pooled = np.append(expected < MIN_EXPECTED, True)
    pool_expected = float(expected[pooled[:k]].sum())
    for i in np.argsort(expected, kind="stable"):
        if pool_expected >= MIN_EXPECTED:
            break
        if not pooled[i]:
            pooled[i] = True
            pool_expected += float(expected[i])
    regular = np.flatnonzero(~pooled)
    group = np.full(k + 1, len(regular))
    group[regular] = np.arange(len(regular))
    onehot = np.zeros((k + 1, len(regular) + 1))
    onehot[np.arange(k + 1), group] = 1.0
    return onehot


def chi2_p_value(value: float, counts: np.ndarray, ref_counts: np.ndarray) -> float:
    """chi² p-value with one degree of freedom per bucket seen on either side, minus one."""
    dof = int(((counts > 0) | (ref_counts > 0)).sum()) - 1
    if dof < 1 or not np.isfinite(value):
        return float("nan")
    return float(stats.chi2.sf(value, dof))


# ------------------------------------------------------------------- batch vs reference


def numeric_statistic(ref: NumericReference, values: np.ndarray, name: str) -> float:
    """``name`` between the non-missing ``values`` of a batch and the whole reference."""
    if len(values) == 0 or len(ref.values) == 0:
        return float("nan")
    if name == PSI:
        counts = np.bincount(psi_bin(values, ref.psi_edges), minlength=ref.n_bins)
        ref_counts = np.bincount(ref.bins, minlength=ref.n_bins)
        return float(psi(counts, ref_counts))
    grid = np.union1d(ref.grid, values)
    cdf_ref = np.searchsorted(ref.sorted, grid, side="right") / len(ref.sorted)
    cdf_now = np.searchsorted(np.sort(values), grid, side="right") / len(values)
    if name == KS:
        return float(ks(cdf_now, cdf_ref))
    return float(wasserstein(cdf_now, cdf_ref, grid, ref.std))


def category_counts(ref: CategoryReference, codes: np.ndarray,
                    name: str) -> tuple[np.ndarray, np.ndarray]:
    """Batch and reference counts per bucket: categories + unseen, pooled for chi²."""
    k = len(ref.categories)
    counts, ref_counts = np.bincount(codes, minlength=k + 1), np.append(ref.counts, 0)
    if name == CHI2:
        onehot = chi2_groups(ref.counts, len(codes))
        return counts @ onehot, ref_counts @ onehot
    return counts, ref_counts


def category_statistic(ref: CategoryReference, codes: np.ndarray, name: str) -> float:
    """``name`` between a batch's category codes (unseen = K) and the reference."""
    if len(codes) == 0 or len(ref.codes) == 0:
        return float("nan")
    counts, ref_counts = category_counts(ref, codes, name)
    fn = chi_square if name == CHI2 else jensen_shannon
    return float(fn(counts, ref_counts))


# --------------------------------------------------------------- windows vs the reference


def _window_counts(codes: np.ndarray, windows: np.ndarray, n_bins: int) -> np.ndarray:
    """Counts of ``codes`` per window (rows of ``windows`` are positions in ``codes``)."""
    n_windows = len(windows)
    flat = codes[windows] + (np.arange(n_windows) * n_bins)[:, None]
    return np.bincount(flat.ravel(), minlength=n_windows * n_bins).reshape(n_windows, n_bins)


def numeric_null(ref: NumericReference, windows: np.ndarray, name: str) -> np.ndarray:
    """``name`` between each window of non-missing reference values and the rest of them."""
    if windows.shape[1] == 0:
        return np.full(len(windows), np.nan)
    if name == PSI:
        counts = _window_counts(ref.bins, windows, ref.n_bins)
        total = np.bincount(ref.bins, minlength=ref.n_bins)
        return psi(counts, total - counts)
    counts = _window_counts(ref.codes, windows, len(ref.grid))
    total = np.bincount(ref.codes, minlength=len(ref.grid))
    size, rest = windows.shape[1], len(ref.values) - windows.shape[1]
    cdf_w = np.cumsum(counts, axis=1) / size
    cdf_rest = np.cumsum(total - counts, axis=1) / rest
    if name == KS:
        return ks(cdf_w, cdf_rest)
    return wasserstein(cdf_w, cdf_rest, ref.grid, ref.std)


def category_null(ref: CategoryReference, windows: np.ndarray, name: str) -> np.ndarray:
    """``name`` between each window of reference categories and the rest of them."""
    if windows.shape[1] == 0:
        return np.full(len(windows), np.nan)
    k = len(ref.categories)
    counts = _window_counts(ref.codes, windows, k + 1)
    rest = np.append(ref.counts, 0)[None, :] - counts
    if name == CHI2:
        onehot = chi2_groups(ref.counts, windows.shape[1])
        return chi_square(counts @ onehot, rest @ onehot)
    return jensen_shannon(counts, rest)


# ------------------------------------------------------------------------ live gauges


def drift_scores(baseline: Baseline, current: pd.DataFrame, *, small_rows: int = SMALL_ROWS,
                 numeric_large: str = PSI) -> dict[str, float]:
    """Per-feature drift statistic of ``current`` against the baseline, no thresholds.

    Cheap enough for a service's live gauges (a few ms for 1,000 rows × 10 features once the
    reference is prepared); the statistic follows :func:`choose_statistic` on the batch size.
    Features absent from ``current`` or all missing there score NaN.
    """
    frame = baseline.canonical(current)
    scores: dict[str, float] = {}
    for name, kind in baseline.features.items():
        statistic = choose_statistic(kind, len(frame), small_rows=small_rows,
                                     numeric_large=numeric_large)
        if kind == NUMBER:
            values = frame[name].to_numpy(dtype=float)
            scores[name] = numeric_statistic(baseline.numeric(name), values[~np.isnan(values)],
                                             statistic)
        else:
            ref = baseline.category(name)
            codes, _ = ref.encode(frame[name])
            scores[name] = category_statistic(ref, codes, statistic)
    return scores

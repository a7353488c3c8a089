"""Input quality against the training rows: missing share, mean and spread, unseen values.

Like drift, the missing share and the moments get thresholds learned from reference windows
of the batch's size (:mod:`mlpilot.monitor.thresholds`): a column 1 % missing in training
shows 0–3 % on 500 rows by chance, which must not alert, while 30 % must. The statistics:

* missing: ``share_now − share_ref`` (one-sided: only more missing values alert), with an
  absolute floor of one percentage point, so a column never missing in training does not
  alert on a single empty cell;
* mean: ``|mean_now − mean_ref| / std_ref`` (the shift in reference standard deviations);
* spread: ``|ln(std_now / std_ref)|`` (a doubling and a halving weigh the same). Beyond its
  learned threshold it only *warns*: on heavy-tailed columns one extreme row moves a standard
  deviation a lot (on housing ``population``, 0.7 % of healthy 500-row batches pass even the
  widened threshold), and a real change of shape alerts through the drift statistic anyway;
* unseen categories: counted, no window needed. Any unseen value is a *warning*; it is an
  *alert* once unseen values make up at least ``new_category_share`` (1 %) of the batch's
  non-missing values and at least ``new_category_rows`` (2) rows, so one typo in a tiny
  batch warns without paging anyone.
"""

from __future__ import annotations

import numpy as np

#: Missing-share alerts need at least this absolute increase (one percentage point).
MISSING_FLOOR = 0.01
NEW_CATEGORY_SHARE = 0.01
NEW_CATEGORY_ROWS = 2


def missing_null(missing: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """Missing share of each window minus that of the rest of the reference."""
    if windows.shape[1] == 0:
        return np.full(len(windows), np.nan)
    size, total = windows.shape[1], int(missing.sum())
    in_window = missing[windows].sum(axis=1)
    rest = len(missing) - size
    return in_window / size - (total - in_window) / max(rest, 1)


def moments(values: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation (ddof=1) of non-missing values; NaN when undefined."""
    n = len(values)
    mean = float(values.mean()) if n else float("nan")
    std = float(values.std(ddof=1)) if n > 1 else float("nan")
    return mean, std


def mean_shift(mean_now: float, mean_ref: float, std_ref: float) -> float:
    """Signed shift of the mean in reference standard deviations (NaN for a constant column)."""
    if not (np.isfinite(mean_now) and np.isfinite(mean_ref)) or not std_ref > 0:
        return float("nan")
    return (mean_now - mean_ref) / std_ref


def spread_change(std_now: float, std_ref: float) -> float:
    """``|ln(std_now / std_ref)|``: 0 unchanged, ln 2 ≈ 0.69 for doubled or halved."""
    if not (std_now > 0 and std_ref > 0):
        return float("nan")
    return abs(float(np.log(std_now / std_ref)))


def moment_nulls(values: np.ndarray, windows: np.ndarray,
                 std_ref: float) -> tuple[np.ndarray, np.ndarray]:
    """|mean shift| and spread change of each window against the rest of the reference."""
    n_windows, size = windows.shape
    rest = len(values) - size
    if size < 2 or rest < 2 or not std_ref > 0:
        nan = np.full(n_windows, np.nan)
        return nan, nan
    centred = values - values.mean()  # centring keeps the sums of squares accurate
    total, total_sq = centred.sum(), (centred**2).sum()
    w = centred[windows]
    s, sq = w.sum(axis=1), (w**2).sum(axis=1)
    mean_w, mean_rest = s / size, (total - s) / rest
    var_w = np.maximum(sq - s**2 / size, 0) / (size - 1)
    var_rest = np.maximum((total_sq - sq) - (total - s) ** 2 / rest, 0) / (rest - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.abs(0.5 * np.log(var_w / var_rest))
    return np.abs(mean_w - mean_rest) / std_ref, spread


def new_category_alert(n_unseen: int, n_present: int, *,
                       share: float = NEW_CATEGORY_SHARE, rows: int = NEW_CATEGORY_ROWS) -> bool:
    """Whether unseen values are frequent enough to alert (else they only warn)."""
    return n_unseen >= rows and n_present > 0 and n_unseen / n_present >= share

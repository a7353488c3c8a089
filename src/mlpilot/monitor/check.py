"""Check a batch of rows (e.g. logged requests) against a model's baseline.

For every monitored feature: is it there, is it more often missing, did its mean or spread
move, are there values training never saw, did its distribution drift? Each numeric check
alerts only beyond a threshold learned from reference windows of the batch's size
(:mod:`mlpilot.monitor.thresholds`); which drift statistic is used depends on the batch size
(:mod:`mlpilot.monitor.drift`). Windows for a feature's values hold as many values as the
batch has non-missing ones, drawn among the non-missing reference values: a column that lost
40 % of its values is compared at its real size, not flagged for having fewer values.
A batch larger than half the reference sample is compared in
full, with thresholds learned on windows of half the reference: slightly conservative, since
larger batches wander less.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlpilot.errors import MonitorError

from . import drift, quality
from .baseline import NUMBER, Baseline, CategoryReference
from .result import Alert, FeatureCheck, MonitorResult
from .result import fmt_number as _fmt
from .result import fmt_share as _pct
from .thresholds import MARGIN, N_WINDOWS, QUANTILE, Learned, draw_windows, feature_rng, learn
from .thresholds import max_window as window_cap

__all__ = ["Alert", "FeatureCheck", "MonitorResult", "check"]


def check(baseline: Baseline, current: pd.DataFrame, *, seed: int = 0,
          quantile: float = QUANTILE, n_windows: int = N_WINDOWS, margin: float = MARGIN,
          small_rows: int = drift.SMALL_ROWS, numeric_large: str = drift.PSI,
          new_category_share: float = quality.NEW_CATEGORY_SHARE,
          new_category_rows: int = quality.NEW_CATEGORY_ROWS) -> MonitorResult:
    """Compare ``current`` with ``baseline``; columns the baseline does not know are ignored.

    Thresholds: ``q + margin × (q − median)`` of ``n_windows`` reference windows, ``q``
    their ``quantile``; ``seed`` draws the windows (same seed, same result). Batches under
    ``small_rows`` rows use KS / chi², larger ones ``numeric_large`` (``"psi"`` or
    ``"wasserstein"``) / Jensen–Shannon. Unseen categories alert from ``new_category_share``
    of a column's values and ``new_category_rows`` rows, below that they warn.
    """
    if numeric_large not in (drift.PSI, drift.WASSERSTEIN):
        raise MonitorError(f"unknown statistic {numeric_large!r} for large batches",
                           "use 'psi' or 'wasserstein'")
    if not 0 < quantile < 1 or n_windows < 10:
        raise MonitorError("quantile must be between 0 and 1 and n_windows at least 10",
                           "the defaults are quantile=0.99, n_windows=100")
    if len(current) == 0:
        raise MonitorError("the batch to check has no rows",
                           "check a period with logged requests")
    if not any(name in current.columns for name in baseline.features):
        raise MonitorError(
            f"none of the baseline's {len(baseline.features)} features is a column of the batch",
            f"expected columns such as {', '.join(list(baseline.features)[:5])}")
    frame = baseline.canonical(current)
    ctx = _Context(seed, quantile, n_windows, margin)
    rows: list[FeatureCheck] = []
    alerts: list[Alert] = []
    warnings: list[Alert] = []
    for name, kind in baseline.features.items():
        statistic = drift.choose_statistic(kind, len(frame), small_rows=small_rows,
                                           numeric_large=numeric_large)
        if name not in current.columns:
            row = _absent(name, kind, len(frame), baseline)
            found = [Alert(name, "absent", 1.0, 0.0, row.reasons[0])]
        elif kind == NUMBER:
            row, found, warned = _numeric(ctx, baseline, name,
                                          frame[name].to_numpy(dtype=float), statistic)
            warnings.extend(warned)
        else:
            row, found, warned = _category(ctx, baseline, name, frame[name], statistic,
                                           new_category_share, new_category_rows)
            warnings.extend(warned)
        row.alert = bool(found)
        row.reasons = [a.message for a in found]
        rows.append(row)
        alerts.extend(found)
    settings = {"seed": seed, "quantile": quantile, "n_windows": n_windows, "margin": margin,
                "small_rows": small_rows, "numeric_large": numeric_large,
                "new_category_share": new_category_share,
                "new_category_rows": new_category_rows,
                "reference_rows": len(baseline.reference)}
    return MonitorResult(rows, alerts, warnings, len(frame), settings)


@dataclass(frozen=True)
class _Context:
    """The settings every feature check shares."""

    seed: int
    quantile: float
    n_windows: int
    margin: float

    def windows(self, feature: str, check: str, population: int, size: int) -> np.ndarray:
        size = min(size, window_cap(population))
        return draw_windows(population, size, self.n_windows,
                            feature_rng(self.seed, feature, check))

    def learn(self, null: np.ndarray, size: int, floor: float = 0.0) -> Learned:
        return learn(null, size, quantile=self.quantile, margin=self.margin, floor=floor)






def _learned_from(learned: Learned) -> str:
    return (f"learned from {learned.n_windows} reference windows of "
            f"{learned.window_size:,} rows")


def _absent(name: str, kind: str, n: int, baseline: Baseline) -> FeatureCheck:
    ref_missing = float(baseline.reference[name].isna().mean())
    message = (f"{name}: the column is absent from the batch, so every one of its {n:,} rows "
               "reaches the model without it")
    return FeatureCheck(name, kind, n, 0, 0, ref_missing, 1.0, float("nan"), reasons=[message])


def _missing(ctx: _Context, name: str, ref_missing: np.ndarray, now_missing: np.ndarray
             ) -> tuple[float, float, Learned, Alert | None]:
    """Missing shares (reference, now), the learned threshold and the alert if it fires."""
    share_ref, share_now = float(ref_missing.mean()), float(now_missing.mean())
    windows = ctx.windows(name, "missing", len(ref_missing), len(now_missing))
    learned = ctx.learn(quality.missing_null(ref_missing, windows), windows.shape[1],
                        floor=quality.MISSING_FLOOR)
    increase = share_now - share_ref
    alert = None
    if increase > learned.value:
        alert = Alert(name, "missing", share_now, share_ref + learned.value,
                      f"{name}: {_pct(share_now)} missing now vs {_pct(share_ref)} in training "
                      f"(alert above {_pct(share_ref + learned.value)}, "
                      f"{_learned_from(learned)})")
    return share_ref, share_now, learned, alert


def _numeric(ctx: _Context, baseline: Baseline, name: str, raw: np.ndarray,
             statistic: str) -> tuple[FeatureCheck, list[Alert], list[Alert]]:
    ref = baseline.numeric(name)
    now_missing = np.isnan(raw)
    values = raw[~now_missing]
    share_ref, share_now, missing_learned, missing_alert = _missing(ctx, name, ref.missing,
                                                                    now_missing)
    row = FeatureCheck(name, NUMBER, len(raw), len(values), 0, share_ref, share_now,
                       share_ref + missing_learned.value, mean_ref=ref.mean, std_ref=ref.std,
                       statistic=statistic)
    found = [missing_alert] if missing_alert else []
    warned: list[Alert] = []
    if len(values) == 0 or len(ref.values) < 4:
        return row, found, warned
    windows = ctx.windows(name, "values", len(ref.values), len(values))
    row.window = windows.shape[1]
    row.mean_now, row.std_now = quality.moments(values)
    row.mean_shift = quality.mean_shift(row.mean_now, ref.mean, ref.std)
    row.spread_change = quality.spread_change(row.std_now, ref.std)
    mean_null, spread_null = quality.moment_nulls(ref.values, windows, ref.std)
    mean_learned = ctx.learn(mean_null, row.window)
    spread_learned = ctx.learn(spread_null, row.window)
    row.mean_threshold, row.spread_threshold = mean_learned.value, spread_learned.value
    moved = f"mean moved from {_fmt(ref.mean)} to {_fmt(row.mean_now)}"
    if np.isfinite(row.mean_shift):
        moved += f" ({row.mean_shift:+.2g} std)"
    if abs(row.mean_shift) > mean_learned.value:
        found.append(Alert(name, "mean", abs(row.mean_shift), mean_learned.value,
                           f"{name}: {moved}; alert beyond {mean_learned.value:.2g} std, "
                           f"{_learned_from(mean_learned)}"))
    if row.spread_change > spread_learned.value:  # a warning: one outlier moves a std a lot
        factor = float(np.exp(spread_learned.value))
        warned.append(Alert(
            name, "spread", row.spread_change, spread_learned.value,
            f"{name}: spread changed, std {_fmt(ref.std)} → {_fmt(row.std_now)} "
            f"(×{row.std_now / ref.std:.2f}; warns beyond ×{factor:.2f} or ÷{factor:.2f}, "
            f"{_learned_from(spread_learned)})"))
    row.value = drift.numeric_statistic(ref, values, statistic)
    learned = ctx.learn(drift.numeric_null(ref, windows, statistic), row.window)
    row.threshold = learned.value
    if statistic == drift.KS:
        row.p_value = drift.ks_p_value(row.value, len(values), len(ref.values))
    if row.value > learned.value:
        found.append(Alert(name, "drift", row.value, learned.value,
                           f"{name}: distribution drifted, {drift.LABELS[statistic]} "
                           f"{row.value:.3g} > threshold {learned.value:.3g} "
                           f"{_learned_from(learned)}; {moved}"))
    return row, found, warned


def _category(ctx: _Context, baseline: Baseline, name: str, values: pd.Series, statistic: str,
              new_share: float, new_rows: int
              ) -> tuple[FeatureCheck, list[Alert], list[Alert]]:
    ref = baseline.category(name)
    now_missing = values.isna().to_numpy()
    share_ref, share_now, missing_learned, missing_alert = _missing(ctx, name, ref.missing,
                                                                    now_missing)
    codes, _ = ref.encode(values)
    row = FeatureCheck(name, "categorical", len(values), len(codes), 0, share_ref, share_now,
                       share_ref + missing_learned.value, statistic=statistic)
    found = [missing_alert] if missing_alert else []
    warned: list[Alert] = []
    present = values.dropna().astype(str)
    unseen = present[codes == len(ref.categories)].value_counts()
    if len(unseen):
        n_unseen = int(unseen.sum())
        row.new_categories = [str(v) for v in unseen.index]
        row.new_category_share = n_unseen / len(present)
        shown = ", ".join(f"{v!r} ({c:,})" for v, c in unseen.head(5).items())
        more = f" and {len(unseen) - 5} more" if len(unseen) > 5 else ""
        text = (f"{name}: {n_unseen:,} of {len(present):,} values "
                f"({_pct(row.new_category_share)}) were never seen in training: {shown}{more}")
        if quality.new_category_alert(n_unseen, len(present), share=new_share, rows=new_rows):
            found.append(Alert(name, "new_category", row.new_category_share, new_share,
                               f"{text} (alert at ≥ {_pct(new_share)} and ≥ {new_rows} rows)"))
        else:
            warned.append(Alert(name, "new_category", row.new_category_share, new_share,
                                f"{text} (below the alert level of {_pct(new_share)})"))
    if len(codes) == 0 or len(ref.codes) < 4:
        return row, found, warned
    windows = ctx.windows(name, "values", len(ref.codes), len(codes))
    row.window = windows.shape[1]
    row.value = drift.category_statistic(ref, codes, statistic)
    learned = ctx.learn(drift.category_null(ref, windows, statistic), row.window)
    row.threshold = learned.value
    counts, ref_counts = drift.category_counts(ref, codes, statistic)
    if statistic == drift.CHI2:
        row.p_value = drift.chi2_p_value(row.value, counts, ref_counts)
    if row.value > learned.value:
        found.append(Alert(name, "drift", row.value, learned.value,
                           f"{name}: category shares drifted, {drift.LABELS[statistic]} "
                           f"{row.value:.3g} > threshold {learned.value:.3g} "
                           f"{_learned_from(learned)}; {_largest_change(ref, present)}"))
    return row, found, warned


def _largest_change(ref: CategoryReference, present: pd.Series) -> str:
    """The value whose share moved most, as words."""
    now = present.value_counts(normalize=True)
    before = pd.Series(ref.counts / max(ref.counts.sum(), 1), index=list(ref.categories))
    change = now.reindex(before.index.union(now.index), fill_value=0.0) - before.reindex(
        before.index.union(now.index), fill_value=0.0)
    value = str(change.abs().idxmax())
    return (f"largest change: {value!r} {_pct(float(before.get(value, 0.0)))} → "
            f"{_pct(float(now.get(value, 0.0)))}")

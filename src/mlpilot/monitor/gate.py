"""The promotion gate: a retrained model replaces the champion only if it is not worse.

Why this shape: a challenger can beat the champion overall and still serve one kind of row
much worse (the book, chapter 2: check slices before launching). So both models predict the
same test rows and are compared overall and on every slice. The comparison is *paired*: the
bootstrap resamples rows once and scores both models on each resample, so the interval is of
the difference itself, far narrower than two separate intervals.

A scope blocks the promotion when the challenger is worse by more than ``tolerance``
(relative to the champion's score on that scope) *and* the whole interval of the difference
lies on the worse side, so noise on a small slice does not block a good model, and a tiny
but certain loss within tolerance does not either.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlpilot.evaluate.intervals import CONFIDENCE
from mlpilot.evaluate.metrics import Metric
from mlpilot.evaluate.predictions import Predictions, score
from mlpilot.evaluate.slices import slice_groups

TOLERANCE = 0.02
N_RESAMPLES = 400
MIN_SLICE_ROWS = 30


@dataclass(frozen=True)
class GateCheck:
    """Champion and challenger on one scope (all rows, or one slice)."""

    feature: str  # "(all)" for the whole test set
    slice: str
    n: int
    champion: float
    challenger: float
    worse_by: float  # challenger minus champion, positive when the challenger is worse
    low: float  # interval of worse_by
    high: float
    relative: float  # worse_by / |champion|
    blocks: bool

    @property
    def scope(self) -> str:
        return "overall" if self.feature == ALL else f"{self.feature} = {self.slice}"


ALL = "(all)"


@dataclass
class GateDecision:
    promote: bool
    reason: str
    metric: str
    tolerance: float
    checks: list[GateCheck] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(c) for c in self.checks])

    def blocking(self) -> list[GateCheck]:
        return [c for c in self.checks if c.blocks]

    def to_dict(self) -> dict[str, Any]:
        return {"promote": self.promote, "reason": self.reason, "metric": self.metric,
                "tolerance": self.tolerance,
                "checks": [_finite_dict(asdict(c)) for c in self.checks]}


def compare(champion: Predictions, challenger: Predictions, X: pd.DataFrame, metric: Metric, *,
            categorical: Sequence[str] = (), numeric: Sequence[str] = (),
            tolerance: float = TOLERANCE, confidence: float = CONFIDENCE,
            n_resamples: int = N_RESAMPLES, min_rows: int = MIN_SLICE_ROWS,
            seed: int = 0) -> GateDecision:
    """Champion vs challenger on the same rows, overall and per slice; promote or not."""
    if len(champion) != len(challenger) or len(champion) != len(X):
        raise ValueError("champion, challenger and X must hold the same rows")
    rng = np.random.default_rng(seed)
    scopes: list[tuple[str, str, np.ndarray]] = [(ALL, ALL, np.ones(len(X), dtype=bool))]
    scopes += [(feature, label, mask) for feature, label, _, mask, _ in slice_groups(
        X, categorical=categorical, numeric=numeric, min_rows=min_rows) if mask.sum() >= min_rows]
    checks = [_check(feature, label, np.flatnonzero(mask), champion, challenger, metric,
                     tolerance, confidence, n_resamples, rng)
              for feature, label, mask in scopes]
    blocking = [c for c in checks if c.blocks]
    if blocking:
        worst = max(blocking, key=lambda c: c.relative)
        reason = (f"challenger is worse on {len(blocking)} scope(s); worst: {worst.scope} "
                  f"({metric.label} {metric.format(worst.challenger)} against the champion's "
                  f"{metric.format(worst.champion)}, {worst.relative:+.1%}, beyond the "
                  f"{tolerance:.0%} tolerance)")
    else:
        overall = checks[0]
        reason = (f"not worse beyond {tolerance:.0%} overall or on any of {len(checks) - 1} "
                  f"slices ({metric.label} {metric.format(overall.challenger)} against "
                  f"{metric.format(overall.champion)})")
    return GateDecision(not blocking, reason, metric.name, tolerance, checks)


def _check(feature: str, label: str, rows: np.ndarray, champion: Predictions,
           challenger: Predictions, metric: Metric, tolerance: float, confidence: float,
           n_resamples: int, rng: np.random.Generator) -> GateCheck:
    old, new = champion.take(rows), challenger.take(rows)
    a, b = _score(metric, old), _score(metric, new)
    sign = -1.0 if metric.greater_is_better else 1.0  # worse_by > 0 means the challenger lost
    worse_by = sign * (b - a)
    diffs = []
    for _ in range(n_resamples):
        pick = rng.integers(0, len(rows), len(rows))
        d = sign * (_score(metric, new.take(pick)) - _score(metric, old.take(pick)))
        if math.isfinite(d):
            diffs.append(d)
    alpha = (1 - confidence) / 2
    low, high = (np.quantile(diffs, [alpha, 1 - alpha]) if diffs
                 else (float("nan"), float("nan")))
    relative = worse_by / abs(a) if a else (math.inf if worse_by > 0 else 0.0)
    blocks = bool(relative > tolerance and low > 0)
    return GateCheck(feature, label, len(rows), a, b, worse_by, float(low), float(high),
                     float(relative), blocks)


def _score(metric: Metric, p: Predictions) -> float:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return score(metric, p)
    except ValueError:  # undefined on this resample (one class only)
        return float("nan")


def _finite_dict(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in d.items()}

"""What a monitoring check found: one row per feature, the alerts as plain sentences.

``exit_code`` is what ``mlpilot monitor`` returns, so cron (or any scheduler) can act on it:
0 when nothing alerts, 1 when at least one feature does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from mlpilot.explore.stats import jsonable


def fmt_number(x: float | None, digits: int = 3, missing: str = "n/a") -> str:
    """A number for a sentence or a table cell: thousands separated, ``digits`` significant."""
    if x is None or not np.isfinite(x):
        return missing
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.1f}"
    return f"{x:.{digits}g}"


def fmt_share(share: float, missing: str = "n/a") -> str:
    return missing if not np.isfinite(share) else f"{100 * share:.1f}%"

#: The checks an alert can come from.
CHECKS = ("absent", "missing", "new_category", "mean", "spread", "drift")


@dataclass(frozen=True)
class Alert:
    """One check that fired (or warned) on one feature, with the sentence to show a person."""

    feature: str
    check: str
    value: float
    threshold: float
    message: str

    def to_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))


@dataclass
class FeatureCheck:
    """Every number computed for one feature; ``table()`` shows one of these per row."""

    feature: str
    kind: str
    n: int  # batch rows
    n_compared: int  # non-missing values of the batch
    window: int  # rows per reference window of the drift statistic
    missing_share_ref: float
    missing_share_now: float
    missing_threshold: float  # the share above which missing values alert
    mean_ref: float = float("nan")
    mean_now: float = float("nan")
    std_ref: float = float("nan")
    std_now: float = float("nan")
    mean_shift: float = float("nan")  # in reference standard deviations, signed
    mean_threshold: float = float("nan")
    spread_change: float = float("nan")  # |ln(std_now / std_ref)|
    spread_threshold: float = float("nan")
    statistic: str = ""
    value: float = float("nan")
    threshold: float = float("nan")
    p_value: float = float("nan")
    new_categories: list[str] = field(default_factory=list)
    new_category_share: float = 0.0
    alert: bool = False
    reasons: list[str] = field(default_factory=list)


@dataclass
class MonitorResult:
    """The outcome of :func:`mlpilot.monitor.check` on one batch."""

    features: list[FeatureCheck]
    alerts: list[Alert]
    warnings: list[Alert]
    n_rows: int
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def alerting_features(self) -> set[str]:
        return {a.feature for a in self.alerts}

    @property
    def exit_code(self) -> int:
        """1 when any feature alerts, else 0 (the CLI's exit status)."""
        return 1 if self.alerts else 0

    def feature(self, name: str) -> FeatureCheck:
        """The row of one feature."""
        for row in self.features:
            if row.feature == name:
                return row
        raise KeyError(name)

    def table(self) -> pd.DataFrame:
        """One row per feature, every column of :class:`FeatureCheck`."""
        names = [f.name for f in fields(FeatureCheck)]
        return pd.DataFrame([[getattr(r, n) for n in names] for r in self.features],
                            columns=names)

    def summary(self) -> str:
        """One sentence: rows checked, features, alerts."""
        if not self.alerts:
            return (f"{self.n_rows:,} rows checked on {len(self.features)} features: "
                    "no alert.")
        names = ", ".join(sorted(self.alerting_features))
        return (f"{self.n_rows:,} rows checked on {len(self.features)} features: "
                f"{len(self.alerts)} alert{'s' if len(self.alerts) > 1 else ''} on {names}.")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (NaN as ``None``)."""
        return jsonable({
            "n_rows": self.n_rows,
            "exit_code": self.exit_code,
            "summary": self.summary(),
            "alerting_features": sorted(self.alerting_features),
            "alerts": [a.to_dict() for a in self.alerts],
            "warnings": [w.to_dict() for w in self.warnings],
            "features": [asdict(r) for r in self.features],
            "settings": self.settings,
        })

    def __repr__(self) -> str:
        return f"MonitorResult({self.summary()})"

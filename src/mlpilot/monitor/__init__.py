"""mlpilot.monitor: input quality, drift and live performance of a model in service.

* :class:`Baseline`: the training rows' reference, saved with each model version;
* :func:`check`: a batch of rows against it, thresholds learned from reference windows;
* :func:`drift_scores`: the per-feature statistic alone, cheap, for live gauges;
* :func:`join_feedback` / :func:`realised_performance`: late labels → metric per model;
* :func:`write_report`: the HTML drift report.
"""

from __future__ import annotations

from .baseline import Baseline
from .check import check
from .drift import drift_scores
from .feedback import join_feedback, realised_performance
from .report import write_report
from .result import Alert, FeatureCheck, MonitorResult

__all__ = [
    "Alert",
    "Baseline",
    "FeatureCheck",
    "MonitorResult",
    "check",
    "drift_scores",
    "join_feedback",
    "realised_performance",
    "write_report",
]

"""The service's Prometheus metrics, in a registry of its own (one per app).

Beyond the usual traffic figures, the service counts data-quality signals per feature as
requests arrive: missing values, unseen categories, numbers far outside the training
range, and exports the drift scores computed on recent rows. The missing *rate* of a
feature is ``mlpilot_missing_values_total / mlpilot_rows_total`` in PromQL.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["LATENCY_BUCKETS", "ServiceMetrics"]

#: Seconds; fine-grained below 10 ms, where a single-row prediction should land.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                   1.0, 2.5, 5.0, 10.0)


class ServiceMetrics:
    """Every metric the service exports; ``render()`` is the ``/metrics`` body."""

    def __init__(self, model_id: Callable[[], float], log_dropped: Callable[[], float]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("mlpilot_requests", "HTTP requests by endpoint and status",
                                ["endpoint", "status"], registry=r)
        self.latency = Histogram("mlpilot_request_latency_seconds",
                                 "Time from request start to the end of the response",
                                 ["endpoint"], buckets=LATENCY_BUCKETS, registry=r)
        self.errors = Counter("mlpilot_errors", "Failed requests by kind (validation, "
                              "too_large, unauthorized, no_model, prediction)", ["kind"],
                              registry=r)
        self.rows = Counter("mlpilot_rows", "Rows predicted", registry=r)
        self.missing = Counter("mlpilot_missing_values", "Missing values received, per feature",
                               ["feature"], registry=r)
        self.unseen = Counter("mlpilot_unseen_categories",
                              "Values outside the training categories, per feature",
                              ["feature"], registry=r)
        self.out_of_range = Counter("mlpilot_out_of_range_values",
                                    "Numbers far outside the training range, per feature",
                                    ["feature"], registry=r)
        self.drift = Gauge("mlpilot_drift_score", "Drift score of recent rows vs training, "
                           "per feature", ["feature"], registry=r)
        self.drift_rows = Gauge("mlpilot_drift_window_rows",
                                "Rows in the last drift computation", registry=r)
        model = Gauge("mlpilot_model_id", "Id of the model being served (-1: none)", registry=r)
        model.set_function(model_id)
        dropped = Gauge("mlpilot_request_log_dropped",
                        "Request log records dropped because the disk could not keep up",
                        registry=r)
        dropped.set_function(log_dropped)

    def render(self) -> bytes:
        return generate_latest(self.registry)

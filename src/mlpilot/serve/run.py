"""Running the service: one uvicorn process on a checked address."""

from __future__ import annotations

import gc
import warnings

from fastapi import FastAPI

from mlpilot.errors import DataQualityWarning
from mlpilot.serve.security import check_bind

__all__ = ["serve"]


def serve(app: FastAPI, host: str = "127.0.0.1", port: int = 8000,
          token: str | None = None) -> None:
    """Serve ``app`` until interrupted, refusing a non-loopback host without a token.

    One worker process, on purpose: the live model (hot-swapped in place), the request
    log (one writer per file), the drift window and the metrics registry are state of
    the process; several workers would each hold their own copy, write the same log file
    and export partial metrics. Scale out with more replicas (each with its own log
    directory) behind a load balancer instead. ``token`` must be the one the app was
    created with; it is only used here for the address check.
    """
    check_bind(host, token)
    import uvicorn

    # The response's per-row ``warnings`` already report what the pipeline's DataCleaner
    # would warn about; repeating it on stderr for every request helps nobody.
    warnings.filterwarnings("ignore", category=DataQualityWarning)
    # Everything imported so far (mlpilot pulls in pandas, scikit-learn, matplotlib...) lives
    # as long as the process: without this, each full collection walks those ~300k
    # objects and stalls every request in flight for ~150 ms.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=host, port=port, workers=1, log_level="warning", access_log=False)

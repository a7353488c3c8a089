"""The prediction service: FastAPI app, hot-swappable model slot, request log.

``create_app(slot, ...)`` builds the app, ``serve(app, host, port, token)`` runs it;
:class:`ServedModel` is what is served (estimator + input schema from the training data),
:class:`RequestLog` what monitoring reads back with :func:`read_request_log`. Names are
imported on first use, so that ``mlpilot.serve.model`` does not pull in FastAPI.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "create_app": "app", "InputColumn": "model", "InputSchema": "model",
    "Prediction": "model", "ServedModel": "model", "RequestLog": "requestlog",
    "read_request_log": "requestlog", "InvalidRowsError": "rows", "RowWarning": "rows",
    "serve": "run", "check_bind": "security", "ModelSlot": "slot", "ModelWatcher": "slot",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)

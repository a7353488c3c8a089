"""The prediction service: a FastAPI app around a :class:`~mlpilot.serve.slot.ModelSlot`.

Endpoints: ``POST /predict``, ``GET /healthz`` (the process answers), ``/readyz`` (a
model is loaded), ``/metadata`` (model, input schema, data hash, versions), ``/metrics``
(Prometheus). The request path is kept short: the body is parsed once with ``json``,
checked column by column (:mod:`mlpilot.serve.rows`), predicted, and the record handed to
the request log's queue. Small requests are predicted on the event loop (a thread hop
costs more than the prediction), concurrent ones together (:mod:`mlpilot.serve.batching`);
large ones in a worker thread so that probes stay responsive.
"""

from __future__ import annotations

import logging
import platform
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from mlpilot.errors import ServeError
from mlpilot.serve.batching import Batcher
from mlpilot.serve.drift import DriftWindow
from mlpilot.serve.metrics import ServiceMetrics
from mlpilot.serve.middleware import REQUEST_ID_KEY, ServiceMiddleware
from mlpilot.serve.model import Prediction, ServedModel, json_safe
from mlpilot.serve.openapi import ErrorOut, PredictResponse, install_openapi
from mlpilot.serve.payload import Payload, PayloadError, error_detail, parse_payload
from mlpilot.serve.requestlog import RequestLog
from mlpilot.serve.rows import BuiltRows, InvalidRowsError
from mlpilot.serve.slot import ModelSlot, ModelWatcher

__all__ = ["INLINE_ROWS", "create_app"]

log = logging.getLogger(__name__)

#: Requests up to this many rows are predicted on the event loop, larger ones in a thread.
INLINE_ROWS = 200
ENDPOINTS = frozenset({"/predict", "/healthz", "/readyz", "/metadata", "/metrics", "/docs",
                       "/openapi.json", "/redoc"})
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Missing or wrong bearer token"},
    413: {"model": ErrorOut, "description": "Body or row count over the limit"},
    422: {"model": ErrorOut, "description": "Rows that do not match the input schema, "
          "with one entry per bad field (loc, msg, type)"},
    503: {"model": ErrorOut, "description": "No model loaded yet"},
}


def _json(status: int, content: Any) -> JSONResponse:
    return JSONResponse(content, status_code=status)


def create_app(slot: ModelSlot, *, token: str | None = None, max_rows: int = 10_000,
               max_body_bytes: int = 10_000_000, request_log: RequestLog | None = None,
               drift: Callable[[pd.DataFrame], dict[str, float]] | None = None,
               drift_every: int = 1000, watcher: ModelWatcher | None = None,
               batch_rows: int = 1000) -> FastAPI:
    """The service's ASGI app (run it with :func:`mlpilot.serve.run.serve`).

    ``token``: when set, every endpoint but /healthz and /readyz needs
    ``Authorization: Bearer <token>``. ``drift``: called in a background thread with the
    last ``drift_every`` input rows each time that many new rows arrived; its per-feature
    scores become the ``mlpilot_drift_score`` gauges. ``watcher`` is started and stopped
    with the app; ``request_log`` is flushed at shutdown (its owner closes it).
    ``batch_rows``: concurrent small requests are predicted together in batches of up to
    this many rows (:mod:`mlpilot.serve.batching`); 0 predicts each request on its own.
    """
    if token is not None and not token.strip():
        raise ServeError("the serving token is empty", "pass a long random string, or None")
    if max_rows < 1 or max_body_bytes < 1:
        raise ServeError("max_rows and max_body_bytes must be positive",
                         "raise the limits (--max-rows, --max-body-mb)")

    def live_id() -> float:
        model_id = slot.model_id
        return -1.0 if model_id is None else float(model_id)

    metrics = ServiceMetrics(model_id=live_id, log_dropped=lambda: float(
        request_log.dropped if request_log is not None else 0))

    def export_drift(scores: dict[str, float], n_rows: int) -> None:
        for feature, score in scores.items():
            metrics.drift.labels(feature).set(score)
        metrics.drift_rows.set(n_rows)

    window = DriftWindow(drift, drift_every, export_drift) if drift is not None else None
    batcher = Batcher(batch_rows) if batch_rows > 0 else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if watcher is not None:
            watcher.start()
        try:
            yield
        finally:
            if watcher is not None:
                await run_in_threadpool(watcher.stop)
            if window is not None:
                await run_in_threadpool(window.wait, 10.0)
            if request_log is not None:
                await run_in_threadpool(request_log.flush)

    app = FastAPI(title="mlpilot prediction service", lifespan=lifespan,
                  description="Predictions from the model trained with mlpilot. The request "
                  "schema below is derived from the training data of the model being served.")

    @app.get("/healthz", summary="The process is alive")
    async def healthz() -> JSONResponse:
        return _json(200, {"status": "alive"})

    @app.get("/readyz", summary="A model is loaded and can predict",
             responses={503: _ERRORS[503]})
    async def readyz() -> JSONResponse:
        model = slot.current()
        if model is None:
            return _json(503, {"status": "not ready", "detail": "no model loaded yet"})
        return _json(200, {"status": "ready", "model_id": model.model_id})

    @app.get("/metadata", summary="The model served and its input schema",
             responses={503: _ERRORS[503]})
    async def metadata() -> JSONResponse:
        model = slot.current()
        if model is None:
            return _json(503, {"detail": "no model loaded yet"})
        return _json(200, _metadata(model, max_rows, max_body_bytes))

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response,
             responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                              "description": "Prometheus text exposition format"}})
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.post("/predict", summary="Predict one row or a batch",
              responses={200: {"model": PredictResponse}, **_ERRORS})
    async def predict(request: Request) -> Response:
        """Rows as `{"records": [...]}` or `{"dataframe_split": {"columns", "data"}}`."""
        request_id: str = request.scope[REQUEST_ID_KEY]
        model = slot.current()  # the one model this request uses, whatever swaps meanwhile
        if model is None:
            return _json(503, {"detail": "no model loaded yet"})
        body = await _read_body(request, max_body_bytes)
        if body is None:
            return _json(413, {"detail": f"request body over the limit of {max_body_bytes} "
                               "bytes; send fewer rows per request"})
        try:
            payload = parse_payload(body)
        except PayloadError as exc:
            return _json(422, {"detail": exc.detail})
        if payload.n_rows > max_rows:
            return _json(413, {"detail": f"batch of {payload.n_rows} rows is over the limit of "
                               f"{max_rows} rows per request; split it into smaller batches"})
        try:
            if payload.n_rows > INLINE_ROWS:  # big: off the loop, so probes stay responsive
                built, result = await run_in_threadpool(_predict, model, payload)
            elif batcher is not None:
                built = _build(model, payload)
                result = await batcher.predict(model, built.frame)
            else:
                built, result = _predict(model, payload)
        except InvalidRowsError as exc:
            return _json(422, {"detail": error_detail(payload, exc.problems)})
        except (ValueError, TypeError) as exc:  # valid per the schema, refused by the model
            log.warning("model %s refused request %s: %s", model.model_id, request_id, exc)
            return _json(422, {"detail": [{"type": "model_refused", "loc": list(payload.root),
                                           "msg": f"the model cannot predict these rows: "
                                                  f"{str(exc)[:300]}"}]})
        except Exception:
            log.exception("prediction failed (request %s, model %s)", request_id,
                          model.model_id)
            return _json(500, {"detail": "the model failed to predict these rows",
                               "request_id": request_id})
        _count_quality(metrics, built)
        if request_log is not None:
            request_log.write(request_id, model.model_id, (), result.predictions,
                              datetime.now(UTC), body=body)
        if window is not None:
            window.add(built.frame)
        content: dict[str, Any] = {"model_id": model.model_id, "model_name": model.name,
                                   "request_id": request_id, "predictions": result.predictions}
        if result.classes is not None:
            content["classes"] = result.classes
        if result.probabilities is not None:
            content["probabilities"] = result.probabilities
        content["warnings"] = [w.to_dict() for w in built.warnings]
        return _json(200, content)

    app.add_middleware(ServiceMiddleware, metrics=metrics, token=token,
                       max_body_bytes=max_body_bytes, endpoints=ENDPOINTS)
    install_openapi(app, slot.current, max_rows)
    app.state.slot = slot
    app.state.metrics = metrics
    app.state.drift_window = window
    app.state.batcher = batcher
    return app


def _build(model: ServedModel, payload: Payload) -> BuiltRows:
    schema = model.input_schema
    if payload.orient == "records":
        return schema.build_records(payload.records or [])
    return schema.build_split(payload.columns, payload.data or [])


def _predict(model: ServedModel, payload: Payload) -> tuple[BuiltRows, Prediction]:
    built = _build(model, payload)
    return built, model.predict(built.frame)


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it grows past ``limit`` (chunked uploads included)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _count_quality(metrics: ServiceMetrics, built: BuiltRows) -> None:
    metrics.rows.inc(built.n_rows)
    for feature, n in built.missing.items():
        metrics.missing.labels(feature).inc(n)
    for feature, n in built.unseen.items():
        metrics.unseen.labels(feature).inc(n)
    for feature, n in built.out_of_range.items():
        metrics.out_of_range.labels(feature).inc(n)


def _metadata(model: ServedModel, max_rows: int, max_body_bytes: int) -> dict[str, Any]:
    import numpy
    import sklearn

    import mlpilot

    extra = json_safe(model.metadata)
    return {
        "model_id": model.model_id, "model_name": model.name, "task": model.task,
        "classes": model.classes, "data_hash": extra.get("data_hash"),
        "input_schema": model.input_schema.to_dict(), "metadata": extra,
        "versions": {"mlpilot": mlpilot.__version__, "python": platform.python_version(),
                     "scikit-learn": sklearn.__version__, "pandas": pd.__version__,
                     "numpy": numpy.__version__},
        "limits": {"max_rows": max_rows, "max_body_bytes": max_body_bytes},
    }

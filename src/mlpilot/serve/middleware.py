"""What every request goes through: request id, token, size limit, traffic metrics.

A plain ASGI middleware (not Starlette's ``BaseHTTPMiddleware``, which costs a task and
a stream per request): it reads the headers once, answers 401/413 itself before the
body is read, and times the response for the latency histogram.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlpilot.serve.metrics import ServiceMetrics
from mlpilot.serve.security import UNAUTHENTICATED_PATHS, bearer_ok

__all__ = ["REQUEST_ID_HEADER", "REQUEST_ID_KEY", "ServiceMiddleware"]

REQUEST_ID_HEADER = "x-request-id"
#: Where the request id is kept in the ASGI scope for the endpoints.
REQUEST_ID_KEY = "mlpilot.request_id"
#: A client's request id is kept when it looks like one (no header or log injection).
_VALID_ID = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")
_ERROR_KIND = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
               413: "too_large", 422: "validation", 503: "no_model"}


class ServiceMiddleware:
    """Request id, bearer auth, Content-Length limit and request metrics."""

    def __init__(self, app: ASGIApp, *, metrics: ServiceMetrics, token: str | None,
                 max_body_bytes: int, endpoints: frozenset[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.token = token.encode() if token is not None else None
        self.max_body_bytes = max_body_bytes
        self.endpoints = endpoints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        authorization = content_length = client_id = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"content-length":
                content_length = value
            elif name == b"x-request-id":
                client_id = value
        request_id = (client_id.decode() if client_id and _VALID_ID.match(client_id)
                      else uuid.uuid4().hex)
        scope[REQUEST_ID_KEY] = request_id
        path = scope["path"]
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()),
                                      (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            if (self.token is not None and path not in UNAUTHENTICATED_PATHS
                    and not bearer_ok(authorization, self.token)):
                await _reply(send_with_id, 401, "missing or invalid bearer token",
                             [(b"www-authenticate", b"Bearer")])
            elif content_length is not None and _too_large(content_length, self.max_body_bytes):
                await _reply(send_with_id, 413, f"request body over the limit of "
                             f"{self.max_body_bytes} bytes; send fewer rows per request")
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            endpoint = path if path in self.endpoints else "other"
            self.metrics.requests.labels(endpoint, str(status)).inc()
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
            if status >= 400:
                kind = _ERROR_KIND.get(status, "server" if status >= 500 else "client")
                self.metrics.errors.labels(kind).inc()


def _too_large(content_length: bytes, limit: int) -> bool:
    try:
        return int(content_length) > limit
    except ValueError:
        return False  # the server rejects a malformed Content-Length itself


async def _reply(send: Send, status: int, detail: str,
                 headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(_start(status, body, headers or []))
    await send({"type": "http.response.body", "body": body})


def _start(status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {"type": "http.response.start", "status": status,
            "headers": [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()), *headers]}

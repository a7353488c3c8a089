"""Who may call the service: a bearer token, and no open port without one.

A model answers questions about the data it was trained on; exposing it on a network
interface without authentication leaks that (and the CPU). So binding anything but a
loopback address requires a token, and when a token is set every endpoint but the
liveness/readiness probes (which orchestrators call unauthenticated) requires it.
"""

from __future__ import annotations

import hmac
import ipaddress

from mlpilot.errors import ServeError

__all__ = ["TOKEN_ENV", "UNAUTHENTICATED_PATHS", "bearer_ok", "check_bind", "is_loopback"]

TOKEN_ENV = "MLPILOT_SERVE_TOKEN"
#: Probes answer without a token (they reveal nothing but "alive" and "ready").
UNAUTHENTICATED_PATHS = frozenset({"/healthz", "/readyz"})


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost (anything else may be reachable from outside)."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen on a non-loopback address without a token."""
    if token is not None and not token.strip():
        raise ServeError("the serving token is empty", f"set {TOKEN_ENV} to a long random string")
    if token is None and not is_loopback(host):
        raise ServeError(f"refusing to serve on {host or '0.0.0.0'} without a token",
                         f"set {TOKEN_ENV} or pass --token")


def bearer_ok(authorization: bytes | None, token: bytes) -> bool:
    """Whether an ``Authorization`` header carries the token (constant-time comparison)."""
    if not authorization:
        return False
    scheme, _, given = authorization.partition(b" ")
    if scheme.lower() != b"bearer":
        return False
    return hmac.compare_digest(given.strip(), token)

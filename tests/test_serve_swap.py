"""Hot swap under load, the model watcher, the bind check and a real uvicorn server."""

from __future__ import annotations

import socket
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import uvicorn
from fastapi import FastAPI

from mlpilot.data.schema import infer_schema
from mlpilot.errors import ServeError
from mlpilot.serve.app import create_app
from mlpilot.serve.model import InputSchema, ServedModel
from mlpilot.serve.security import check_bind
from mlpilot.serve.slot import ModelSlot, ModelWatcher

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


class Offset:
    """A stand-in model: predicts x + offset, so each answer tells which model made it."""

    def __init__(self, offset: float) -> None:
        self.offset = offset
        self.calls: list[int] = []  # rows per predict call

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        self.calls.append(len(frame))
        time.sleep(0.001)  # long enough for swaps to land in the middle of requests
        x = frame["x"].to_numpy()
        if (x < 0).any():
            raise ValueError("negative sizes are not supported")
        return x + self.offset


TRAINING = pd.DataFrame({"x": np.arange(30) * 0.5, "y": np.arange(30) * 2.0})
SCHEMA = InputSchema.from_training(TRAINING, infer_schema(TRAINING, "y"), "y")


def _model(model_id: int) -> ServedModel:
    return ServedModel(Offset(1000.0 * model_id), model_id, f"m{model_id}", "regression", SCHEMA)


@pytest.fixture
def live_server() -> Iterator[tuple[str, ModelSlot, FastAPI]]:
    """A real uvicorn server on a free loopback port, in a thread."""
    slot = ModelSlot(_model(1))
    app = create_app(slot, token="tok")
    yield from _run(app, slot)


def _run(app: FastAPI, slot: ModelSlot) -> Iterator[tuple[str, ModelSlot, FastAPI]]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", slot, app
    server.should_exit = True
    thread.join(5)
    sock.close()


def test_real_server_answers_over_http(live_server: tuple[str, ModelSlot, FastAPI]) -> None:
    url, _, _ = live_server
    auth = {"Authorization": "Bearer tok", "X-Request-ID": "wire-1"}
    response = httpx.post(f"{url}/predict", json={"records": [{"x": 2.0}]}, headers=auth)
    assert response.status_code == 200
    assert response.json()["predictions"] == [1002.0]
    assert response.headers["x-request-id"] == "wire-1"
    assert httpx.get(f"{url}/healthz").status_code == 200
    assert httpx.get(f"{url}/metadata").status_code == 401


def test_hot_swap_under_concurrent_load_drops_nothing(
        live_server: tuple[str, ModelSlot, FastAPI]) -> None:
    url, slot, _ = live_server
    results: list[tuple[int, dict[str, Any] | str]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(k: int) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": "Bearer tok"}) as http:
            while not stop.is_set():
                try:
                    r = http.post("/predict", json={"records": [{"x": float(k)}]})
                    item: tuple[int, dict[str, Any] | str] = (r.status_code, r.json())
                except httpx.HTTPError as exc:  # a dropped connection is a failure too
                    item = (0, repr(exc))
                with lock:
                    results.append(item)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    for model_id in (2, 3, 4):
        slot.swap(_model(model_id))
        time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join(5)
    assert len(results) > 20
    assert all(status == 200 for status, _ in results), [r for r in results if r[0] != 200]
    bodies = [body for _, body in results if isinstance(body, dict)]
    # every answer comes from one model only: its id matches the offset it predicted with
    for body in bodies:
        assert body["predictions"][0] // 1000 == body["model_id"]
    assert {b["model_id"] for b in bodies} >= {1, 4}
    after = httpx.post(f"{url}/predict", json={"records": [{"x": 0.0}]},
                       headers={"Authorization": "Bearer tok"}).json()
    assert after["model_id"] == 4 and after["model_name"] == "m4"


def test_concurrent_requests_share_predict_calls_and_keep_their_own_answers(
        live_server: tuple[str, ModelSlot, FastAPI]) -> None:
    url, slot, _ = live_server
    model = slot.current()
    assert model is not None
    answers: dict[float, tuple[int, Any]] = {}

    def send(x: float) -> None:
        r = httpx.post(f"{url}/predict", json={"records": [{"x": x}, {"x": x + 0.5}]},
                       headers={"Authorization": "Bearer tok"})
        answers[x] = (r.status_code, r.json())

    xs = [float(k) for k in range(24)] + [-1.0, -2.0]  # the model refuses negative rows
    threads = [threading.Thread(target=send, args=(x,)) for x in xs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    for x in xs:
        status, body = answers[x]
        if x < 0:
            assert status == 422 and "negative" in body["detail"][0]["msg"]
        else:
            assert status == 200 and body["predictions"] == [x + 1000, x + 1000.5]
    calls = model.model.calls
    assert max(calls) > 2  # some calls predicted several requests at once


def test_watcher_swaps_to_the_wanted_model_and_survives_load_errors() -> None:
    slot = ModelSlot(_model(1))
    wanted: dict[str, int | None] = {"id": 1}
    broken = {5}

    def load(model_id: int) -> ServedModel:
        if model_id in broken:
            raise OSError("artifact missing")
        return _model(model_id)

    watcher = ModelWatcher(slot, check=lambda: wanted["id"], load=load, interval_s=0.02)
    app = create_app(slot, watcher=watcher)
    with TestClient(app) as client:  # the app's lifespan starts and stops the watcher
        wanted["id"] = 2
        _wait(lambda: slot.model_id == 2)
        assert client.post("/predict", json={"records": [{"x": 1.0}]}).json()["model_id"] == 2
        wanted["id"] = 5  # cannot be loaded: model 2 keeps serving
        _wait(lambda: watcher.failures >= 2)
        assert slot.model_id == 2
        assert client.get("/readyz").json()["model_id"] == 2
        wanted["id"] = None  # no opinion: nothing changes
        time.sleep(0.1)
        assert slot.model_id == 2
    assert watcher._thread is None  # stopped with the app


def test_watcher_loads_a_first_model_into_an_empty_slot() -> None:
    slot = ModelSlot()
    watcher = ModelWatcher(slot, check=lambda: 3, load=_model, interval_s=60)
    with TestClient(create_app(slot, watcher=watcher)) as client:
        _wait(lambda: slot.model_id == 3)  # checked at start, not after the first interval
        assert client.get("/readyz").status_code == 200


def _wait(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.org", ""])
def test_check_bind_refuses_open_addresses_without_token(host: str) -> None:
    with pytest.raises(ServeError, match="without a token") as info:
        check_bind(host, None)
    assert "MLPILOT_SERVE_TOKEN" in (info.value.hint or "")
    check_bind(host, "a-long-token")  # with a token it may


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2", "[::1]"])
def test_check_bind_allows_loopback_without_token(host: str) -> None:
    check_bind(host, None)


def test_check_bind_refuses_an_empty_token() -> None:
    with pytest.raises(ServeError, match="empty"):
        check_bind("0.0.0.0", "")

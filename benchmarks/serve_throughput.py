"""Prediction service throughput and latency: `mlpilot serve` vs `mlflow models serve`.

One pipeline (imputer + scaler + one-hot + a regressor, HistGradientBoosting by default) is
fitted on California housing (``$MLPILOT_DATA_HOME/housing/housing.csv``) or, without it,
on housing-like synthetic rows. Each server runs in its own process on loopback with one
worker; mlpilot as ``mlpilot serve`` runs it (request log on, micro-batching on). A
separate load generator (``wrk`` when installed, else a Python client process) sends
single-row and 100-row ``dataframe_split`` requests over keep-alive connections: one
connection (latency, nothing queued) and several at once (throughput). Both servers must
return the same predictions. mlflow is not a dependency: pass ``--mlflow-python`` (a
venv's python with mlflow, and the same scikit-learn and pandas versions) to add it.

    OMP_NUM_THREADS=1 MLPILOT_DATA_HOME=/work/shared/datasets .venv/bin/python \\
        benchmarks/serve_throughput.py --mlflow-python /tmp/mlflow-venv/bin/python

(``python3 -m venv /tmp/mlflow-venv && /tmp/mlflow-venv/bin/pip install mlflow
scikit-learn pandas``; ``apt-get install wrk``.)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import joblib
import numpy as np
import pandas as pd

TARGET = "median_house_value"
CATEGORY = "ocean_proximity"


# --- data and model ------------------------------------------------------------------------


def load_data(seed: int = 42) -> tuple[pd.DataFrame, str]:
    home = os.environ.get("MLPILOT_DATA_HOME")
    if home and (Path(home) / "housing" / "housing.csv").exists():
        return pd.read_csv(Path(home) / "housing" / "housing.csv"), "California housing"
    from sklearn.datasets import make_regression

    n = 20_640
    X, y = make_regression(n_samples=n, n_features=8, noise=10.0, random_state=seed)
    names = ["longitude", "latitude", "housing_median_age", "total_rooms", "total_bedrooms",
             "population", "households", "median_income"]
    frame = pd.DataFrame(X, columns=names)
    rng = np.random.default_rng(seed)
    frame[CATEGORY] = rng.choice(["<1H OCEAN", "INLAND", "NEAR OCEAN", "NEAR BAY", "ISLAND"],
                                 n, p=[0.44, 0.32, 0.13, 0.109, 0.001])
    frame.loc[rng.choice(n, 200, replace=False), "total_bedrooms"] = np.nan
    frame[TARGET] = y * 1000 + 200_000
    return frame, "synthetic housing-like rows (set MLPILOT_DATA_HOME for the real table)"


def build_pipeline(frame: pd.DataFrame, model: str) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numbers = [c for c in frame.columns if c not in (TARGET, CATEGORY)]
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numbers),
        ("cat", OneHotEncoder(handle_unknown="ignore"), [CATEGORY]),
    ])
    estimator = {"ridge": lambda: Ridge(),
                 "hgb": lambda: HistGradientBoostingRegressor(random_state=42),
                 "forest": lambda: RandomForestRegressor(n_estimators=30, max_depth=12,
                                                         random_state=42)}[model]()
    return make_pipeline(prep, estimator).fit(frame.drop(columns=TARGET), frame[TARGET])


# --- servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_mlpilot(workdir: Path, log: bool, batch_rows: int, port: int) -> None:
    """Run in a subprocess: the service as ``mlpilot serve`` builds it (request log on)."""
    from mlpilot.serve.app import create_app
    from mlpilot.serve.model import InputSchema, ServedModel
    from mlpilot.serve.requestlog import RequestLog
    from mlpilot.serve.run import serve
    from mlpilot.serve.slot import ModelSlot

    schema = InputSchema.from_dict(json.loads((workdir / "schema.json").read_text()))
    served = ServedModel(joblib.load(workdir / "pipeline.joblib"), 1, "bench", "regression",
                         schema, {"data_hash": "bench"})
    requests = RequestLog(workdir / "requests") if log else None
    app = create_app(ModelSlot(served), request_log=requests, batch_rows=batch_rows)
    serve(app, host="127.0.0.1", port=port)
    if requests is not None:
        requests.close()


MLFLOW_SAVE = """
import sys, joblib, pandas as pd, mlflow.sklearn
from mlflow.models import infer_signature
pipe = joblib.load(sys.argv[1]); X = pd.read_json(sys.argv[2], orient="split")
signature = infer_signature(X, pipe.predict(X))
try:  # mlflow 3 saves with skops, which asks to name the types to trust: ours, we made it
    import skops.io as sio
    trusted = sio.get_untrusted_types(data=sio.dumps(pipe))
    mlflow.sklearn.save_model(pipe, sys.argv[3], signature=signature,
                              skops_trusted_types=trusted)
except (ImportError, TypeError):  # older mlflow: pickle
    mlflow.sklearn.save_model(pipe, sys.argv[3], signature=signature)
"""


class Server:
    """A server subprocess on a free port, stopped on exit."""

    def __init__(self, name: str, command: list[str], port: int, health: str,
                 env: dict[str, str], log: Path) -> None:
        self.name, self.port = name, port
        self.url = f"http://127.0.0.1:{port}"
        self._log = open(log, "wb")  # noqa: SIM115
        self.process = subprocess.Popen(command, env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{name} exited; see {log}")
            try:
                if httpx.get(self.url + health, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start in 120 s; see {log}")
            time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


# --- load generation -------------------------------------------------------------------------


WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("{body}", "rb"); wrk.body = f:read("*a"); f:close()
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %.1f %.1f %.1f\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), summary.duration))
end
"""


def run_wrk(url: str, body: Path, connections: int, seconds: float) -> dict[str, float]:
    script = body.with_suffix(".lua")
    script.write_text(WRK_SCRIPT.replace("{body}", str(body)))
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "-s",
                          str(script), url], capture_output=True, text=True, check=True).stdout
    match = re.search(r"RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+)", out)
    if not match:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    n, errors, p50, p99, duration_us = match.groups()
    return {"rps": int(n) / (float(duration_us) / 1e6), "p50_ms": float(p50) / 1000,
            "p99_ms": float(p99) / 1000, "errors": int(errors)}


def python_load(url: str, body_path: str, connections: int, seconds: float) -> None:
    """Run in a subprocess: ``connections`` threads, each one keep-alive connection."""
    body = Path(body_path).read_bytes()
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker() -> None:
        nonlocal errors
        mine: list[float] = []
        bad = 0
        with httpx.Client(headers={"content-type": "application/json"}) as client:
            while time.perf_counter() < stop:
                start = time.perf_counter()
                ok = client.post(url, content=body).status_code == 200
                mine.append(time.perf_counter() - start)
                bad += not ok
        with lock:
            latencies.extend(mine)
            errors += bad

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    q = np.quantile(latencies, [0.5, 0.99]) * 1000
    print(json.dumps({"rps": len(latencies) / elapsed, "p50_ms": q[0], "p99_ms": q[1],
                      "errors": errors}))


def run_load(client: str, url: str, body: Path, connections: int,
             seconds: float) -> dict[str, float]:
    if client == "wrk":
        return run_wrk(url, body, connections, seconds)
    out = subprocess.run([sys.executable, __file__, "_load", url, str(body), str(connections),
                          str(seconds)], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# --- the benchmark -------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mlflow-python", help="python of a venv with mlflow installed")
    parser.add_argument("--model", choices=["hgb", "ridge", "forest"], default="hgb")
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    parser.add_argument("--connections", type=int, nargs="+", default=[8, 32],
                        help="concurrent connections of the throughput runs")
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--no-log", action="store_true", help="mlpilot without request log")
    parser.add_argument("--batch-rows", type=int, default=1000,
                        help="mlpilot's micro-batch size (0: one predict call per request)")
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 100])
    args = parser.parse_args()
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"

    frame, source = load_data()
    started = time.perf_counter()
    pipeline = build_pipeline(frame, args.model)
    print(f"data: {source}, {len(frame):,} rows; model: {args.model} pipeline fitted in "
          f"{time.perf_counter() - started:.1f} s; load generator: {client}; mlpilot: request "
          f"log {'off' if args.no_log else 'on'}, batch rows {args.batch_rows}")

    from mlpilot.data.schema import infer_schema
    from mlpilot.serve.model import InputSchema

    features = frame.drop(columns=TARGET)
    complete = features.dropna().sample(100, random_state=0)
    one_row = complete.head(1)
    timings = []
    for _ in range(200):
        start = time.perf_counter()
        pipeline.predict(one_row)
        timings.append(time.perf_counter() - start)
    model_ms = statistics.median(timings) * 1000
    print(f"pipeline.predict on one row, in process: {model_ms:.2f} ms (median)")

    results: dict[tuple[str, int, int], dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="mlpilot-serve-bench-") as tmp:
        work = Path(tmp)
        joblib.dump(pipeline, work / "pipeline.joblib")
        schema = InputSchema.from_training(frame, infer_schema(frame, TARGET), TARGET)
        (work / "schema.json").write_text(json.dumps(schema.to_dict()))
        bodies = {}
        for n in sorted({*args.rows, 1, 100}):
            rows = complete.head(n)
            split = json.loads(rows.to_json(orient="split", index=False))
            bodies[n] = work / f"body-{n}.json"
            bodies[n].write_text(json.dumps({"dataframe_split": split}))
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        servers: list[tuple[str, list[str], str, str, dict[str, str]]] = [
            ("mlpilot", [sys.executable, __file__, "_serve", str(work), str(int(not args.no_log)),
                         str(args.batch_rows)], "/healthz", "/predict", env)]
        if args.mlflow_python and Path(args.mlflow_python).exists():
            mlflow_py = Path(args.mlflow_python)
            complete.to_json(work / "example.json", orient="split", index=False)
            subprocess.run([str(mlflow_py), "-c", MLFLOW_SAVE, str(work / "pipeline.joblib"),
                            str(work / "example.json"), str(work / "mlflow-model")],
                           check=True)
            mlflow_env = {**env, "PATH": f"{mlflow_py.parent}{os.pathsep}{env['PATH']}"}
            servers.append(("mlflow", [str(mlflow_py.parent / "mlflow"), "models", "serve",
                                       "-m", str(work / "mlflow-model"), "--env-manager",
                                       "local", "-h", "127.0.0.1", "-w", "1", "-p"],
                            "/ping", "/invocations", mlflow_env))
        else:
            print("mlflow: skipped (pass --mlflow-python PATH, a venv's python with mlflow)")

        reference = None
        for name, command, health, endpoint, server_env in servers:
            port = free_port()
            server = Server(name, [*command, str(port)], port, health, server_env,
                            work / f"{name}.log")
            try:
                url = server.url + endpoint
                answer = httpx.post(url, content=bodies[100].read_bytes(),
                                    headers={"content-type": "application/json"}).json()
                predictions = np.asarray(answer["predictions"], dtype=float).ravel()
                if reference is None:
                    reference = predictions
                else:  # the same pipeline must give the same answers through both servers
                    np.testing.assert_allclose(predictions, reference, rtol=1e-9)
                run_load(client, url, bodies[1], 2, 2.0)  # warm-up
                for n in args.rows:
                    for connections in (1, *args.connections):
                        r = run_load(client, url, bodies[n], connections, args.seconds)
                        results[name, n, connections] = r
                        print(f"{name:8s} rows={n:<4d} connections={connections:<3d} "
                              f"{r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.2f} ms  "
                              f"p99 {r['p99_ms']:6.2f} ms  errors {r['errors']}", flush=True)
            finally:
                server.stop()

    print("\nrows  connections  server    req/s    p50 ms   p99 ms   vs mlflow")
    for (name, n, connections), r in results.items():
        base = results.get(("mlflow", n, connections))
        ratio = f"{r['rps'] / base['rps']:.1f}x" if base and name != "mlflow" else ""
        print(f"{n:<5d} {connections:<12d} {name:8s} {r['rps']:8.0f} {r['p50_ms']:8.2f} "
              f"{r['p99_ms']:8.2f}   {ratio}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        serve_mlpilot(Path(sys.argv[2]), sys.argv[3] == "1", int(sys.argv[4]), int(sys.argv[5]))
    elif len(sys.argv) > 1 and sys.argv[1] == "_load":
        python_load(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
    else:
        main()

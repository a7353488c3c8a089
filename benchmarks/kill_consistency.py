"""Kill -9 at random points of registry writes, promotion and retraining; check consistency.

    .venv/bin/python benchmarks/kill_consistency.py --iterations 60

A project on the bundled diabetes table gets a champion and a running service
(`mlpilot serve` in its own process). Then, many times, a worker process starts one of
three jobs — train (model files and registry rows), promote/rollback in a loop (aliases and
history), retrain on new rows (a dataset version, its split, training, the gate) — and is
killed with SIGKILL after a random delay. After each kill the script checks that:

* every registered model's artifact exists and matches its recorded SHA-256, and loads;
* every model has its registry metadata (written in the same transaction);
* the champion alias points at a model that loads, and equals the top of the history stack;
* every dataset version that has a split has its snapshot;
* SQLite's own integrity check passes;
* the service answered every request sent during the whole run with 200.

Prints one line per kill and a summary; exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from mlpilot import Project, load_dataset
from mlpilot.atomic import sha256_file
from mlpilot.project.state import DatasetVersion, ModelMetadata, ModelRecord, Split
from mlpilot.registry.registry import CHAMPION

JOBS = ("train", "promote", "retrain")
WORKER = r"""
import sys, random, numpy as np, pandas as pd
from mlpilot import Project, load_dataset
root, job, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
p = Project.open(root)
if job == "train":
    p.train(budget=10, models=["ridge", "decision_tree"], ensemble=False)
elif job == "promote":
    ids = [m.id for m in p.models()]
    rng = random.Random(seed)
    while True:
        try:
            if rng.random() < 0.5:
                p.promote(p._model(rng.choice(ids)), reason="kill test")
            else:
                p.rollback(reason="kill test")
        except Exception:
            pass
else:
    base = load_dataset("diabetes")
    rng = np.random.default_rng(seed)
    extra = base.sample(60, random_state=seed).copy()
    extra["age"] = extra["age"] + rng.normal(0, 1e-3, len(extra))
    p.retrain(pd.concat([base, extra], ignore_index=True), budget=10, models=["ridge"])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def consistency_errors(root: Path) -> list[str]:
    """Everything that must hold after a crash, as a list of problems (empty: consistent)."""
    errors: list[str] = []
    with Project.open(root) as project:
        with project.state.session() as session:
            models = list(session.scalars(sa.select(ModelRecord)))
            metadata = {m.model_id for m in session.scalars(sa.select(ModelMetadata))}
            versions = list(session.scalars(sa.select(DatasetVersion)))
            split_versions = set(session.scalars(sa.select(Split.dataset_version_id)))
            if project.database_url.startswith("sqlite"):
                check = session.execute(sa.text("PRAGMA integrity_check")).scalar()
                if check != "ok":
                    errors.append(f"sqlite integrity: {check}")
        for record in models:
            path = root / record.artifact_path
            if not path.exists():
                errors.append(f"model #{record.id}: artifact missing")
            elif sha256_file(path) != record.sha256:
                errors.append(f"model #{record.id}: checksum mismatch")
            if record.id not in metadata:
                errors.append(f"model #{record.id}: no registry metadata")
        for version in versions:
            if version.id in split_versions and not (root / version.snapshot_path).exists():
                errors.append(f"dataset version #{version.id}: snapshot missing")
        champion = project.registry.alias(CHAMPION)
        stack = project.registry.live_stack(CHAMPION)
        if champion is None or not stack or stack[-1] != champion:
            errors.append(f"champion {champion} is not the top of the history {stack[-3:]}")
        else:
            try:
                model = project.load_model(project._model(champion))
                X, _ = project.training_data()
                model.predict(X.head(5))
            except Exception as exc:
                errors.append(f"champion #{champion} does not load: {exc}")
    return errors


class Traffic(threading.Thread):
    """Keeps sending one-row requests to the service; counts what did not come back 200."""

    def __init__(self, url: str, row: dict) -> None:
        super().__init__(daemon=True)
        self.url, self.row = url, row
        self.sent = self.failed = 0
        self.stop = threading.Event()
        self.failures: list[str] = []

    def run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stop.is_set():
                try:
                    r = client.post(self.url, json={"records": [self.row]})
                    ok = r.status_code == 200
                    detail = f"{r.status_code} {r.text[:100]}"
                except httpx.HTTPError as exc:
                    ok, detail = False, repr(exc)
                self.sent += 1
                if not ok:
                    self.failed += 1
                    self.failures.append(detail)
                time.sleep(0.02)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--max-delay", type=float, default=6.0, help="seconds before the kill")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default SQLite)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="mlpilot-kill-")) / "p"
    data = load_dataset("diabetes")
    project = Project.init(root, data, "progression", seed=0, database_url=args.database_url)
    project.train(budget=10, models=["ridge", "decision_tree"], ensemble=False)
    project.train(budget=10, models=["ridge"], ensemble=False)
    project.promote(project.models()[0], reason="kill test: first champion")
    project.close()

    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    server = subprocess.Popen([sys.executable, "-m", "mlpilot.cli.main", "serve", "--project",
                               str(root), "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    row = json.loads(data.drop(columns=["progression"]).head(1).to_json(orient="records"))[0]
    traffic = Traffic(f"{url}/predict", row)
    traffic.start()

    bad = 0
    started = time.perf_counter()
    counts = dict.fromkeys(JOBS, 0)
    for i in range(args.iterations):
        job = JOBS[i % len(JOBS)]
        counts[job] += 1
        delay = rng.uniform(0.3, args.max_delay)
        worker = subprocess.Popen([sys.executable, "-c", WORKER, str(root), job, str(i)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        finished = worker.poll() is not None
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        errors = consistency_errors(root)
        bad += bool(errors)
        state = "finished before the kill" if finished else f"killed after {delay:.1f}s"
        print(f"{i + 1:3d} {job:8s} {state:26s} {'OK' if not errors else '; '.join(errors)}",
              flush=True)

    traffic.stop.set()
    traffic.join()
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=10)
    with Project.open(root) as project:
        n_models = len(project.models())
        n_events = len(project.registry.history())
    print(f"\n{args.iterations} kills ({', '.join(f'{k} {v}' for k, v in counts.items())}) in "
          f"{time.perf_counter() - started:.0f}s: {bad} inconsistent state(s); "
          f"{n_models} model versions, {n_events} history rows; service: "
          f"{traffic.sent} requests, {traffic.failed} not 200")
    for failure in traffic.failures[:5]:
        print("  failed request:", failure)
    return 1 if bad or traffic.failed else 0


if __name__ == "__main__":
    sys.exit(main())

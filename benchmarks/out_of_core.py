"""Out of core: incremental PCA and mini-batch k-means on a file twice the memory allowed.

The book streams MNIST from a ``np.memmap`` into ``IncrementalPCA`` "for large datasets that
don't fit in memory". This benchmark shows mlpilot's streamed steps really work in bounded
memory:

1. **Data.** A float32 ``.npy`` file of ``2 × cap`` bytes (default cap 256 MiB → 512 MiB:
   171,196 rows × 784 features, MNIST's width) is written batch by batch with
   :func:`mlpilot.unsupervised.streaming.write_memmap`; it is never in memory. Rows are a
   low-rank signal (20 latent factors around 10 cluster centres) plus noise, so PCA has
   something to find and k-means has clusters.
2. **The cap.** Each task runs in a child process limited with
   ``resource.setrlimit(RLIMIT_AS, ...)``. ``RLIMIT_AS`` bounds *address space*, and the
   interpreter with NumPy, SciPy, scikit-learn and OpenBLAS already maps a few hundred MiB of
   it (shared libraries, thread stacks, malloc arenas) before touching any data: a 256 MiB
   total limit would fail at ``import numpy``. So the child first imports everything and
   warms the libraries up on a tiny array, reads its address-space size (``VmSize`` in
   ``/proc/self/status``) as the baseline, and only then sets the limit to
   ``baseline + cap``: the cap is the *additional* memory the work may use, and the data
   file is twice that.
3. **Reading.** :func:`mlpilot.unsupervised.streaming.open_batches` reads the ``.npy`` with
   plain file reads, one batch buffer at a time. (``np.load(mmap_mode="r")`` would map the
   whole file, which counts against ``RLIMIT_AS`` even if no page is read, and the pages read
   through a memmap count in the resident size while the kernel keeps them cached.)
4. **Tasks.** (a) :func:`mlpilot.unsupervised.reduce_stream.incremental_pca_stream` (``partial_fit``
   per batch), then the share of variance kept; (b)
   :func:`mlpilot.unsupervised.cluster.stream_kmeans` (skipped with a message when it cannot
   be imported), then the inertia over one more pass. Each prints the peak resident size
   (``getrusage(RUSAGE_SELF).ru_maxrss`` in the child) and the wall time. Importing the
   libraries alone peaks near 300 MiB resident, so the child resets its high-water mark
   (``/proc/self/clear_refs``) at the baseline: the peak printed minus the baseline is what
   the work itself used.
5. **The cap bites.** The same child then tries ``np.load(path)`` (the whole file): it must
   fail with ``MemoryError``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/out_of_core.py            # 256 MiB cap
    .venv/bin/python benchmarks/out_of_core.py --cap-mib 64 --features 256  # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

MIB = 1 << 20
LATENT = 20
CENTRES = 10
RESULT = "RESULT "


# --- data ----------------------------------------------------------------------------------


def generate(path: Path, n_rows: int, n_features: int, batch_rows: int, seed: int = 42) -> Path:
    """Write ``n_rows`` float32 rows batch by batch (never all in memory)."""
    from mlpilot.unsupervised.streaming import write_memmap

    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (CENTRES, LATENT))
    mixing = rng.normal(0, 1, (LATENT, n_features)) / np.sqrt(LATENT)

    def batches() -> Iterator[np.ndarray]:
        for i, start in enumerate(range(0, n_rows, batch_rows)):
            r = np.random.default_rng([seed, i])
            b = min(batch_rows, n_rows - start)
            latent = centres[r.integers(0, CENTRES, b)] + r.normal(0, 0.5, (b, LATENT))
            yield (latent @ mixing + r.normal(0, 0.3, (b, n_features))).astype(np.float32)

    return write_memmap(path, batches(), n_features)


def open_source(path: Path, batch_rows: int) -> Any:
    from mlpilot.unsupervised.streaming import open_batches

    return open_batches(path, batch_rows=batch_rows)


# --- the child: baseline, cap, task, whole-file load ---------------------------------------


def _status(field: str) -> int:
    """A size from ``/proc/self/status`` in bytes (VmSize: address space, VmRSS: resident)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status (Linux only)")


def _reset_peak() -> bool:
    """Reset the resident high-water mark to the current size (Linux ≥ 4.0, own process)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _rss_peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def child(task: str, path: Path, cap: int, batch_rows: int, components: int,
          clusters: int) -> dict[str, Any]:
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.decomposition import IncrementalPCA

    from mlpilot.unsupervised.reduce_stream import incremental_pca_stream

    stream_kmeans = None
    if task == "kmeans":
        try:
            from mlpilot.unsupervised.cluster import stream_kmeans
        except ImportError as exc:
            return {"task": task, "skipped": f"mlpilot.unsupervised.cluster.stream_kmeans "
                                             f"cannot be imported ({exc})"}
    # Warm up: lazy imports, BLAS buffers and LAPACK paths are mapped before the baseline.
    tiny = np.random.default_rng(0).normal(size=(4 * max(components, clusters), 16))
    IncrementalPCA(n_components=4).partial_fit(tiny.astype(np.float32))
    MiniBatchKMeans(n_clusters=2, n_init=1, random_state=0).partial_fit(tiny)
    source = open_source(path, batch_rows)
    # The libraries' import-time peak (and the parent's, inherited through exec) would hide
    # the work's own peak in ru_maxrss: reset the high-water mark to the resident size now.
    reset = _reset_peak()
    baseline_vm, baseline_rss = _status("VmSize"), _status("VmRSS") if reset else _rss_peak()
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (baseline_vm + cap, hard))
    out: dict[str, Any] = {"task": task, "baseline_vm": baseline_vm,
                           "baseline_rss": baseline_rss}
    start = time.perf_counter()
    try:
        if task == "ipca":
            model = incremental_pca_stream(source, components, batch_rows=batch_rows)
            out["variance_kept"] = float(np.sum(model.explained_variance_ratio_))
            out["components"] = components
        else:
            assert stream_kmeans is not None
            model = stream_kmeans(source, clusters, random_state=42, n_init=3, passes=1)
            out["inertia"] = float(sum(-model.score(batch.astype(np.float64))
                                       for batch in source))
            out["clusters"] = clusters
    except MemoryError as exc:
        out["failed"] = f"MemoryError under the cap: {exc}"
    except OSError as exc:  # mapping the whole file is refused under the cap
        out["failed"] = f"{type(exc).__name__} under the cap: {exc}"
    out["wall_s"] = time.perf_counter() - start
    out["peak_rss"] = _rss_peak()
    try:
        whole = np.load(path)
        out["whole_load"] = f"loaded {whole.nbytes / MIB:.0f} MiB: the cap did not bite!"
    except MemoryError as exc:
        out["whole_load"] = f"MemoryError ({type(exc).__name__}: {str(exc)[:90]})"
    return out


# --- the parent ----------------------------------------------------------------------------


def run_child(task: str, args: argparse.Namespace, path: Path, batch_rows: int) -> dict[str, Any]:
    env = os.environ | {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                        "MKL_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2"}
    cmd = [sys.executable, __file__, "--child", task, "--file", str(path),
           "--cap-mib", str(args.cap_mib), "--features", str(args.features),
           "--batch-rows", str(batch_rows),
           "--components", str(args.components), "--clusters", str(args.clusters)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT):
            return json.loads(line[len(RESULT):])
    return {"task": task, "failed": f"child exited {proc.returncode}: "
                                    f"{proc.stderr.strip().splitlines()[-1:]}"}


def report(result: dict[str, Any], cap: int) -> None:
    name = {"ipca": "(a) incremental_pca_stream", "kmeans": "(b) stream_kmeans"}[result["task"]]
    print(f"\n{name}")
    if "skipped" in result:
        print(f"  skipped: {result['skipped']}")
        return
    if "baseline_vm" in result:
        print(f"  baseline: address space {result['baseline_vm'] / MIB:,.0f} MiB, resident "
              f"{result['baseline_rss'] / MIB:,.0f} MiB; limit set to baseline + "
              f"{cap / MIB:,.0f} MiB")
    if "failed" in result:
        print(f"  FAILED: {result['failed']}")
    else:
        extra = (f"explained variance kept by {result['components']} components: "
                 f"{result['variance_kept']:.2%}" if result["task"] == "ipca" else
                 f"inertia ({result['clusters']} clusters): {result['inertia']:,.4g}")
        print(f"  wall time {result['wall_s']:.1f} s; {extra}")
    if "peak_rss" in result:
        grown = max(0, result["peak_rss"] - result["baseline_rss"])
        print(f"  peak RSS {result['peak_rss'] / MIB:,.0f} MiB (baseline + "
              f"{grown / MIB:,.0f} MiB)")
    if "whole_load" in result:
        print(f"  np.load of the whole file in the same child: {result['whole_load']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap-mib", type=int, default=256,
                        help="memory the work may use above the baseline (data = 2 × cap)")
    parser.add_argument("--features", type=int, default=784)
    parser.add_argument("--components", type=int, default=50)
    parser.add_argument("--clusters", type=int, default=10)
    parser.add_argument("--batch-rows", type=int, default=None,
                        help="rows per batch (default: a batch is 1/16 of the cap)")
    parser.add_argument("--dir", type=Path, default=None, help="where the data file goes")
    parser.add_argument("--keep", action="store_true", help="keep the data file")
    parser.add_argument("--child", choices=("ipca", "kmeans", "generate"), help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    cap = args.cap_mib * MIB
    row_bytes = args.features * 4
    batch_rows = args.batch_rows or max(2 * args.components, cap // 16 // row_bytes)
    n_rows = 2 * cap // row_bytes
    if args.child == "generate":
        generate(args.file, n_rows, args.features, batch_rows)
        return 0
    if args.child:
        result = child(args.child, args.file, cap, batch_rows, args.components, args.clusters)
        print(RESULT + json.dumps(result), flush=True)
        return 0

    workdir = Path(tempfile.mkdtemp(prefix="mlpilot-ooc-", dir=args.dir))
    path = workdir / "data.npy"
    try:
        start = time.perf_counter()
        # In a child too: ru_maxrss of a process counts its parent's peak at exec, so the
        # driver stays small (no pyarrow, no batches) for the measured children.
        subprocess.run([sys.executable, __file__, "--child", "generate", "--file", str(path),
                        "--cap-mib", str(args.cap_mib), "--features", str(args.features),
                        "--batch-rows", str(batch_rows)], check=True)
        size = path.stat().st_size
        print(f"data: {path} — {n_rows:,} rows × {args.features} float32 features = "
              f"{size / MIB:,.0f} MiB, written in {time.perf_counter() - start:.1f} s "
              f"(batches of {batch_rows:,} rows = {batch_rows * row_bytes / MIB:.1f} MiB)")
        print(f"cap: {args.cap_mib} MiB of address space above the child's baseline "
              f"(RLIMIT_AS); the file is {size / cap:.1f}× the cap")
        for task in ("ipca", "kmeans"):
            report(run_child(task, args, path, batch_rows), cap)
    finally:
        if args.keep:
            print(f"\nkept {path}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

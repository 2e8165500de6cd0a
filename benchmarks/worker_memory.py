"""Peak resident memory of each Dask worker while it gap-fills a Zarr cube (what ``benchmarks/scale.py`` does,
smaller): the figure behind ``peak_rss_gb`` of the scale benchmark, quick enough to compare code versions.

    nice -n 19 .venv/bin/python benchmarks/worker_memory.py                      # a 2048 x 2048 x 31 cube, 1 worker
    nice -n 19 .venv/bin/python benchmarks/worker_memory.py --baseline ../main   # and the same with ../main's code

The cube is the scale benchmark's mosaic (``scale.build_cube``: int16 with scale factors, 512-pixel chunks),
built once in ``--workdir`` and reused. The run predicts it with the shipped CNN through
``mcnnseq.distributed.predict_scene`` on a fresh LocalCluster of ``--workers`` processes (one thread each),
writing ``ndvi_pred`` and ``ndvi_filled`` to Zarr, then prints, per worker process, its ``VmHWM`` (the
kernel's high-water mark of resident memory) read just before the cluster closes, its resident memory at
the end and its CPU seconds (pixels per worker CPU-second compare code versions on a busy machine better
than pixels per second do). ``--baseline PATH`` runs the same measurement again in a subprocess
importing ``mcnnseq`` from another checkout (e.g. ``main``) — before and after in one command, on the same
machine load. ``--json`` writes the figures.

What a worker's peak holds: the libraries (numpy, torch, dask, distributed: about 0.5 GB resident) plus one
block's working set (the raw values as stored, decoded as float64 by the readers, the decoded float32 block,
the prediction and the gap-filled output) — and whatever an earlier block left behind.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _vm(field: str) -> float:
    """``field`` (``VmHWM``, ``VmRSS``) of this process in bytes, from ``/proc/self/status`` (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024.0
    return float("nan")


def _worker_memory() -> dict:
    t = os.times()
    return {"pid": os.getpid(), "peak_rss_gb": _vm("VmHWM") / 1e9, "rss_gb": _vm("VmRSS") / 1e9,
            "cpu_s": t.user + t.system}


def measure(cube_path: Path, model: Path, out: Path, *, workers: int, block: int) -> dict:
    """Predict ``cube_path`` on a new LocalCluster of ``workers`` processes; the workers' memory figures."""
    import shutil

    from mcnnseq.distributed import PortableModel, cluster_client, predict_scene
    from mcnnseq.io import open_cube

    cube = open_cube(cube_path, chunks=block)
    spec = PortableModel.from_checkpoint(model)
    shutil.rmtree(out, ignore_errors=True)
    with cluster_client(workers=workers, threads_per_worker=1) as client:
        summary = predict_scene(spec, cube, out, client=client, chunks=block, torch_threads=1)
        per_worker = client.run(_worker_memory)
    shutil.rmtree(out, ignore_errors=True)
    workers_out = [{"address": a, **m} for a, m in sorted(per_worker.items())]
    cpu = sum(w["cpu_s"] for w in workers_out)
    return {"code": str(Path(sys.modules["mcnnseq"].__file__).resolve().parents[1]), "pixels": summary.pixels,
            "blocks": summary.blocks, "seconds": summary.seconds, "px_per_s": summary.px_per_s,
            "workers_cpu_s": cpu, "px_per_worker_cpu_s": summary.pixels / cpu,
            "workers": workers_out, "peak_rss_gb": max(w["peak_rss_gb"] for w in workers_out)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=2048, help="cube side in pixels (default 2048)")
    ap.add_argument("--block", type=int, default=512, help="block (and Zarr chunk) side in pixels (default 512)")
    ap.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    ap.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "mcnnseq-worker-memory",
                    help="where the cube is built once and kept (default $TMPDIR/mcnnseq-worker-memory)")
    ap.add_argument("--model", type=Path, default=HERE.parent / "assets/models/demo_50_cnn.pt")
    ap.add_argument("--baseline", type=Path, default=None,
                    help="another checkout (e.g. ../main): measure its code too, in a subprocess, after this one")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    ap.add_argument("--code", type=Path, default=None, help=argparse.SUPPRESS)  # the checkout to import (subprocess)
    args = ap.parse_args()

    code = (args.code or HERE.parent).resolve()
    sys.path.insert(0, str(code))
    args.workdir.mkdir(parents=True, exist_ok=True)
    cube_path = args.workdir / f"cube_{args.size}_{args.block}.zarr"
    if not (cube_path / "zarr.json").exists() and not (cube_path / ".zgroup").exists():
        print(f"building {cube_path} …", flush=True)
        sys.path.insert(1, str(HERE))
        import scale  # the scale benchmark's cube builder

        scale.build_cube(cube_path, args.size, chunk=args.block)
    t0 = time.perf_counter()
    result = measure(cube_path, args.model, args.workdir / f"out_{os.getpid()}.zarr", workers=args.workers,
                     block=args.block)
    result["wall_s"] = time.perf_counter() - t0
    result["load_average"] = list(os.getloadavg())
    results = [result]
    if args.baseline is not None:
        import tempfile

        with tempfile.NamedTemporaryFile(suffix=".json") as f:
            cmd = [sys.executable, str(Path(__file__).resolve()), "--size", str(args.size), "--block", str(args.block),
                   "--workers", str(args.workers), "--workdir", str(args.workdir), "--model", str(args.model),
                   "--code", str(args.baseline.resolve()), "--json", f.name]
            env = {**os.environ, "PYTHONPATH": str(args.baseline.resolve())}
            subprocess.run(cmd, check=True, env=env)
            results += json.loads(Path(f.name).read_text())["runs"]
    if args.code is None:
        for r in results:
            print(f"\n{r['code']}: {r['pixels']:,} px, {r['blocks']} blocks of {args.block}² in {r['seconds']:.1f} s "
                  f"({r['px_per_s']:,.0f} px/s; load average {r['load_average'][0]:.1f}); "
                  f"{r['px_per_worker_cpu_s']:,.0f} px per CPU-second of the workers (start and model load included)")
            for w in r["workers"]:
                print(f"  worker pid {w['pid']}: peak RSS {w['peak_rss_gb']:.2f} GB, "
                      f"RSS at the end {w['rss_gb']:.2f} GB")
    if args.json:
        args.json.write_text(json.dumps({"size": args.size, "block": args.block, "runs": results}, indent=2))


if __name__ == "__main__":
    main()

"""Scale benchmark: gap-fill a synthetic 4000 x 4000 x 31 cube on 1 and 2 Dask workers, and a 1000 x 1000 scene
with MCNN-Seq; print the figures and write them as JSON.

    nice -n 19 .venv/bin/python benchmarks/scale.py --json scale.json               # the full measurement
    .venv/bin/python benchmarks/scale.py --size 600 --mcnn-size 128 --json s.json   # a quick run (~1-2 min)

The cube (``--size`` pixels a side, 31 dates) is written to a Zarr store chunk by chunk, never whole in
memory: it is a mosaic of four 256 x 256 tiles of the simulated demo scene (``mcnnseq.sim``, 50 % clouds,
seeds 0-3; tile (i, j) is tile ``(3i + 5j) mod 4``, mirrored when i + j is odd), stored as a producer
would: int16 σ0 in 0.01 dB and NDVI in 1e-4 steps with ``scale_factor`` and a ``_FillValue`` (decoded
lazily by ``open_cube(..., chunks=...)``). Throughput does not depend on the values; the tiles only make
the content (fields, clouds) realistic.

Measured (one process per worker, one thread each, torch with one thread):

* ``px_per_s_1_worker`` / ``px_per_s_2_workers``: pixels of the cube / seconds to read, decode, predict
  with the CNN and write ``ndvi_pred`` and ``ndvi_filled`` to Zarr (every pixel is predicted), from the
  first block to the last (cluster start and the model's load on each worker excluded, printed apart);
* ``mcnn_seq_px_per_s``: the same for MCNN-Seq on the top-left ``--mcnn-size`` square, on
  ``--mcnn-workers`` workers;
* ``px_per_cpu_s_1_worker`` / ``px_per_cpu_s_2_workers``: pixels per CPU-second of all processes of the run
  (workers, client, scheduler) — what parallelism costs, readable even on a machine busy with other work;
* ``peak_rss_gb``: the largest peak resident memory (``VmHWM``, each process's own high-water mark) of any
  single process — this one (the client and the LocalCluster's scheduler) and every worker, read before
  each worker exits.

Models: the shipped demo checkpoints ``assets/models/demo_50_{cnn,mcnn_seq}.pt`` (31 dates), or ``--cnn``/
``--mcnn`` files. Timings depend on the machine and on what else runs on it: compare ratios from one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TILE = 256
TILE_SEEDS = (0, 1, 2, 3)


# ------------------------------------------------------------------------------------------ memory

class PeakMemory:
    """The peak resident memory (VmHWM) of this process and of the worker processes it is told about.

    VmHWM is each process's own high-water mark, so sampling only has to happen before a process
    exits (:meth:`sample` is called again just before a cluster closes); the thread samples every
    ``interval`` seconds and reads nothing but ``/proc/<pid>/status`` of the watched processes.
    """

    def __init__(self, interval: float = 0.5):
        self.interval = interval
        self.peaks: dict[int, tuple[str, float]] = {}
        self.watched: dict[int, str] = {os.getpid(): "client+scheduler"}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _hwm_bytes(pid: int) -> float | None:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024.0
        except OSError:
            return None
        return None

    def watch(self, pids: dict[int, str]) -> None:
        self.watched.update(pids)

    def sample(self) -> None:
        for pid, name in list(self.watched.items()):
            peak = self._hwm_bytes(pid)
            if peak is None and pid == os.getpid():  # not Linux: the current RSS is the best we have
                import psutil

                peak = float(psutil.Process().memory_info().rss)
            if peak is not None and peak > self.peaks.get(pid, ("", 0.0))[1]:
                self.peaks[pid] = (name, peak)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def largest_gb(self) -> float:
        return max((p for _, p in self.peaks.values()), default=0.0) / 1e9


# ------------------------------------------------------------------------------------------ the cube

def demo_tiles() -> tuple[list, "xr.Dataset"]:
    """Four simulated 256 x 256 x 31 demo tiles (50 % clouds) and the first one (for dates, CRS, attrs)."""
    from mcnnseq.sim import simulate_scene

    tiles = [simulate_scene(size=TILE, seed=s, scenario="50%") for s in TILE_SEEDS]
    return [{v: np.asarray(t[v].values) for v in ("vv", "vh", "ndvi")} for t in tiles], tiles[0]


def mosaic(tiles: list, name: str, rows: slice, cols: slice) -> np.ndarray:
    """The ``(T, rows, cols)`` window of the tiled mosaic of variable ``name`` (see the module docstring)."""
    y = np.arange(rows.start, rows.stop)
    x = np.arange(cols.start, cols.stop)
    ti, tj = y // TILE, x // TILE
    out = np.empty((tiles[0][name].shape[0], y.size, x.size), dtype=np.float32)
    for i in np.unique(ti):
        for j in np.unique(tj):
            k = (3 * int(i) + 5 * int(j)) % len(tiles)
            yy, xx = y[ti == i] % TILE, x[tj == j] % TILE
            if (i + j) % 2:
                xx = TILE - 1 - xx
            block = tiles[k][name][:, yy][:, :, xx]
            out[:, np.flatnonzero(ti == i)[0]:np.flatnonzero(ti == i)[-1] + 1,
                np.flatnonzero(tj == j)[0]:np.flatnonzero(tj == j)[-1] + 1] = block
    return out


def build_cube(path: Path, size: int, *, chunk: int = 512) -> dict:
    """Write the ``size`` x ``size`` x 31 mosaic cube to a Zarr store one chunk at a time; return facts about it."""
    import rioxarray  # noqa: F401  (registers .rio)
    import xarray as xr
    import zarr

    t0 = time.perf_counter()
    tiles, first = demo_tiles()
    nt = first.sizes["time"]
    x0, y0 = float(first["x"].values[0]), float(first["y"].values[0])
    enc_radar = {"dtype": "int16", "scale_factor": 0.01, "_FillValue": -32768, "chunks": (nt, chunk, chunk)}
    enc_ndvi = {"dtype": "int16", "scale_factor": 1e-4, "_FillValue": -32768, "chunks": (nt, chunk, chunk)}
    import dask.array as da

    lazy = da.zeros((nt, size, size), dtype=np.float32, chunks=(nt, chunk, chunk))
    ds = xr.Dataset(
        {"VV": (("t", "y", "x"), lazy, {"units": "dB"}), "VH": (("t", "y", "x"), lazy, {"units": "dB"}),
         "NDVI": (("t", "y", "x"), lazy)},
        coords={"t": first["time"].values.astype("datetime64[ns]"),
                "s1_time": ("t", first["s1_time"].values.astype("datetime64[ns]")),
                "y": y0 - 10.0 * np.arange(size), "x": x0 + 10.0 * np.arange(size)},
        attrs={"source": f"synthetic {size}x{size} mosaic of simulated demo tiles (benchmarks/scale.py)"})
    ds = ds.rio.write_crs(first.rio.crs)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.to_zarr(path, mode="w", compute=False, consolidated=False,
                   encoding={"VV": enc_radar, "VH": enc_radar, "NDVI": enc_ndvi})
    group = zarr.open_group(path, mode="r+")
    scales = {"VV": 0.01, "VH": 0.01, "NDVI": 1e-4}
    for r in range(0, size, chunk):
        for c in range(0, size, chunk):
            rows, cols = slice(r, min(size, r + chunk)), slice(c, min(size, c + chunk))
            for name, var in (("VV", "vv"), ("VH", "vh"), ("NDVI", "ndvi")):
                values = mosaic(tiles, var, rows, cols)
                packed = np.where(np.isfinite(values), np.round(values / scales[name]), -32768).astype(np.int16)
                group[name][:, rows, cols] = packed
    du = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return {"size": size, "dates": nt, "seconds": time.perf_counter() - t0, "disk_gb": du / 1e9}


# ------------------------------------------------------------------------------------------ runs

def _cpu_seconds() -> float:
    """User + system CPU seconds of the calling process (a worker, or this one)."""
    import psutil

    t = psutil.Process().cpu_times()
    return float(t.user + t.system)


def run(cube, model_path: Path, out: Path, *, workers: int, chunks, label: str, mem: PeakMemory) -> dict:
    """Predict ``cube`` on a new LocalCluster of ``workers`` processes; return the timings."""
    from mcnnseq.distributed import PortableModel, cluster_client, predict_scene, open_prediction

    spec = PortableModel.from_checkpoint(model_path)
    t0 = time.perf_counter()
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 5 or done == total:
            last[0] = now
            print(f"  {label}: {100 * done / total:5.1f} % ({done:,} / {total:,} px, {now - t0:.0f} s)", flush=True)

    with cluster_client(workers=workers, threads_per_worker=1) as client:
        started = time.perf_counter() - t0
        mem.watch({pid: f"{label}: worker {address}" for address, pid in client.run(os.getpid).items()})
        cpu_before = sum(client.run(_cpu_seconds).values()) + _cpu_seconds()
        summary = predict_scene(spec, cube, out, client=client, chunks=chunks, progress=progress, torch_threads=1)
        cpu = sum(client.run(_cpu_seconds).values()) + _cpu_seconds() - cpu_before
        mem.sample()  # the workers' high-water marks, before they exit
    total = time.perf_counter() - t0
    check = open_prediction(out)
    crs = check.rio.crs
    dates_ok = bool(np.array_equal(check["time"].values, cube["time"].values))
    result = {"pixels": summary.pixels, "seconds": summary.seconds, "px_per_s": summary.px_per_s,
              "blocks": summary.blocks, "workers": summary.workers, "cluster_start_s": started,
              "setup_and_load_s": total - summary.seconds, "output_crs": crs.to_string() if crs else None,
              "output_dates_ok": dates_ok, "pixels_incomplete_radar": summary.pixels_incomplete_radar,
              "cpu_seconds": cpu, "px_per_cpu_s": summary.pixels / cpu if cpu > 0 else None}
    check.close()
    print(f"{label}: {summary.pixels:,} px in {summary.seconds:.1f} s = {summary.px_per_s:,.0f} px/s on "
          f"{summary.workers} worker(s) ({summary.blocks} blocks; cluster start + model load "
          f"{total - summary.seconds:.1f} s); output CRS {result['output_crs']}, dates ok: {dates_ok}", flush=True)
    return result


def _reset_peak_memory() -> None:
    """Reset this process's VmHWM (Linux: ``echo 5 > /proc/self/clear_refs``); harmless elsewhere."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=4000, help="cube side in pixels (default 4000)")
    ap.add_argument("--mcnn-size", type=int, default=1000, help="side of the MCNN-Seq scene (default 1000)")
    ap.add_argument("--mcnn-workers", type=int, default=2, help="workers for the MCNN-Seq run (default 2)")
    ap.add_argument("--block", type=int, default=512, help="block (and Zarr chunk) side in pixels (default 512)")
    ap.add_argument("--cnn", type=Path, default=ROOT / "assets/models/demo_50_cnn.pt")
    ap.add_argument("--mcnn", type=Path, default=ROOT / "assets/models/demo_50_mcnn_seq.pt")
    ap.add_argument("--workdir", type=Path, default=None, help="folder for the cube and outputs (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the cube and outputs (in --workdir)")
    ap.add_argument("--skip-mcnn", action="store_true", help="leave out the MCNN-Seq run")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = ap.parse_args()

    from mcnnseq.io import open_cube

    work = Path(tempfile.mkdtemp(prefix="mcnnseq-scale-", dir=args.workdir))
    results: dict = {}
    try:
        with PeakMemory() as mem:
            cube_path = work / "cube.zarr"
            print(f"building a {args.size} x {args.size} x 31 cube in {cube_path} …", flush=True)
            facts = build_cube(cube_path, args.size, chunk=args.block)
            print(f"cube built in {facts['seconds']:.0f} s, {facts['disk_gb']:.2f} GB on disk", flush=True)
            cube = open_cube(cube_path, chunks=args.block)
            _reset_peak_memory()  # the cube builder is not part of the prediction
            mem.peaks.clear()
            one = run(cube, args.cnn, work / "cnn_1.zarr", workers=1, chunks=args.block, label="CNN, 1 worker", mem=mem)
            shutil.rmtree(work / "cnn_1.zarr", ignore_errors=True)
            two = run(cube, args.cnn, work / "cnn_2.zarr", workers=2, chunks=args.block, label="CNN, 2 workers", mem=mem)
            shutil.rmtree(work / "cnn_2.zarr", ignore_errors=True)
            mcnn = None
            if not args.skip_mcnn:
                n = min(args.mcnn_size, args.size)
                part = cube.isel(y=slice(0, n), x=slice(0, n))
                mcnn = run(part, args.mcnn, work / "mcnn.zarr", workers=args.mcnn_workers,
                           chunks=min(args.block, 256), label=f"MCNN-Seq {n} x {n}, {args.mcnn_workers} workers", mem=mem)
        results = {
            "pixels": one["pixels"],
            "peak_rss_gb": round(mem.largest_gb(), 3),
            "px_per_s_1_worker": round(one["px_per_s"], 1),
            "px_per_s_2_workers": round(two["px_per_s"], 1),
            "mcnn_seq_px_per_s": round(mcnn["px_per_s"], 1) if mcnn else None,
            "scaling_2_vs_1": round(two["px_per_s"] / one["px_per_s"], 3),
            # CPU seconds of every process (workers, client, scheduler) per run: on a machine busy with other
            # work, px per CPU-second of 2 workers vs 1 shows what the parallel run costs in overhead
            "px_per_cpu_s_1_worker": round(one["px_per_cpu_s"], 1),
            "px_per_cpu_s_2_workers": round(two["px_per_cpu_s"], 1),
            "mcnn_seq_pixels": mcnn["pixels"] if mcnn else None,
            "mcnn_seq_workers": args.mcnn_workers if mcnn else None,
            "output_crs": two["output_crs"],
            "output_dates_ok": two["output_dates_ok"] and one["output_dates_ok"],
            "cube": facts,
            "runs": {"cnn_1_worker": one, "cnn_2_workers": two, "mcnn_seq": mcnn},
            "peak_rss_gb_per_process": {name: round(p / 1e9, 3) for pid, (name, p) in sorted(mem.peaks.items())},
            "cpu_count": os.cpu_count(),
            "load_average_at_end": list(os.getloadavg()),
        }
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\npixels {results['pixels']:,}; peak RSS of any single process {results['peak_rss_gb']:.2f} GB "
          f"(< 2 GB: {results['peak_rss_gb'] < 2}); CNN {results['px_per_s_1_worker']:,.0f} px/s on 1 worker, "
          f"{results['px_per_s_2_workers']:,.0f} px/s on 2 (x{results['scaling_2_vs_1']:.2f}; >= 1.6: "
          f"{results['scaling_2_vs_1'] >= 1.6}); MCNN-Seq {results['mcnn_seq_px_per_s']} px/s; "
          f"load average {results['load_average_at_end'][0]:.1f} on {results['cpu_count']} cores")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

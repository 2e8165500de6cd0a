"""Measure the peak memory of whole-scene prediction (requirement: 1000 x 1000 x 31 under 3 GB).

Builds a lazy random cube (dask, float32 dB radar, NDVI with ~30 % clouds), writes it to a temporary
NetCDF, then, in a fresh process per mode, opens it chunked, predicts every pixel and writes the
output NetCDF, and prints the process's peak resident memory (``VmHWM``, i.e. ``ru_maxrss`` of that process):

* ``eager``: :func:`mcnnseq.prediction.predict_cube` (numpy result, what the app uses), then ``to_netcdf``;
* ``lazy``: :func:`mcnnseq.prediction.predict_cube_lazy` written with ``to_netcdf`` by dask's
  synchronous scheduler (predicted and written one block of rows at a time).

The model is the checkpoint given with ``--checkpoint`` or, by default, a fake linear predictor
(so this measures the bounded-memory logic, not a network's own footprint).

    .venv/bin/python scripts/measure_prediction_memory.py [--size 1000] [--dates 31] [--checkpoint PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class LinearPredictor:
    """Fake model: NDVI = a·VV + b·VH + c on every date ((n, T, 2) dB -> (n, T) float32)."""

    name = "linear (fake)"

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (0.04 * X[..., 0] - 0.03 * X[..., 1] + 0.5).astype(np.float32)


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB.

    Reads ``VmHWM`` from /proc (reset by exec; ``ru_maxrss`` can carry the parent's peak into a
    spawned child), falling back to ``resource.getrusage``.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kilobytes


def build_cube(path: Path, *, size: int, dates: int, seed: int, rows_per_chunk: int) -> None:
    """Write a lazy random cube (dims time, y, x; vv, vh, ndvi, cloud) to NetCDF chunk by chunk."""
    import dask
    import dask.array as da
    import pandas as pd

    from mcnnseq.datacube import new_cube

    rng = da.random.default_rng(seed)
    shape = (dates, size, size)
    chunks = (dates, rows_per_chunk, size)
    vv = rng.normal(-12.0, 3.0, shape, chunks=chunks).astype(np.float32)
    vh = rng.normal(-19.0, 3.0, shape, chunks=chunks).astype(np.float32)
    ndvi = rng.uniform(0.0, 0.9, shape, chunks=chunks).astype(np.float32)
    ndvi = da.where(rng.random(shape, chunks=chunks) < 0.3, np.float32(np.nan), ndvi)
    time_ = pd.date_range("2018-01-11", periods=dates, freq="12D")
    small = new_cube(vv=np.zeros((dates, 1, 1)), vh=np.zeros((dates, 1, 1)), ndvi=np.zeros((dates, 1, 1)),
                     time=time_, s1_time=time_ - pd.Timedelta(days=1), x=np.array([0.0]), y=np.array([0.0]),
                     crs="EPSG:32611")
    coords = {"time": small["time"], "s1_time": small["s1_time"],
              "x": 600_005.0 + 10.0 * np.arange(size), "y": 3_650_000.0 - 5.0 - 10.0 * np.arange(size),
              "spatial_ref": small["spatial_ref"]}
    import xarray as xr

    ds = xr.Dataset({"vv": (("time", "y", "x"), vv), "vh": (("time", "y", "x"), vh),
                     "ndvi": (("time", "y", "x"), ndvi), "cloud": (("time", "y", "x"), da.isnan(ndvi))},
                    coords=coords, attrs={"source": "random memory-benchmark cube"})
    for name in ("vv", "vh", "ndvi", "cloud"):
        ds[name].attrs["grid_mapping"] = "spatial_ref"
    enc = {name: {"chunksizes": chunks} for name in ("vv", "vh", "ndvi", "cloud")}
    with dask.config.set(scheduler="synchronous"):
        ds.to_netcdf(path, encoding=enc)


def load_model(checkpoint: str | None):
    if checkpoint is None:
        return LinearPredictor()
    from mcnnseq.checkpoints import load_checkpoint

    return load_checkpoint(checkpoint)


def child(mode: str, cube: str, out: str, checkpoint: str | None, chunk_pixels: int, rows_per_chunk: int) -> None:
    import dask
    import xarray as xr

    from mcnnseq.prediction import predict_cube, predict_cube_lazy

    model = load_model(checkpoint)
    rss_start = peak_rss_mb()
    t0 = time.perf_counter()
    ds = xr.open_dataset(cube, chunks={"time": -1, "y": rows_per_chunk, "x": -1}, decode_coords="all")
    calls = []
    if mode == "eager":
        res = predict_cube(model, ds, chunk_pixels=chunk_pixels, progress=lambda d, t: calls.append(d))
        t_pred = time.perf_counter() - t0
        res.to_netcdf(out)
    else:
        res = predict_cube_lazy(model, ds, chunk_pixels=chunk_pixels)
        with dask.config.set(scheduler="synchronous"):
            res.to_netcdf(out)
        t_pred = float("nan")
    elapsed = time.perf_counter() - t0
    check = xr.open_dataset(out)
    finite = float(np.isfinite(check["ndvi_pred"].isel(time=0).values).mean())
    print(json.dumps({"mode": mode, "peak_rss_mb": round(peak_rss_mb(), 1),
                      "rss_after_imports_mb": round(rss_start, 1), "seconds_total": round(elapsed, 1),
                      "seconds_predict": round(t_pred, 1), "blocks": len(calls),
                      "output_shape": [int(check.sizes[d]) for d in ("time", "y", "x")],
                      "finite_fraction_date0": finite}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=1000, help="grid side in pixels (default 1000)")
    ap.add_argument("--dates", type=int, default=31)
    ap.add_argument("--checkpoint", default=None, help="trained model file (default: a fake linear predictor)")
    ap.add_argument("--chunk-pixels", type=int, default=65_536)
    ap.add_argument("--rows-per-chunk", type=int, default=128, help="NetCDF/dask chunk rows of the input cube")
    ap.add_argument("--modes", default="eager,lazy")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", default=None, help="folder for the temporary NetCDF files")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--cube", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.cube, args.out, args.checkpoint, args.chunk_pixels, args.rows_per_chunk)
        return

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        cube = Path(tmp) / "cube.nc"
        t0 = time.perf_counter()
        build_cube(cube, size=args.size, dates=args.dates, seed=args.seed, rows_per_chunk=args.rows_per_chunk)
        print(f"cube {args.dates} x {args.size} x {args.size} written in {time.perf_counter() - t0:.1f} s "
              f"({cube.stat().st_size / 2**20:.0f} MiB), builder peak RSS {peak_rss_mb():.0f} MB")
        for mode in args.modes.split(","):
            out = Path(tmp) / f"pred_{mode}.nc"
            cmd = [sys.executable, __file__, "--child", mode, "--cube", str(cube), "--out", str(out),
                   "--chunk-pixels", str(args.chunk_pixels), "--rows-per-chunk", str(args.rows_per_chunk)]
            if args.checkpoint:
                cmd += ["--checkpoint", args.checkpoint]
            res = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
            if res.returncode != 0:
                print(res.stdout, res.stderr, file=sys.stderr)
                raise SystemExit(f"mode {mode} failed")
            result = json.loads(res.stdout.strip().splitlines()[-1])
            verdict = "OK" if result["peak_rss_mb"] < 3 * 1024 else "OVER 3 GB"
            print(f"{mode:>5}: peak RSS {result['peak_rss_mb']:.0f} MB ({verdict}; "
                  f"{result['rss_after_imports_mb']:.0f} MB after imports), {result['seconds_total']} s, "
                  f"output {result['output_shape']}, finite on date 0: {result['finite_fraction_date0']:.3f}")


if __name__ == "__main__":
    main()

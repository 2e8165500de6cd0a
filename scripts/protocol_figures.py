"""Protocol figures: split sizes under each protocol and split kind, gap-filler scores by gap length, speed.

    nice -n 19 .venv/bin/python scripts/protocol_figures.py [--json out.json] [--models CKPT …] [--no-timing]

On the shared real cube (``../shared/data/worldcereal_belgium_2021``; skipped when absent), on two
cubes derived from it — "+sparse month": one month left observed on 0.4 % of the pixels (seeded), as
on the openEO cube of issue 7; "+clouds 50 %": ``add_artificial_clouds(pixel_fraction=0.5)`` — and on
any ``--data`` cube given, for protocol ∈ {real, paper} × split ∈ {random, blocked}: the sample report,
the split sizes and the linear / Whittaker scores (mean per-date R², R² by gap length k = 1…4). These
need no training. ``--models`` adds checkpoints (trained on the matching protocol/split: the script
warns like ``evaluate`` does when they were not). ``--timing`` (default on) times the gap-fillers on
a 200×200×31 simulated scene. Every number printed comes from this run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mcnnseq.experiment import evaluate, gap_fillers, make_experiment  # noqa: E402

REAL_CUBE = ROOT.parent / "shared/data/worldcereal_belgium_2021/worldcereal_preprocessed_inputs.nc"
REAL_OPTIONS = {"nodata": 65535, "sigma0_log_dn": (20, -83)}


def _cube_figures(ds, label: str, checkpoints: list[Path], seed: int) -> dict:
    out = {}
    for protocol in ("real", "paper"):
        for split in ("random", "blocked"):
            key = f"{protocol}/{split}"
            exp = make_experiment(ds, seed=seed, protocol=protocol, split=split)
            models = dict(gap_fillers(exp))
            if checkpoints:
                from mcnnseq.checkpoints import load_checkpoint

                for path in checkpoints:
                    m = load_checkpoint(path)
                    sig = m.data_signature
                    if sig.get("protocol") == protocol and sig.get("split") == split:
                        models[m.name] = m
            t0 = time.perf_counter()
            ev = evaluate(models, exp)
            seconds = time.perf_counter() - t0
            doc = ev.to_dict()
            doc["seconds"] = round(seconds, 2)
            out[key] = doc
            sizes = doc["split"]
            print(f"{label} {key:14s} train {sizes['train']:6d}  val {sizes['val']:6d}  test {sizes['test']:6d}"
                  + (f"  (blocks of {exp.split.block_size} px)" if exp.split.block_size else ""))
            print(f"    {exp.samples.summary()}")
            warning = exp.warning()
            if warning:
                print(f"    warning: {warning}")
            for mid, entry in doc["models"].items():
                gaps = "  ".join(f"k={k} {'—' if v is None else f'{v:.3f}'}" for k, v in entry["gap_r2"].items())
                mean = entry.get("mean_r2")
                print(f"    {mid:10s} mean per-date R² {'—' if mean is None else f'{mean:.3f}'}   gap R²: {gaps}")
            print(f"    ({seconds:.1f} s to evaluate)")
    return out


def _sparse_month(ds, *, date: str, share: float, seed: int):
    """``ds`` with ``date`` clear on only ``share`` of its pixels (seeded); the rest is lost, as under real clouds."""
    import numpy as np

    out = ds.copy(deep=True)
    t = int(np.flatnonzero(out["time"].values == np.datetime64(date))[0])
    ndvi = out["ndvi"].values
    keep = np.random.default_rng(seed).random(ndvi.shape[1:]) < share
    ndvi[t][~keep] = np.nan
    out["cloud"].values[:] = np.isnan(ndvi)
    return out


def _timing() -> dict:
    import numpy as np

    from mcnnseq.sim import simulate_scene

    ds = simulate_scene(size=200, seed=0, scenario="50%")
    ndvi = np.asarray(ds["ndvi"].values).reshape(ds.sizes["time"], -1).T.copy()  # (40000, 31)
    out = {"pixels": int(ndvi.shape[0]), "dates": int(ndvi.shape[1])}
    for name, model in gap_fillers(make_experiment(ds, protocol="paper")).items():
        t0 = time.perf_counter()
        model.predict(None, ndvi=ndvi)
        out[f"{name.lower()}_seconds"] = round(time.perf_counter() - t0, 2)
    print(f"gap-fillers on a 200x200x31 scene: " + ", ".join(f"{k} {v}" for k, v in out.items()))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, action="append", default=[], help="more cubes (opened as NetCDF/Zarr)")
    parser.add_argument("--models", type=Path, nargs="*", default=[], help="checkpoints to add where they fit")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write every figure as JSON")
    parser.add_argument("--no-timing", action="store_true")
    args = parser.parse_args(argv)

    from mcnnseq.io import open_cube

    result = {}
    cubes = [(REAL_CUBE, REAL_OPTIONS)] if REAL_CUBE.exists() else []
    cubes += [(p, {}) for p in args.data]
    for path, options in cubes:
        ds = open_cube(path, **options)
        result[path.name] = _cube_figures(ds, path.name, list(args.models), args.seed)
        if path == REAL_CUBE:
            from mcnnseq.sim import add_artificial_clouds

            sparse = _sparse_month(ds, date="2021-03-01", share=0.004, seed=args.seed)
            result["+sparse month"] = _cube_figures(sparse, "+sparse month", [], args.seed)
            clouded = add_artificial_clouds(ds, pixel_fraction=0.5, seed=args.seed)
            result["+clouds 50 %"] = _cube_figures(clouded, "+clouds 50 %", [], args.seed)
    if not args.no_timing:
        result["timing"] = _timing()
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, allow_nan=False) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

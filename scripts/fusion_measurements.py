"""Issue 8 measurement: MCNN-Seq fusion vs the classic gap-fillers by gap length, and ±2σ coverage.

Runs, with DEFAULT settings (default training preset, real-cloud protocol, random split, seed 0)::

    python -m mcnnseq train --data CUBE [decode flags] --model mcnn_seq_fusion -o OUT/fusion.pt
    python -m mcnnseq evaluate --data CUBE [decode flags] --models OUT/fusion.pt linear whittaker --json OUT/eval.json

then prints R² by gap length (k = 1 … 4) of fusion, linear and Whittaker, fusion's ±2σ coverage on the
test pixels and the artificial gaps, the issue's "done when" checks, and writes OUT/summary.json.
``--compare-sigma`` also compares, on the same checkpoint and test gaps, the variance head + scalar
calibration against the post-hoc residual σ model (coverage per gap length, mean σ).

Usage (the shared real cube)::

    nice -n 19 python scripts/fusion_measurements.py --out /tmp/fusion_real --compare-sigma
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REAL_CUBE = ROOT.parent / "shared" / "data" / "worldcereal_belgium_2021" / "worldcereal_preprocessed_inputs.nc"
REAL_FLAGS = ["--nodata", "65535", "--sigma0-log-dn", "20", "-83"]


def run(cmd: list[str]) -> float:
    print("$ " + " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT)
    return time.perf_counter() - t0


def compare_sigma(data_args: list[str], ckpt: Path) -> dict:
    """Head + scalar calibration vs post-hoc residual σ model, on the same fusion checkpoint and test gaps."""
    sys.path.insert(0, str(ROOT))
    from dataclasses import replace

    from mcnnseq.checkpoints import load_checkpoint
    from mcnnseq.cli import _load_experiment, build_parser
    from mcnnseq.uncertainty import coverage_2sigma, fit_uncertainty

    args = build_parser().parse_args(["evaluate", *data_args])
    exp = _load_experiment(args)
    head = load_checkpoint(ckpt)
    X_va, Y_va = exp.val_arrays()
    residual = replace(head, uncertainty=fit_uncertainty(head, X_va, Y_va, seed=exp.split.seed, kind="residual"))
    X, Y = exp.test_arrays()
    obs = exp.test_observed()
    out = {}
    for name, m in (("head", head), ("residual", residual)):
        out[name] = coverage_2sigma(m, X, Y, obs, seed=exp.split.seed)
    return out


def compare_radar_sigma(data_args: list[str], paths: list[Path]) -> dict:
    """Radar-only checkpoints: one calibrated constant σ vs the residual σ model (date + NDVI level), both
    fitted on the validation pixels; coverage on the test pixels overall and per date (spread), mean σ."""
    sys.path.insert(0, str(ROOT))
    from dataclasses import replace

    import numpy as np

    from mcnnseq.checkpoints import load_checkpoint
    from mcnnseq.cli import _load_experiment, build_parser
    from mcnnseq.uncertainty import SigmaModel, calibration_scale, fit_uncertainty

    args = build_parser().parse_args(["evaluate", *data_args])
    exp = _load_experiment(args)
    X_va, Y_va = exp.val_arrays()
    X, Y = exp.test_arrays()
    out = {}
    for path in paths:
        m = load_checkpoint(path)
        val_pred = m.predict(X_va)
        ok = np.isfinite(Y_va)
        constant = SigmaModel(kind="residual", scale=calibration_scale((Y_va - val_pred)[ok], np.zeros(ok.sum())))
        residual = SigmaModel.from_dict(fit_uncertainty(m, X_va, Y_va, seed=exp.split.seed, kind="residual"))
        pred = m.predict(X)
        res = {}
        for name, sigma in (("constant", constant), ("residual", residual)):
            std = sigma.std(pred)
            inside = np.abs(Y - pred) <= 2 * std
            valid = np.isfinite(Y)
            per_date = [float(inside[valid[:, t], t].mean()) for t in range(Y.shape[1]) if valid[:, t].sum() >= 20]
            res[name] = {"test": float(inside[valid].mean()), "date_min": min(per_date), "date_max": max(per_date),
                         "date_mad": float(np.mean(np.abs(np.asarray(per_date) - 0.95))),
                         "mean_std": float(std[valid].mean())}
        out[f"{m.model_name} ({path.name})"] = res
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=REAL_CUBE, help="cube (default: the shared real cube)")
    p.add_argument("--decode", default=None, metavar="FLAGS",
                   help="decode flags for --data, one quoted string (default for the shared cube: '"
                        + " ".join(REAL_FLAGS) + "')")
    p.add_argument("--out", type=Path, default=Path("/tmp/fusion_measurements"))
    p.add_argument("--compare-sigma", action="store_true")
    p.add_argument("--skip-train", action="store_true", help="reuse OUT/fusion.pt")
    p.add_argument("--radar-models", type=Path, nargs="*", default=[],
                   help="radar-only checkpoints of the same cube and split: compare a constant σ with the residual "
                        "σ model (coverage per date)")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    decode = REAL_FLAGS if args.decode is None and args.data == REAL_CUBE else shlex.split(args.decode or "")
    data_args = ["--data", str(args.data), *decode]
    py = [sys.executable, "-m", "mcnnseq"]
    ckpt, ev_json = args.out / "fusion.pt", args.out / "eval.json"
    t_train = None
    if not args.skip_train:
        t_train = run([*py, "train", *data_args, "--model", "mcnn_seq_fusion", "-o", str(ckpt)])
    t_eval = run([*py, "evaluate", *data_args, "--models", str(ckpt), "linear", "whittaker", "--json", str(ev_json)])
    ev = json.loads(ev_json.read_text())
    models = ev["models"]
    print(f"\nR² on artificial gaps by gap length ({args.data.name}; split {ev['split']})")
    print("k   " + "  ".join(f"{m:>16}" for m in models))
    for k in ("1", "2", "3", "4"):
        print(f"{k}   " + "  ".join(f"{(models[m]['gap_r2'].get(k) or float('nan')):16.3f}" for m in models))
    fusion = models["mcnn_seq_fusion"]
    cov = fusion.get("coverage_2sigma_parts") or {}
    print(f"\nfusion ±2σ coverage: {fusion.get('coverage_2sigma')} (pooled); test {cov.get('test')}, "
          f"gaps {cov.get('gaps')}, by gap "
          f"{fusion.get('gap_coverage_2sigma')}")
    checks = {
        "fusion above linear and whittaker at k=1..4": all(
            fusion["gap_r2"][k] > max(models["linear"]["gap_r2"][k], models["whittaker"]["gap_r2"][k])
            for k in ("1", "2", "3", "4")),
        "fusion R² >= 0.88 at k=2": fusion["gap_r2"]["2"] >= 0.88,
        "coverage_2sigma (pooled, test and gaps) in 0.90-0.98": all(
            0.90 <= v <= 0.98 for v in (fusion.get("coverage_2sigma") or 0, cov.get("test", 0), cov.get("gaps", 0))),
    }
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    summary = {"data": str(args.data), "train_seconds": t_train, "evaluate_seconds": t_eval,
               "threads": os.environ.get("OMP_NUM_THREADS"), "checks": checks,
               "gap_r2": {m: models[m]["gap_r2"] for m in models}, "coverage_2sigma": cov,
               "gap_coverage_2sigma": fusion.get("gap_coverage_2sigma")}
    if args.compare_sigma:
        summary["sigma_methods"] = compare_sigma(data_args, ckpt)
        print("\nσ method comparison on the same checkpoint (coverage; mean σ on the gaps)")
        for name, c in summary["sigma_methods"].items():
            print(f"  {name:<9} test {c['test']:.3f}  gaps {c['gaps']:.3f}  by k {c['gap']}  "
                  f"mean σ {c['mean_std_gaps']:.4f}")
    if args.radar_models:
        summary["radar_sigma"] = compare_radar_sigma(data_args, args.radar_models)
        print("\nradar-only σ: one constant σ vs the residual model (test coverage, per-date range and mean "
              "|coverage − 0.95|, mean σ)")
        for name, r in summary["radar_sigma"].items():
            for kind, c in r.items():
                print(f"  {name:<40} {kind:<9} test {c['test']:.3f}  per date {c['date_min']:.3f}–{c['date_max']:.3f}"
                      f"  mean |Δ| {c['date_mad']:.3f}  mean σ {c['mean_std']:.4f}")
    if t_train is not None:
        print(f"\ntrain {t_train:.0f} s, evaluate {t_eval:.0f} s (wall clock; shared machine)")
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {args.out / 'summary.json'}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

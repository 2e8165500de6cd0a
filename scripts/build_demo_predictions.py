"""Build the predictions of the shipped demo models: assets/predictions/demo_<50|70>.nc (whole scenes, for the
first Map visit; generated at set-up, not committed: they are ~6 MB each and depend on the machine's
inference path) and demo_<50|70>_scores.nc (held-out test predictions of the models that read the NDVI, for
the first Dates visit: :mod:`mcnnseq.demo_scores`; committed, ~1 MB each, five minutes to build).

The app uses a file only while its signature (the checkpoints' SHA-256, the demo cube's SHA-256, the demo
settings, the simulator version) matches what it has, so a stale file is ignored, never shown. Run it after
``scripts/train_demo_models.py`` (or whenever the models or the simulator change); ``--if-stale`` keeps
files that are still valid (what ``scripts/setup-dev.sh`` and the README's start command run):

    nice -n 19 .venv/bin/python scripts/build_demo_predictions.py [--scenario 50% 70%] [--parts scenes scores]
    .venv/bin/python scripts/build_demo_predictions.py --parts scenes --if-stale    # about a minute when missing
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", nargs="+", default=["50%", "70%"], choices=["50%", "70%"])
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--parts", nargs="+", default=["scenes", "scores"], choices=["scenes", "scores"])
    ap.add_argument("--if-stale", action="store_true",
                    help="build only the files that are missing or no longer match the models and the scene")
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from mcnnseq.demo_predictions import build_demo_predictions, load_demo_predictions
    from mcnnseq.demo_scores import build_demo_scores, load_demo_scores
    from mcnnseq.pretrained import demo_experiment_for_models

    total = 0
    for scenario in args.scenario:
        def progress(done: int, n: int) -> None:
            print(f"\r{scenario}: predicting {100 * done / n:5.1f} %", end="", file=sys.stderr, flush=True)

        builders = {"scenes": lambda: build_demo_predictions(scenario, progress=progress),
                    "scores": lambda: build_demo_scores(scenario)}
        fresh = {"scenes": lambda exp: load_demo_predictions(scenario, exp.ds) is not None,
                 "scores": lambda exp: load_demo_scores(scenario, exp) is not None}
        exp = demo_experiment_for_models(scenario) if args.if_stale else None
        for part in args.parts:
            if exp is not None and fresh[part](exp):
                print(f"{scenario}: the {part} file is up to date", flush=True)
                continue
            t0 = time.perf_counter()
            path = builders[part]()
            if path is None:
                print(f"{scenario}: no shipped model reads the NDVI: no {part} file", flush=True)
                continue
            size = path.stat().st_size
            total += size
            print(f"\rwrote {path} ({size / 1e6:.2f} MB) in {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"total {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()

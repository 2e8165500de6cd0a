"""(Re)build the shipped predictions of the demo models: assets/predictions/demo_<50|70>.nc (whole scenes, for
the first Map visit) and demo_<50|70>_scores.nc (held-out test predictions of the models that read the NDVI,
for the first Dates visit: :mod:`mcnnseq.demo_scores`).

Run it after ``scripts/train_demo_models.py`` (or whenever the models or the simulator change): the app
uses a file only while its signature (the checkpoints' SHA-256, the demo cube's SHA-256, the demo
settings, the simulator version) matches what it has, so a stale file is ignored, never shown.

    nice -n 19 .venv/bin/python scripts/build_demo_predictions.py [--scenario 50% 70%] [--parts scenes scores]
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
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from mcnnseq.demo_predictions import build_demo_predictions
    from mcnnseq.demo_scores import build_demo_scores

    total = 0
    for scenario in args.scenario:
        def progress(done: int, n: int) -> None:
            print(f"\r{scenario}: predicting {100 * done / n:5.1f} %", end="", file=sys.stderr, flush=True)

        builders = {"scenes": lambda: build_demo_predictions(scenario, progress=progress),
                    "scores": lambda: build_demo_scores(scenario)}
        for part in args.parts:
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

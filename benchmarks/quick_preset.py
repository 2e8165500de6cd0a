"""Seconds the quick preset takes to train MCNN-Seq on the app's default demo scene (the app promises ~1 minute).

    .venv/bin/python benchmarks/quick_preset.py          # prints the seconds (and the test R² reached)
    .venv/bin/python benchmarks/quick_preset.py --json out.json

The scene is the app's default (``demo_experiment(size=200, seed=0, scenario="50%")``, paper
protocol); the timed part is what the Train page runs after the click: ``experiment.train`` with
``TrainConfig.quick("mcnn_seq")`` (pixel series extraction, normalisation, the optimiser steps and the
validation points), with torch's default thread count, as in the app. Building the scene is timed
apart (the app has it already when the user clicks Train). Target: ≤ 60 s on the 2-core development
machine; a figure measured on a busy machine is an upper bound.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_SECONDS = 60.0


def _run(*, size: int = 200) -> dict:
    from mcnnseq.experiment import demo_experiment, evaluate, train
    from mcnnseq.training import TrainConfig

    t0 = time.perf_counter()
    exp = demo_experiment(size=size, seed=0, scenario="50%")
    scene_seconds = time.perf_counter() - t0
    config = TrainConfig.quick("mcnn_seq")
    t0 = time.perf_counter()
    trained = train(exp, config)
    seconds = time.perf_counter() - t0
    mean = evaluate({"mcnn_seq": trained}, exp).per_date.loc["mean"]
    return {"seconds": seconds, "scene_seconds": scene_seconds, "steps": trained.steps,
            "n_train": trained.n_train, "test_r2": float(mean[("mcnn_seq", "r2")])}


def quick_preset_seconds() -> float:
    """Wall-clock seconds of ``train(demo scene, TrainConfig.quick("mcnn_seq"))`` (the scene is built first, untimed)."""
    return float(_run()["seconds"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    import torch

    result = _run()
    result["torch_threads"] = torch.get_num_threads()
    print(f"quick preset, MCNN-Seq on the 200x200 demo (50 % cloud): {result['seconds']:.1f} s for "
          f"{result['steps']} steps on {result['n_train']} training pixels (target ≤ {TARGET_SECONDS:.0f} s; "
          f"{result['torch_threads']} torch threads); mean per-date test R² {result['test_r2']:.3f}; "
          f"building the scene took {result['scene_seconds']:.1f} s more")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

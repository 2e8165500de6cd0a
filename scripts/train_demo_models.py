"""Train the pretrained demo models shipped in ``assets/models/`` (RNN, CNN, MCNN-Seq, MCNN-Seq fusion × 50 % / 70 % cloud).

    .venv/bin/python scripts/train_demo_models.py              # all six, the default training recipe
    .venv/bin/python scripts/train_demo_models.py --preset paper --epochs 50   # the paper's settings
    .venv/bin/python scripts/train_demo_models.py --models mcnn_seq_fusion --steps 3000   # the shipped fusion models
    .venv/bin/python scripts/train_demo_models.py --out /tmp/x  # elsewhere, e.g. to check reproducibility

The scene is the app's default demo scene (``mcnnseq.pretrained.DEMO_SETTINGS``), split as the paper
does (the 70 % split inherits from the 50 % one). Training follows ``--preset`` (see
``mcnnseq.training.PRESETS`` and docs/training-recipe.md), keeping the weights of the best validation
point. Same seed → same weights and the same test metrics, which the script prints (Table 4 means per model).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mcnnseq.checkpoints import save_checkpoint  # noqa: E402
from mcnnseq.experiment import MODEL_ORDER, SCENARIOS, evaluate, train  # noqa: E402
from mcnnseq.pretrained import ASSETS_DIR, demo_experiment_for_models, demo_model_path  # noqa: E402
from mcnnseq.training import TrainConfig  # noqa: E402

def main() -> int:
    parser = argparse.ArgumentParser(description="Train the shipped demo models.")
    parser.add_argument("--out", type=Path, default=ASSETS_DIR, help=f"output folder (default {ASSETS_DIR})")
    parser.add_argument("--preset", choices=("default", "quick", "paper"), default="default")
    parser.add_argument("--epochs", type=int, default=None, help="budget in epochs instead of the preset's")
    parser.add_argument("--steps", type=int, default=None, help="budget in optimiser steps instead of the preset's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenarios", nargs="*", default=list(SCENARIOS))
    parser.add_argument("--models", nargs="*", default=list(MODEL_ORDER))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for scenario in args.scenarios:
        exp = demo_experiment_for_models(scenario)
        print(f"== {exp.source}, scenario {scenario}: {exp.split.sizes()}", flush=True)
        trained = {}
        for name in args.models:
            t0 = time.perf_counter()
            budget = {}
            if args.epochs is not None or args.steps is not None:
                budget = {"epochs": args.epochs, "max_steps": args.steps}
            config = TrainConfig.from_preset(args.preset, name, seed=args.seed, **budget)
            model = train(exp, config)
            path = demo_model_path(scenario, name, directory=args.out)
            save_checkpoint(model, path)
            trained[model.name] = model
            last = model.best_record
            print(f"{model.name:<9} best step {model.best_step} (epoch {model.best_epoch}), "
                  f"val R² {last.val_r2 if last else float('nan'):.4f}, stop: {model.stop_reason}, "
                  f"{time.perf_counter() - t0:.0f} s -> {path}", flush=True)
        means = evaluate(trained, exp).per_date.loc["mean"]
        print("test mean over dates: " + "  ".join(
            f"{m} R² {means[(m, 'r2')]:.4f} RMSE {means[(m, 'rmse')]:.4f}" for m in trained), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

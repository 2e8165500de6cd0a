"""Measure the training recipe: each choice of the default recipe against the recipe without it.

    # one run (prints one JSON line and appends it to --out):
    .venv/bin/python scripts/recipe_study.py run --cube real --model mcnn_seq --variant default --seed 0
    # a grid (cubes x models x variants x seeds), at most --jobs processes at a time, runs already in --out skipped:
    .venv/bin/python scripts/recipe_study.py grid --cubes real demo50 --models mcnn_seq --variants default no_clip
    # the Markdown tables of docs/training-recipe.md from the collected runs:
    .venv/bin/python scripts/recipe_study.py table --out docs/recipe-study.jsonl

Cubes (``--cube``):

* ``real``: the shared real cube (``../shared/data/worldcereal_belgium_2021``), split as
  :func:`mcnnseq.experiment.make_experiment` does (seed 0);
* ``real_n1000`` / ``real_n3000``: the same, with the training set cut to 1,000 / 3,000 pixels (and
  the validation set in proportion, 15/55), seeded; the test set is unchanged;
* ``real_every2``: every other date (6 of 12);
* ``real_sparse50``: 50 % of the training and validation NDVI entries set to NaN (seeded): sparse targets;
* ``demo50`` / ``demo70``: the app's default demo scene (200 x 200), 50 % / 70 % cloud, paper protocol.

Variants (``--variant``): ``default`` (``TrainConfig.default``), ``quick``, ``paper`` (the paper's
preset), ``no_<choice>`` = the default recipe without one of its choices, ``add_<choice>`` = the
default recipe with one more candidate choice (see :data:`VARIANTS`).

The score is the mean over scored dates of the per-date test R² (``evaluate(...).per_date.loc["mean"]``),
the number the issue's targets are stated in. One torch thread per run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REAL_CUBE = ROOT.parent / "shared" / "data" / "worldcereal_belgium_2021" / "worldcereal_preprocessed_inputs.nc"
DEFAULT_OUT = ROOT / "docs" / "recipe-study.jsonl"
CUBES = ("real", "real_n1000", "real_n3000", "real_every2", "real_sparse50", "demo50", "demo70")

#: Ablations: the default recipe with one choice undone (``no_``) or one candidate added (``add_``);
#: overrides of ``TrainConfig.default``.
VARIANTS: dict[str, dict] = {
    "default": {},
    "no_adam": {"optimizer": "rmsprop"},                       # RMSprop (the paper's optimiser), same lr
    "no_warmup": {"warmup_steps": 0},
    "no_plateau": {"schedule": "constant", "lr_patience": None},
    "no_clip": {"clip_norm": None},
    "no_forget_bias": {"forget_bias": None},
    "no_output_bias": {"init_output_bias": False},
    "no_small_batch": {"batch_size": 500},                     # the paper's batch
    "no_early_stop": {"patience": None, "max_steps": None, "epochs": 50, "schedule": "constant",
                    "lr_patience": None},                    # the paper's 50 epochs, otherwise the recipe
    "add_teacher_forcing": {"teacher_forcing": 0.5, "teacher_forcing_steps": 2000},
    "lr_1e-3": {"lr": 1e-3},                                 # Adam's usual rate instead of 3e-3
    "add_weight_decay": {"optimizer": "adamw", "weight_decay": 0.1},
    "add_input_noise": {"input_noise": 0.3},
}


def load_cube(name: str, seed: int = 0):
    """``(experiment, train_arrays, val_arrays)`` of cube ``name`` (see the module docstring)."""
    import numpy as np

    from mcnnseq.experiment import demo_experiment, make_experiment
    from mcnnseq.io import open_cube

    if name.startswith("demo"):
        exp = demo_experiment(size=200, seed=0, scenario={"demo50": "50%", "demo70": "70%"}[name])
        return exp, exp.train_arrays(), exp.val_arrays()
    ds = open_cube(REAL_CUBE, nodata=65535, sigma0_log_dn=(20, -83))
    if name == "real_every2":
        ds = ds.isel(time=slice(0, None, 2))
    exp = make_experiment(ds, seed=0)
    (xt, yt), (xv, yv) = exp.train_arrays(), exp.val_arrays()
    rng = np.random.default_rng(1000 + seed)
    if name in ("real_n1000", "real_n3000"):
        n = int(name[len("real_n"):])
        keep_t = np.sort(rng.permutation(len(xt))[:n])
        keep_v = np.sort(rng.permutation(len(xv))[:round(n * 15 / 55)])
        xt, yt, xv, yv = xt[keep_t], yt[keep_t], xv[keep_v], yv[keep_v]
    elif name == "real_sparse50":
        yt, yv = yt.copy(), yv.copy()
        yt[rng.random(yt.shape) < 0.5] = np.nan
        yv[rng.random(yv.shape) < 0.5] = np.nan
    elif name != "real":
        raise SystemExit(f"unknown cube {name!r}; known: {', '.join(CUBES)}")
    return exp, (xt, yt), (xv, yv)


def make_config(model: str, variant: str, seed: int):
    from mcnnseq.training import TrainConfig

    if variant in ("paper", "quick"):
        return TrainConfig.from_preset(variant, model, seed=seed, num_threads=1)
    if variant not in VARIANTS:
        raise SystemExit(f"unknown variant {variant!r}; known: paper, quick, {', '.join(VARIANTS)}")
    return TrainConfig.default(model, seed=seed, num_threads=1, **VARIANTS[variant])


def run_one(cube: str, model: str, variant: str, seed: int, *, verbose: bool = False) -> dict:
    import torch

    from mcnnseq.experiment import evaluate
    from mcnnseq.training import fit

    torch.set_num_threads(1)
    exp, (xt, yt), (xv, yv) = load_cube(cube, seed)
    config = make_config(model, variant, seed)
    t0 = time.perf_counter()
    callbacks = []
    if verbose:
        from mcnnseq.training import Callback

        class Printer(Callback):
            def on_epoch_end(self, r):
                print(f"step {r.step:6d} epoch {r.epoch:7.2f} lr {r.lr:.2e} train {r.train_loss:.5f} "
                      f"val {r.val_loss:.5f} R² {r.val_r2:.4f} ({r.seconds:.1f} s)", file=sys.stderr, flush=True)
        callbacks.append(Printer())
    trained = fit(xt, yt, xv, yv, config, data_signature=exp.signature(), callbacks=callbacks)
    seconds = time.perf_counter() - t0
    mean = evaluate({model: trained}, exp).per_date.loc["mean"]
    best = trained.best_record
    return {"cube": cube, "model": model, "variant": variant, "seed": seed,
            "test_r2": round(float(mean[(model, "r2")]), 4), "test_rmse": round(float(mean[(model, "rmse")]), 4),
            "val_r2": None if best is None else round(best.val_r2, 4),
            "best_step": trained.best_step, "steps": trained.steps, "stop": trained.stop_reason,
            "n_train": trained.n_train, "n_val": trained.n_val, "seconds": round(seconds, 1),
            "config": {k: v for k, v in config.to_dict().items() if k not in ("model", "seed", "num_threads")}}


def _done(out: Path) -> set[tuple]:
    if not out.exists():
        return set()
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    return {(r["cube"], r["model"], r["variant"], r["seed"]) for r in rows}


def cmd_run(args) -> int:
    row = run_one(args.cube, args.model, args.variant, args.seed, verbose=args.verbose)
    line = json.dumps(row)
    print(line, flush=True)
    if args.out:
        with open(args.out, "a") as f:
            f.write(line + "\n")
    return 0


def _other_runs(mine: list) -> int:
    """Study runs on this machine not started by this grid (another grid, a manual run): they take a slot too."""
    own = {p.pid for p in mine} | {os.getpid()}
    count = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in own:
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(part.endswith(b"recipe_study.py") for part in cmd) and b"run" in cmd:
            count += 1
    return count


def cmd_grid(args) -> int:
    todo = [(c, m, v, s) for c in args.cubes for m in args.models for v in args.variants for s in args.seeds
            if (c, m, v, s) not in _done(args.out)]
    print(f"{len(todo)} runs to do", flush=True)
    running: list[subprocess.Popen] = []
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    while todo or running:
        while todo and len(running) + _other_runs(running) < args.jobs:
            c, m, v, s = todo.pop(0)
            cmd = [sys.executable, __file__, "run", "--cube", c, "--model", m, "--variant", v, "--seed", str(s),
                   "--out", str(args.out)]
            # a session of its own per run: with the kernel's autogroup scheduling, runs started from one
            # session would share one CPU slot instead of each getting its own
            running.append(subprocess.Popen(cmd, env=env, start_new_session=True))
        time.sleep(2)
        for p in [p for p in running if p.poll() is not None]:
            running.remove(p)
            if p.returncode:
                print(f"failed ({p.returncode}): {' '.join(p.args)}", flush=True)
    return 0


def cmd_table(args) -> int:
    import pandas as pd

    rows = [json.loads(line) for line in args.out.read_text().splitlines() if line.strip()]
    df = pd.DataFrame(rows).drop_duplicates(["cube", "model", "variant", "seed"], keep="last")
    cubes = [c for c in CUBES if c in set(df["cube"])]
    for model, part in df.groupby("model", sort=False):
        print(f"\n### {model}: mean per-date test R² (mean over seeds; n seeds, minutes per run)\n")
        table = part.groupby(["variant", "cube"])["test_r2"].mean().unstack("cube").reindex(columns=cubes)
        counts = part.groupby(["variant", "cube"])["seed"].nunique().unstack("cube").reindex(columns=cubes)
        minutes = part.groupby("variant")["seconds"].mean() / 60
        order = [v for v in [*VARIANTS, "quick", "paper"] if v in table.index]
        print("| variant | " + " | ".join(cubes) + " | min/run |")
        print("|---|" + "---|" * (len(cubes) + 1))
        for v in order:
            cells = ["—" if pd.isna(table.loc[v, c]) else f"{table.loc[v, c]:.3f} ({int(counts.loc[v, c])})"
                     for c in cubes]
            print(f"| {v} | " + " | ".join(cells) + f" | {minutes[v]:.1f} |")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run")
    p.add_argument("--cube", choices=CUBES, default="real")
    p.add_argument("--model", choices=("mcnn_seq", "cnn", "rnn"), default="mcnn_seq")
    p.add_argument("--variant", default="default")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--verbose", action="store_true", help="print every evaluation point (stderr)")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("grid")
    p.add_argument("--cubes", nargs="+", choices=CUBES, default=["real"])
    p.add_argument("--models", nargs="+", default=["mcnn_seq"])
    p.add_argument("--variants", nargs="+", default=["default"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.set_defaults(func=cmd_grid)
    p = sub.add_parser("table")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.set_defaults(func=cmd_table)
    args = parser.parse_args()
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())

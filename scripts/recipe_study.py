"""Measure the training recipe: each choice of the default recipe against the recipe without it.

    # one run (prints one JSON line and appends it to --out):
    .venv/bin/python scripts/recipe_study.py run --cube real --model mcnn_seq --variant default --seed 0
    # a grid (cubes x models x variants x seeds), at most --jobs processes at a time, runs already in --out skipped:
    .venv/bin/python scripts/recipe_study.py grid --cubes real demo50 --models mcnn_seq --variants default no_clip
    # the Markdown tables of docs/training-recipe.md from the collected runs, and the presets' settings:
    .venv/bin/python scripts/recipe_study.py table --out docs/recipe-study.jsonl
    .venv/bin/python scripts/recipe_study.py presets
    # both, written into their blocks of docs/training-recipe.md:
    .venv/bin/python scripts/recipe_study.py table --into docs/training-recipe.md

Cubes (``--cube``):

* ``real``: the shared real cube (``../shared/data/worldcereal_belgium_2021``), split as
  :func:`mcnnseq.experiment.make_experiment` does (seed 0);
* ``real_rp``: the same cube under the real-cloud protocol (``--protocol real``, the CLI's default on a
  ``--data`` cube; every other cube uses the paper's complete-pixel protocol, see :func:`cube_protocol`);
* ``real_rp_blocked``: ``real_rp`` with the spatially blocked split (the report's second split);
* ``real_n1000`` / ``real_n3000``: the same, with the training set cut to 1,000 / 3,000 pixels (and
  the validation set in proportion, 15/55), seeded; the test set is unchanged;
* ``real_every2``: every other date (6 of 12);
* ``real_sparse50``: 50 % of the training and validation NDVI entries set to NaN (seeded): sparse targets;
* ``real_q0`` … ``real_q3``: one 50 x 50 quadrant of the shared cube (top-left, top-right, bottom-left,
  bottom-right) as a cube of its own, real-cloud protocol, random split (seed 0): a small cube of other fields
  (1,375 training pixels each, the size of the 50 x 48 cube of issue 7);
* ``demo50`` / ``demo70``: the app's default demo scene (200 x 200), 50 % / 70 % cloud, paper protocol.

Models (``--model``): ``mcnn_seq``, ``cnn``, ``rnn``, and ``bilstm_ref``: issue 7's yardstick, a plain
2-layer bidirectional LSTM outside the product (:class:`PlainBiLSTM`; no variants).

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
#: The four 50 x 50 quadrants of the shared cube: small real cubes of their own (other fields of one landscape).
QUADRANTS = ("real_q0", "real_q1", "real_q2", "real_q3")
CUBES = ("real", "real_rp", "real_rp_blocked", "real_n1000", "real_n3000", "real_every2", "real_sparse50", *QUADRANTS,
         "demo50", "demo70")

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
    "add_ema": {"ema_decay": 0.998},                         # Polyak averaging of the weights
}


def cube_protocol(name: str) -> str:
    """The sample protocol of a study cube: ``real_rp``, ``real_rp_blocked`` and the quadrants follow the real-cloud
    protocol (the CLI's default on a ``--data`` cube); every other cube the paper's complete-pixel protocol, the split every row before the
    real-cloud protocol existed was measured on (on the shared cube: 5,499 / 1,500 / 2,999 pixels)."""
    return "real" if name in ("real_rp", "real_rp_blocked", *QUADRANTS) else "paper"


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
    if name in QUADRANTS:
        row, col = divmod(QUADRANTS.index(name), 2)
        ds = ds.isel(y=slice(50 * row, 50 * row + 50), x=slice(50 * col, 50 * col + 50))
    exp = make_experiment(ds, seed=0, protocol=cube_protocol(name),
                          split="blocked" if name == "real_rp_blocked" else "random")
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
    elif name not in ("real", "real_rp", "real_rp_blocked", "real_every2", *QUADRANTS):
        raise SystemExit(f"unknown cube {name!r}; known: {', '.join(CUBES)}")
    return exp, (xt, yt), (xv, yv)


def make_config(model: str, variant: str, seed: int):
    from mcnnseq.training import TrainConfig

    if variant in ("paper", "quick"):
        return TrainConfig.from_preset(variant, model, seed=seed, num_threads=1)
    if variant not in VARIANTS:
        raise SystemExit(f"unknown variant {variant!r}; known: paper, quick, {', '.join(VARIANTS)}")
    return TrainConfig.default(model, seed=seed, num_threads=1, **VARIANTS[variant])


#: The yardstick of issue 7's *Why*: "a plain 2-layer bidirectional LSTM on the same radar (Adam, 80 epochs)".
REFERENCE = "bilstm_ref"


class PlainBiLSTM:
    """Issue 7's yardstick, outside the product: a 2-layer bidirectional LSTM (64 units a direction) on the
    per-channel standardised VV, VH, Dense(1) per date, masked MSE, Adam 1e-3, batch 32, 80 epochs, nothing
    else (no validation, no early stop). ``predict(X)``: ``X`` (n, T, 2) dB -> (n, T) NDVI."""

    def __init__(self, xt, yt, *, seed: int, epochs: int = 80):
        import torch
        from torch import nn

        flat = xt.reshape(-1, xt.shape[-1])
        self.mean, self.std = flat.mean(0), flat.std(0)
        torch.manual_seed(seed)
        self.lstm = nn.LSTM(xt.shape[-1], 64, num_layers=2, batch_first=True, bidirectional=True)
        self.head = nn.Linear(128, 1)
        params = [*self.lstm.parameters(), *self.head.parameters()]
        opt = torch.optim.Adam(params, lr=1e-3)
        x, y = self._tensor(xt), torch.tensor(yt, dtype=torch.float32)
        gen = torch.Generator().manual_seed(seed)
        for _ in range(epochs):
            perm = torch.randperm(len(x), generator=gen)
            for i in range(0, len(x), 32):
                b = perm[i:i + 32]
                valid = torch.isfinite(y[b])
                loss = ((self._forward(x[b]) - torch.nan_to_num(y[b])) ** 2)[valid].mean()
                opt.zero_grad()
                loss.backward()
                opt.step()

    def _tensor(self, X):
        import torch
        return torch.tensor((X - self.mean) / self.std, dtype=torch.float32)

    def _forward(self, x):
        return self.head(self.lstm(x)[0]).squeeze(-1)

    def predict(self, X):
        import torch
        with torch.no_grad():
            return self._forward(self._tensor(X)).numpy()


def run_reference(cube: str, seed: int) -> dict:
    """The plain BiLSTM of issue 7 on ``cube``, scored like the study's runs."""
    import torch

    from mcnnseq.experiment import evaluate

    torch.set_num_threads(1)
    exp, (xt, yt), _ = load_cube(cube, seed)
    t0 = time.perf_counter()
    model = PlainBiLSTM(xt, yt, seed=seed)
    seconds = time.perf_counter() - t0
    mean = evaluate({REFERENCE: model}, exp).per_date.loc["mean"]
    return {"cube": cube, "model": REFERENCE, "variant": "default", "seed": seed,
            "test_r2": round(float(mean[(REFERENCE, "r2")]), 4),
            "test_rmse": round(float(mean[(REFERENCE, "rmse")]), 4), "val_r2": None, "best_step": None,
            "steps": 80 * -(-len(xt) // 32), "stop": "completed", "n_train": len(xt), "n_val": 0,
            "seconds": round(seconds, 1), "protocol": cube_protocol(cube), "load": round(os.getloadavg()[0], 2),
            "config": {"reference": "2-layer BiLSTM, 64 units, Adam 1e-3, batch 32, 80 epochs"}}


def run_one(cube: str, model: str, variant: str, seed: int, *, verbose: bool = False) -> dict:
    import torch

    from mcnnseq.experiment import evaluate
    from mcnnseq.training import fit

    if model == REFERENCE:
        if variant != "default":
            raise SystemExit(f"{REFERENCE} is a fixed yardstick: it has no variants")
        return run_reference(cube, seed)
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
            "protocol": cube_protocol(cube), "load": round(os.getloadavg()[0], 2),
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


def _rows(out: Path):
    import pandas as pd

    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    df = pd.DataFrame(rows).drop_duplicates(["cube", "model", "variant", "seed"], keep="last")
    if "protocol" not in df:
        df["protocol"] = None
    df["protocol"] = df["protocol"].fillna("paper")  # every row before the field existed used the paper's split
    if "config" not in df:
        df["config"] = None
    return df


def _cell(values) -> str:
    values = [v for v in values if v == v]
    if not values:
        return "—"
    mean = sum(values) / len(values)
    return f"{mean:.3f} ({len(values)})"


def table_markdown(out: Path = DEFAULT_OUT) -> str:
    """Markdown: per model, mean per-date test R² by variant and cube; then each variant minus the default on
    the same cube and seeds; then where each row came from (seeds, recorded configuration, load)."""
    lines: list[str] = []
    print = lines.append  # noqa: A001  (the table is built line by line)
    df = _rows(out)
    cubes = [c for c in CUBES if c in set(df["cube"])]
    models = [m for m in ("mcnn_seq", "cnn", "rnn", REFERENCE) if m in set(df["model"])]
    order = [v for v in dict.fromkeys(["default", "quick", "paper", *VARIANTS]) if v in set(df["variant"])]
    for model in models:
        part = df[df["model"] == model]
        print(f"\n#### {model}: mean per-date test R² (mean over seeds, number of seeds in brackets)\n")
        print("| variant | " + " | ".join(cubes) + " | minutes per run |")
        print("|---|" + "---|" * (len(cubes) + 1))
        for v in [v for v in order if v in set(part["variant"])]:
            rows = part[part["variant"] == v]
            cells = [_cell(list(rows[rows["cube"] == c]["test_r2"])) for c in cubes]
            print(f"| {v} | " + " | ".join(cells) + f" | {rows['seconds'].mean() / 60:.1f} |")
    print("\n#### Each variant minus the default recipe (same cube, same seeds; mean, number of pairs)\n")
    print("| model | variant | " + " | ".join(cubes) + " |")
    print("|---|---|" + "---|" * len(cubes))
    base = df[df["variant"] == "default"].set_index(["cube", "model", "seed"])["test_r2"]
    for model in models:
        for v in [v for v in order if v != "default"]:
            rows = df[(df["model"] == model) & (df["variant"] == v)]
            if rows.empty:
                continue
            cells = []
            for c in cubes:
                diffs = [r.test_r2 - base[(c, model, r.seed)] for r in rows[rows["cube"] == c].itertuples()
                         if (c, model, r.seed) in base.index]
                cells.append("—" if not diffs else f"{sum(diffs) / len(diffs):+.3f} ({len(diffs)})")
            print(f"| {model} | {v} | " + " | ".join(cells) + " |")
    print("\n#### The default recipe: where its runs stopped (per cube and model, over seeds)\n")
    print("| cube | model | training pixels | test R² (min–max) | best step | steps run | stop |")
    print("|---|---|---|---|---|---|---|")
    for c in cubes:
        for model in models:
            rows = df[(df["variant"] == "default") & (df["cube"] == c) & (df["model"] == model)]
            if rows.empty:
                continue
            stops = ", ".join(f"{k} {n}" for k, n in rows["stop"].value_counts().items())
            lo, hi = rows["test_r2"].min(), rows["test_r2"].max()
            r2 = f"{lo:.3f}" if len(rows) == 1 else f"{lo:.3f}–{hi:.3f} ({len(rows)} seeds)"
            print(f"| {c} | {model} | {int(rows['n_train'].iloc[0]):,} | {r2} | {_span(rows['best_step'])} | "
                  f"{_span(rows['steps'])} | {stops} |")
    no_config = df[df["config"].isna()]
    print(f"\n{len(df)} runs; {int((df.groupby(['cube', 'model', 'variant'])['seed'].nunique() == 1).sum())} of "
          f"{df.groupby(['cube', 'model', 'variant']).ngroups} (cube, model, variant) cells have one seed only.")
    if len(no_config):
        print(f"{len(no_config)} runs predate the recorded configuration (the variant name is all that says what "
              "ran): " + ", ".join(f"{r.cube}/{r.model}/{r.variant}/seed {r.seed}" for r in no_config.itertuples())
              + ".")
    if "load" in df and df["load"].notna().any():
        loads = df["load"].dropna()
        print(f"1-min load average at the end of the {len(loads)} runs that recorded it: median {loads.median():.1f}, "
              f"max {loads.max():.1f} (2 CPUs); the others ran on the same shared machine, load not recorded.")
    return "\n".join(lines).strip() + "\n"


def presets_markdown() -> str:
    """Markdown: the settings of each preset (``mcnnseq.training.PRESETS``), straight from ``TrainConfig``."""
    from mcnnseq.training import PRESETS, TrainConfig

    configs = {name: TrainConfig.from_preset(name).to_dict() for name in PRESETS}
    skip = {"model", "hparams", "seed", "device", "num_threads", "preset", "restore_best"}
    keys = [k for k in configs["default"] if k not in skip]
    lines = ["| setting | " + " | ".join(f"{name} ({PRESETS[name].label})" for name in configs) + " |",
             "|---|" + "---|" * len(configs)]
    for k in keys:
        cells = ["—" if c[k] is None else f"`{c[k]}`" for c in configs.values()]
        lines.append(f"| `{k}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def generated_blocks(out: Path = DEFAULT_OUT) -> dict[str, str]:
    """The generated blocks of docs/training-recipe.md, by marker name."""
    return {"presets": presets_markdown(), "study": table_markdown(out)}


def fill_doc(doc: Path, blocks: dict[str, str]) -> str:
    """``doc``'s text with every ``<!-- begin NAME -->`` … ``<!-- end NAME -->`` block replaced by
    ``blocks[NAME]``."""
    import re

    text = doc.read_text()
    for name, body in blocks.items():
        pattern = re.compile(rf"(<!-- begin {name} -->\n).*?(<!-- end {name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"{doc}: no <!-- begin {name} --> … <!-- end {name} --> block")
        text = pattern.sub(lambda m: m.group(1) + body + m.group(2), text)
    return text


def _span(values) -> str:
    values = [v for v in values if v is not None and v == v]
    if not values:
        return "—"
    lo, hi = int(min(values)), int(max(values))
    return f"{lo:,}" if lo == hi else f"{lo:,}–{hi:,}"


def cmd_table(args) -> int:
    if args.into:
        args.into.write_text(fill_doc(args.into, generated_blocks(args.out)))
        print(f"wrote the generated tables into {args.into}")
    else:
        print(table_markdown(args.out))
    return 0


def cmd_presets(args) -> int:
    print(presets_markdown())
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run")
    p.add_argument("--cube", choices=CUBES, default="real")
    p.add_argument("--model", choices=("mcnn_seq", "cnn", "rnn", REFERENCE), default="mcnn_seq")
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
    p = sub.add_parser("table", help="the Markdown tables of docs/training-recipe.md from the collected runs")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--into", type=Path, metavar="DOC",
                   help="replace the generated blocks of DOC (docs/training-recipe.md) instead of printing")
    p.set_defaults(func=cmd_table)
    p = sub.add_parser("presets", help="the Markdown table of the presets' settings")
    p.set_defaults(func=cmd_presets)
    args = parser.parse_args()
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())

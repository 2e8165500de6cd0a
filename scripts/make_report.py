"""Regenerate ``docs/reproduction-report.md``: every model's per-date and by-gap scores, on the demo and a real cube.

    .venv/bin/python scripts/make_report.py                 # trains what is not cached yet (long: see below)
    .venv/bin/python scripts/make_report.py --parts real    # only the real-cube sections (trains, caches)

1. the shipped demo models (``assets/models/``) on the simulated demo scene, 50 % and 70 % cloud, with
   the classic gap-fillers beside them: per-date R²/RMSE over the test pixels (Table 4 form, the paper
   protocol), per-crop agreement (Table 3 form) and the error by gap length (k consecutive observed
   dates hidden on each test pixel);
2. the real Sentinel-1/Sentinel-2 cube in ``../shared/data`` (Belgium 2020–21, 12 monthly dates) under
   the real-cloud protocol with the **default** training recipe, for both split kinds (random pixels and
   spatial blocks): the networks trained by this script, the classic gap-fillers, per-date means and the
   error by gap length.

Models trained here are cached as checkpoints in ``--cache`` (default ``out/report-models``) under a
name that says cube, protocol, split, model, preset and seed; a cached checkpoint is reused only when
its training configuration and data signature equal what this run would train (same seed → same
weights, so reuse changes no number). Delete the folder to retrain from scratch: on the 2-core
development machine the real-cube networks take about an hour. What it prints is what it writes; the
discussion below the tables is ``docs/report-discussion.md``, written by hand from these numbers.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mcnnseq.experiment import (  # noqa: E402
    MODEL_ORDER, crop_metrics, evaluate, gap_fillers, make_experiment, train,
)
from mcnnseq.models.registry import DEFAULT_GAP_FILLER, MODELS, display_name  # noqa: E402
from mcnnseq.paper import table4  # noqa: E402
from mcnnseq.pretrained import DEMO_SETTINGS, demo_experiment_for_models, load_demo_models  # noqa: E402
from mcnnseq.reporting import format_crop_table, format_date_table, format_gap_table  # noqa: E402
from mcnnseq.training import TrainConfig  # noqa: E402

REAL_CUBE = ROOT.parent / "shared" / "data" / "worldcereal_belgium_2021" / "worldcereal_preprocessed_inputs.nc"
REAL_OPTIONS = {"nodata": 65535, "sigma0_log_dn": (20.0, -83.0)}
#: the networks trained on the real cube: the paper's three, then any later network of the registry
REAL_NETWORKS: tuple[str, ...] = MODEL_ORDER + tuple(n for n in MODELS if n not in MODEL_ORDER)
SPLITS: tuple[str, ...] = ("random", "blocked")


def _means_line(table) -> str:
    mean = table.loc["mean"]
    models = list(dict.fromkeys(table.columns.get_level_values(0)))
    return ", ".join(f"{m} R² {mean[(m, 'r2')]:.3f} / RMSE {mean[(m, 'rmse')]:.3f}" for m in models)


def _shipped_fusion(scenario: str) -> dict:
    """The shipped demo MCNN-Seq fusion model of ``scenario``, when it has been built."""
    from mcnnseq.checkpoints import load_checkpoint
    from mcnnseq.pretrained import demo_model_path

    path = demo_model_path(scenario, DEFAULT_GAP_FILLER)
    if not path.exists():
        print(f"(no shipped fusion model at {path})", flush=True)
        return {}
    model = load_checkpoint(path)
    return {model.name: model}


def _gap_and_coverage(ev) -> list[str]:
    """Markdown lines: the by-gap table, then the ±2σ coverage."""
    return ["By gap length (R² and RMSE over the hidden values):", "", format_gap_table(ev.by_gap, markdown=True),
            "", *_coverage(ev)]


def _coverage(ev) -> list[str]:
    """Markdown lines: each network's share of held-out truths within ±2σ (target 0.95)."""
    if not ev.coverage:
        return []
    lines = ["Share of held-out truths within ±2σ of each network's calibrated σ (target 0.95):", "",
             "| model | test pixels | artificial gaps | k=1 | k=2 | k=3 | k=4 |", "|---|---|---|---|---|---|---|"]
    for name, cov in ev.coverage.items():
        by_k = " | ".join(f"{cov['gap'].get(str(k), float('nan')):.3f}" for k in (1, 2, 3, 4))
        lines.append(f"| {name} | {cov['test']:.3f} | {cov['gaps']:.3f} | {by_k} |")
    return lines + [""]


def _cached_train(exp, config: TrainConfig, path: Path):
    """Train ``config`` on ``exp`` unless ``path`` holds a checkpoint of the very same training."""
    from mcnnseq.checkpoints import load_checkpoint, save_checkpoint
    from mcnnseq.errors import CheckpointError

    if path.exists():
        try:
            cached = load_checkpoint(path)
        except CheckpointError as err:
            print(f"(ignoring {path}: {err})", flush=True)
        else:
            from mcnnseq.experiment import _jsonable

            same_config = _jsonable(cached.config.to_dict()) == _jsonable(config.to_dict())
            same_data = all(cached.data_signature.get(k) == v for k, v in _jsonable(exp.signature()).items())
            if same_config and same_data:
                print(f"(reusing {path})", flush=True)
                return cached
    t0 = time.perf_counter()
    model = train(exp, config)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(model, path)
    print(f"(trained {config.model} in {time.perf_counter() - t0:.0f} s, {model.steps:,} steps, "
          f"stop: {model.stop_reason} -> {path})", flush=True)
    return model


def main() -> int:
    parser = argparse.ArgumentParser(description="Regenerate the reproduction report.")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "reproduction-report.md")
    parser.add_argument("--cache", type=Path, default=ROOT / "out" / "report-models",
                        help="folder of the checkpoints this script trains (reused when identical)")
    parser.add_argument("--parts", nargs="+", choices=("demo", "real"), default=["demo", "real"])
    parser.add_argument("--preset", default="default", help="training preset of the real-cube networks")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip", nargs="*", default=[], metavar="MODEL@SPLIT",
                        help="left out, e.g. mcnn_seq_fusion@blocked (a real-cube training) or mcnn_seq_fusion@demo "
                             "(the shipped fusion model on the demo tables); the report says so")
    args = parser.parse_args()
    command = " ".join(["scripts/make_report.py", *sys.argv[1:]])
    t0 = time.perf_counter()
    parts = ["# Reproduction report", "",
             f"Generated by `.venv/bin/python {command}` (seed {args.seed}). "
             "R² and RMSE of NDVI per date over the test pixels; a date with no truth shows —. "
             "Gap-fillers (Linear, Whittaker) are scored leave-one-date-out on the per-date tables. "
             "*By gap length*: k consecutive observed dates hidden on each test pixel (seeded), "
             "scored on the hidden values.", ""]

    def emit(text: str = "") -> None:
        print(text, flush=True)
        parts.append(text)

    paper = table4()
    emit("## Paper, Table 4 (subarea 2), for comparison")
    paper_means = ", ".join(f"{m} R² {paper[(m, 'r2')].mean():.3f} / RMSE {paper[(m, 'rmse')].mean():.3f}"
                            for m in ("RNN", "CNN", "MCNN-Seq"))
    emit(f"Mean over 31 dates: {paper_means}")
    emit()

    if "demo" in args.parts:
        for scenario in ("50%", "70%"):
            exp = demo_experiment_for_models(scenario)
            fusion = {} if f"{DEFAULT_GAP_FILLER}@demo" in args.skip else _shipped_fusion(scenario)
            models = {**load_demo_models(scenario), **fusion, **gap_fillers(exp)}
            ev = evaluate(models, exp)
            sizes = exp.split.sizes()
            emit(f"## Simulated demo scene, {scenario} cloud — SIMULATED data")
            emit(f"{DEMO_SETTINGS['size']}×{DEMO_SETTINGS['size']} pixels, seed {DEMO_SETTINGS['seed']}, "
                 f"simulator {exp.ds.attrs.get('simulator_version')}, paper protocol; train {sizes['train']}, "
                 f"validation {sizes['val']}, test {sizes['test']} pixels; shipped models in `assets/models/` "
                 "(`scripts/train_demo_models.py`, default recipe)."
                 + (" The shipped MCNN-Seq fusion is left out here (`--skip mcnn_seq_fusion@demo`): its "
                    "leave-one-date-out scoring of every test value takes minutes on 2 cores."
                    if f"{DEFAULT_GAP_FILLER}@demo" in args.skip else ""))
            emit()
            emit(f"Mean over dates: {_means_line(ev.per_date)}")
            emit()
            emit(format_date_table(ev.per_date, markdown=True))
            emit()
            _, agreement = crop_metrics(models, exp, evaluation=ev)
            emit("Per-crop mean-profile agreement on the test pixels (Table 3 form):")
            emit()
            emit(format_crop_table(agreement, markdown=True))
            emit()
            for line in _gap_and_coverage(ev):
                emit(line)

    if "real" in args.parts and REAL_CUBE.exists():
        from mcnnseq.io import open_cube

        ds = open_cube(REAL_CUBE, **REAL_OPTIONS)
        for split in SPLITS:
            exp = make_experiment(ds, seed=args.seed, split=split)
            trained = {}
            skipped = [n for n in REAL_NETWORKS if f"{n}@{split}" in args.skip]
            for name in REAL_NETWORKS:
                if name in skipped:
                    continue
                config = TrainConfig.from_preset(args.preset, name, seed=args.seed)
                path = args.cache / f"real_{exp.signature().get('protocol')}_{split}_{name}_{args.preset}_s{args.seed}.pt"
                trained[display_name(name)] = _cached_train(exp, config, path)
            ev = evaluate({**trained, **gap_fillers(exp)}, exp)
            emit(f"## Real cube: Belgium 2020–21 (WorldCereal openEO test cube), real clouds, {split} split")
            emit(f"`open_cube(path, nodata=65535, sigma0_log_dn=(20, -83))`, `make_experiment(ds, seed={args.seed}, "
                 f"split={split!r})`; {exp.samples.summary()}"
                 + (f" (blocks of {exp.split.block_size} px)" if exp.split.block_size else "")
                 + f"; networks trained with the {args.preset} preset (seed {args.seed}): "
                 + ", ".join(f"{n} {m.steps:,} steps (best {m.best_step:,}, {m.stop_reason})"
                             for n, m in trained.items()) + "."
                 + (f" Not trained in this run (`--skip`): {', '.join(display_name(n) for n in skipped)}."
                    if skipped else ""))
            emit()
            emit(f"Mean over scored dates: {_means_line(ev.per_date)}")
            emit()
            emit(format_date_table(ev.per_date, markdown=True))
            emit()
            for line in _gap_and_coverage(ev):
                emit(line)
    elif "real" in args.parts:
        emit(f"(real cube not found at {REAL_CUBE}; section skipped)")

    discussion = ROOT / "docs" / "report-discussion.md"
    if discussion.exists():
        parts += ["", discussion.read_text().strip(), ""]
    if set(args.parts) == {"demo", "real"}:
        args.out.write_text("\n".join(parts) + "\n")
        print(f"\nwrote {args.out} ({time.perf_counter() - t0:.0f} s)")
    else:
        print(f"\n(partial run: {args.out} not written; {time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Command line: ``python -m mcnnseq {info,demo,train,evaluate,predict} …``.

Every user error (bad file, bad option) prints one line ``error: <file>: <problem>`` and exits 2;
no traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from mcnnseq.errors import McnnSeqError


def _add_data_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data (a cube file, or the simulated demo scene when --data is not given)")
    g.add_argument("--data", type=Path, help="NetCDF (.nc) or Zarr cube")
    g.add_argument("--nodata", type=float, default=None, help="value to mask in every variable (e.g. 65535)")
    g.add_argument("--sigma0", choices=("auto", "db", "linear"), default="auto",
                   help="how radar values are stored (default: auto-detect dB or linear)")
    g.add_argument("--sigma0-log-dn", nargs=2, type=float, metavar=("GAIN", "OFFSET"), default=None,
                   help="radar stored as digital numbers: dB = GAIN*log10(DN) + OFFSET (real cube: 20 -83)")
    g.add_argument("--artificial-clouds", type=float, default=None, metavar="FRACTION",
                   help="lay a seeded cloud mask on this fraction of the pixels (scored against the hidden NDVI)")
    g.add_argument("--demo-size", type=int, default=200, help="demo scene size in pixels per side (default 200)")
    g.add_argument("--seed", type=int, default=0, help="seed of the demo scene, clouds and split (default 0)")
    g.add_argument("--scenario", choices=("50%", "70%", "none"), default="50%", help="demo cloud scenario")


def _load_experiment(args):
    from mcnnseq.experiment import demo_experiment, make_experiment

    if args.data is None:
        return demo_experiment(size=args.demo_size, seed=args.seed, scenario=args.scenario, split_seed=args.seed)
    ds = _open(args)
    if args.artificial_clouds:
        from mcnnseq.sim import add_artificial_clouds

        ds = add_artificial_clouds(ds, pixel_fraction=args.artificial_clouds, seed=args.seed)
    return make_experiment(ds, seed=args.seed)


def _open(args):
    from mcnnseq.io import open_cube

    opts = {"nodata": args.nodata, "sigma0": args.sigma0}
    if args.sigma0_log_dn is not None:
        opts["sigma0_log_dn"] = tuple(args.sigma0_log_dn)
    return open_cube(args.data, **opts)


def cmd_info(args) -> int:
    from mcnnseq.datacube import summarize_cube, validate_cube

    if args.data is None:
        from mcnnseq.sim import simulate_scene

        ds = simulate_scene(size=args.demo_size, seed=args.seed, scenario=args.scenario)
    else:
        ds = _open(args)
    validate_cube(ds)
    print(summarize_cube(ds, source=str(args.data) if args.data else None).to_text())
    return 0


def cmd_demo(args) -> int:
    from mcnnseq.io import write_netcdf
    from mcnnseq.sim import simulate_scene

    t0 = time.perf_counter()
    ds = simulate_scene(size=args.demo_size, seed=args.seed, scenario=args.scenario)
    write_netcdf(ds, args.output)
    print(f"wrote {args.output}: simulated {args.demo_size}x{args.demo_size} scene, scenario {args.scenario}, "
          f"seed {args.seed} ({time.perf_counter() - t0:.1f} s)")
    return 0


def cmd_train(args) -> int:
    from mcnnseq.checkpoints import save_checkpoint
    from mcnnseq.experiment import train
    from mcnnseq.training import Callback, TrainConfig

    exp = _load_experiment(args)
    maker = TrainConfig.quick if args.quick else TrainConfig.paper
    overrides = {k: v for k, v in {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
                                   "patience": args.patience, "max_train_samples": args.max_train_samples,
                                   "device": args.device}.items() if v is not None}
    config = maker(args.model, seed=args.seed, **overrides)

    class Printer(Callback):
        def on_epoch_end(self, r):
            print(f"epoch {r.epoch:3d}  train loss {r.train_loss:.5f} R² {r.train_r2:.3f}  "
                  f"val loss {r.val_loss:.5f} R² {r.val_r2:.3f}  ({r.seconds:.1f} s)", flush=True)

    sizes = exp.split.sizes()
    print(f"{exp.source}: train {sizes['train']}, validation {sizes['val']}, test {sizes['test']} pixels; "
          f"model {config.model}, {config.epochs} epochs", flush=True)
    trained = train(exp, config, callbacks=[Printer()])
    save_checkpoint(trained, args.output)
    print(f"wrote {args.output} (best epoch {trained.best_epoch}, stop: {trained.stop_reason})")
    return 0


def _load_models(paths: list[Path] | None, scenario: str):
    from mcnnseq.checkpoints import load_checkpoint

    if not paths:
        from mcnnseq.pretrained import load_demo_models

        return load_demo_models(scenario)
    models = {}
    for p in paths:
        m = load_checkpoint(p)
        models[m.name] = m
    return models


def cmd_evaluate(args) -> int:
    from mcnnseq.checkpoints import check_compatible
    from mcnnseq.experiment import crop_metrics, evaluate
    from mcnnseq.reporting import format_crop_table, format_date_table

    t0 = time.perf_counter()
    if not args.models and args.data is None:
        from mcnnseq.pretrained import demo_experiment_for_models

        exp = demo_experiment_for_models(args.scenario)
    else:
        exp = _load_experiment(args)
    models = _load_models(args.models, args.scenario)
    for m in models.values():
        check_compatible(m, t_in=exp.ds.sizes["time"], t_out=exp.ds.sizes["time"])
    ev = evaluate(models, exp)
    print(f"Per-date test R² and RMSE (Table 4 form) — {exp.source}, {exp.split.sizes()['test']} test pixels")
    print(format_date_table(ev.per_date))
    if "crop" in exp.ds.variables:
        _, agreement = crop_metrics(models, exp, evaluation=ev)
        print("\nPer-crop mean-profile agreement on the test pixels (Table 3 form)")
        print(format_crop_table(agreement))
    print(f"\n({time.perf_counter() - t0:.1f} s)")
    if args.csv:
        ev.per_date.to_csv(args.csv)
        print(f"wrote {args.csv}")
    return 0


def cmd_predict(args) -> int:
    from mcnnseq.checkpoints import check_compatible, load_checkpoint
    from mcnnseq.io import write_geotiff_stack, write_netcdf
    from mcnnseq.prediction import predict_cube

    ds = _open(args) if args.data is not None else _load_experiment(args).ds
    model = load_checkpoint(args.model)
    check_compatible(model, t_in=ds.sizes["time"], t_out=ds.sizes["time"])

    def progress(done: int, total: int) -> None:
        print(f"\rpredicting {100 * done / total:5.1f} %", end="", file=sys.stderr, flush=True)

    out = predict_cube(model, ds, progress=progress, precision=args.precision)
    print(file=sys.stderr)
    target = Path(args.output)
    if target.suffix.lower() in (".tif", ".tiff"):
        stem = target.with_suffix("")
        for var in ("ndvi_pred", "ndvi_filled"):
            path = stem.parent / f"{stem.name}_{var}.tif"
            write_geotiff_stack(out, path, variable=var)
            print(f"wrote {path}")
    else:
        write_netcdf(out, target, validate=False)  # a prediction cube, not an input datacube
        print(f"wrote {target}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from mcnnseq.prediction import PRECISIONS, SCENE_PRECISION

    parser = argparse.ArgumentParser(prog="python -m mcnnseq", description=(
        "MCNN-Seq Studio: fill Sentinel-2 NDVI gaps from Sentinel-1 radar (Zhao et al., RSE 2020)."))
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("info", help="validate a cube and print its summary (dates, grid, value ranges)")
    _add_data_options(p)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("demo", help="write the simulated demo scene to a NetCDF file")
    _add_data_options(p)
    p.add_argument("-o", "--output", type=Path, required=True)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("train", help="train a model on a cube (paper protocol) and save a checkpoint")
    _add_data_options(p)
    p.add_argument("--model", choices=("mcnn_seq", "cnn", "rnn"), default="mcnn_seq")
    p.add_argument("--quick", action="store_true", help="quick preset: a sample of pixels, few epochs")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--patience", type=int)
    p.add_argument("--max-train-samples", type=int)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"))
    p.add_argument("-o", "--output", type=Path, required=True)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="print per-date (Table 4) and per-crop (Table 3) accuracy on the test pixels")
    _add_data_options(p)
    p.add_argument("--models", type=Path, nargs="*", help="checkpoints (default: the shipped demo models)")
    p.add_argument("--csv", type=Path, help="also write the per-date table as CSV")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="predict a whole cube; write NetCDF (.nc) or GeoTIFF (.tif) stacks")
    _add_data_options(p)
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--precision", choices=PRECISIONS, default=SCENE_PRECISION,
                   help="auto (default): bfloat16 matrix work where the CPU/GPU has it natively, else the fast "
                        "float32 path; reference: the model's own float32 forward (slower, the evaluation's numbers)")
    p.set_defaults(func=cmd_predict)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except McnnSeqError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"error: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2

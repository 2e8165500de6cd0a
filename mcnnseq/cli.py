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
    g = p.add_argument_group("data (a cube file, a STAC catalog, a parcel/point table, or the simulated demo "
                             "scene when none is given)")
    source = g.add_mutually_exclusive_group()
    source.add_argument("--data", type=Path, help="NetCDF (.nc) or Zarr cube")
    source.add_argument("--stac", metavar="CATALOG",
                        help="STAC API URL or static catalog (catalog.json) with Sentinel-1 RTC and Sentinel-2 L2A "
                             "items; needs --bbox, --start, --end")
    source.add_argument("--table", type=Path, metavar="PATH",
                        help="parcel/point table, CSV or Parquet, long form: id, date, vv, vh (dB), ndvi "
                             "[, crop, lon, lat]")
    g.add_argument("--bbox", nargs=4, type=float, metavar=("MINLON", "MINLAT", "MAXLON", "MAXLAT"),
                   help="area to load from --stac, in degrees")
    g.add_argument("--start", metavar="DATE", help="first date to load from --stac (YYYY-MM-DD)")
    g.add_argument("--end", metavar="DATE", help="last date to load from --stac (YYYY-MM-DD)")
    g.add_argument("--s1-collection", default=None, metavar="ID",
                   help="Sentinel-1 RTC collection of --stac (default sentinel-1-rtc)")
    g.add_argument("--s2-collection", default=None, metavar="ID",
                   help="Sentinel-2 L2A collection of --stac (default sentinel-2-l2a)")
    g.add_argument("--resolution", type=float, default=10.0, help="pixel size of --stac in metres (default 10)")
    g.add_argument("--crs", default=None,
                   help="grid CRS for --stac (default: the UTM zone of the bbox), or the CRS of a table's x/y columns")
    g.add_argument("--tolerance-days", type=float, default=6.0,
                   help="largest S1-S2 date gap when pairing dates of --stac or --table (default 6)")
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


def _add_protocol_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("protocol (which pixels are samples, how they are split)")
    g.add_argument("--protocol", choices=("real", "paper"), default=None,
                   help="real: pixels with complete radar and enough clear NDVI dates (default on a --data cube); "
                        "paper: only pixels clear on every observed date (default on the demo scene)")
    g.add_argument("--split", choices=("random", "blocked"), default="random",
                   help="random pixels (default), or square blocks of pixels wholly to train/validation/test")
    g.add_argument("--block-size", type=int, default=None, metavar="N",
                   help="side of the blocks of --split blocked, in pixels (default: automatic, at most 32)")


def _protocol(args) -> str:
    from mcnnseq.experiment import DEMO_PROTOCOL

    chosen = getattr(args, "protocol", None)
    return chosen or (DEMO_PROTOCOL if not _data_given(args) else "real")


def _data_given(args) -> bool:
    """True when the user named data (--data, --stac or --table); otherwise the demo scene is used."""
    return any(getattr(args, k, None) is not None for k in ("data", "stac", "table"))


def _load_experiment(args):
    from mcnnseq.experiment import demo_experiment, make_experiment

    protocol, split, block = _protocol(args), getattr(args, "split", "random"), getattr(args, "block_size", None)
    if block is not None and block < 1:
        raise McnnSeqError(f"--block-size must be a positive number of pixels, got {block}")
    if not _data_given(args):
        return demo_experiment(size=args.demo_size, seed=args.seed, scenario=args.scenario, split_seed=args.seed,
                               protocol=protocol, split=split, block_size=block)
    ds = _open(args)
    if args.artificial_clouds:
        from mcnnseq.sim import add_artificial_clouds

        ds = add_artificial_clouds(ds, pixel_fraction=args.artificial_clouds, seed=args.seed)
    return make_experiment(ds, seed=args.seed, protocol=protocol, split=split, block_size=block)


def _report_samples(exp) -> None:
    """The sample summary on stdout; the warning (under 500 training pixels) on stderr."""
    if exp.samples is not None:
        print(exp.samples.summary(), flush=True)
        warning = exp.samples.warning()
        if warning:
            print(f"warning: {exp.source}: {warning}", file=sys.stderr, flush=True)


def _open(args, *, chunks=None):
    """The cube named by --data, --stac or --table, with the decode options that apply to it."""
    from mcnnseq.errors import DatacubeError

    stac_only = {"--bbox": args.bbox, "--start": args.start, "--end": args.end,
                 "--s1-collection": args.s1_collection, "--s2-collection": args.s2_collection}
    if args.stac is None:
        given = [flag for flag, value in stac_only.items() if value is not None]
        if given:
            raise DatacubeError(f"{', '.join(given)} only appl{'y' if len(given) > 1 else 'ies'} to --stac",
                                source="command line")
    if args.stac is not None:
        from mcnnseq.io.stac import S1_COLLECTION, S2_COLLECTION, open_stac

        missing = [flag for flag in ("--bbox", "--start", "--end") if stac_only[flag] is None]
        if missing:
            raise DatacubeError(f"--stac needs {', '.join(missing)} (the area in degrees and the dates to load)",
                                source=args.stac)
        return open_stac(args.stac, bbox=tuple(args.bbox), start=args.start, end=args.end,
                         s1_collection=args.s1_collection or S1_COLLECTION,
                         s2_collection=args.s2_collection or S2_COLLECTION, resolution=args.resolution,
                         crs=args.crs, tolerance_days=args.tolerance_days, chunks=chunks)
    if args.table is not None:
        from mcnnseq.io.table import open_table

        if args.sigma0_log_dn is not None:
            raise DatacubeError("--sigma0-log-dn does not apply to tables (give vv/vh in dB or linear sigma0)",
                                source=str(args.table))
        return open_table(args.table, crs=args.crs, sigma0=args.sigma0, nodata=args.nodata,
                          tolerance_days=args.tolerance_days)
    from mcnnseq.io import open_cube

    opts = {"nodata": args.nodata, "sigma0": args.sigma0}
    if args.sigma0_log_dn is not None:
        opts["sigma0_log_dn"] = tuple(args.sigma0_log_dn)
    if args.crs is not None:
        opts["crs"] = args.crs
    if chunks is not None:
        opts["chunks"] = chunks
    return open_cube(args.data, **opts)


def cmd_info(args) -> int:
    from mcnnseq.datacube import summarize_cube, validate_cube

    if not _data_given(args):
        from mcnnseq.sim import simulate_scene

        ds = simulate_scene(size=args.demo_size, seed=args.seed, scenario=args.scenario)
    else:
        ds = _open(args)
    validate_cube(ds)
    print(summarize_cube(ds, source=str(args.data) if args.data else None).to_text())
    if ds.attrs.get("pairing"):
        print(f"pairing     {ds.attrs['pairing']}")
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
    from mcnnseq.models.registry import MODELS, get_spec
    from mcnnseq.training import PRESETS, Callback, TrainConfig

    spec = get_spec(args.model)
    if not spec.trainable:
        raise McnnSeqError(f"--model {args.model}: {spec.display_name} has no weights to train; evaluate it "
                           f"directly (evaluate --models {spec.name}); networks: {', '.join(MODELS)}")
    preset = "quick" if args.quick else args.preset
    if preset not in PRESETS:
        raise McnnSeqError(f"--preset {preset}: unknown training preset; known: {', '.join(PRESETS)}")
    for flag, value in (("--steps", args.steps), ("--epochs", args.epochs), ("--batch-size", args.batch_size),
                        ("--patience", args.patience), ("--max-train-samples", args.max_train_samples)):
        if value is not None and value < 1:
            raise McnnSeqError(f"{flag} must be a positive whole number, got {value}")
    overrides = {k: v for k, v in {"epochs": args.epochs, "max_steps": args.steps, "batch_size": args.batch_size,
                                   "lr": args.lr, "patience": args.patience,
                                   "max_train_samples": args.max_train_samples,
                                   "device": args.device}.items() if v is not None}
    if args.steps is not None and args.epochs is None:
        overrides["epochs"] = None          # --steps alone: a budget in steps only
    if args.epochs is not None and args.steps is None:
        overrides["max_steps"] = None       # --epochs alone: a budget in epochs only
    config = TrainConfig.from_preset(preset, spec.name, seed=args.seed, **overrides).validate()
    exp = _load_experiment(args)

    class Printer(Callback):
        def on_epoch_end(self, r):
            print(f"step {r.step:6d} (epoch {r.epoch:6.2f})  train loss {r.train_loss:.5f} R² {r.train_r2:.3f}  "
                  f"val loss {r.val_loss:.5f} R² {r.val_r2:.3f}  lr {r.lr:.2g}  ({r.seconds:.1f} s)", flush=True)

    sizes = exp.split.sizes()
    n_train = min(sizes["train"], config.max_train_samples or sizes["train"])
    budget = []
    if config.max_steps is not None:
        budget.append(f"up to {config.max_steps:,} steps")
    if config.epochs is not None:
        budget.append(f"up to {config.epochs} epochs")
    stopping = (f", stops after {config.patience} evaluations without improvement" if config.patience else "")
    _report_samples(exp)
    print(f"{exp.source}: train {sizes['train']}, validation {sizes['val']}, test {sizes['test']} pixels", flush=True)
    print(f"model {config.model}, preset {preset} ({PRESETS[preset].label}): {' and '.join(budget)} "
          f"({config.step_budget(max(n_train, 1)):,} steps of batch {config.batch_size}){stopping}", flush=True)
    trained = train(exp, config, callbacks=[Printer()])
    save_checkpoint(trained, args.output)
    best = trained.best_record
    best_text = "none" if best is None else f"step {best.step} (epoch {best.epoch:.2f}), val R² {best.val_r2:.3f}"
    reasons = {"completed": "the step/epoch budget is spent",
               "early_stopping": f"no validation improvement for {config.patience} evaluations",
               "user": "stopped by the user", "callback": "stopped by a callback",
               "diverged": "the training loss became infinite or NaN"}
    print(f"stop: {trained.stop_reason} ({reasons.get(trained.stop_reason, trained.stop_reason)}) after "
          f"{trained.steps:,} steps; kept the best point: {best_text}")
    sigma = trained.uncertainty
    sigma_text = "none" if sigma is None else f"{sigma['kind']}, scale {sigma['scale']:.3g}"
    print(f"σ model: {sigma_text}")
    print(f"wrote {args.output}")
    return 0


def _load_models(specs: list[str], exp) -> dict:
    """``--models``: checkpoint paths and gap-filler names (``linear``, ``whittaker``), mixed, in order."""
    from mcnnseq.checkpoints import check_compatible, load_checkpoint
    from mcnnseq.models.registry import build_gap_filler, display_name, is_gap_filler

    models = {}
    for spec in specs:
        if is_gap_filler(spec):
            models[display_name(spec)] = build_gap_filler(spec, dates=exp.ds["time"].values)
            continue
        m = load_checkpoint(Path(spec))
        check_compatible(m, t_in=exp.ds.sizes["time"], t_out=exp.ds.sizes["time"])
        name = m.name if m.name not in models else f"{m.name} ({Path(spec).name})"
        models[name] = m
    return models


def _check_trained_split(models: dict, exp) -> None:
    """Warn when a checkpoint of this cube was trained on another protocol/split: its training pixels may be tested."""
    here = exp.signature()
    keys = ("protocol", "split", "split_seed", "block_size")
    for name, m in models.items():
        sig = getattr(m, "data_signature", None) or {}
        if "protocol" not in sig or sig.get("source") != here.get("source"):
            continue
        if any(sig.get(k) != here.get(k) for k in keys):
            trained = ", ".join(f"{k} {sig.get(k)}" for k in keys if sig.get(k) is not None)
            print(f"warning: {name} was trained on this cube with {trained}, but is evaluated on another split: "
                  "some of its training pixels may be test pixels here, which flatters its scores",
                  file=sys.stderr, flush=True)


def cmd_evaluate(args) -> int:
    from mcnnseq.datacube import crop_class_names
    from mcnnseq.experiment import crop_metrics, evaluate, gap_fillers
    from mcnnseq.reporting import format_crop_table, format_date_table, format_days_table, format_gap_table

    t0 = time.perf_counter()
    if not args.models and not _data_given(args):
        from mcnnseq.experiment import DEMO_PROTOCOL
        from mcnnseq.pretrained import demo_experiment_for_models, load_demo_models

        if _protocol(args) != DEMO_PROTOCOL or args.split != "random":
            raise McnnSeqError("the shipped demo models were trained on the paper protocol's random split: evaluate "
                               "them without --protocol/--split, or train models with those options and pass them "
                               "with --models")
        exp = demo_experiment_for_models(args.scenario)
        models = {**load_demo_models(args.scenario), **gap_fillers(exp)}
    else:
        exp = _load_experiment(args)
        if args.models:
            models = _load_models(args.models, exp)
        else:
            models = gap_fillers(exp)
            print("no --models given: evaluating the classic gap-fillers (linear, whittaker); pass checkpoints "
                  "with --models to compare networks", flush=True)
    _report_samples(exp)
    _check_trained_split(models, exp)
    ev = evaluate(models, exp)
    print(f"Per-date test R² and RMSE (Table 4 form) — {exp.source}, {exp.split.sizes()['test']} test pixels; "
          "gap-fillers leave-one-date-out; — = fewer than 20 truths")
    print(format_date_table(ev.per_date))
    if "crop" in exp.ds.variables:
        _, agreement = crop_metrics(models, exp, evaluation=ev)
        print("\nPer-crop mean-profile agreement on the test pixels (Table 3 form)")
        print(format_crop_table(agreement, class_names=crop_class_names(exp.ds)))
    print("\nError by gap length: k consecutive observed dates hidden on each test pixel (seeded), "
          "R² and RMSE over the hidden values")
    print(format_gap_table(ev.by_gap))
    print("\nError by days since the last clear observation before the hidden dates")
    print(format_days_table(ev.by_days))
    if ev.coverage:
        print("\nShare of held-out truths within ±2σ (target 0.95): test pixels, artificial gaps, by gap length")
        for name, cov in ev.coverage.items():
            by_k = "  ".join(f"k={k} {v:.3f}" for k, v in cov["gap"].items())
            print(f"  {name:<18} test {cov['test']:.3f}  gaps {cov['gaps']:.3f}  {by_k}")
    print(f"\n({time.perf_counter() - t0:.1f} s)")
    if args.csv:
        ev.per_date.to_csv(args.csv)
        print(f"wrote {args.csv}")
    if args.json:
        args.json.write_text(ev.to_json(indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


def _chunks_arg(text: str):
    """``--chunks``: ``auto``, ``512`` (square blocks) or ``512,1024`` (rows,cols)."""
    text = text.strip().lower()
    if text == "auto":
        return "auto"
    try:
        parts = [int(p) for p in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) not in (1, 2) or min(parts) < 1:
        raise argparse.ArgumentTypeError(f"expected auto, a block size in pixels (512) or ROWS,COLS (512,1024), "
                                         f"got {text!r}")
    return parts[0] if len(parts) == 1 else (parts[0], parts[1])


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def _cmd_predict_distributed(args) -> int:
    from mcnnseq.checkpoints import check_compatible, load_checkpoint
    from mcnnseq.distributed import PRODUCTS, PortableModel, predict_scene

    target = Path(args.output)
    if target.suffix.lower() not in (".zarr", ".nc"):
        print(f"error: {target.name}: --workers/--scheduler/--chunks write a Zarr store (.zarr) or a NetCDF file "
              "(.nc); GeoTIFF output is for cubes that fit in memory (leave those flags out)", file=sys.stderr)
        return 2
    from mcnnseq.models.registry import build_gap_filler, is_gap_filler

    chunks = args.chunks or "auto"
    if args.table is not None:
        print(f"error: {args.table.name}: a parcel/point table is predicted in memory: leave out "
              "--workers/--scheduler/--chunks/--filled-only and write .csv, .parquet or .nc", file=sys.stderr)
        return 2
    ds = _open(args, chunks=chunks) if _data_given(args) else _load_experiment(args).ds
    if is_gap_filler(args.model):
        spec = PortableModel.from_model(build_gap_filler(args.model, dates=ds["time"].values))
    else:
        model = load_checkpoint(Path(args.model))
        check_compatible(model, t_in=ds.sizes["time"], t_out=ds.sizes["time"])
        spec = PortableModel.from_checkpoint(args.model)
    start = time.perf_counter()

    def progress(done: int, total: int) -> None:
        frac = done / max(total, 1)
        bar = "#" * int(30 * frac)
        print(f"\rpredicting [{bar:<30}] {100 * frac:5.1f} %  {done:,} / {total:,} px  "
              f"{time.perf_counter() - start:6.0f} s", end="", file=sys.stderr, flush=True)

    products = ("ndvi_filled",) if args.filled_only else PRODUCTS
    summary = predict_scene(spec, ds, target, workers=args.workers, scheduler=args.scheduler,
                            chunks=args.chunks, products=products, progress=progress, precision=args.precision)
    print(file=sys.stderr)
    print(summary.to_text())
    return 0


def _default_model(args) -> str:
    """``predict`` without --model: on the demo scene (which has optical observations), the shipped MCNN-Seq
    fusion model — the default gap-filler; on other cubes a checkpoint must be named."""
    if _data_given(args):
        raise McnnSeqError("--model is needed for a cube of your own: a checkpoint trained on its dates (python -m "
                           "mcnnseq train --data ... --model mcnn_seq_fusion -o model.pt) or a gap-filler: linear, "
                           "whittaker")
    from mcnnseq.errors import CheckpointError
    from mcnnseq.models.registry import DEFAULT_GAP_FILLER
    from mcnnseq.pretrained import demo_model_path

    if args.scenario not in ("50%", "70%"):
        raise McnnSeqError("--model is needed: the shipped demo models are for the 50% and 70% scenarios")
    path = demo_model_path(args.scenario, DEFAULT_GAP_FILLER)
    if not path.exists():
        raise CheckpointError("the demo model is missing: build it with `python scripts/train_demo_models.py`",
                              source=str(path))
    print(f"model: {path.name} (the shipped demo gap-filler)", file=sys.stderr, flush=True)
    return str(path)


def cmd_predict(args) -> int:
    from mcnnseq.checkpoints import check_compatible, load_checkpoint
    from mcnnseq.io import write_geotiff_stack, write_netcdf
    from mcnnseq.prediction import predict_cube

    from mcnnseq.datacube import is_points
    from mcnnseq.models.registry import build_gap_filler, is_gap_filler

    if args.workers is not None and args.scheduler is not None:
        print("error: give --workers (a local Dask cluster) or --scheduler (an existing one), not both",
              file=sys.stderr)
        return 2
    if args.model is None:
        args.model = _default_model(args)
    if args.workers is not None or args.scheduler is not None or args.chunks is not None or args.filled_only \
            or Path(args.output).suffix.lower() == ".zarr":
        return _cmd_predict_distributed(args)
    ds = _open(args) if _data_given(args) else _load_experiment(args).ds
    if is_points(ds) and Path(args.output).suffix.lower() in (".tif", ".tiff"):
        from mcnnseq.errors import DatacubeError

        raise DatacubeError("parcel/point series have no raster grid: write them as a table (-o filled.csv or "
                            "filled.parquet) or NetCDF (.nc)", source=str(args.output))
    if is_gap_filler(args.model):
        model = build_gap_filler(args.model, dates=ds["time"].values)
    else:
        model = load_checkpoint(Path(args.model))
        check_compatible(model, t_in=ds.sizes["time"], t_out=ds.sizes["time"])

    def progress(done: int, total: int) -> None:
        print(f"\rpredicting {100 * done / total:5.1f} %", end="", file=sys.stderr, flush=True)

    out = predict_cube(model, ds, progress=progress, precision=args.precision)
    print(file=sys.stderr)
    target = Path(args.output)
    if target.suffix.lower() in (".csv", ".parquet", ".pq"):
        from mcnnseq.io.table import write_table

        write_table(out, target, cube=ds)  # the input's series beside ndvi_pred / ndvi_filled, one row per id and date
        print(f"wrote {target}")
    elif target.suffix.lower() in (".tif", ".tiff"):
        stem = target.with_suffix("")
        for var in ("ndvi_pred", "ndvi_filled", "ndvi_std", "fill_source"):
            if var not in out.data_vars:
                continue
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

    p = sub.add_parser("train", help="train a model on a cube's training pixels and save a checkpoint")
    _add_data_options(p)
    _add_protocol_options(p)
    p.add_argument("--model", default="mcnn_seq", help="the network to train: mcnn_seq (default), cnn, rnn, mcnn_seq_fusion (radar + clear NDVI)")
    p.add_argument("--preset", default="default", metavar="NAME",
                   help="training recipe (mcnnseq.training.PRESETS; docs/training-recipe.md): default (Adam, "
                        "warm-up, clipping, stops on validation), quick (the default on a short step budget), "
                        "paper (RMSprop, lr 0.001, batch 500, 50 epochs)")
    p.add_argument("--quick", action="store_true", help="same as --preset quick")
    p.add_argument("--steps", type=int, help="budget in optimiser steps (replaces the preset's budget)")
    p.add_argument("--epochs", type=int, help="budget in epochs (replaces the preset's budget)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--patience", type=int)
    p.add_argument("--max-train-samples", type=int)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"))
    p.add_argument("-o", "--output", type=Path, required=True)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="print per-date (Table 4), per-crop (Table 3) and by-gap accuracy on the "
                                        "test pixels")
    _add_data_options(p)
    _add_protocol_options(p)
    p.add_argument("--models", nargs="*", metavar="MODEL",
                   help="checkpoint files and/or the gap-fillers linear, whittaker (default: the shipped demo "
                        "models plus linear and whittaker on the demo scene; linear and whittaker on a --data cube)")
    p.add_argument("--csv", type=Path, help="also write the per-date table as CSV")
    p.add_argument("--json", type=Path, metavar="PATH",
                   help="also write the results for scripts: split sizes, per-model mean R²/RMSE, by gap and by days")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="predict a whole cube; write Zarr (.zarr), NetCDF (.nc), GeoTIFF (.tif) "
                                       "stacks, or for a --table a table (.csv, .parquet)",
                       description="Predict every pixel of a cube. With --workers, --scheduler or --chunks (or a .zarr "
                       "output) the cube is opened lazily and predicted block by block on a Dask cluster, with bounded "
                       "memory: cubes larger than memory work.")
    _add_data_options(p)
    p.add_argument("--model", default=None, metavar="MODEL",
                   help="a checkpoint file, or a gap-filler: linear, whittaker (required for --data/--stac/--table; "
                        "on the demo scene the default is the shipped MCNN-Seq fusion model)")
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--precision", choices=PRECISIONS, default=SCENE_PRECISION,
                   help="auto (default): bfloat16 matrix work where the CPU/GPU has it natively, else the fast "
                        "float32 path; reference: the model's own float32 forward (slower, the evaluation's numbers)")
    g = p.add_argument_group("scale (Dask)")
    g.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                   help="predict on a local Dask cluster of N worker processes, one thread each")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="predict on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (workers must see the files)")
    g.add_argument("--chunks", type=_chunks_arg, default=None, metavar="SIZE",
                   help="open the cube lazily in blocks of SIZE pixels (auto, 512 or ROWS,COLS; every date per block)")
    g.add_argument("--filled-only", action="store_true",
                   help="write only ndvi_filled: pixels clear on every date are not predicted (counted separately)")
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

"""Show how hard the simulated demo scene is, against real data (issue #7, SPEC §4).

    nice -n 19 .venv/bin/python scripts/calibrate_difficulty.py           # ~1 min on 2 busy cores
    nice -n 19 .venv/bin/python scripts/calibrate_difficulty.py --json difficulty.json
    nice -n 19 .venv/bin/python scripts/calibrate_difficulty.py --ablation    # the knob table, ~3 min
    .venv/bin/python scripts/calibrate_difficulty.py --levels                 # class-mean NDVI, VV, VH
    OMP_NUM_THREADS=1 .venv/bin/python scripts/calibrate_difficulty.py --timing --sizes 400 1000

For each scene size (default 200 and 400 px, the app's sizes) and seed (default 0-4) it builds the 50 %
and 70 % cloud scenes (the 70 % split inherited from the 50 % one, Table 2) and scores two linear
yardsticks on the test pixels:
  * per-date linear regression NDVI_t ~ VV_t + VH_t (no temporal context), mean R² over the dates:
    target 0.30 … 0.50 (real cubes measured 0.16–0.36);
  * ridge regression of the whole NDVI series on the whole VV+VH series (62 features), mean R²:
    target 0.55 … 0.75 (real cubes 0.47–0.74).
It prints both figures per scenario and size as the mean over the seeds with their spread (min … max),
the per-date detail of one scene (``--size``, ``--seed``) next to the paper's Table 4, its class
proportions against Table 1 and its cloud fractions. Exit status 1 when a mean over the seeds is
outside its band. ``--ablation`` prints instead how each heterogeneity mechanism moves the figures
(one switched off at a time; 50 % scenario). The simulator is never tuned against a network's score.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mcnnseq.paper import CROP_CLASSES, table4  # noqa: E402
from mcnnseq.sim import SIMULATOR_VERSION, simulate_scene  # noqa: E402
from mcnnseq.sim.calibration import (PER_DATE_BAND, REAL_PER_DATE, REAL_SERIES, SERIES_BAND, Difficulty,  # noqa: E402
                                     difficulty, in_band, scenario_difficulties)
from mcnnseq.sim.params import SimParams  # noqa: E402
from mcnnseq.sim.scene import class_proportions  # noqa: E402

SCENARIOS = ("50%", "70%")

#: One mechanism switched off at a time (``--ablation``): label -> SimParams overrides.
ABLATIONS: dict[str, dict] = {
    "speckle 4.4 looks -> 1000 (no speckle)": {"speckle_looks": 1000.0},
    "thermal noise (NESZ) off": {"nesz_db": None},
    "PSF and geolocation off": {"s1_psf_fwhm_m": 0.0, "s2_psf_fwhm_m": 0.0, "s1_geolocation_std_m": 0.0,
                                "s2_geolocation_std_m": 0.0},
    "field structure factors off": {"structure_field_std": 0.0},
    "field canopy water spread off": {"vwc_field_std": 0.0},
    "row direction off": {"row_effect_db": (0.0, 0.0)},
    "tillage roughness off": {"tillage_roughness_db": 0.0},
    "static field roughness off": {"roughness_field_db": 0.0},
    "dew off": {"dew_db": 0.0},
    "irrigation sets off": {"irrigation_set_days": (0.0, 0.0), "irrigation_advance_days": 0.0},
    "soil texture / moisture noise off": {"soil_texture_std": 0.0, "soil_moisture_noise": 0.0},
    "rain pattern uniform": {"rain_spatial_cv": 0.0},
    "greenness / biomass patches off": {"pixel_greenness_std": 0.0, "pixel_biomass_std": 0.0},
    "harvest sweep off": {"harvest_sweep": False},
    "biomass lag spread off": {"biomass_lag_spread": 0.0},
    "non-crop covers off (all bare)": {"farmstead_fraction": 0.0, "canal_fraction": 0.0, "bank_tree_fraction": 0.0},
}
#: Every mechanism above except speckle and thermal noise off at once: the sensor noise alone.
ABLATIONS["all field and pixel heterogeneity off"] = {
    k: v for label, over in ABLATIONS.items() if not label.startswith(("speckle", "thermal")) for k, v in over.items()}
ABLATIONS["... and 7-look speckle, no thermal noise"] = {
    **ABLATIONS["all field and pixel heterogeneity off"], "speckle_looks": 7.0, "nesz_db": None}


def _spread(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ({min(values):.3f} … {max(values):.3f})"


def _scores(size: int, seeds: list[int], params: SimParams) -> dict[str, dict[str, list[float]]]:
    """Per scenario: per-date and series mean R² per seed."""
    out = {s: {"per_date": [], "series": []} for s in SCENARIOS}
    for seed in seeds:
        pair = [simulate_scene(size=size, seed=seed, scenario=s, params=params) for s in SCENARIOS]
        for scen, d in zip(SCENARIOS, scenario_difficulties(*pair, seed=0)):
            out[scen]["per_date"].append(d.per_date_mean)
            out[scen]["series"].append(d.series_mean)
    return out


def _detail(size: int, seed: int, params: SimParams) -> tuple[Difficulty, Difficulty, bool]:
    t0 = time.perf_counter()
    ds50 = simulate_scene(size=size, seed=seed, scenario="50%", params=params)
    t_build = time.perf_counter() - t0
    ds70 = simulate_scene(size=size, seed=seed, scenario="70%", params=params)
    d50, d70 = scenario_difficulties(ds50, ds70, seed=0)
    print(f"Scene {size} x {size} px, seed {seed} (built in {t_build:.1f} s)")
    print("  Class proportions (% of pixels) vs Table 1, " + params.proportions_from)
    target = class_proportions(params.proportions_from)
    crop = ds50["crop"].values
    for code, name in CROP_CLASSES.items():
        print(f"    {code} {name:<18} {100 * (crop == code).mean():5.1f}   (Table 1: {100 * target[code]:5.1f})")
    print("  Pixels with at least one missing NDVI date (clouds, shadows, stripe)")
    for label, ds in (("50%", ds50), ("70%", ds70)):
        cloud = ds["cloud"].values
        per_date = ", ".join(f"{str(t)[5:10]} {100 * f:.0f}%"
                             for t, f in zip(ds["time"].values, cloud.mean(axis=(1, 2))) if f > 0)
        print(f"    {label}: {100 * cloud.any(axis=0).mean():.1f} % of pixels; per date: {per_date}")
    superset = bool((ds50["cloud"].values <= ds70["cloud"].values).all())
    print(f"    70 % mask contains the 50 % mask: {superset}")
    t4 = table4()
    print("  Test R² per date: per-date linear (VV_t, VH_t) and whole-series ridge (62 features), "
          "with the paper's Table 4 RNN / MCNN-Seq")
    print(f"    {'date':<10}  {'lin 50%':>7} {'lin 70%':>7}  {'ser 50%':>7} {'ser 70%':>7}  {'RNN':>6} {'MCNN':>6}")
    for i, date in enumerate(d50.dates):
        print(f"    {date:<10}  {d50.per_date[i]:7.3f} {d70.per_date[i]:7.3f}  {d50.series[i]:7.3f} "
              f"{d70.series[i]:7.3f}  {t4.iloc[i][('RNN', 'r2')]:6.3f} {t4.iloc[i][('MCNN-Seq', 'r2')]:6.3f}")
    print(f"    {'mean':<10}  {d50.per_date_mean:7.3f} {d70.per_date_mean:7.3f}  {d50.series_mean:7.3f} "
          f"{d70.series_mean:7.3f}  {t4[('RNN', 'r2')].mean():6.3f} {t4[('MCNN-Seq', 'r2')].mean():6.3f}")
    print(f"    split sizes: 50 % {d50.sizes}, 70 % {d70.sizes}")
    return d50, d70, superset


def _ablation(sizes: list[int], seeds: list[int]) -> int:
    print(f"How each mechanism moves the yardsticks: 50 % scenario, mean over seeds {seeds}; "
          "one mechanism switched off at a time")
    head = "   ".join(f"{f'{s} px: per-date':>15} {'series':>7}" for s in sizes)
    print(f"  {'change from the defaults':<52} {head}")
    for label, over in [("defaults", {})] + list(ABLATIONS.items()):
        params = SimParams(**over)
        cells = []
        for size in sizes:
            ds = [simulate_scene(size=size, seed=seed, scenario="50%", params=params) for seed in seeds]
            d = [difficulty(x) for x in ds]
            cells.append(f"{np.mean([x.per_date_mean for x in d]):15.3f} {np.mean([x.series_mean for x in d]):7.3f}")
        print(f"  {label:<52} {'   '.join(cells)}", flush=True)
    return 0


def _levels(size: int, seed: int) -> int:
    """Class means of NDVI, VV, VH (dB) on four dates of the scene without clouds."""
    import pandas as pd

    ds = simulate_scene(size=size, seed=seed, scenario="none")
    times = pd.DatetimeIndex(ds["time"].values)
    picks = [int(np.argmin(np.abs((times - pd.Timestamp(d)).days))) for d in
             ("2018-01-16", "2018-04-01", "2018-07-10", "2018-10-18")]
    crop = ds["crop"].values
    print(f"Class means, {size} x {size} px, seed {seed}, scenario none: NDVI / VV dB / VH dB")
    print(f"  {'class':<20}" + "".join(f"{str(times[i].date()):>22}" for i in picks))
    for code, name in CROP_CLASSES.items():
        cells = []
        for i in picks:
            sel = crop == code
            nd, vv, vh = (float(ds[v].values[i][sel].mean()) for v in ("ndvi_true", "vv", "vh"))
            cells.append(f"{nd:5.2f} / {vv:6.1f} / {vh:5.1f}")
        print(f"  {code} {name:<18}" + "".join(f"{c:>22}" for c in cells))
    vh, ndvi = ds["vh"].values, ds["ndvi_true"].values
    print(f"  VH at NDVI < 0.2: median {np.median(vh[ndvi < 0.2]):.1f} dB, share at the -35 dB floor "
          f"{100 * (vh[ndvi < 0.2] <= -35).mean():.1f} %; at NDVI > 0.7: median {np.median(vh[ndvi > 0.7]):.1f} dB")
    return 0


def _timing(sizes: list[int], seeds: list[int]) -> int:
    """Build time of one scene per size: least CPU time (``time.process_time``) and wall time over the seeds."""
    simulate_scene(size=16, seed=0)  # imports, caches
    for size in sizes:
        cpu, wall = [], []
        for seed in seeds:
            c0, w0 = time.process_time(), time.perf_counter()
            simulate_scene(size=size, seed=seed)
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
        print(f"{size} x {size}: CPU {min(cpu):.2f} s, wall {min(wall):.2f} s (least of seeds {seeds})")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[200, 400],
                    help="scene sizes in pixels per side (default 200 400: the app's default and large demo)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="scene seeds (default 0-4)")
    ap.add_argument("--size", type=int, default=400, help="size of the scene shown date by date (default 400)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the scene shown date by date (default 0)")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    ap.add_argument("--ablation", action="store_true", help="print the knob table instead (slow)")
    ap.add_argument("--levels", action="store_true", help="print class-mean NDVI and backscatter of the "
                                                          "--size/--seed scene instead")
    ap.add_argument("--timing", action="store_true", help="print the build time per size instead")
    args = ap.parse_args(argv)
    if args.timing:
        return _timing(args.sizes, args.seeds[:3])
    if args.ablation:
        return _ablation(args.sizes, args.seeds[:2])
    if args.levels:
        return _levels(args.size, args.seed)

    params = SimParams()
    t0 = time.perf_counter()
    print(f"SIMULATED demo scene, simulator {SIMULATOR_VERSION}; the split uses seed 0 (Table 2: 70 % inherits 50 %)")
    print()
    d50, d70, superset = _detail(args.size, args.seed, params)
    print()
    print(f"Difficulty over seeds {args.seeds}: mean (min … max) of the mean test R² over the dates")
    print(f"  per-date linear: target {PER_DATE_BAND[0]:.2f} … {PER_DATE_BAND[1]:.2f} "
          f"(real cubes {REAL_PER_DATE[0]:.2f}–{REAL_PER_DATE[1]:.2f}); whole-series ridge: target "
          f"{SERIES_BAND[0]:.2f} … {SERIES_BAND[1]:.2f} (real cubes {REAL_SERIES[0]:.2f}–{REAL_SERIES[1]:.2f})")
    print(f"  {'size':>8} {'scenario':>8}  {'per-date linear':<24} {'':<8} {'whole-series ridge':<24}")
    ok = superset
    results: dict = {"simulator_version": SIMULATOR_VERSION, "seeds": args.seeds, "bands": {
        "per_date": PER_DATE_BAND, "series": SERIES_BAND}, "sizes": {}}
    single, n_single = 0, 0
    for size in args.sizes:
        scores = _scores(size, args.seeds, params)
        results["sizes"][str(size)] = scores
        for scen in SCENARIOS:
            pd_, se = scores[scen]["per_date"], scores[scen]["series"]
            good_pd, good_se = in_band(float(np.mean(pd_)), PER_DATE_BAND), in_band(float(np.mean(se)), SERIES_BAND)
            ok &= good_pd and good_se
            single += sum(in_band(a, PER_DATE_BAND) and in_band(b, SERIES_BAND) for a, b in zip(pd_, se))
            n_single += len(pd_)
            print(f"  {size:>5} px {scen:>8}  {_spread(pd_):<24} {'IN' if good_pd else 'OUT':<8} "
                  f"{_spread(se):<24} {'IN' if good_se else 'OUT'}")
    print(f"  single scenes with both figures in band: {single} of {n_single}")
    print()
    print(f"Target (means over the seeds, both scenarios, every size): {'IN BAND' if ok else 'OUT OF BAND'}")
    print(f"total {time.perf_counter() - t0:.0f} s")
    if args.json:
        results["detail"] = {"size": args.size, "seed": args.seed, "per_date": {
            "50%": d50.per_date_mean, "70%": d70.per_date_mean}, "series": {
            "50%": d50.series_mean, "70%": d70.series_mean}}
        results["in_band"] = ok
        args.json.write_text(json.dumps(results, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    raise SystemExit(main())

"""How long the app waits for the classic gap-fillers on the demo scene: whole-scene prediction (Map, Export)
and scoring (Dates: leave-one-date-out + artificial gaps on the test pixels), per gap-filler.

Run from the repository root: ``python scripts/measure_app_gap_fillers.py [--size 200] [--json PATH]``.
It goes through the same workspace calls as the pages (``Workspace.scene_predictions``, ``Workspace.evaluation``)
on the default demo scene (paper protocol). Timings depend on the machine's load: compare figures of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=None, help="demo scene side in pixels (default: the app's)")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    from mcnnseq import defaults
    from mcnnseq.workspace import DemoSpec, Workspace

    ws = Workspace(shipped_models=lambda scenario: {})
    ws.use_demo(DemoSpec(size=args.size or defaults.DEMO_SIZE))
    cube = ws.cube
    ny, nx, nt = cube.ds.sizes["y"], cube.ds.sizes["x"], cube.ds.sizes["time"]
    out: dict = {"pixels": ny * nx, "dates": nt, "test_pixels": int(ws.experiment().split.test.size),
                 "load_average": os.getloadavg()[0], "cpus": os.cpu_count()}
    for run in ws.offer_classic():
        start = time.perf_counter()
        ws.scene_predictions([run])
        scene = time.perf_counter() - start
        start = time.perf_counter()
        ev = ws.evaluation([run])
        scoring = time.perf_counter() - start
        key = run.kind.lower()
        out[f"{key}_scene_seconds"] = round(scene, 3)
        out[f"{key}_evaluation_seconds"] = round(scoring, 3)
        out[f"{key}_mean_r2"] = round(float(ev.per_date.loc["mean", (run.name, "r2")]), 4)
        print(f"{run.name}: whole scene ({ny} x {nx} px, {nt} dates) {scene:.2f} s; scoring on "
              f"{out['test_pixels']:,} test pixels {scoring:.2f} s; mean per-date R² {out[f'{key}_mean_r2']:.3f}")
    print(f"load average {out['load_average']:.1f} on {out['cpus']} CPUs")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

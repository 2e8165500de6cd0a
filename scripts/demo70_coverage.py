"""Why ±2σ holds fewer truths on the 70 % demo than on the 50 % one: who the test pixels are.

    .venv/bin/python scripts/demo70_coverage.py

The 70 % scenario inherits its split from the 50 % one (Table 2, :func:`mcnnseq.sampling.inherit_split`):
training and validation keep only the pixels still complete under 70 % cloud, and the others join the test
set. The σ of each shipped radar-only network is calibrated on those validation pixels. This prints, per
network, the ±2σ coverage and the RMSE on the validation pixels, on the test pixels that are complete under
70 % cloud (pixels like the validation ones), and on the other test pixels (under the clouds, scored on
``ndvi_true``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from mcnnseq.checkpoints import load_checkpoint
    from mcnnseq.experiment import demo_experiment
    from mcnnseq.prediction import call_predict_std

    exp = demo_experiment(size=200, seed=0, scenario="70%")
    X, Y = exp.test_arrays()
    complete = np.isfinite(exp.test_observed()).all(axis=1)
    Xv, Yv = exp.val_arrays()
    print(f"70 % demo: {len(Xv):,} validation pixels; test pixels complete under 70 % cloud {int(complete.sum()):,}, "
          f"others {int((~complete).sum()):,}")
    print("model      | coverage: validation, test complete, test other | RMSE: validation, test complete, test other")
    for name in ("mcnn_seq", "cnn", "rnn"):
        model = load_checkpoint(ROOT / "assets" / "models" / f"demo_70_{name}.pt")
        parts = []
        for x, y in ((Xv, Yv), (X[complete], Y[complete]), (X[~complete], Y[~complete])):
            mean, std = call_predict_std(model, x, None)
            ok = np.isfinite(y)
            parts.append((float((np.abs(y - mean) <= 2 * std)[ok].mean()),
                          float(np.sqrt(np.mean((y - mean)[ok] ** 2)))))
        print(f"{name:10s} | " + ", ".join(f"{c:.3f}" for c, _ in parts) + "              | "
              + ", ".join(f"{r:.4f}" for _, r in parts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

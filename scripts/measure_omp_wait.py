"""Prediction speed of the shipped MCNN-Seq in the main thread and in a background thread, as the app runs it.

Run it twice to compare OpenMP's waiting policies (the figure for ``app.py``'s ``OMP_WAIT_POLICY``):

    .venv/bin/python scripts/measure_omp_wait.py                          # OpenMP's default (active spinning)
    OMP_WAIT_POLICY=PASSIVE .venv/bin/python scripts/measure_omp_wait.py  # what app.py sets

Prints pixels per second (2048 pixels of 31 dates, three repeats each). The difference shows on a CPU
that other programs share (spinning threads then wait for descheduled partners); on an idle machine
both policies are close.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def rate(model, X: np.ndarray) -> float:
    start = time.perf_counter()
    model.predict(X)
    return X.shape[0] / (time.perf_counter() - start)


def main() -> None:
    import torch

    from mcnnseq.pretrained import load_demo_models

    model = load_demo_models("50%")["MCNN-Seq"]
    X = np.random.default_rng(0).normal(-15, 3, (2048, 31, 2)).astype(np.float32)
    model.predict(X[:64])
    print(f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(default)')}, torch threads {torch.get_num_threads()}")
    for _ in range(3):
        main_rate = rate(model, X)
        out: list[float] = []
        t = threading.Thread(target=lambda: out.append(rate(model, X)))
        t.start()
        t.join()
        print(f"main thread {main_rate:7.0f} px/s   background thread {out[0]:7.0f} px/s")


if __name__ == "__main__":
    main()

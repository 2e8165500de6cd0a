"""Throughput of the paper-sized MCNN-Seq on this machine's CPU, as a fraction of its float32 matmul peak.

    .venv/bin/python benchmarks/benchmark.py            # about 3 minutes on 2 cores
    .venv/bin/python benchmarks/benchmark.py --quick    # a smoke run (seconds)

Measured in one run, so the ratios are comparable:
1. the float32 matrix-multiply peak (best of several ``torch.mm`` of large square matrices);
2. prediction pixels/s and training samples/s of the packaged model through the package's own code
   paths (``TrainedModel.predict`` with its default CPU batch of 512; ``mcnnseq.training.fit``, one
   epoch of 10,000 samples with the paper's settings: RMSprop, lr 0.001, batch 500), and of a
   straightforward eager reference of the same model (``reference_mcnn_seq.py``, same weights, same
   outputs — checked) run with the same batches and optimiser;
3. each throughput as achieved GFLOP/s (matmul FLOPs of the model, counted analytically below) and as a
   fraction of the peak.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reference_mcnn_seq import ReferenceMCNNSeq  # noqa: E402

from mcnnseq.models.mcnn_seq import MCNNSeq  # noqa: E402
from mcnnseq.normalization import Normalizer  # noqa: E402
from mcnnseq.training import TrainConfig, TrainedModel, fit  # noqa: E402


def matmul_peak_gflops(*, n: int = 2048, repeats: int = 10) -> float:
    """Best float32 ``torch.mm`` rate in GFLOP/s (2·n³ FLOPs per product)."""
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def mcnn_seq_forward_flops(m: MCNNSeq) -> float:
    """Multiply-add FLOPs (2 per MAC) of one sample's forward pass; element-wise work not counted."""
    t, n, s, L = m.t_in, m.n_sub, m.sub_len, m.t_out
    f1, f2, h, a = m.conv1_filters, m.conv2_filters, m.hidden_size, m.attention_size
    cnn = 2 * t * 2 * (1 * f1 + f1 * f2)                        # two branches, kernel-1 convs per element
    enc, d_in = 0, 2 * f2
    for _ in range(m.encoder_layers):
        enc += n * 2 * 4 * h * (d_in + h)
        d_in = h
    keys = 2 * n * h * a
    per_step = 2 * h * a + 2 * n * a + 2 * n * h + 2 * 4 * h * (1 + h + h) + 2 * 2 * h
    return float(cnn + enc + keys + L * per_step)


def timed(fn, *, min_seconds: float, min_runs: int = 2) -> float:
    """Seconds per call (median of runs after one warm-up, running at least ``min_seconds`` in total)."""
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--predict-batch", type=int, default=512,
                        help="prediction batch (default 512, the package's CPU default)")
    parser.add_argument("--train-batch", type=int, default=500)
    args = parser.parse_args()
    torch.manual_seed(0)
    min_s = 0.5 if args.quick else 8.0

    peak = matmul_peak_gflops(n=1024 if args.quick else 2048, repeats=3 if args.quick else 10)
    print(f"machine: {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    print(f"float32 matmul peak: {peak:.1f} GFLOP/s")

    model = MCNNSeq(t_in=31, t_out=31).eval()
    ref = ReferenceMCNNSeq(model).eval()
    fwd = mcnn_seq_forward_flops(model)
    print(f"paper-sized MCNN-Seq: {sum(p.numel() for p in model.parameters()):,} parameters, "
          f"{fwd / 1e6:.2f} MFLOP per pixel forward, ~{3 * fwd / 1e6:.1f} MFLOP per training sample")

    n_pred = 16_384 if not args.quick else 2048
    xb = torch.randn(n_pred, 31, 2)
    with torch.inference_mode():
        diff = (model(xb[:256]) - ref(xb[:256])).abs().max().item()
    print(f"reference vs packaged model: max |difference| = {diff:.2e} (same model)")
    assert diff < 1e-4, "the reference does not compute the same function"

    rows = []

    bs = args.predict_batch

    def predict_rate(m) -> float:
        def run():
            with torch.inference_mode():
                for start in range(0, n_pred, bs):
                    m(xb[start:start + bs])
        return n_pred / timed(run, min_seconds=min_s)

    def packaged_predict_rate() -> float:
        """Through ``TrainedModel.predict``: dB in (normalised inside), NDVI out, the package's batching."""
        X = np.random.default_rng(0).normal(-14, 4, (n_pred, 31, 2)).astype(np.float32)
        trained = TrainedModel(model=model, config=TrainConfig(), normalizer=Normalizer.fit(X, source="bench"))
        return n_pred / timed(lambda: trained.predict(X, batch_size=bs), min_seconds=min_s)

    def packaged_train_rate() -> float:
        """Through ``mcnnseq.training.fit``: one epoch (paper settings: RMSprop, lr 0.001, batch 500)."""
        n = 10_000 if not args.quick else 1000
        rng = np.random.default_rng(0)
        X = rng.normal(-14, 4, (n, 31, 2)).astype(np.float32)
        Y = rng.uniform(0, 1, (n, 31)).astype(np.float32)
        config = TrainConfig(model="mcnn_seq", epochs=1, batch_size=args.train_batch)
        return n / timed(lambda: fit(X, Y, None, None, config), min_seconds=min_s, min_runs=1)

    def train_rate(m, params) -> float:
        opt = torch.optim.RMSprop(params, lr=1e-3)
        bs = args.train_batch if not args.quick else 128
        x = torch.randn(bs, 31, 2)
        y = torch.rand(bs, 31)

        def run():
            opt.zero_grad(set_to_none=True)
            loss = torch.mean((m(x) - y) ** 2)
            loss.backward()
            opt.step()
        return bs / timed(run, min_seconds=min_s)

    train_ref = ReferenceMCNNSeq(MCNNSeq(t_in=31, t_out=31)).train()
    for label, kind, rate in (
        ("prediction", "packaged", packaged_predict_rate()),
        ("prediction", "eager reference", predict_rate(ref)),
        ("training", "packaged", packaged_train_rate()),
        ("training", "eager reference", train_rate(train_ref, train_ref.parameters())),
    ):
        flops = fwd if label == "prediction" else 3 * fwd
        gflops = rate * flops / 1e9
        rows.append((label, kind, rate, gflops, gflops / peak))

    print()
    print(f"{'':<11}{'implementation':<17}{'samples/s':>11}{'GFLOP/s':>9}{'of peak':>9}")
    for label, kind, rate, gflops, frac in rows:
        print(f"{label:<11}{kind:<17}{rate:>11.0f}{gflops:>9.1f}{100 * frac:>8.1f}%")
    for label in ("prediction", "training"):
        pk = next(r for r in rows if r[0] == label and r[1] == "packaged")
        rf = next(r for r in rows if r[0] == label and r[1] != "packaged")
        print(f"{label}: packaged / reference speed-up = {pk[2] / rf[2]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Throughput of the paper-sized MCNN-Seq on this machine's CPU, as a fraction of its float32 matmul peak.

    .venv/bin/python benchmarks/benchmark.py                      # about 2-3 minutes on 2 quiet cores
    .venv/bin/python benchmarks/benchmark.py --json bench.json    # also write the figures as JSON
    .venv/bin/python benchmarks/benchmark.py --quick              # a smoke run (small sizes, seconds)
    .venv/bin/python benchmarks/benchmark.py --threads 1          # one core (steadier on a shared machine)

Measured in one run, so the ratios are comparable:
1. the float32 matrix-multiply peak (best of several ``torch.mm`` of large square matrices);
2. prediction pixels/s of the shipped paper-sized model (``assets/models/demo_50_mcnn_seq.pt``)
   through ``TrainedModel.predict`` (the package's CPU batch of 512) with the whole-scene default
   precision (``mcnnseq.prediction.SCENE_PRECISION``, the fast path of
   ``mcnnseq/models/fast_inference.py``) and with ``precision="reference"`` (the model's own float32
   forward, the path before the fast one). The runs alternate and each rate is the best of its runs
   (load from other processes only adds time). The accuracy change is measured on the demo test set:
   |mean per-date R² (fast) − mean per-date R² (reference)|;
3. training samples/s through ``mcnnseq.training.fit`` (one epoch of 10,000 samples, the paper's
   settings: RMSprop, lr 0.001, batch 500), and both prediction and training of a straightforward eager
   implementation of the same model (``reference_mcnn_seq.py``, same weights, same outputs — checked);
4. each throughput as achieved GFLOP/s (the model's matmul FLOPs, counted analytically below) and as a
   fraction of the float32 peak (bfloat16 work counts the same FLOPs);
5. ``quick_preset_seconds`` from ``benchmarks/quick_preset.py`` (the training recipe's quick preset).

JSON keys: ``matmul_gflops``, ``predict_px_per_s``, ``predict_fp32_px_per_s``, ``predict_r2_delta``,
``predict_share_of_peak``, ``train_samples_per_s``, ``train_share_of_peak``, ``quick_preset_seconds``,
plus ``predict_precision`` (what "auto" chose here), ``predict_fast_fp32_px_per_s`` (the fast path in
float32, what a CPU without native bf16 gets), ``predict_speedup``, the R² themselves, the eager
reference's rates and a per-model ``models`` block for the CNN and RNN baselines.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from reference_mcnn_seq import ReferenceMCNNSeq  # noqa: E402

from mcnnseq.models.fast_inference import native_bf16, resolve_precision  # noqa: E402
from mcnnseq.models.mcnn_seq import MCNNSeq  # noqa: E402
from mcnnseq.normalization import Normalizer  # noqa: E402
from mcnnseq.prediction import SCENE_PRECISION  # noqa: E402
from mcnnseq.training import TrainConfig, TrainedModel, fit  # noqa: E402

#: The Done-when bounds of the fast path (issue 9): speed-up over the reference, |ΔR²| on the demo test set.
MIN_SPEEDUP = 2.0
MAX_R2_DELTA = 0.002


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


def elementwise_ns(*, shape: tuple[int, int, int] = (512, 31, 100), repeats: int = 20) -> dict[str, float]:
    """ns per element of the attention's element-wise work over one (B, N, A) step, old and new forms.

    ``tanh`` (the reference: add, then tanh), ``sigmoid`` (add, then sigmoid: the fast path's float32
    form on a GPU or outside the exp-split range) and ``exp split`` (``1 / (1 + exp(-k)·exp(-q))``
    with ``exp(-k)`` precomputed: the fast path on the CPU). Best of ``repeats``.
    """
    keys = torch.randn(*shape)
    query = torch.randn(shape[0], 1, shape[2])
    exp_keys = torch.exp(-keys)
    out = torch.empty(shape)
    one = torch.ones(1)

    def add_tanh():
        torch.add(keys, query, out=out).tanh_()

    def add_sigmoid():
        torch.add(keys, query, out=out).sigmoid_()

    def exp_split():
        torch.addcmul(one, exp_keys, torch.exp(-query), out=out).reciprocal_()

    result = {}
    for name, fn in (("tanh", add_tanh), ("sigmoid", add_sigmoid), ("exp split", exp_split)):
        fn()
        best = min(_seconds(fn) for _ in range(repeats))
        result[name] = best / keys.numel() * 1e9
    return result


def _seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def mcnn_seq_forward_flops(m: MCNNSeq) -> float:
    """Multiply-add FLOPs (2 per MAC) of one sample's forward pass; element-wise work not counted."""
    t, n, L = m.t_in, m.n_sub, m.t_out
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


def timed_alternating(fns: dict[str, Callable[[], object]], *, min_seconds: float, min_rounds: int = 3
                      ) -> dict[str, float]:
    """Best seconds per call of each function, calling them in turn (one warm-up call each).

    Alternating rounds expose every function to the same background load; the best run is the least
    disturbed one (other processes only ever add time).
    """
    for fn in fns.values():
        fn()
    best = {name: math.inf for name in fns}
    start, rounds = time.perf_counter(), 0
    while rounds < min_rounds or time.perf_counter() - start < min_seconds:
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
        rounds += 1
    return best


def mean_per_date_r2(truth: np.ndarray, pred: np.ndarray) -> float:
    """Mean over the scored dates of the per-date R² (Table 4's "mean" row)."""
    from mcnnseq.metrics import per_date_metrics

    return float(per_date_metrics(truth, pred)["r2"].mean(skipna=True))


def quick_preset() -> float | None:
    """``quick_preset_seconds()`` of ``benchmarks/quick_preset.py``; None (with a message) while it is missing."""
    try:
        from quick_preset import quick_preset_seconds
    except ModuleNotFoundError as exc:
        if exc.name != "quick_preset":
            raise
        print("quick preset: benchmarks/quick_preset.py is missing (the training-recipe work adds it); "
              "quick_preset_seconds is null")
        return None
    return float(quick_preset_seconds())


def load_demo_model(name: str, exp, quick: bool):
    """The shipped demo model ``name`` of the 50 % scenario (``exp``: the demo experiment it was trained on).

    Returns ``(trained, note)``; without the checkpoint a model is trained for the purpose on the demo
    scene's training pixels (quick preset), and ``note`` says so.
    """
    from mcnnseq.checkpoints import load_checkpoint
    from mcnnseq.pretrained import check_simulator_version, demo_model_path

    path = demo_model_path("50%", name)
    note = f"shipped {path.relative_to(ROOT)}"
    if path.exists():
        trained = load_checkpoint(path)
        try:
            check_simulator_version(trained, source=path.name)
        except Exception as exc:  # the R² change between precisions is still that model's on this test set
            note += f" (stale: {exc})"
    else:
        from mcnnseq.experiment import train

        config = TrainConfig.quick(model=name, epochs=2 if quick else 10, seed=0)
        trained = train(exp, config)
        note = f"{name} trained for the purpose ({config.epochs} epochs, quick preset; {path.name} is missing)"
    return trained, note


def compare_precisions(trained: TrainedModel, X_time: np.ndarray, X_test: np.ndarray, Y_test: np.ndarray, *,
                       precisions: tuple[str, ...], batch: int, min_seconds: float) -> dict:
    """For each precision: ``px_per_s`` of ``trained.predict`` on ``X_time`` (alternating runs), the mean
    per-date test ``r2`` and the ``abs_diff`` quantiles (NDVI) against ``"reference"`` on ``X_test``.

    Precisions that resolve to the same path on this machine (e.g. "auto" and "bf16") are timed once.
    """
    paths = {p: resolve_precision(p, trained.model) for p in (*precisions, "reference")}
    distinct = list(dict.fromkeys(paths.values()))

    def runner(p: str):
        return lambda: trained.predict(X_time, batch_size=batch, precision=p)

    best = timed_alternating({p: runner(p) for p in distinct}, min_seconds=min_seconds)
    preds = {p: trained.predict(X_test, batch_size=batch, precision=p) for p in distinct}
    out = {}
    for p, path in paths.items():
        diff = np.abs(preds[path] - preds["reference"])
        out[p] = {"path": path, "px_per_s": X_time.shape[0] / best[path], "r2": mean_per_date_r2(Y_test, preds[path]),
                  "abs_diff": {"mean": float(diff.mean()), "p99": float(np.quantile(diff, 0.99)),
                               "max": float(diff.max())}}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures to this JSON file")
    parser.add_argument("--predict-batch", type=int, default=512,
                        help="prediction batch (default 512, the package's CPU default)")
    parser.add_argument("--train-batch", type=int, default=500)
    parser.add_argument("--skip-quick-preset", action="store_true",
                        help="do not time the quick preset (quick_preset_seconds is null)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads (default: torch's default, one per core)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    min_s = 0.5 if args.quick else 8.0
    precision = SCENE_PRECISION

    peak = matmul_peak_gflops(n=1024 if args.quick else 2048, repeats=3 if args.quick else 10)
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, "
          f"native bf16: {native_bf16('cpu')}")
    print(f"float32 matmul peak: {peak:.1f} GFLOP/s")
    ew = elementwise_ns(repeats=5 if args.quick else 20)
    print("attention element-wise work per (B, N, A) element: "
          + ", ".join(f"{k} {v:.2f} ns" for k, v in ew.items()))

    from mcnnseq.pretrained import demo_experiment_for_models

    exp = demo_experiment_for_models("50%")
    X_test, Y_test = exp.test_arrays()
    trained, note = load_demo_model("mcnn_seq", exp, args.quick)
    model = trained.model.eval()
    if not isinstance(model, MCNNSeq):
        raise SystemExit(f"expected an MCNN-Seq model, got {type(model).__name__}")
    ref = ReferenceMCNNSeq(model).eval()
    fwd = mcnn_seq_forward_flops(model)
    resolved = resolve_precision(precision, model)
    print(f"MCNN-Seq ({note}): {sum(p.numel() for p in model.parameters()):,} parameters, t_in={model.t_in}, "
          f"t_out={model.t_out}, {fwd / 1e6:.2f} MFLOP per pixel forward, ~{3 * fwd / 1e6:.1f} MFLOP per "
          f"training sample; whole-scene precision {precision!r} -> {resolved!r} here")

    n_pred = 16_384 if not args.quick else 2048
    rng = np.random.default_rng(0)
    X_time = rng.normal(-14, 4, (n_pred, model.t_in, 2)).astype(np.float32)
    if args.quick:
        X_test, Y_test = X_test[:1024], Y_test[:1024]
    xb = torch.from_numpy(trained.normalizer.transform(X_time))
    with torch.inference_mode():
        diff = (model(xb[:256]) - ref(xb[:256])).abs().max().item()
    print(f"eager reference vs packaged model: max |difference| = {diff:.2e} (same model)")
    assert diff < 1e-4, "the reference does not compute the same function"

    bs = args.predict_batch
    precisions = (precision, "fp32")
    pred = compare_precisions(trained, X_time, X_test, Y_test, precisions=precisions, batch=bs, min_seconds=min_s)
    fast, base = pred[precision], pred["reference"]
    r2_delta = abs(fast["r2"] - base["r2"])

    def eager_predict_rate() -> float:
        def run():
            with torch.inference_mode():
                for start in range(0, n_pred, bs):
                    ref(xb[start:start + bs])
        return n_pred / timed(run, min_seconds=min_s)

    def packaged_train_rate() -> float:
        """Through ``mcnnseq.training.fit``: one epoch (paper settings: RMSprop, lr 0.001, batch 500)."""
        n = 10_000 if not args.quick else 1000
        X = rng.normal(-14, 4, (n, 31, 2)).astype(np.float32)
        Y = rng.uniform(0, 1, (n, 31)).astype(np.float32)
        config = TrainConfig(model="mcnn_seq", epochs=1, batch_size=args.train_batch)
        return n / timed(lambda: fit(X, Y, None, None, config), min_seconds=min_s, min_runs=1)

    def eager_train_rate() -> float:
        m = ReferenceMCNNSeq(MCNNSeq(t_in=31, t_out=31)).train()
        opt = torch.optim.RMSprop(m.parameters(), lr=1e-3)
        tb = args.train_batch if not args.quick else 128
        x = torch.randn(tb, 31, 2)
        y = torch.rand(tb, 31)

        def run():
            opt.zero_grad(set_to_none=True)
            loss = torch.mean((m(x) - y) ** 2)
            loss.backward()
            opt.step()
        return tb / timed(run, min_seconds=min_s)

    train_rate = packaged_train_rate()
    eager_predict, eager_train = eager_predict_rate(), eager_train_rate()
    rows = [("prediction", f"packaged, {precision} ({resolved})", fast["px_per_s"], fwd)]
    if resolved != "fp32":
        rows.append(("prediction", "packaged, fp32 (fast path)", pred["fp32"]["px_per_s"], fwd))
    rows += [("prediction", "packaged, reference", base["px_per_s"], fwd),
             ("prediction", "eager reference", eager_predict, fwd),
             ("training", "packaged", train_rate, 3 * fwd),
             ("training", "eager reference", eager_train, 3 * fwd)]

    print()
    print(f"{'':<11}{'implementation':<31}{'samples/s':>11}{'GFLOP/s':>9}{'of peak':>9}")
    for label, kind, rate, flops in rows:
        gflops = rate * flops / 1e9
        print(f"{label:<11}{kind:<31}{rate:>11.0f}{gflops:>9.1f}{100 * gflops / peak:>8.1f}%")

    speedup = fast["px_per_s"] / base["px_per_s"]
    print(f"\nprediction: {precision} ({resolved}) / reference speed-up = {speedup:.2f}x "
          f"(fast path in float32: {pred['fp32']['px_per_s'] / base['px_per_s']:.2f}x)")
    print(f"demo test set ({X_test.shape[0]} px): mean per-date R² reference {base['r2']:.5f}, "
          f"{precision} {fast['r2']:.5f}, |Δ| = {r2_delta:.5f}; |Δ NDVI| per value: mean "
          f"{fast['abs_diff']['mean']:.1e}, 99th percentile {fast['abs_diff']['p99']:.1e}, "
          f"max {fast['abs_diff']['max']:.1e}")
    ok = speedup >= MIN_SPEEDUP and r2_delta <= MAX_R2_DELTA
    print(f"fast path bound (≥ {MIN_SPEEDUP:g}x and |ΔR²| ≤ {MAX_R2_DELTA}): {'met' if ok else 'NOT met'}")

    models = {}
    for name in ("rnn", "cnn"):
        other, other_note = load_demo_model(name, exp, args.quick)
        res = compare_precisions(other, X_time, X_test, Y_test, batch=bs, min_seconds=min_s / 2,
                                 precisions=(precision, "bf16"))
        ref_rate = res["reference"]["px_per_s"]
        models[name] = {"model": other_note, "reference_px_per_s": ref_rate}
        for p in (precision, "bf16"):
            r = res[p]
            models[name][p] = {"path": r["path"], "px_per_s": r["px_per_s"], "speedup": r["px_per_s"] / ref_rate,
                               "r2_delta": abs(r["r2"] - res["reference"]["r2"]), "abs_diff": r["abs_diff"]}
        b16 = models[name]["bf16"]
        print(f"{other.name}: reference {ref_rate:.0f} px/s; bf16 {b16['px_per_s']:.0f} px/s "
              f"({b16['speedup']:.2f}x, |ΔR²| = {b16['r2_delta']:.5f}, max |Δ NDVI| {b16['abs_diff']['max']:.1e}); "
              f"{precision} -> {res[precision]['path']}")

    quick_s = None if args.skip_quick_preset else quick_preset()
    if quick_s is not None:
        print(f"quick preset: {quick_s:.1f} s")

    result = {
        "matmul_gflops": peak,
        "predict_px_per_s": fast["px_per_s"],
        "predict_fp32_px_per_s": base["px_per_s"],
        "predict_r2_delta": r2_delta,
        "predict_share_of_peak": fast["px_per_s"] * fwd / 1e9 / peak,
        "train_samples_per_s": train_rate,
        "train_share_of_peak": train_rate * 3 * fwd / 1e9 / peak,
        "quick_preset_seconds": quick_s,
        "predict_precision": resolved,
        "predict_speedup": speedup,
        "predict_fast_fp32_px_per_s": pred["fp32"]["px_per_s"],
        "predict_r2_fp32": base["r2"],
        "predict_r2_fast": fast["r2"],
        "predict_abs_diff": fast["abs_diff"],
        "predict_batch": bs,
        "attention_elementwise_ns": ew,
        "predict_model": note,
        "eager_predict_px_per_s": eager_predict,
        "eager_train_samples_per_s": eager_train,
        "models": models,
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "quick": bool(args.quick),
    }
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

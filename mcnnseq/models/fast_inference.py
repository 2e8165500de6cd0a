"""A faster inference path, built from a trained model's weights (training code is untouched).

``inference_engine(model, precision)`` returns a callable with the model's forward contract
(standardised ``x`` (B, t_in, 2) -> (B, t_out) NDVI) that computes the same function faster:

* **MCNN-Seq** (any model with its structure: ``features`` → ``nn.LSTM`` encoder → additive
  attention → ``nn.LSTMCell`` decoder → linear ``head``) gets :class:`FastAttentionDecoder`:

  - ``tanh`` is computed as ``2·sigmoid(2z) − 1`` (an identity). PyTorch's CPU ``tanh`` is several
    times slower per element than its ``sigmoid`` (``benchmarks/benchmark.py`` prints both), and the
    attention's ``tanh`` over (B, N, A) at every decoder step was ~40 % of the prediction time. In
    the attention the ``−1`` adds the same constant ``−Σv`` to every score, which softmax ignores,
    so α = ``softmax_j(2v · sigmoid(2W s + 2U h_j))``; the factors 2 are folded into the weights. On the
    CPU, ``sigmoid(k + q) = 1 / (1 + exp(-k)·exp(-q))`` with ``exp(-k)`` computed once per sequence:
    two cheap passes over (B, N, A) per step (multiply-add, reciprocal) instead of add + sigmoid;
  - the decoder step is fused: one matrix product of ``s_{i-1}`` with ``[W_hh | 2W]`` gives the
    LSTM's recurrent gates and the attention query together, one with ``[y, c_i]`` the input gates;
    the LSTM cell's gate non-linearities are one ``sigmoid`` over all four gates;
  - with ``precision="bf16"`` the encoder ``nn.LSTM`` runs on a bfloat16 copy (oneDNN / cuDNN: its
    outputs and hidden state are bf16) and the decoder's matrix products take bf16 operands (float32
    accumulation, bf16 result); the decoder's recurrent state, the attention's element-wise work,
    the softmax and the head stay float32.

* other networks (CNN, RNN) get, for ``"bf16"``, a bfloat16 copy of the module.

Sizes are read from the weights (encoder and decoder widths, attention size, head output width,
decoder input width), so a variant with another front end (``features``) or a head with several
outputs per step works unchanged: the decoder is fed back the first ``y_width`` head outputs,
``y_width = decoder input − encoder width``, and a head of width O > 1 gives (B, t_out, O).

Precisions (:data:`mcnnseq.prediction.PRECISIONS`): ``"reference"`` (the model's own forward, today's
path), ``"fp32"`` (the fast path in float32: same numbers to rounding), ``"bf16"``, and ``"auto"``:
bf16 where the hardware computes it natively (AVX-512 BF16 or AMX on x86 CPUs, CUDA devices with
bf16) and the network is recurrent (MCNN-Seq, RNN: the LSTMs' matrix work dominates), else fp32.
The small CNN stays float32 under "auto": its time is a few convolutions and one dense layer, where
bf16 gains little. ``benchmarks/benchmark.py`` prints each network's bf16 speed-up and the change in
test R² on the demo test set.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from mcnnseq.errors import ModelConfigError
from mcnnseq.prediction import PRECISIONS

Engine = Callable[..., torch.Tensor]

#: |argument| bound of the attention's ``sigmoid(k + q) = 1 / (1 + exp(-k)·exp(-q))``: exp(±40) and
#: their products (≥ e^-80 ≈ 1.8e-35) stay normal float32 numbers.
EXP_SPLIT_LIMIT: float = 40.0
#: Bytes of attention energy per thread and block of rows on the CPU (about one core's L2 cache, 1 MB on
#: the machines measured, less room for the keys and values streaming through).
ATTENTION_BLOCK_BYTES: int = 768 * 1024


def native_bf16(device: torch.device | str = "cpu") -> bool:
    """Whether ``device`` computes bfloat16 matrix products natively (not emulated).

    CPU: AVX-512 BF16 or AMX (checked at run time; a CPU with AVX2 only says False). CUDA: the
    device's bf16 support without emulation (Ampere and later).
    """
    device = torch.device(device)
    if device.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False))
    if device.type != "cpu":
        return False
    cpu = getattr(torch, "cpu", None)
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        fn = getattr(cpu, probe, None)
        try:
            if fn is not None and fn():
                return True
        except RuntimeError:  # pragma: no cover - a torch build without the probe's backend
            pass
    return False


def check_precision(precision: str) -> str:
    """``precision`` if it is one of :data:`~mcnnseq.prediction.PRECISIONS`, else :class:`ModelConfigError`."""
    if precision not in PRECISIONS:
        raise ModelConfigError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    return precision


def has_attention_decoder(model: nn.Module) -> bool:
    """Whether ``model`` has MCNN-Seq's structure, which :class:`FastAttentionDecoder` computes."""
    parts = {"encoder": nn.LSTM, "decoder": nn.LSTMCell, "attn_query": nn.Linear, "attn_keys": nn.Linear,
             "attn_score": nn.Linear, "head": nn.Linear}
    if not all(isinstance(getattr(model, name, None), cls) for name, cls in parts.items()):
        return False
    enc = model.encoder
    return (callable(getattr(model, "features", None)) and isinstance(getattr(model, "start", None), torch.Tensor)
            and enc.batch_first and not enc.bidirectional and not getattr(enc, "proj_size", 0)
            and model.decoder.bias and enc.bias)


def _absmax(t: torch.Tensor) -> float:
    """max |t| (NaN when t holds a NaN, so that comparisons with it are False)."""
    lo, hi = torch.aminmax(t)
    return float(torch.maximum(-lo, hi))


def _is_recurrent(model: nn.Module) -> bool:
    return any(isinstance(m, (nn.LSTM, nn.GRU, nn.RNN, nn.LSTMCell)) for m in model.modules())


def resolve_precision(precision: str, model: nn.Module, device: torch.device | str | None = None) -> str:
    """What ``precision`` means for ``model`` on ``device``: ``"reference"``, ``"fp32"`` or ``"bf16"``.

    ``"auto"`` -> ``"bf16"`` where :func:`native_bf16` and the network is recurrent, else ``"fp32"``
    for MCNN-Seq's structure (the fast float32 path) and ``"reference"`` for the others (nothing
    faster in float32). ``"fp32"`` on a network without a fast float32 path is its reference.
    """
    check_precision(precision)
    if device is None:
        device = next(model.parameters()).device
    fast = has_attention_decoder(model)
    if precision == "auto":
        if native_bf16(device) and _is_recurrent(model):
            return "bf16"
        precision = "fp32"
    if precision == "fp32" and not fast:
        return "reference"
    return precision


def inference_engine(model: nn.Module, precision: str = "auto") -> Engine:
    """A callable computing ``model``'s forward at ``precision`` (see :func:`resolve_precision`).

    ``"reference"`` returns ``model`` itself. Call the result under ``torch.inference_mode()``.
    """
    resolved = resolve_precision(precision, model)
    if resolved == "reference":
        return model
    dtype = torch.bfloat16 if resolved == "bf16" else torch.float32
    if has_attention_decoder(model):
        return FastAttentionDecoder(model, dtype=dtype)
    return CastModel(model, dtype=dtype)


class CastModel:
    """``model`` run in ``dtype`` (a converted copy): inputs cast to ``dtype``, float32 out."""

    def __init__(self, model: nn.Module, *, dtype: torch.dtype):
        self.dtype = dtype
        self.model = copy.deepcopy(model).to(dtype).eval()

    def __call__(self, x: torch.Tensor, *args: torch.Tensor) -> torch.Tensor:
        cast = [a.to(self.dtype) if a.is_floating_point() else a for a in (x, *args)]
        return self.model(*cast).float()


class FastAttentionDecoder:
    """MCNN-Seq's forward, rewritten for speed; built from the weights of a trained model.

    ``__call__(x, *args)``: the model's inputs (``x`` (B, t_in, C) standardised, plus whatever else
    ``model.features`` takes) -> (B, t_out) NDVI, or (B, t_out, O) for a head of width O > 1.
    The CNN front end is ``model.features`` itself; matrix products run in ``dtype``.
    """

    def __init__(self, model: nn.Module, *, dtype: torch.dtype = torch.float32):
        if not has_attention_decoder(model):
            raise ModelConfigError(f"{type(model).__name__}: not an attention encoder-decoder (MCNN-Seq)")
        self.model = model
        self.dtype = dtype
        self.t_out = int(model.t_out)
        enc, dec = model.encoder, model.decoder
        he, h = enc.hidden_size, dec.hidden_size
        if he != h:
            raise ModelConfigError(f"encoder width {he} != decoder width {h}: the decoder starts from the "
                                   "encoder's final state")
        a = model.attn_query.weight.shape[0]
        y_width = dec.input_size - he
        out_width = model.head.weight.shape[0]
        if (model.attn_query.weight.shape != (a, h) or model.attn_keys.weight.shape != (a, he)
                or model.attn_score.weight.shape != (1, a) or model.head.weight.shape[1] != h + he
                or not 1 <= y_width <= out_width or model.start.numel() != y_width):
            raise ModelConfigError("MCNN-Seq weights do not fit together (attention, decoder input, head, start)")
        self.h, self.he, self.a, self.y_width, self.out_width = h, he, a, y_width, out_width

        with torch.no_grad():
            # tanh(z) = 2·sigmoid(2z) − 1: double the cell-candidate ("g", third) gate's rows
            g = slice(2 * h, 3 * h)
            w_hh = dec.weight_hh.detach().clone()
            w_ih = dec.weight_ih.detach().clone()
            bias = (dec.bias_ih + dec.bias_hh).detach().clone()
            for t in (w_hh, w_ih, bias):
                t[g] *= 2
            # [W_hh | 2W]: the recurrent gates and the attention query from one product with s_{i-1}
            self.w_state = torch.cat((w_hh, 2 * model.attn_query.weight.detach()), 0).t().contiguous().to(dtype)
            self.w_input = w_ih.t().contiguous().to(dtype)                                  # (y + He, 4H)
            # the LSTM bias rides on the recurrent product: [b_ih + b_hh | 0] beside [W_hh | 2W]
            self.b_state = torch.cat((bias, bias.new_zeros(a))).to(dtype)
            self.one = torch.ones(1, device=bias.device)
            self.w_keys = (2 * model.attn_keys.weight.detach()).t().contiguous().float()     # (He, A)
            self.b_keys = (2 * model.attn_keys.bias.detach()).float()
            self.v = (2 * model.attn_score.weight.detach()).reshape(a, 1).float()
            self.w_head = model.head.weight.detach().t().contiguous().float()               # (H + He, O)
            self.b_head = model.head.bias.detach().float()
            self.start = model.start.detach().reshape(1, y_width).float()
        self.encoder = enc if dtype == torch.float32 else copy.deepcopy(enc).to(dtype).eval()

    def __call__(self, x: torch.Tensor, *args: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self._forward(x, *args)

    def _forward(self, x: torch.Tensor, *args: torch.Tensor) -> torch.Tensor:
        dt, h4 = self.dtype, 4 * self.h
        feats = self.model.features(x, *args)                                   # (B, N, F)
        enc_out, (h_n, c_n) = self.encoder(feats.to(self.encoder.weight_ih_l0.dtype))
        enc = enc_out.float().contiguous()                                      # (B, N, He)
        b, n, _ = enc.shape
        keys = torch.addmm(self.b_keys, enc.view(b * n, self.he), self.w_keys).view(b, n, self.a)   # 2(U h_j + b)
        # sigmoid(k + q) = 1 / (1 + exp(-k)·exp(-q)): exp(-k) once per sequence, then two cheap passes per
        # step instead of add + sigmoid. Exact while |k|, |q| <= EXP_SPLIT_LIMIT (no overflow, no denormal);
        # a step whose query leaves that range (or keys that do) takes add + sigmoid.
        on_cpu = x.device.type == "cpu"
        exp_keys = torch.exp(-keys) if on_cpu and _absmax(keys) <= EXP_SPLIT_LIMIT else None
        # On the CPU the attention runs over blocks of rows whose (rows, N, A) energy stays in each core's
        # L2 cache from the multiply-add to the scores; one block on a GPU.
        rows = b
        if on_cpu:
            target = max(1, ATTENTION_BLOCK_BYTES // (4 * n * self.a)) * torch.get_num_threads()
            rows = -(-b // max(1, round(b / target)))                           # equal blocks near the target
        energy = torch.empty(min(rows, b), n, self.a, dtype=torch.float32, device=x.device)
        context = torch.empty(b, 1, self.he, dtype=torch.float32, device=x.device)
        state = h_n[-1].float()
        cell = c_n[-1].float().clone()
        y = self.start.expand(b, self.y_width)
        out = torch.empty(b, self.t_out, self.out_width, dtype=torch.float32, device=x.device)
        for i in range(self.t_out):
            rec = torch.addmm(self.b_state, state.to(dt), self.w_state)         # (B, 4H + A)
            query = rec[:, h4:].float().unsqueeze(1)                             # 2 W s_{i-1}  (B, 1, A)
            exp_query = torch.exp(-query) if exp_keys is not None and _absmax(query) <= EXP_SPLIT_LIMIT else None
            for r in range(0, b, rows):
                blk = slice(r, r + rows)
                e = energy[:min(rows, b - r)]                                    # (rows, N, A)
                if exp_query is not None:
                    torch.addcmul(self.one, exp_keys[blk], exp_query[blk], out=e).reciprocal_()
                else:
                    torch.add(keys[blk], query[blk], out=e).sigmoid_()
                alpha = torch.softmax(torch.matmul(e, self.v).squeeze(2), dim=1)    # (rows, N)
                torch.bmm(alpha.unsqueeze(1), enc[blk], out=context[blk])           # c_i = Σ_j α_ij h_j
            ctx = context.squeeze(1)                                             # (B, He)
            dec_in = torch.cat((y, ctx), dim=1)
            if dt == torch.float32:
                gates = torch.addmm(rec[:, :h4], dec_in, self.w_input)
            else:
                gates = torch.mm(dec_in.to(dt), self.w_input).float()
                gates += rec[:, :h4]
            gates.sigmoid_()
            gi, gf, gg, go = gates.chunk(4, dim=1)
            cell.mul_(gf).addcmul_(gi, gg.mul(2).sub_(1))                       # c = f c + i tanh(g)
            state = go * torch.sigmoid(2 * cell).mul_(2).sub_(1)                 # s = o tanh(c)
            y_all = torch.addmm(self.b_head, torch.cat((state, ctx), dim=1), self.w_head)   # (B, O)
            out[:, i] = y_all
            y = y_all[:, :self.y_width]
        return out.squeeze(2) if self.out_width == 1 else out

"""MCNN-Seq (Zhao et al., RSE 2020, §3 and §4.1; SPEC §2): multi-branch CNN front end + attention Seq2Seq.

Shapes (B = batch, T = ``t_in`` radar dates, N = T // ``sub_len`` sub-sequences, L = ``t_out`` NDVI dates):

1. **CNN branches.** Input ``x`` (B, T, 2): standardised VV and VH. Each polarisation has its own
   branch (same structure, separate weights). The series is cut into N sub-sequences of ``sub_len``
   dates; each goes through Conv1D(31 filters, kernel 1) → ReLU → Conv1D(62, kernel 1) → ReLU →
   max-pool over the whole sub-sequence → flatten, i.e. one 62-feature vector per sub-sequence. The
   max-pool spans the sub-sequence so that the feature size is 62 whatever ``sub_len`` (with the
   paper's ``sub_len = 1`` it is the identity). A kernel-1 convolution is a per-element linear map, so
   all B·N·sub_len elements are pushed through the branch in one matrix product (no loop over
   sub-sequences); the weights are stored as ``nn.Conv1d`` parameters, as in the paper's model.
2. VV and VH vectors of the same sub-sequence are concatenated: (B, N, 124).
3. **Encoder.** ``nn.LSTM`` with 2 layers, 100 units: outputs ``h_j`` (B, N, 100) and final states.
4. **Decoder.** One ``nn.LSTMCell`` (100 units) whose initial (h, c) is the encoder's **top layer**
   final (h, c) — the "fixed-size vector c" of the paper's Seq2Seq (§3.2). At step i = 1..L:

   - additive (Bahdanau) attention ``e_ij = v^T tanh(W s_{i-1} + U h_j)``, ``α_i = softmax_j(e_i)``,
     context ``c_i = Σ_j α_ij h_j`` (Eqs. 12–14); ``U h_j`` is computed once per sequence;
   - decoder input ``[y_{i-1}, c_i]`` (the previous NDVI output and the context), ``y_0`` a learned
     start value;
   - ``y_i = dense([s_i, c_i])``: one NDVI value.

   **Prediction feeds the decoder its own previous output**, as the paper's decoder is described ("the
   output value of the previous time step is input to the next LSTM unit"): ``forward(x)`` is the
   function that is evaluated and exported. Training may pass ``teacher`` (B, L): where an entry is
   finite, the decoder is fed that value instead of its own output at the next step (scheduled
   sampling, :mod:`mcnnseq.training`); where it is NaN (not chosen, or no NDVI observed) it is fed
   its own output, so missing NDVI never enters the model.

``L`` may differ from ``T`` (the number of S2 dates need not equal the number of S1 dates).

Parameter count differs slightly from a Keras build: PyTorch LSTMs carry two bias vectors per gate.
"""

from __future__ import annotations

import operator

import torch
import torch.nn.functional as F
from torch import nn

from mcnnseq.errors import ModelConfigError


def check_positive_int(name: str, value, *, model: str) -> int:
    """``value`` as an ``int`` ≥ 1, else :class:`ModelConfigError` naming ``model`` and ``name``."""
    try:
        if isinstance(value, bool):
            raise TypeError
        value = operator.index(value)
    except TypeError:
        raise ModelConfigError(f"{model}: {name} must be a positive integer, got {value!r}") from None
    if value < 1:
        raise ModelConfigError(f"{model}: {name} must be a positive integer, got {value}")
    return value


class _PolarisationBranch(nn.Module):
    """Conv1D(k=1) → ReLU → Conv1D(k=1) → ReLU → max-pool over each sub-sequence, for one polarisation."""

    def __init__(self, *, conv1_filters: int, conv2_filters: int):
        super().__init__()
        self.conv1 = nn.Conv1d(1, conv1_filters, kernel_size=1)
        self.conv2 = nn.Conv1d(conv1_filters, conv2_filters, kernel_size=1)

    def forward(self, x: torch.Tensor, sub_len: int) -> torch.Tensor:
        """``x`` (B, T) standardised dB -> (B, N, conv2_filters), N = T // sub_len."""
        b, t = x.shape
        # kernel 1: Conv1d over (B*N, 1, sub_len) == a linear map applied to every element.
        h = F.linear(x.reshape(b * t, 1), self.conv1.weight.view(self.conv1.out_channels, 1), self.conv1.bias)
        h = torch.relu(h)
        h = F.linear(h, self.conv2.weight.view(self.conv2.out_channels, self.conv2.in_channels), self.conv2.bias)
        h = torch.relu(h)
        n = t // sub_len
        if sub_len == 1:
            return h.view(b, n, -1)
        return h.view(b, n, sub_len, -1).amax(dim=2)


class MCNNSeq(nn.Module):
    """MCNN-Seq: ``forward(x)`` with ``x`` (B, t_in, 2) standardised VV, VH -> (B, t_out) NDVI.

    Hyper-parameters (keyword-only, paper values by default): ``sub_len`` (dates per sub-sequence,
    must divide ``t_in``), ``conv1_filters`` = 31, ``conv2_filters`` = 62, ``hidden_size`` = 100
    (encoder and decoder units), ``encoder_layers`` = 2, ``attention_size`` (None -> ``hidden_size``).
    """

    model_name = "mcnn_seq"

    def __init__(self, *, t_in: int, t_out: int, sub_len: int = 1, conv1_filters: int = 31,
                 conv2_filters: int = 62, hidden_size: int = 100, encoder_layers: int = 2,
                 attention_size: int | None = None):
        super().__init__()
        name = "MCNN-Seq"
        self.t_in = check_positive_int("t_in", t_in, model=name)
        self.t_out = check_positive_int("t_out", t_out, model=name)
        self.sub_len = check_positive_int("sub_len", sub_len, model=name)
        if self.t_in % self.sub_len:
            divisors = [d for d in range(1, self.t_in + 1) if self.t_in % d == 0]
            raise ModelConfigError(f"{name}: sub_len={self.sub_len} does not divide the series length "
                                   f"t_in={self.t_in}; choose one of {divisors}")
        self.n_sub = self.t_in // self.sub_len
        self.conv1_filters = check_positive_int("conv1_filters", conv1_filters, model=name)
        self.conv2_filters = check_positive_int("conv2_filters", conv2_filters, model=name)
        self.hidden_size = check_positive_int("hidden_size", hidden_size, model=name)
        self.encoder_layers = check_positive_int("encoder_layers", encoder_layers, model=name)
        self.attention_size = (self.hidden_size if attention_size is None
                               else check_positive_int("attention_size", attention_size, model=name))
        self._attention_size_arg = attention_size

        self.branches = nn.ModuleList(
            _PolarisationBranch(conv1_filters=self.conv1_filters, conv2_filters=self.conv2_filters)
            for _ in range(2))
        h = self.hidden_size
        self.encoder = nn.LSTM(2 * self.conv2_filters, h, num_layers=self.encoder_layers, batch_first=True)
        self.attn_query = nn.Linear(h, self.attention_size, bias=False)   # W
        self.attn_keys = nn.Linear(h, self.attention_size, bias=True)     # U (its bias is the score bias)
        self.attn_score = nn.Linear(self.attention_size, 1, bias=False)   # v
        self.decoder = nn.LSTMCell(1 + h, h)
        self.head = nn.Linear(2 * h, 1)
        self.start = nn.Parameter(torch.zeros(1, 1))

    def config(self) -> dict:
        """JSON-able hyper-parameters; ``MCNNSeq(**config())`` rebuilds the same architecture."""
        return {"t_in": self.t_in, "t_out": self.t_out, "sub_len": self.sub_len,
                "conv1_filters": self.conv1_filters, "conv2_filters": self.conv2_filters,
                "hidden_size": self.hidden_size, "encoder_layers": self.encoder_layers,
                "attention_size": self._attention_size_arg}

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """CNN front end: ``x`` (B, t_in, 2) -> (B, N, 2 * conv2_filters), VV features then VH."""
        if x.dim() != 3 or x.shape[1] != self.t_in or x.shape[2] != 2:
            raise ModelConfigError(f"MCNN-Seq: input must have shape (B, {self.t_in}, 2), got {tuple(x.shape)}")
        vv = self.branches[0](x[:, :, 0], self.sub_len)
        vh = self.branches[1](x[:, :, 1], self.sub_len)
        return torch.cat((vv, vh), dim=2)

    def forward(self, x: torch.Tensor, *, return_attention: bool = False, teacher: torch.Tensor | None = None):
        """``x`` (B, t_in, 2) -> NDVI (B, t_out); with ``return_attention`` also α (B, t_out, N).

        ``teacher`` (B, t_out), training only: a finite ``teacher[:, i]`` replaces the decoder's own
        output ``y_i`` as the input of step i + 1 (the returned ``y_i`` is still the model's own).
        """
        if teacher is not None and teacher.shape != (x.shape[0], self.t_out):
            raise ModelConfigError(f"MCNN-Seq: teacher must have shape ({x.shape[0]}, {self.t_out}), "
                                   f"got {tuple(teacher.shape)}")
        enc_out, (h_n, c_n) = self.encoder(self.features(x))      # (B, N, H), (layers, B, H)
        keys = self.attn_keys(enc_out)                              # U h_j + b, once per sequence
        score_w = self.attn_score.weight.view(-1, 1)                # (A, 1)
        h, c = h_n[-1], c_n[-1]                                     # top encoder layer -> decoder state
        y = self.start.expand(x.shape[0], 1)
        outputs, alphas = [], []
        for i in range(self.t_out):
            if teacher is not None and i > 0:
                fed = teacher[:, i - 1:i]
                y = torch.where(torch.isfinite(fed), fed, y)
            energy = (keys + self.attn_query(h).unsqueeze(1)).tanh_()      # (B, N, A); in place: one buffer
            alpha = torch.softmax((energy @ score_w).squeeze(2), dim=1)    # (B, N)
            context = torch.bmm(alpha.unsqueeze(1), enc_out).squeeze(1)    # (B, H)
            h, c = self.decoder(torch.cat((y, context), dim=1), (h, c))
            y = self.head(torch.cat((h, context), dim=1))                  # (B, 1)
            outputs.append(y)
            if return_attention:
                alphas.append(alpha)
        out = torch.cat(outputs, dim=1)
        if return_attention:
            return out, torch.stack(alphas, dim=1)
        return out

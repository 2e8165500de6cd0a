"""RNN baseline (paper §4.4; SPEC §2 "Baselines"): one-to-one LSTM.

``x`` (B, T, 2) standardised VV, VH -> 2-layer LSTM (100 units) -> Dense(1) on the hidden state of
every date -> (B, T) NDVI. The NDVI at date t only sees radar up to date t (so early dates get little
context — the low January R² of Table 4); hence ``t_out`` must equal ``t_in``.
"""

from __future__ import annotations

import torch
from torch import nn

from mcnnseq.errors import ModelConfigError
from mcnnseq.models.mcnn_seq import check_positive_int


class RNNBaseline(nn.Module):
    """``forward(x)``: ``x`` (B, T, 2) -> (B, T) NDVI. Hyper-parameters: ``hidden_size`` = 100, ``num_layers`` = 2."""

    model_name = "rnn"

    def __init__(self, *, t_in: int, t_out: int, hidden_size: int = 100, num_layers: int = 2):
        super().__init__()
        name = "RNN"
        self.t_in = check_positive_int("t_in", t_in, model=name)
        self.t_out = check_positive_int("t_out", t_out, model=name)
        if self.t_out != self.t_in:
            raise ModelConfigError(
                f"{name}: the one-to-one RNN predicts the NDVI of each radar date, so it needs as many NDVI "
                f"dates as radar dates (t_out={self.t_out} != t_in={self.t_in}); use MCNN-Seq or CNN instead")
        self.hidden_size = check_positive_int("hidden_size", hidden_size, model=name)
        self.num_layers = check_positive_int("num_layers", num_layers, model=name)
        self.lstm = nn.LSTM(2, self.hidden_size, num_layers=self.num_layers, batch_first=True)
        self.head = nn.Linear(self.hidden_size, 1)

    def config(self) -> dict:
        """JSON-able hyper-parameters; ``RNNBaseline(**config())`` rebuilds the same architecture."""
        return {"t_in": self.t_in, "t_out": self.t_out, "hidden_size": self.hidden_size,
                "num_layers": self.num_layers}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[1] != self.t_in or x.shape[2] != 2:
            raise ModelConfigError(f"RNN: input must have shape (B, {self.t_in}, 2), got {tuple(x.shape)}")
        out, _ = self.lstm(x)                        # (B, T, H)
        return self.head(out).squeeze(2)

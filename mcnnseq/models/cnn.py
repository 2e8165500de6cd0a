"""CNN baseline (paper §4.4; SPEC §2 "Baselines"): Conv1D over the whole two-channel series.

``x`` (B, T, 2) standardised VV, VH -> Conv1D(32, kernel 3, same) → ReLU → Conv1D(16, kernel 3, same)
→ ReLU → MaxPool1D(2) → flatten (16 · ⌊T/2⌋) → Dense → (B, t_out) NDVI. ``t_out`` may differ from T.
"""

from __future__ import annotations

import torch
from torch import nn

from mcnnseq.errors import ModelConfigError
from mcnnseq.models.mcnn_seq import check_positive_int


class CNNBaseline(nn.Module):
    """``forward(x)``: ``x`` (B, t_in, 2) -> (B, t_out) NDVI.

    Hyper-parameters (keyword-only): ``filters`` = (32, 16), ``kernel_size`` = 3 (odd, "same" padding),
    ``pool`` = 2.
    """

    model_name = "cnn"

    def __init__(self, *, t_in: int, t_out: int, filters: tuple[int, ...] | list[int] = (32, 16),
                 kernel_size: int = 3, pool: int = 2):
        super().__init__()
        name = "CNN"
        self.t_in = check_positive_int("t_in", t_in, model=name)
        self.t_out = check_positive_int("t_out", t_out, model=name)
        self.kernel_size = check_positive_int("kernel_size", kernel_size, model=name)
        self.pool = check_positive_int("pool", pool, model=name)
        if self.kernel_size % 2 == 0:
            raise ModelConfigError(f"{name}: kernel_size must be odd for 'same' padding, got {self.kernel_size}")
        if isinstance(filters, (str, bytes)) or not hasattr(filters, "__iter__") or len(list(filters)) == 0:
            raise ModelConfigError(f"{name}: filters must be a non-empty list of positive integers, got {filters!r}")
        self.filters = tuple(check_positive_int("filters", f, model=name) for f in filters)
        if self.t_in // self.pool < 1:
            raise ModelConfigError(f"{name}: series of {self.t_in} dates is shorter than the max-pool size {self.pool}")
        layers: list[nn.Module] = []
        channels = 2
        for f in self.filters:
            layers += [nn.Conv1d(channels, f, self.kernel_size, padding=self.kernel_size // 2), nn.ReLU()]
            channels = f
        layers.append(nn.MaxPool1d(self.pool))
        self.conv = nn.Sequential(*layers)
        self.head = nn.Linear(channels * (self.t_in // self.pool), self.t_out)

    def config(self) -> dict:
        """JSON-able hyper-parameters; ``CNNBaseline(**config())`` rebuilds the same architecture."""
        return {"t_in": self.t_in, "t_out": self.t_out, "filters": list(self.filters),
                "kernel_size": self.kernel_size, "pool": self.pool}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[1] != self.t_in or x.shape[2] != 2:
            raise ModelConfigError(f"CNN: input must have shape (B, {self.t_in}, 2), got {tuple(x.shape)}")
        h = self.conv(x.transpose(1, 2))            # (B, C, T // pool)
        return self.head(h.flatten(1))

"""MCNN-Seq fusion (SPEC §2 "Beyond the paper"): MCNN-Seq whose input gains the clear NDVI and its mask.

Same architecture as :class:`~mcnnseq.models.mcnn_seq.MCNNSeq` (CNN branches, 2-layer LSTM encoder,
attention decoder fed its own previous output), with two changes:

1. **A third input branch** for the optical observation: per date the pair (NDVI value with NaN -> 0,
   mask 1 where observed / 0 where not) goes through Conv1D(31, kernel 1) → ReLU → Conv1D(62, kernel 1)
   → ReLU → max-pool over the sub-sequence, like the VV and VH branches; the encoder sees
   (B, N, 3 × 62) features. A missing value enters the network only as (0, 0): it cannot leak.
2. **A two-column head**: column 0 is the NDVI, column 1 the log-variance of its error. The variance
   column reads the decoder state *detached* (its loss trains only that column), so the NDVI column is
   trained by the squared error alone. The variance is calibrated after training on validation gaps
   (:mod:`mcnnseq.uncertainty`).

Training hides observed dates (:func:`hide_dates`): per series a run of 1 … ``max(GAP_LENGTHS)``
consecutive dates plus scattered dates (each with a probability drawn per series from
U(0, :data:`SCATTER_MAX`)); the NDVI loss weights hidden entries 1 and still-visible ones
:data:`VISIBLE_WEIGHT` (:meth:`MCNNSeqFusion.hidden_date_loss`). A series may lose every
observation, so the network also learns the radar-only regime (dates with no optical value).

Shapes: ``x`` (B, T, 2) standardised VV, VH; ``ndvi`` (B, T) NDVI, NaN where not observed (the
input NDVI is not standardised: NDVI is already in [-1, 1]); output (B, T) NDVI. ``t_in == t_out``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mcnnseq.errors import ModelConfigError
from mcnnseq.gaps import GAP_LENGTHS
from mcnnseq.models.mcnn_seq import MCNNSeq

#: Largest per-series probability of hiding a scattered date during training (drawn U(0, SCATTER_MAX)).
SCATTER_MAX: float = 0.3
#: Loss weight of the observed entries left visible in the input (hidden entries weigh 1).
VISIBLE_WEIGHT: float = 0.2
#: Range of the log-variance column (NDVI² units): keeps exp() finite on any input.
LOG_VAR_RANGE: tuple[float, float] = (-16.0, 4.0)


def hide_dates(ndvi: torch.Tensor, *, generator: torch.Generator | None = None,
               max_run: int = max(GAP_LENGTHS), scatter_max: float = SCATTER_MAX
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Hide observed dates for training: ``(ndvi_in, hidden)``, both (B, T), for ``ndvi`` (B, T) NaN = missing.

    Per row, a run of k ~ U{1 … ``max_run``} consecutive dates starting at a uniform date (cut at the
    series end) and scattered dates with probability p ~ U(0, ``scatter_max``). ``hidden`` (bool) marks
    the observed entries hidden; ``ndvi_in`` is ``ndvi`` with them set to NaN. Random numbers come from
    ``generator`` (CPU), so a seeded generator gives the same hiding.
    """
    b, t = ndvi.shape
    dev = ndvi.device
    k = torch.randint(1, max_run + 1, (b, 1), generator=generator).to(dev)
    s = torch.randint(0, t, (b, 1), generator=generator).to(dev)
    p = torch.rand((b, 1), generator=generator).to(dev) * scatter_max
    scatter = torch.rand((b, t), generator=generator).to(dev) < p
    idx = torch.arange(t, device=dev).unsqueeze(0)
    run = (idx >= s) & (idx < s + k)
    observed = torch.isfinite(ndvi)
    hidden = (run | scatter) & observed
    return ndvi.masked_fill(hidden, float("nan")), hidden


class _OpticalBranch(nn.Module):
    """Conv1D(k=1) → ReLU → Conv1D(k=1) → ReLU → max-pool per sub-sequence over (NDVI value, mask)."""

    def __init__(self, *, conv1_filters: int, conv2_filters: int):
        super().__init__()
        self.conv1 = nn.Conv1d(2, conv1_filters, kernel_size=1)
        self.conv2 = nn.Conv1d(conv1_filters, conv2_filters, kernel_size=1)

    def forward(self, ndvi: torch.Tensor, sub_len: int) -> torch.Tensor:
        """``ndvi`` (B, T) NaN = missing -> (B, N, conv2_filters)."""
        b, t = ndvi.shape
        mask = torch.isfinite(ndvi)
        value = torch.where(mask, ndvi, torch.zeros_like(ndvi))          # a missing value is never read
        pair = torch.stack((value, mask.to(value.dtype)), dim=2).reshape(b * t, 2)
        h = torch.relu(F.linear(pair, self.conv1.weight.squeeze(2), self.conv1.bias))
        h = torch.relu(F.linear(h, self.conv2.weight.squeeze(2), self.conv2.bias))
        n = t // sub_len
        if sub_len == 1:
            return h.view(b, n, -1)
        return h.view(b, n, sub_len, -1).amax(dim=2)


class MCNNSeqFusion(MCNNSeq):
    """``forward(x, ndvi)``: (B, T, 2) standardised radar + (B, T) observed NDVI (NaN = missing) -> (B, T) NDVI.

    Hyper-parameters: those of :class:`MCNNSeq` (paper values by default). ``t_in`` must equal ``t_out``
    (one optical value per radar date).
    """

    model_name = "mcnn_seq_fusion"
    uses_ndvi = True

    def __init__(self, *, t_in: int, t_out: int, sub_len: int = 1, conv1_filters: int = 31,
                 conv2_filters: int = 62, hidden_size: int = 100, encoder_layers: int = 2,
                 attention_size: int | None = None):
        super().__init__(t_in=t_in, t_out=t_out, sub_len=sub_len, conv1_filters=conv1_filters,
                         conv2_filters=conv2_filters, hidden_size=hidden_size, encoder_layers=encoder_layers,
                         attention_size=attention_size)
        if self.t_in != self.t_out:
            raise ModelConfigError(f"MCNN-Seq fusion: needs one NDVI date per radar date (t_in == t_out), got "
                                   f"t_in={self.t_in}, t_out={self.t_out}")
        h = self.hidden_size
        self.optical = _OpticalBranch(conv1_filters=self.conv1_filters, conv2_filters=self.conv2_filters)
        self.encoder = nn.LSTM(3 * self.conv2_filters, h, num_layers=self.encoder_layers, batch_first=True)
        self.head = nn.Linear(2 * h, 2)          # NDVI, log-variance

    def features(self, x: torch.Tensor, ndvi: torch.Tensor | None = None) -> torch.Tensor:
        """(B, t_in, 2) radar + (B, t_out) NDVI (None = nothing observed) -> (B, N, 3 × conv2_filters)."""
        radar = super().features(x)
        if ndvi is None:
            ndvi = torch.full(x.shape[:2], float("nan"), dtype=x.dtype, device=x.device)
        if ndvi.shape != (x.shape[0], self.t_out):
            raise ModelConfigError(f"MCNN-Seq fusion: NDVI input must have shape ({x.shape[0]}, {self.t_out}), "
                                   f"got {tuple(ndvi.shape)}")
        return torch.cat((radar, self.optical(ndvi.to(x.dtype), self.sub_len)), dim=2)

    def forward(self, x: torch.Tensor, ndvi: torch.Tensor | None = None, *, return_attention: bool = False,
                return_log_var: bool = False, teacher: torch.Tensor | None = None):
        """NDVI (B, t_out); with ``return_log_var`` also the log-variance (B, t_out) (uncalibrated, NDVI²);
        with ``return_attention`` also α (B, t_out, N) last. ``teacher`` is not used (accepted for the
        training loop's signature; the optical input already carries the observations)."""
        enc_out, (h_n, c_n) = self.encoder(self.features(x, ndvi))
        keys = self.attn_keys(enc_out)
        score_w = self.attn_score.weight.view(-1, 1)
        h, c = h_n[-1], c_n[-1]
        y = self.start.expand(x.shape[0], 1)
        w_mean, w_var = self.head.weight[:1], self.head.weight[1:]
        b_mean, b_var = self.head.bias[:1], self.head.bias[1:]
        outputs, log_vars, alphas = [], [], []
        for _ in range(self.t_out):
            energy = (keys + self.attn_query(h).unsqueeze(1)).tanh_()
            alpha = torch.softmax((energy @ score_w).squeeze(2), dim=1)
            context = torch.bmm(alpha.unsqueeze(1), enc_out).squeeze(1)
            h, c = self.decoder(torch.cat((y, context), dim=1), (h, c))
            state = torch.cat((h, context), dim=1)
            y = F.linear(state, w_mean, b_mean)
            outputs.append(y)
            if return_log_var:
                log_vars.append(F.linear(state.detach(), w_var, b_var))
            if return_attention:
                alphas.append(alpha)
        result = [torch.cat(outputs, dim=1)]
        if return_log_var:
            result.append(torch.cat(log_vars, dim=1).clamp(*LOG_VAR_RANGE))
        if return_attention:
            result.append(torch.stack(alphas, dim=1))
        return result[0] if len(result) == 1 else tuple(result)

    def hidden_date_loss(self, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, *,
                         generator: torch.Generator | None = None
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One training batch with dates hidden: ``(loss, sse_hidden, n_hidden)``.

        ``x`` (B, T, 2) standardised radar; ``y`` (B, T) NDVI (any value where ``mask`` is 0); ``mask``
        (B, T) float, 1 where observed. Loss = weighted MSE of the NDVI (hidden 1, visible
        :data:`VISIBLE_WEIGHT`) + the Gaussian negative log-likelihood of the log-variance column on all
        observed entries (with the squared error detached: it trains the variance column only).
        ``sse_hidden``/``n_hidden``: squared error and count on the hidden entries (for the loss curves).
        """
        observed = mask > 0
        target = torch.where(observed, y, torch.full_like(y, float("nan")))
        ndvi_in, hidden = hide_dates(target, generator=generator)
        mean, log_var = self(x, ndvi_in, return_log_var=True)
        truth = torch.where(observed, y, torch.zeros_like(y))
        sq = (mean - truth) ** 2 * mask
        weight = torch.where(hidden, torch.ones_like(mask), torch.full_like(mask, VISIBLE_WEIGHT)) * mask
        mse = (sq * weight).sum() / weight.sum().clamp_min(1e-6)
        nll = ((log_var + sq.detach() * torch.exp(-log_var)) * mask).sum() / mask.sum().clamp_min(1)
        hid = hidden.to(sq.dtype)
        return mse + 0.5 * nll, (sq * hid).sum(), hid.sum()

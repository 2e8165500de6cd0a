"""A straightforward eager MCNN-Seq: the paper's description coded the obvious way, for the benchmark.

Same parameters as :class:`mcnnseq.models.mcnn_seq.MCNNSeq` (it borrows them), computed the way a
first implementation would: ``nn.Conv1d`` applied sub-sequence by sub-sequence, the encoder run
step by step with ``LSTMCell``-style updates, the attention keys ``U h_j`` recomputed at every
decoder step. It must give the same numbers as the packaged model (checked by the benchmark) —
only the speed differs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mcnnseq.models.mcnn_seq import MCNNSeq


class ReferenceMCNNSeq(nn.Module):
    def __init__(self, model: MCNNSeq):
        super().__init__()
        self.m = model

    def _branch(self, branch, x: torch.Tensor) -> torch.Tensor:
        """``x`` (B, T) -> (B, N, F): each sub-sequence through Conv1d → ReLU → Conv1d → ReLU → max-pool."""
        s = self.m.sub_len
        feats = []
        for j in range(self.m.n_sub):
            sub = x[:, j * s:(j + 1) * s].unsqueeze(1)                  # (B, 1, sub_len)
            h = torch.relu(branch.conv1(sub))
            h = torch.relu(branch.conv2(h))                             # (B, F, sub_len)
            feats.append(F.max_pool1d(h, kernel_size=s).flatten(1))     # (B, F)
        return torch.stack(feats, dim=1)

    def _lstm_layer(self, x: torch.Tensor, layer: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        enc = self.m.encoder
        w_ih, w_hh = getattr(enc, f"weight_ih_l{layer}"), getattr(enc, f"weight_hh_l{layer}")
        b_ih, b_hh = getattr(enc, f"bias_ih_l{layer}"), getattr(enc, f"bias_hh_l{layer}")
        b, n, _ = x.shape
        h = x.new_zeros(b, enc.hidden_size)
        c = x.new_zeros(b, enc.hidden_size)
        outs = []
        for j in range(n):
            h, c = torch._VF.lstm_cell(x[:, j], (h, c), w_ih, w_hh, b_ih, b_hh)
            outs.append(h)
        return torch.stack(outs, dim=1), h, c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.m
        feats = torch.cat((self._branch(m.branches[0], x[:, :, 0]), self._branch(m.branches[1], x[:, :, 1])), dim=2)
        seq = feats
        for layer in range(m.encoder.num_layers):
            seq, h, c = self._lstm_layer(seq, layer)
        enc_out = seq
        y = m.start.expand(x.shape[0], 1)
        outputs = []
        for _ in range(m.t_out):
            scores = []
            for j in range(enc_out.shape[1]):   # e_ij = v^T tanh(W s_{i-1} + U h_j), one j at a time
                scores.append(m.attn_score(torch.tanh(m.attn_query(h) + m.attn_keys(enc_out[:, j]))))
            alpha = torch.softmax(torch.cat(scores, dim=1), dim=1)
            context = (alpha.unsqueeze(2) * enc_out).sum(dim=1)
            h, c = m.decoder(torch.cat((y, context), dim=1), (h, c))
            y = m.head(torch.cat((h, context), dim=1))
            outputs.append(y)
        return torch.cat(outputs, dim=1)

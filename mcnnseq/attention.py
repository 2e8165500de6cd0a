"""MCNN-Seq's attention weights for one pixel: which radar dates drove each predicted value (SPEC §2, §5).

The decoder of MCNN-Seq (and of MCNN-Seq fusion) computes, at each predicted date i, weights
α_i over the encoder's N sub-sequences of radar dates (softmax, Σ_j α_ij = 1; N = T with the
paper's sub-sequence length 1). :func:`attention_weights` returns them as a (predicted date × radar
date) matrix for a heatmap.
"""

from __future__ import annotations

import numpy as np

from mcnnseq.errors import ModelConfigError


def has_attention(trained) -> bool:
    """True when ``trained``'s network is an attention encoder-decoder (MCNN-Seq, MCNN-Seq fusion)."""
    net = getattr(trained, "model", None)
    return net is not None and callable(getattr(net, "attn_score", None)) and hasattr(net, "decoder")


def attention_weights(trained, radar: np.ndarray, ndvi: np.ndarray | None = None) -> np.ndarray:
    """(t_out, N) float32 attention weights of one pixel; each row sums to 1.

    ``trained``: a :class:`~mcnnseq.training.TrainedModel` of MCNN-Seq or MCNN-Seq fusion. ``radar``
    (T, 2) or (1, T, 2) VV, VH in dB; ``ndvi`` (T,) observed NDVI with NaN where missing (read by
    the fusion network only). Row i = predicted date i, column j = radar sub-sequence j (the radar
    date j when ``sub_len`` is 1). Raises :class:`ModelConfigError` for a network without attention.
    """
    import torch

    if not has_attention(trained):
        name = getattr(trained, "name", type(trained).__name__)
        raise ModelConfigError(f"{name} has no attention weights (only MCNN-Seq and MCNN-Seq fusion have)")
    x = np.asarray(radar, dtype=np.float32).reshape(1, -1, 2)
    if x.shape[1] != trained.t_in or not np.isfinite(x).all():
        raise ModelConfigError(f"{trained.name}: attention needs a complete radar series of {trained.t_in} dates, "
                               f"got {x.shape[1]} date(s){'' if np.isfinite(x).all() else ' with missing values'}")
    net = trained.model.eval()
    xt = torch.from_numpy(trained.normalizer.transform(x)).to(trained.device)
    with torch.inference_mode():
        if getattr(net, "uses_ndvi", False):
            nd = np.full((1, trained.t_out), np.nan, np.float32) if ndvi is None else \
                np.asarray(ndvi, dtype=np.float32).reshape(1, -1)
            if nd.shape[1] != trained.t_out:
                raise ModelConfigError(f"{trained.name}: NDVI series of {nd.shape[1]} dates, expected {trained.t_out}")
            out = net(xt, torch.from_numpy(nd).to(trained.device), return_attention=True)
        else:
            out = net(xt, return_attention=True)
    return out[-1][0].float().cpu().numpy()

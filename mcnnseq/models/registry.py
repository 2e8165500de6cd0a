"""The three models behind one contract, by name.

Contract: ``model(x)`` with ``x`` (B, t_in, 2) float32 — VV, VH in dB *standardised* by
:class:`mcnnseq.normalization.Normalizer` — returns (B, t_out) NDVI. Every model takes keyword-only
hyper-parameters, exposes ``model_name`` (the registry key) and ``config()`` (JSON-able, includes
``t_in``/``t_out``) so that ``build_model(name, **config)`` rebuilds it.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from torch import nn

from mcnnseq.errors import ModelConfigError
from mcnnseq.models.cnn import CNNBaseline
from mcnnseq.models.mcnn_seq import MCNNSeq
from mcnnseq.models.rnn import RNNBaseline


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: registry ``name``, ``display_name`` for the UI, its class, a one-line description."""

    name: str
    display_name: str
    cls: type[nn.Module]
    description: str

    def default_hparams(self) -> dict:
        """The keyword hyper-parameters and their (paper) defaults, without ``t_in``/``t_out``."""
        params = inspect.signature(self.cls.__init__).parameters
        out = {}
        for key, p in params.items():
            if key in ("self", "t_in", "t_out") or p.kind is not inspect.Parameter.KEYWORD_ONLY:
                continue
            out[key] = list(p.default) if isinstance(p.default, tuple) else p.default
        return out


MODELS: dict[str, ModelSpec] = {
    "mcnn_seq": ModelSpec("mcnn_seq", "MCNN-Seq", MCNNSeq,
                          "VV/VH CNN branches + attention LSTM encoder-decoder (the paper's model)"),
    "cnn": ModelSpec("cnn", "CNN", CNNBaseline, "Conv1D baseline over the whole two-channel series"),
    "rnn": ModelSpec("rnn", "RNN", RNNBaseline, "one-to-one 2-layer LSTM baseline (needs t_out == t_in)"),
}


def get_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of ``name`` (registry key, or display name, case-insensitive)."""
    key = str(name).strip().lower()
    for spec in MODELS.values():
        if key in (spec.name, spec.display_name.lower()):
            return spec
    raise ModelConfigError(f"unknown model {name!r}; known models: {', '.join(MODELS)}")


def display_name(name: str) -> str:
    """``"mcnn_seq"`` -> ``"MCNN-Seq"`` etc."""
    return get_spec(name).display_name


def build_model(name: str, *, t_in: int, t_out: int, **hparams) -> nn.Module:
    """A new, randomly initialised model (uses torch's global RNG: seed it first for reproducibility).

    Raises :class:`ModelConfigError` on an unknown model, an unknown hyper-parameter or a bad value.
    """
    spec = get_spec(name)
    allowed = spec.default_hparams()
    unknown = sorted(set(hparams) - set(allowed))
    if unknown:
        raise ModelConfigError(f"{spec.display_name}: unknown hyper-parameter(s) {unknown}; "
                               f"allowed: {sorted(allowed)}")
    return spec.cls(t_in=t_in, t_out=t_out, **hparams)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

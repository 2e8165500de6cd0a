"""Every model by name: the three networks and the classic gap-fillers (the one place for model names).

Networks (:data:`MODELS`: ``mcnn_seq``, ``cnn``, ``rnn``, ``mcnn_seq_fusion``) are trained. Contract:
``model(x)`` (fusion: ``model(x, ndvi)``, the observed NDVI (B, t_out), NaN = missing) with ``x``
(B, t_in, 2) float32 — VV, VH in dB *standardised* by
:class:`mcnnseq.normalization.Normalizer` — returns (B, t_out) NDVI. Every model takes keyword-only
hyper-parameters, exposes ``model_name`` (the registry key) and ``config()`` (JSON-able, includes
``t_in``/``t_out``) so that ``build_model(name, **config)`` rebuilds it.

Classic gap-fillers (:data:`GAP_FILLERS`: ``linear``, ``whittaker``, see :mod:`mcnnseq.baselines`)
have no weights and no training; they use the observed NDVI (``uses_ndvi``) and are made for a
cube's dates with :func:`build_gap_filler`. :func:`get_spec` and :func:`display_name` know both kinds.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from torch import nn

from mcnnseq.baselines import LinearGapFill, WhittakerGapFill
from mcnnseq.errors import ModelConfigError
from mcnnseq.models.cnn import CNNBaseline
from mcnnseq.models.mcnn_seq import MCNNSeq
from mcnnseq.models.mcnn_seq_fusion import MCNNSeqFusion
from mcnnseq.models.rnn import RNNBaseline


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: registry ``name``, ``display_name`` for the UI, its class, a one-line description.

    ``trainable``: a network with weights (False for the classic gap-fillers); ``uses_ndvi``: it takes
    the pixel's observed NDVI beside the radar (see :mod:`mcnnseq.prediction`).
    """

    name: str
    display_name: str
    cls: type
    description: str
    trainable: bool = True
    uses_ndvi: bool = False

    def default_hparams(self) -> dict:
        """The keyword hyper-parameters and their (paper) defaults, without ``t_in``/``t_out``."""
        params = inspect.signature(self.cls.__init__).parameters
        out = {}
        for key, p in params.items():
            if key in ("self", "t_in", "t_out") or p.kind is not inspect.Parameter.KEYWORD_ONLY:
                continue
            default = p.default.tolist() if hasattr(p.default, "tolist") else p.default
            out[key] = list(default) if isinstance(default, tuple) else default
        return out


#: The networks (trained; checkpoints name them by these keys).
MODELS: dict[str, ModelSpec] = {
    "mcnn_seq": ModelSpec("mcnn_seq", "MCNN-Seq", MCNNSeq,
                          "VV/VH CNN branches + attention LSTM encoder-decoder (the paper's model)"),
    "cnn": ModelSpec("cnn", "CNN", CNNBaseline, "Conv1D baseline over the whole two-channel series"),
    "rnn": ModelSpec("rnn", "RNN", RNNBaseline, "one-to-one 2-layer LSTM baseline (needs t_out == t_in)"),
    "mcnn_seq_fusion": ModelSpec("mcnn_seq_fusion", "MCNN-Seq fusion", MCNNSeqFusion,
                                 "MCNN-Seq fed the clear NDVI and its mask beside VV/VH, trained by hiding "
                                 "observed dates (the default gap-filler where optical observations exist)",
                                 uses_ndvi=True),
}
#: The network that fills gaps by default wherever a cube has optical observations (SPEC §2).
DEFAULT_GAP_FILLER: str = "mcnn_seq_fusion"
#: The radar-only network of the paper comparison.
PAPER_MODEL: str = "mcnn_seq"


#: The classic gap-fillers (no weights, no training), in the order tables show them after the networks.
GAP_FILLERS: dict[str, ModelSpec] = {
    "linear": ModelSpec("linear", "Linear", LinearGapFill,
                        "linear interpolation in time over the pixel's clear NDVI observations",
                        trainable=False, uses_ndvi=True),
    "whittaker": ModelSpec("whittaker", "Whittaker", WhittakerGapFill,
                           "Whittaker smoother over the clear NDVI observations, smoothing chosen by GCV",
                           trainable=False, uses_ndvi=True),
}


def all_specs() -> dict[str, ModelSpec]:
    """Every registered model: the networks, then the gap-fillers."""
    return {**MODELS, **GAP_FILLERS}


def get_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of ``name`` (registry key, or display name, case-insensitive)."""
    key = str(name).strip().lower()
    for spec in all_specs().values():
        if key in (spec.name, spec.display_name.lower()):
            return spec
    raise ModelConfigError(f"unknown model {name!r}; known models: {', '.join(all_specs())}")


def is_gap_filler(name: str) -> bool:
    """True when ``name`` (registry key or display name) is a classic gap-filler (no weights)."""
    try:
        return not get_spec(name).trainable
    except ModelConfigError:
        return False


def build_gap_filler(name: str, *, dates=None, **options):
    """A classic gap-filler set up for ``dates`` (the cube's S2 dates; None = equally spaced)."""
    spec = get_spec(name)
    if spec.trainable:
        raise ModelConfigError(f"{spec.display_name} is a network: train it or load its checkpoint")
    return spec.cls(dates, **options)


def display_name(name: str) -> str:
    """``"mcnn_seq"`` -> ``"MCNN-Seq"`` etc."""
    return get_spec(name).display_name


def build_model(name: str, *, t_in: int, t_out: int, **hparams) -> nn.Module:
    """A new, randomly initialised model (uses torch's global RNG: seed it first for reproducibility).

    Raises :class:`ModelConfigError` on an unknown model, an unknown hyper-parameter or a bad value.
    """
    spec = get_spec(name)
    if not spec.trainable:
        raise ModelConfigError(f"{spec.display_name} has no weights and no training; "
                               "use build_gap_filler() to apply it")
    allowed = spec.default_hparams()
    unknown = sorted(set(hparams) - set(allowed))
    if unknown:
        raise ModelConfigError(f"{spec.display_name}: unknown hyper-parameter(s) {unknown}; "
                               f"allowed: {sorted(allowed)}")
    return spec.cls(t_in=t_in, t_out=t_out, **hparams)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

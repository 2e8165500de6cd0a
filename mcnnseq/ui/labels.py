"""Words the dashboard shows for things the code names otherwise (no Streamlit here).

Hyper-parameters are keyword names in the models (``sub_len``, ``conv1_filters``); the Train page
shows them as people say them. File names get break opportunities so a narrow sidebar wraps them
between words, not in the middle of one.
"""

from __future__ import annotations

import re

#: hyper-parameter keyword -> (label, help). Unknown keywords fall back to :func:`hparam_label`'s rule.
HPARAMS: dict[str, tuple[str, str]] = {
    "sub_len": ("Dates per sub-sequence", "MCNN-Seq splits each series into sub-sequences of this many dates "
                "(must divide the number of dates; the paper uses 1)."),
    "conv1_filters": ("Filters, 1st convolution", "Filters of the first 1-D convolution of each polarisation branch."),
    "conv2_filters": ("Filters, 2nd convolution", "Filters of the second 1-D convolution of each polarisation branch."),
    "hidden_size": ("LSTM units", "Units of the LSTM layers (encoder and decoder)."),
    "encoder_layers": ("Encoder LSTM layers", "Stacked LSTM layers of the encoder."),
    "attention_size": ("Attention size", "Size of the attention's hidden layer; empty = the number of LSTM units."),
    "filters": ("Filters per convolution layer", "Comma-separated, one number per convolution layer, e.g. 32, 16."),
    "kernel_size": ("Kernel size (dates)", "Width of the convolution kernels, in dates."),
    "pool": ("Pooling size", "Dates merged by each max-pooling step."),
    "num_layers": ("LSTM layers", "Stacked LSTM layers."),
}


def hparam_label(key: str) -> str:
    """``"conv1_filters"`` -> ``"Filters, 1st convolution"``; an unknown key -> its words ("Drop rate")."""
    if key in HPARAMS:
        return HPARAMS[key][0]
    words = key.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def hparam_help(key: str) -> str | None:
    return HPARAMS[key][1] if key in HPARAMS else None


def parse_int_list(text: str) -> list[int]:
    """``"32, 16"`` -> ``[32, 16]``; raise ``ValueError`` naming what is wrong."""
    parts = [p for p in re.split(r"[\s,;]+", str(text).strip()) if p]
    if not parts:
        raise ValueError("give at least one number")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"'{text}' is not a list of whole numbers such as 32, 16") from None
    if any(v < 1 for v in values):
        raise ValueError("every number must be at least 1")
    return values


def soft_wrap(text: str) -> str:
    """``text`` with zero-width spaces after ``_``, ``-``, ``.`` and ``/``, so long file names wrap there."""
    return re.sub(r"([_\-./])", "\\1\u200b", str(text))


METRICS: dict[str, str] = {"r2": "R²", "rmse": "RMSE", "n": "pixels scored"}

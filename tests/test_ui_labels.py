"""mcnnseq.ui.labels: the names the dashboard shows."""

from __future__ import annotations

import pytest

from mcnnseq.ui import labels


def test_every_hyper_parameter_of_every_model_has_a_human_label():
    from mcnnseq.models.registry import MODELS

    for spec in MODELS.values():
        for key in spec.default_hparams():
            label = labels.hparam_label(key)
            assert "_" not in label and label[0].isupper(), (spec.name, key, label)
    assert labels.hparam_label("conv1_filters") == "Filters, 1st convolution"
    assert labels.hparam_label("drop_rate") == "Drop rate"


def test_parse_int_list():
    assert labels.parse_int_list("32, 16") == [32, 16] and labels.parse_int_list("8 4;2") == [8, 4, 2]
    for bad in ("", "32, x", "0, 4"):
        with pytest.raises(ValueError):
            labels.parse_int_list(bad)


def test_soft_wrap_breaks_only_between_words():
    text = labels.soft_wrap("worldcereal_preprocessed-inputs.nc")
    assert text.replace("\u200b", "") == "worldcereal_preprocessed-inputs.nc"
    assert text.count("\u200b") == 3 and "pre\u200b" not in text

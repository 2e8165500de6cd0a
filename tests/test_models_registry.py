"""Tests of the model registry: one contract, three models, by name."""

from __future__ import annotations

import json

import pytest
import torch

from mcnnseq.errors import ModelConfigError
from mcnnseq.models import MODELS, build_model, display_name, get_spec

TINY = {"mcnn_seq": {"hidden_size": 8, "conv1_filters": 3, "conv2_filters": 4}, "cnn": {"filters": [4, 2]},
        "rnn": {"hidden_size": 8}, "mcnn_seq_fusion": {"hidden_size": 8, "conv1_filters": 3, "conv2_filters": 4}}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_registry_names():
    assert list(MODELS) == ["mcnn_seq", "cnn", "rnn", "mcnn_seq_fusion"]
    assert [s.display_name for s in MODELS.values()] == ["MCNN-Seq", "CNN", "RNN", "MCNN-Seq fusion"]
    assert MODELS["mcnn_seq_fusion"].uses_ndvi and not MODELS["mcnn_seq"].uses_ndvi
    assert display_name("mcnn_seq") == "MCNN-Seq"
    assert get_spec("MCNN-Seq").name == "mcnn_seq"


@pytest.mark.parametrize("name", list(MODELS))
def test_contract_and_rebuild_from_config(name):
    torch.manual_seed(0)
    model = build_model(name, t_in=12, t_out=12, **TINY[name]).eval()
    assert model.model_name == name
    x = torch.randn(3, 12, 2)
    y = model(x)
    assert y.shape == (3, 12) and y.dtype == torch.float32
    config = json.loads(json.dumps(model.config()))
    assert config["t_in"] == 12 and config["t_out"] == 12
    clone = build_model(name, **config).eval()
    clone.load_state_dict(model.state_dict())
    assert torch.equal(clone(x), y)


@pytest.mark.parametrize("name", list(MODELS))
def test_default_hparams_are_the_paper_defaults_and_json_able(name):
    defaults = MODELS[name].default_hparams()
    json.dumps(defaults)
    model = build_model(name, t_in=31, t_out=31, **defaults)
    assert {k: v for k, v in model.config().items() if k not in ("t_in", "t_out")} == defaults


def test_errors_are_clear():
    with pytest.raises(ModelConfigError, match=r"unknown model 'lstm'.*mcnn_seq, cnn, rnn, mcnn_seq_fusion"):
        build_model("lstm", t_in=12, t_out=12)
    with pytest.raises(ModelConfigError, match=r"MCNN-Seq: unknown hyper-parameter\(s\) \['units'\]"):
        build_model("mcnn_seq", t_in=12, t_out=12, units=3)
    with pytest.raises(ModelConfigError, match="t_out"):
        build_model("rnn", t_in=12, t_out=10)
    assert issubclass(ModelConfigError, ValueError)


def test_gap_fillers_are_registered_by_name_but_not_trainable():
    from mcnnseq.baselines import LinearGapFill, WhittakerGapFill
    from mcnnseq.models import GAP_FILLERS, all_specs, build_gap_filler, is_gap_filler

    assert list(GAP_FILLERS) == ["linear", "whittaker"]
    assert [display_name(n) for n in GAP_FILLERS] == ["Linear", "Whittaker"]
    assert get_spec("Whittaker").name == "whittaker" and not get_spec("linear").trainable
    assert get_spec("linear").uses_ndvi and not get_spec("cnn").uses_ndvi
    assert list(all_specs()) == ["mcnn_seq", "cnn", "rnn", "mcnn_seq_fusion", "linear", "whittaker"]
    assert is_gap_filler("Linear") and not is_gap_filler("cnn") and not is_gap_filler("lstm")
    assert isinstance(build_gap_filler("linear"), LinearGapFill)
    w = build_gap_filler("whittaker", dates=["2021-01-01", "2021-02-01", "2021-03-01"])
    assert isinstance(w, WhittakerGapFill) and w.dates.size == 3 and w.model_name == "whittaker"
    with pytest.raises(ModelConfigError, match="no weights"):
        build_model("linear", t_in=3, t_out=3)
    with pytest.raises(ModelConfigError, match="network"):
        build_gap_filler("cnn")

"""Tests of the model registry: one contract, three models, by name."""

from __future__ import annotations

import json

import pytest
import torch

from mcnnseq.errors import ModelConfigError
from mcnnseq.models import MODELS, build_model, display_name, get_spec

TINY = {"mcnn_seq": {"hidden_size": 8, "conv1_filters": 3, "conv2_filters": 4}, "cnn": {"filters": [4, 2]},
        "rnn": {"hidden_size": 8}}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_registry_names():
    assert list(MODELS) == ["mcnn_seq", "cnn", "rnn"]
    assert [s.display_name for s in MODELS.values()] == ["MCNN-Seq", "CNN", "RNN"]
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
    with pytest.raises(ModelConfigError, match=r"unknown model 'lstm'.*mcnn_seq, cnn, rnn"):
        build_model("lstm", t_in=12, t_out=12)
    with pytest.raises(ModelConfigError, match=r"MCNN-Seq: unknown hyper-parameter\(s\) \['units'\]"):
        build_model("mcnn_seq", t_in=12, t_out=12, units=3)
    with pytest.raises(ModelConfigError, match="t_out"):
        build_model("rnn", t_in=12, t_out=10)
    assert issubclass(ModelConfigError, ValueError)

"""Tests of mcnnseq.attention: one pixel's attention weights (predicted date x radar date)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mcnnseq.attention import attention_weights, has_attention
from mcnnseq.errors import ModelConfigError
from mcnnseq.models import build_model
from mcnnseq.normalization import Normalizer
from mcnnseq.training import TrainConfig, TrainedModel

TINY = {"hidden_size": 8, "conv1_filters": 3, "conv2_filters": 4}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _trained(name: str, **hparams) -> TrainedModel:
    torch.manual_seed(0)
    X = np.random.default_rng(0).normal(-15, 3, (20, 6, 2)).astype(np.float32)
    net = build_model(name, t_in=6, t_out=6, **hparams).eval()
    return TrainedModel(model=net, config=TrainConfig.quick(name), normalizer=Normalizer.fit(X))


@pytest.mark.parametrize("name", ["mcnn_seq", "mcnn_seq_fusion"])
def test_weights_are_a_distribution_per_predicted_date(name):
    trained = _trained(name, **TINY)
    radar = np.random.default_rng(1).normal(-15, 3, (6, 2)).astype(np.float32)
    w = attention_weights(trained, radar, ndvi=np.array([0.2, np.nan, 0.4, 0.5, np.nan, 0.3]))
    assert w.shape == (6, 6) and w.dtype == np.float32
    assert np.allclose(w.sum(axis=1), 1.0, atol=1e-5) and (w >= 0).all()
    x = torch.from_numpy(trained.normalizer.transform(radar[None]))
    if name == "mcnn_seq":       # the same numbers as the network's own forward
        assert np.allclose(trained.model(x, return_attention=True)[1][0].detach().numpy(), w)
    sub = _trained(name, sub_len=2, **TINY)
    assert attention_weights(sub, radar).shape == (6, 3)


def test_networks_without_attention_and_bad_series_are_refused():
    cnn = _trained("cnn", filters=[4, 2])
    assert not has_attention(cnn)
    with pytest.raises(ModelConfigError, match="no attention"):
        attention_weights(cnn, np.zeros((6, 2)))
    seq = _trained("mcnn_seq", **TINY)
    bad = np.zeros((6, 2))
    bad[2, 0] = np.nan
    with pytest.raises(ModelConfigError, match="complete radar series of 6 dates"):
        attention_weights(seq, bad)
    with pytest.raises(ModelConfigError, match="complete radar series of 6 dates, got 5"):
        attention_weights(seq, np.zeros((5, 2)))

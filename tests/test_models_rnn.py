"""Tests of the one-to-one RNN baseline (paper §4.4)."""

from __future__ import annotations

import pytest
import torch

from mcnnseq.errors import ModelConfigError
from mcnnseq.models import RNNBaseline, count_parameters


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _x(b: int, t: int) -> torch.Tensor:
    return torch.randn(b, t, 2, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("t", [31, 12, 1])
def test_output_shape(t):
    y = RNNBaseline(t_in=t, t_out=t, hidden_size=8)(_x(3, t))
    assert y.shape == (3, t) and y.dtype == torch.float32


def test_refuses_different_output_length():
    with pytest.raises(ModelConfigError, match=r"t_out=12 != t_in=31"):
        RNNBaseline(t_in=31, t_out=12)


def test_paper_sized_parameter_count():
    h = 100
    lstm = lambda i: 4 * h * (i + h) + 8 * h  # noqa: E731
    assert count_parameters(RNNBaseline(t_in=31, t_out=31)) == lstm(2) + lstm(h) + h + 1


def test_one_to_one_output_only_sees_the_past():
    torch.manual_seed(0)
    model = RNNBaseline(t_in=12, t_out=12, hidden_size=8).eval()
    x = _x(2, 12)
    x2 = x.clone()
    x2[:, 6:] += 3.0                         # change the radar from date 6 on
    y, y2 = model(x), model(x2)
    assert torch.equal(y[:, :6], y2[:, :6])
    assert not torch.equal(y[:, 6:], y2[:, 6:])


def test_config_rebuilds_same_model():
    torch.manual_seed(0)
    model = RNNBaseline(t_in=12, t_out=12, hidden_size=8, num_layers=1).eval()
    clone = RNNBaseline(**model.config()).eval()
    clone.load_state_dict(model.state_dict())
    assert torch.equal(clone(_x(3, 12)), model(_x(3, 12)))

"""Tests of the CNN baseline (paper §4.4)."""

from __future__ import annotations

import pytest
import torch

from mcnnseq.errors import ModelConfigError
from mcnnseq.models import CNNBaseline, count_parameters


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _x(b: int, t: int) -> torch.Tensor:
    return torch.randn(b, t, 2, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("t_in,t_out", [(31, 31), (12, 12), (31, 12), (12, 31), (5, 3)])
def test_output_shape(t_in, t_out):
    y = CNNBaseline(t_in=t_in, t_out=t_out)(_x(4, t_in))
    assert y.shape == (4, t_out) and y.dtype == torch.float32


def test_paper_sized_parameter_count():
    model = CNNBaseline(t_in=31, t_out=31)
    conv = (2 * 3 * 32 + 32) + (32 * 3 * 16 + 16)
    dense = 16 * (31 // 2) * 31 + 31
    assert count_parameters(model) == conv + dense


def test_bad_settings_are_refused():
    with pytest.raises(ModelConfigError, match="odd"):
        CNNBaseline(t_in=12, t_out=12, kernel_size=4)
    with pytest.raises(ModelConfigError, match="shorter than the max-pool"):
        CNNBaseline(t_in=1, t_out=1)
    with pytest.raises(ModelConfigError, match="filters"):
        CNNBaseline(t_in=12, t_out=12, filters=[])
    with pytest.raises(ModelConfigError, match=r"\(B, 12, 2\)"):
        CNNBaseline(t_in=12, t_out=12)(_x(2, 11))


def test_config_rebuilds_same_model():
    torch.manual_seed(0)
    model = CNNBaseline(t_in=12, t_out=7, filters=(8, 4)).eval()
    clone = CNNBaseline(**model.config()).eval()
    clone.load_state_dict(model.state_dict())
    assert torch.equal(clone(_x(3, 12)), model(_x(3, 12)))

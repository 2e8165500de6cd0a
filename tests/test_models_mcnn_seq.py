"""Tests of the MCNN-Seq model (SPEC §2, paper §3–§4.1)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mcnnseq.errors import ModelConfigError
from mcnnseq.models import MCNNSeq, count_parameters


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _x(b: int, t: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(b, t, 2, generator=torch.Generator().manual_seed(seed))


def _tiny(**kw) -> MCNNSeq:
    torch.manual_seed(0)
    kw.setdefault("hidden_size", 8)
    kw.setdefault("conv1_filters", 4)
    kw.setdefault("conv2_filters", 6)
    return MCNNSeq(**kw).eval()


@pytest.mark.parametrize("t_in,t_out,sub_len", [(31, 31, 1), (12, 12, 1), (12, 12, 3), (12, 12, 4), (12, 31, 2),
                                                (31, 10, 31), (31, 40, 1)])
def test_output_shape(t_in, t_out, sub_len):
    model = _tiny(t_in=t_in, t_out=t_out, sub_len=sub_len)
    y = model(_x(5, t_in))
    assert y.shape == (5, t_out) and y.dtype == torch.float32
    assert model.n_sub == t_in // sub_len
    assert model.features(_x(5, t_in)).shape == (5, t_in // sub_len, 2 * 6)


def test_paper_sized_model():
    model = MCNNSeq(t_in=31, t_out=31)
    assert model.features(_x(2, 31)).shape == (2, 31, 124)  # 31 sub-sequences x (62 VV + 62 VH)
    h, f1, f2 = 100, 31, 62
    branch = (f1 + f1) + (f2 * f1 + f2)
    lstm = lambda i: 4 * h * (i + h) + 8 * h  # noqa: E731 - torch LSTMs carry two bias vectors
    expected = 2 * branch + lstm(2 * f2) + lstm(h) + lstm(1 + h) + (h * h) + (h * h + h) + h + (2 * h + 1) + 1
    assert count_parameters(model) == expected
    assert model(_x(3, 31)).shape == (3, 31)


def test_sub_len_must_divide_series():
    with pytest.raises(ModelConfigError, match=r"sub_len=5 does not divide.*t_in=12.*\[1, 2, 3, 4, 6, 12\]"):
        MCNNSeq(t_in=12, t_out=12, sub_len=5)
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ModelConfigError, match="sub_len"):
            MCNNSeq(t_in=12, t_out=12, sub_len=bad)


def test_wrong_input_shape_is_refused():
    with pytest.raises(ModelConfigError, match=r"\(B, 12, 2\)"):
        _tiny(t_in=12, t_out=12)(_x(2, 13))


def test_branches_are_separate_per_polarisation():
    model = _tiny(t_in=12, t_out=12)
    x = _x(3, 12)
    x2 = x.clone()
    x2[:, :, 1] += 1.5                     # change VH only
    f, f2 = model.features(x), model.features(x2)
    assert torch.equal(f[..., :6], f2[..., :6])          # VV features untouched
    assert not torch.equal(f[..., 6:], f2[..., 6:])
    assert not torch.equal(model.branches[0].conv1.weight, model.branches[1].conv1.weight)


def test_sub_sequences_are_processed_independently():
    model = _tiny(t_in=12, t_out=12, sub_len=3)
    x = _x(2, 12)
    x2 = x.clone()
    x2[:, 7, 0] += 2.0                      # date 7 lies in sub-sequence 2 (dates 6..8)
    diff = (model.features(x) - model.features(x2)).abs().sum(dim=(0, 2))
    assert diff[2] > 0 and diff[[0, 1, 3]].eq(0).all()


def test_batched_branch_equals_conv1d_and_maxpool():
    model = _tiny(t_in=12, t_out=12, sub_len=4)
    x = _x(3, 12)
    for pol, branch in enumerate(model.branches):
        seqs = x[:, :, pol].reshape(3 * 3, 1, 4)          # (B*N, 1, sub_len)
        ref = F.relu(branch.conv2(F.relu(branch.conv1(seqs))))
        ref = F.max_pool1d(ref, kernel_size=4).flatten(1).view(3, 3, -1)
        got = model.features(x)[..., pol * 6:(pol + 1) * 6]
        torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-6)


def test_attention_weights_are_a_distribution_over_sub_sequences():
    model = _tiny(t_in=12, t_out=9, sub_len=2)
    y, alpha = model(_x(4, 12), return_attention=True)
    assert y.shape == (4, 9) and alpha.shape == (4, 9, 6)
    torch.testing.assert_close(alpha.sum(-1), torch.ones(4, 9))
    assert (alpha >= 0).all()
    torch.testing.assert_close(y, model(_x(4, 12)))


def test_decoder_generates_step_by_step_without_targets():
    # No teacher forcing: the first k outputs do not depend on how many steps are decoded in total.
    short = _tiny(t_in=12, t_out=5)
    long = _tiny(t_in=12, t_out=8)
    long.load_state_dict(short.state_dict())      # no parameter depends on t_out
    x = _x(3, 12)
    torch.testing.assert_close(long(x)[:, :5], short(x))


def test_samples_do_not_interact_within_a_batch():
    model = _tiny(t_in=12, t_out=12)
    x = _x(6, 12)
    torch.testing.assert_close(model(x)[2:3], model(x[2:3]), rtol=1e-5, atol=1e-6)


def test_every_parameter_gets_a_gradient():
    model = _tiny(t_in=12, t_out=7, sub_len=3).train()
    model(_x(4, 12)).pow(2).mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_config_rebuilds_same_architecture():
    model = _tiny(t_in=12, t_out=8, sub_len=4, attention_size=5)
    clone = MCNNSeq(**model.config()).eval()
    clone.load_state_dict(model.state_dict())
    x = _x(2, 12)
    assert torch.equal(clone(x), model(x))

"""Tests of MCNN-Seq fusion: shapes, the optical branch, training by hiding dates, and that no hidden value leaks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mcnnseq.errors import ModelConfigError
from mcnnseq.experiment import demo_experiment, leave_one_date_out, train
from mcnnseq.gaps import GAP_LENGTHS
from mcnnseq.models import build_model
from mcnnseq.models.mcnn_seq_fusion import MCNNSeqFusion, hide_dates
from mcnnseq.training import TrainConfig

TINY = {"hidden_size": 8, "conv1_filters": 3, "conv2_filters": 4}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _ndvi(b: int, t: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    y = torch.rand((b, t), generator=g)
    y[torch.rand((b, t), generator=g) < 0.3] = float("nan")
    return y


def test_shapes_attention_and_log_variance():
    torch.manual_seed(0)
    model = build_model("mcnn_seq_fusion", t_in=10, t_out=10, **TINY).eval()
    assert isinstance(model, MCNNSeqFusion) and model.uses_ndvi and model.model_name == "mcnn_seq_fusion"
    x = torch.randn(5, 10, 2)
    nd = _ndvi(5, 10)
    y = model(x, nd)
    assert y.shape == (5, 10) and torch.isfinite(y).all()
    y2, log_var, alpha = model(x, nd, return_log_var=True, return_attention=True)
    assert torch.equal(y, y2) and log_var.shape == (5, 10) and alpha.shape == (5, 10, 10)
    assert torch.allclose(alpha.sum(-1), torch.ones(5, 10))
    assert model.features(x, nd).shape == (5, 10, 12)               # VV, VH, optical: 3 x conv2_filters
    assert model(x).shape == (5, 10)                                 # no NDVI given: radar only
    sub = build_model("mcnn_seq_fusion", t_in=10, t_out=10, sub_len=2, **TINY).eval()
    assert sub(x, nd, return_attention=True)[1].shape == (5, 10, 5)


def test_the_optical_input_matters_and_missing_values_are_only_a_mask():
    torch.manual_seed(1)
    model = build_model("mcnn_seq_fusion", t_in=8, t_out=8, **TINY).eval()
    x = torch.randn(2, 8, 2)
    nd = _ndvi(2, 8, seed=3)
    nd[:, 2] = float("nan")
    base = model(x, nd)
    changed = nd.clone()
    changed[:, 5] = 0.9                                              # an observed value changes the prediction
    assert not torch.allclose(model(x, changed), base)
    # a missing value is (0, mask 0) whatever its payload: NaN, +inf or -inf give the same features
    for payload in (float("inf"), float("-inf")):
        other = nd.clone()
        other[:, 2] = payload
        assert torch.equal(model.features(x, other), model.features(x, nd))


def test_errors_name_the_problem():
    with pytest.raises(ModelConfigError, match="t_in == t_out"):
        build_model("mcnn_seq_fusion", t_in=10, t_out=8, **TINY)
    model = build_model("mcnn_seq_fusion", t_in=6, t_out=6, **TINY)
    with pytest.raises(ModelConfigError, match=r"NDVI input must have shape \(2, 6\)"):
        model(torch.randn(2, 6, 2), torch.zeros(2, 5))


def test_hide_dates_hides_only_observed_dates_seeded():
    y = _ndvi(400, 12, seed=2)
    a, hidden = hide_dates(y, generator=torch.Generator().manual_seed(7))
    b, hidden_b = hide_dates(y, generator=torch.Generator().manual_seed(7))
    assert torch.equal(hidden, hidden_b) and torch.equal(torch.isnan(a), torch.isnan(b))
    observed = torch.isfinite(y)
    assert not (hidden & ~observed).any()                          # only observed dates are hidden
    assert torch.isnan(a[hidden]).all()                             # hidden -> NaN in the input
    kept = observed & ~hidden
    assert torch.equal(a[kept], y[kept])                            # the rest is untouched
    assert hidden.any(dim=1).float().mean() > 0.5 and hidden.float().mean() < 0.6
    # runs up to max(GAP_LENGTHS) consecutive dates occur
    full = torch.rand(500, 12, generator=torch.Generator().manual_seed(0))
    _, h = hide_dates(full, generator=torch.Generator().manual_seed(1), scatter_max=0.0)
    runs = h.sum(dim=1)
    assert runs.min() >= 1 and runs.max() == max(GAP_LENGTHS)


def test_training_never_feeds_a_hidden_value(monkeypatch):
    """Changing the truth of the hidden entries changes neither the network's input nor its prediction."""
    torch.manual_seed(0)
    model = build_model("mcnn_seq_fusion", t_in=8, t_out=8, **TINY)
    seen = []
    original = MCNNSeqFusion.forward

    def spy(self, x, ndvi=None, **kw):
        seen.append(ndvi.clone())
        return original(self, x, ndvi, **kw)

    monkeypatch.setattr(MCNNSeqFusion, "forward", spy)
    x = torch.randn(64, 8, 2)
    y = torch.rand(64, 8)
    mask = (torch.rand(64, 8, generator=torch.Generator().manual_seed(3)) > 0.2).float()
    model.hidden_date_loss(x, y, mask, generator=torch.Generator().manual_seed(11))
    _, hidden = hide_dates(torch.where(mask > 0, y, torch.full_like(y, float("nan"))),
                           generator=torch.Generator().manual_seed(11))
    assert hidden.any()
    y2 = y.clone()
    y2[hidden] = y2[hidden] + 0.5                                   # another truth where hidden
    model.hidden_date_loss(x, y2, mask, generator=torch.Generator().manual_seed(11))
    first, second = seen
    assert torch.isnan(first[hidden]).all()
    assert torch.equal(torch.nan_to_num(first, nan=-9), torch.nan_to_num(second, nan=-9))


@pytest.fixture(scope="module")
def fusion_run():
    exp = demo_experiment(size=16, seed=3, protocol="real")
    config = TrainConfig.quick("mcnn_seq_fusion", max_steps=30, eval_every=10, hparams=TINY, num_threads=1)
    return exp, config, train(exp, config)


def test_trains_through_the_normal_path_seeded_and_calibrated(fusion_run):
    exp, config, trained = fusion_run
    assert trained.model_name == "mcnn_seq_fusion" and trained.uses_ndvi
    assert len(trained.history) == 3 and all(np.isfinite(r.val_loss) for r in trained.history)
    assert trained.uncertainty is not None and trained.uncertainty["kind"] == "head"
    again = train(exp, config)
    for (k, a), (_, b) in zip(trained.model.state_dict().items(), again.model.state_dict().items()):
        assert torch.equal(a, b), k
    assert again.uncertainty == trained.uncertainty


def test_prediction_of_a_hidden_date_does_not_depend_on_its_value(fusion_run):
    from mcnnseq.normalization import Normalizer
    from mcnnseq.training import TrainedModel

    exp, _, trained = fusion_run
    X, _ = exp.test_arrays()
    obs = exp.test_observed()
    # a freshly initialised network reads the NDVI (a short training may leave its optical branch silent)
    torch.manual_seed(4)
    net = build_model("mcnn_seq_fusion", t_in=X.shape[1], t_out=X.shape[1], **TINY).eval()
    fresh = TrainedModel(model=net, config=trained.config, normalizer=Normalizer.fit(X))
    pix, date = np.nonzero(np.isfinite(obs))
    loo = leave_one_date_out(fresh, X, obs)
    other = obs.copy()
    other[pix, date] = np.clip(obs[pix, date] + 0.3, -1, 1)       # change every observed value
    assert np.abs(leave_one_date_out(fresh, X, other) - loo).max() > 0   # the NDVI input matters ...
    for i, t in zip(pix[:5], date[:5]):                             # ... but never an entry's own value
        single = obs[i:i + 1].copy()
        single[0, t] = -0.5
        assert np.array_equal(leave_one_date_out(fresh, X[i:i + 1], single)[0, t], loo[i, t])
    mean, std = trained.predict_with_std(X, ndvi=obs)
    assert mean.shape == std.shape == obs.shape and (std > 0).all()
    assert np.allclose(trained.predict(X, ndvi=obs, precision="fp32"), mean, atol=1e-5)


def test_evaluation_predicts_each_copy_once_for_its_scores_and_its_coverage(fusion_run, monkeypatch):
    from mcnnseq.experiment import evaluate
    from mcnnseq.gaps import make_gaps
    from mcnnseq.uncertainty import coverage_2sigma

    exp, _, trained = fusion_run
    X, Y = exp.test_arrays()
    obs = exp.test_observed()
    expected = coverage_2sigma(trained, X, Y, obs, seed=exp.split.seed)
    rows = []
    real = type(trained).predict_with_std

    def counted(self, X, *args, **kwargs):
        rows.append(X.shape[0])
        return real(self, X, *args, **kwargs)

    monkeypatch.setattr(type(trained), "predict_with_std", counted)
    monkeypatch.setattr(type(trained), "predict", lambda *a, **k: pytest.fail("predicted without σ"))
    ev = evaluate({"fusion": trained}, exp)
    assert ev.coverage["fusion"] == expected
    # the pixels once, one copy per observed entry (leave-one-date-out), one per artificial gap: no second pass
    assert sum(rows) == X.shape[0] + int(np.isfinite(obs).sum()) + len(make_gaps(obs, seed=exp.split.seed))

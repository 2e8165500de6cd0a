"""Shipped held-out test predictions of the demo fusion model: fresh, equal to live ones, refused when stale,
and used by evaluate() without running the model."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from mcnnseq.demo_scores import demo_scores_path, load_demo_scores
from mcnnseq.experiment import evaluate, make_experiment
from mcnnseq.heldout import gap_predictions, held_out_predictions
from mcnnseq.gaps import make_gaps
from mcnnseq.pretrained import ASSETS_DIR, demo_experiment_for_models


@pytest.fixture(scope="module")
def exp():
    return demo_experiment_for_models("50%")


def test_shipped_files_are_small():
    sizes = [demo_scores_path(s).stat().st_size for s in ("50%", "70%")]
    assert max(sizes) < 3e6, sizes


def test_stored_predictions_equal_live_ones_on_a_sample_of_test_pixels(exp, one_torch_thread):
    stored = load_demo_scores("50%", exp)
    assert stored is not None, ("assets/predictions/demo_50_scores.nc is stale or missing: rebuild it with "
                                "`python scripts/build_demo_predictions.py --parts scores`")
    from mcnnseq.demo_predictions import _shipped_models

    fusion = _shipped_models("50%", None)["MCNN-Seq fusion"]
    assert list(stored) == ["MCNN-Seq fusion"]
    held, gapped = stored["MCNN-Seq fusion"]
    X, Y = exp.test_arrays()
    obs = exp.test_observed()
    assert held.shape == Y.shape
    rows = np.arange(0, X.shape[0], 150)                     # 40 test pixels: every observed date hidden in turn
    live = held_out_predictions(fusion, X[rows], obs[rows])[0]
    np.testing.assert_allclose(held[rows], live, atol=1e-5)
    gaps = make_gaps(obs, seed=exp.split.seed)
    assert gapped.shape == (len(gaps), Y.shape[1])
    copies = np.flatnonzero(np.isin(gaps.pixel, rows))
    hidden = gaps.mask()
    live_gapped = fusion.predict(X[gaps.pixel[copies]], ndvi=gaps.apply(obs)[copies])
    np.testing.assert_allclose(gapped[copies][hidden[copies]], live_gapped[hidden[copies]], atol=1e-5)
    assert np.isnan(gapped[~hidden]).all()                    # only the scored entries are stored


def test_stale_scores_are_refused(exp, tmp_path):
    models_dir = tmp_path / "models"
    shutil.copytree(ASSETS_DIR, models_dir)
    assert load_demo_scores("50%", exp, models_dir=models_dir) is not None
    # another split of the same scene: refused
    other = make_experiment(exp.ds, seed=1, protocol=exp.protocol)
    assert load_demo_scores("50%", other, models_dir=models_dir) is None
    # the fusion model was retrained (same file name): refused
    path = models_dir / "demo_50_mcnn_seq_fusion.pt"
    path.write_bytes(path.read_bytes() + b"\0")
    assert load_demo_scores("50%", exp, models_dir=models_dir) is None
    # an unreadable file is a missing one
    bad = tmp_path / "predictions"
    bad.mkdir()
    demo_scores_path("50%", directory=bad).write_bytes(b"not a netcdf file")
    assert load_demo_scores("50%", exp, directory=bad) is None


class _Refuses:
    """A model that reads the NDVI and must not be run (its predictions were made earlier)."""

    uses_ndvi = True

    def predict(self, X, ndvi=None, **kwargs):
        raise AssertionError("a precomputed model was run")


def test_evaluate_takes_precomputed_predictions_instead_of_running_the_model():
    from mcnnseq.baselines import LinearGapFill

    small = demo_experiment_for_models("50%")
    exp = make_experiment(small.ds.isel(y=slice(0, 40), x=slice(0, 40)), seed=0, protocol="real")
    X, _ = exp.test_arrays()
    obs = exp.test_observed()
    linear = LinearGapFill(dates=exp.dates)
    held = held_out_predictions(linear, X, obs)
    gapped = gap_predictions(linear, X, obs, make_gaps(obs, seed=exp.split.seed), held)
    live = evaluate({"linear": linear}, exp)
    stored = evaluate({"linear": _Refuses()}, exp, precomputed={"linear": (held[0], gapped[0])})
    assert stored.per_date.equals(live.per_date) and stored.by_gap.equals(live.by_gap)
    assert stored.by_days.equals(live.by_days)
    with pytest.raises(ValueError, match="do not fit"):
        evaluate({"linear": _Refuses()}, exp, precomputed={"linear": (held[0][:5], gapped[0])})

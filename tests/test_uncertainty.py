"""Tests of mcnnseq.uncertainty: σ models, their calibration on a seeded scene, coverage, checkpoints without σ."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from mcnnseq.experiment import demo_experiment, evaluate, gap_fillers, train
from mcnnseq.training import TrainConfig
from mcnnseq.uncertainty import (COVERAGE_TARGET, SigmaModel, calibration_scale, coverage_2sigma, ensure_uncertainty,
                                 fit_residual_model, fit_uncertainty, has_std)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_sigma_model_round_trips_and_refuses_bad_values():
    m = SigmaModel(kind="residual", scale=1.5, date_coef=(0.1, -0.2), level_coef=(-6.0, 1.0, 0.5), given_coef=-2.0,
                   n_calibration=40)
    assert SigmaModel.from_dict(m.to_dict()) == m
    with pytest.raises(ValueError, match="kind"):
        SigmaModel.from_dict({**m.to_dict(), "kind": "ensemble"})
    with pytest.raises(ValueError, match="scale"):
        SigmaModel.from_dict({**m.to_dict(), "scale": -1})
    mean = np.array([[0.2, np.nan]], np.float32)
    std = m.std(mean)
    assert std.dtype == np.float32 and np.isnan(std[0, 1]) and std[0, 0] > 0
    expected = 1.5 * math.exp(0.5 * (-6.0 + 0.2 + 0.5 * 0.04 + 0.1))
    assert std[0, 0] == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="log-variance"):
        SigmaModel(kind="head", scale=1.0).std(mean)


def test_residual_model_learns_which_dates_and_levels_are_uncertain():
    rng = np.random.default_rng(0)
    n, T = 4000, 6
    mean = rng.uniform(0.1, 0.9, (n, T))
    sd = np.array([0.02, 0.02, 0.08, 0.08, 0.02, 0.02])[None, :] * (0.5 + mean)   # by date and by level
    truth = mean + rng.normal(size=(n, T)) * sd
    model = fit_residual_model(mean, truth)
    raw = model.raw_log_var(mean)
    s = calibration_scale((truth - mean).ravel(), raw.ravel())
    std = replace(model, scale=s).std(mean)
    inside = np.abs(truth - mean) <= 2 * std
    assert inside.mean() == pytest.approx(COVERAGE_TARGET, abs=0.005)
    assert std[:, 2].mean() > 2.5 * std[:, 0].mean()                  # the noisy dates get a wider σ
    assert np.corrcoef(mean[:, 0], std[:, 0])[0, 1] > 0.9               # and σ grows with the level
    # conditional coverage holds per date (a single σ for all would over-cover dates 0-1, under-cover 2-3)
    assert all(0.92 <= inside[:, t].mean() <= 0.98 for t in range(T))


@pytest.fixture(scope="module")
def scene():
    return demo_experiment(size=24, seed=5, protocol="real")


@pytest.fixture(scope="module")
def cnn(scene):
    return train(scene, TrainConfig.quick("cnn", max_steps=60, eval_every=30, num_threads=1, seed=2))


def test_calibration_on_a_seeded_scene_covers_held_out_truths(scene, cnn):
    assert has_std(cnn) and cnn.uncertainty["kind"] == "residual"
    X, Y = scene.test_arrays()
    cov = coverage_2sigma(cnn, X, Y, scene.test_observed(), seed=0)
    assert 0.88 <= cov["test"] <= 0.99 and 0.88 <= cov["gaps"] <= 0.99, cov
    assert set(cov["gap"]) == {"1", "2", "3", "4"} and cov["n_test"] > 1000
    # deterministic with the seed: the same training gives the same σ model and coverage
    again = train(scene, TrainConfig.quick("cnn", max_steps=60, eval_every=30, num_threads=1, seed=2))
    assert again.uncertainty == cnn.uncertainty
    assert coverage_2sigma(again, X, Y, scene.test_observed(), seed=0) == cov


def test_a_model_without_sigma_gets_one_from_validation_pixels(scene, cnn):
    old = replace(cnn, uncertainty=None)                                # as a checkpoint saved before σ
    assert not has_std(old)
    X, Y = scene.test_arrays()
    assert coverage_2sigma(old, X, Y, scene.test_observed()) is None
    mean, std = old.predict_with_std(X)
    assert std is None and mean.shape == Y.shape
    X_va, Y_va = scene.val_arrays()
    fixed = ensure_uncertainty(old, X_va, Y_va, seed=scene.split.seed)
    assert fixed.uncertainty == fit_uncertainty(cnn, X_va, Y_va, seed=scene.split.seed)
    assert ensure_uncertainty(cnn, X_va, Y_va) is cnn
    linear = gap_fillers(scene)["Linear"]
    assert ensure_uncertainty(linear, X_va, Y_va) is linear and not has_std(linear)


def test_evaluate_reports_coverage_for_networks_only(scene, cnn):
    ev = evaluate({"CNN": replace(cnn, uncertainty=None), **gap_fillers(scene)}, scene)
    out = ev.to_dict()["models"]
    assert set(out["cnn"]["coverage_2sigma_parts"]) == {"test", "gaps"}
    assert 0.85 <= out["cnn"]["coverage_2sigma_parts"]["gaps"] <= 0.995
    parts = out["cnn"]["coverage_2sigma_parts"]
    assert min(parts.values()) <= out["cnn"]["coverage_2sigma"] <= max(parts.values())  # pooled
    assert set(out["cnn"]["gap_coverage_2sigma"]) == {"1", "2", "3", "4"}
    assert "coverage_2sigma" not in out["linear"] and "coverage_2sigma" not in out["whittaker"]

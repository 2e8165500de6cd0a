"""The paper's protocol on a cube: split, train, evaluate, per-crop metrics."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import make_tiny_cube
from mcnnseq.experiment import crop_metrics, demo_experiment, evaluate, make_experiment, train
from mcnnseq.training import TrainConfig


class Truthful:
    """A fake model that returns the reference NDVI of the pixels it is shown (looked up by radar)."""

    name = "oracle"

    def __init__(self, exp):
        X, Y = exp.test_arrays()
        self.lookup = {x.tobytes(): y for x, y in zip(X, np.nan_to_num(Y, nan=0.5))}

    def predict(self, X):
        return np.stack([self.lookup.get(x.tobytes(), np.full(X.shape[1], 0.5, np.float32)) for x in X])


def test_make_experiment_validates_and_splits(tiny_cube):
    exp = make_experiment(tiny_cube, seed=3)
    assert exp.split.seed == 3
    assert sum(exp.split.sizes().values()) == int((~tiny_cube["cloud"].values.any(axis=0)).sum())
    X, Y = exp.train_arrays()
    assert X.shape == (exp.split.train.size, 6, 2) and Y.shape == (exp.split.train.size, 6)
    assert exp.signature()["dates"][0] == "2018-01-11"


def test_demo_70_inherits_from_50():
    e50 = demo_experiment(size=32, seed=1, scenario="50%")
    e70 = demo_experiment(size=32, seed=1, scenario="70%")
    assert set(e70.split.train) <= set(e50.split.train)
    assert set(e70.split.val) <= set(e50.split.val)
    assert set(e50.split.test) <= set(e70.split.test)
    assert e70.split.test.size > e50.split.test.size
    assert e70.signature()["simulator_version"] == e50.ds.attrs["simulator_version"]
    with pytest.raises(ValueError, match="scenario"):
        demo_experiment(size=16, scenario="90%")


def test_evaluate_scores_a_perfect_model_perfectly():
    exp = make_experiment(make_tiny_cube(ny=20, nx=20, with_truth=True), seed=0)
    ev = evaluate({"oracle": Truthful(exp)}, exp)
    mean = ev.per_date.loc["mean"]
    assert mean[("oracle", "r2")] == pytest.approx(1.0)
    assert mean[("oracle", "rmse")] == pytest.approx(0.0, abs=1e-7)
    assert ev.predictions["oracle"].shape == ev.truth.shape


def test_train_and_crop_metrics_on_a_small_demo():
    exp = demo_experiment(size=24, seed=0, scenario="50%")
    model = train(exp, TrainConfig(model="cnn", epochs=2, batch_size=64, seed=0))
    assert model.data_signature["simulator_version"] == exp.ds.attrs["simulator_version"]
    assert len(model.history) == 2
    profiles, agreement = crop_metrics({"CNN": model}, exp)
    assert set(agreement.columns) >= {"crop", "r2", "rmse", "model"}
    assert set(profiles["crop"]) <= set(range(1, 9))
    assert (profiles["time"].nunique()) == 31


def test_crop_metrics_needs_a_crop_map(tiny_cube):
    exp = make_experiment(tiny_cube.drop_vars("crop"))
    with pytest.raises(Exception, match="no 'crop' map"):
        crop_metrics({"oracle": Truthful(exp)}, exp)


def test_crop_profiles_use_the_test_pixels_predictions():
    exp = make_experiment(make_tiny_cube(ny=20, nx=20, with_truth=True), seed=0)
    oracle = Truthful(exp)
    ev = evaluate({"oracle": oracle}, exp)
    profiles, agreement = crop_metrics({"oracle": oracle}, exp, evaluation=ev)
    crop = exp.ds["crop"].values.ravel()[exp.split.test]
    first = profiles[(profiles["crop"] == crop[0])].sort_values("time")
    expected = ev.predictions["oracle"][crop == crop[0]].mean(axis=0)
    np.testing.assert_allclose(first["pred_mean"].to_numpy(), expected, rtol=1e-5)
    assert np.allclose(agreement["r2"], 1.0)  # a perfect model's mean curves agree perfectly

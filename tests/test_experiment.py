"""One cube, one protocol: split, train, evaluate (per date, leave-one-date-out, by gap), JSON, per-crop metrics."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import make_tiny_cube
from mcnnseq.experiment import (MIN_SCORED, crop_metrics, demo_experiment, evaluate, gap_fillers,
                                leave_one_date_out, make_experiment, train)
from mcnnseq.gaps import make_gaps
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
    exp = make_experiment(tiny_cube, seed=3, protocol="paper")
    assert exp.split.seed == 3 and exp.protocol == "paper"
    assert sum(exp.split.sizes().values()) == int((~tiny_cube["cloud"].values.any(axis=0)).sum())
    X, Y = exp.train_arrays()
    assert X.shape == (exp.split.train.size, 6, 2) and Y.shape == (exp.split.train.size, 6)
    sig = exp.signature()
    assert sig["dates"][0] == "2018-01-11" and sig["protocol"] == "paper" and sig["split"] == "random"
    real = make_experiment(tiny_cube, seed=3)  # the default: real clouds; one cloudy date of six keeps a pixel
    assert real.protocol == "real" and sum(real.split.sizes().values()) == 80
    assert real.samples.split == real.split.sizes()
    _, Y = real.train_arrays()
    assert np.isnan(Y).any()  # cloudy targets stay NaN: the loss masks them
    blocked = make_experiment(tiny_cube, seed=3, split="blocked", block_size=2)
    assert blocked.split.kind == "blocked" and blocked.signature()["block_size"] == 2
    with pytest.raises(ValueError, match="protocol"):
        make_experiment(tiny_cube, protocol="strict")


def test_same_seed_same_split_and_numbers():
    ds = make_tiny_cube(ny=20, nx=20, seed=1, cloud_fraction=0.5)
    a, b = make_experiment(ds, seed=4, split="blocked"), make_experiment(ds, seed=4, split="blocked")
    assert np.array_equal(a.split.test, b.split.test)
    ea, eb = evaluate(gap_fillers(a), a), evaluate(gap_fillers(b), b)
    assert ea.to_json() == eb.to_json()
    pd.testing.assert_frame_equal(ea.by_gap, eb.by_gap)


def test_demo_70_inherits_from_50():
    e50 = demo_experiment(size=32, seed=1, scenario="50%")
    e70 = demo_experiment(size=32, seed=1, scenario="70%")
    assert e50.protocol == e70.protocol == "paper"
    # the demo scene keeps the paper protocol by default wherever it is split (the app calls make_experiment)
    assert make_experiment(e50.ds).protocol == "paper" and make_experiment(e50.ds, protocol="real").protocol == "real"
    real70 = demo_experiment(size=32, seed=1, scenario="70%", protocol="real")
    assert real70.protocol == "real" and sum(real70.split.sizes().values()) > sum(e70.split.sizes().values())
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


# ----------------------------------------------------------------------------- gap-fillers and artificial gaps

class Echo:
    """Uses the NDVI: returns the observed value where it was given, 0.5 elsewhere — a leak would score R² = 1.

    Records every ``ndvi`` input it was given.
    """

    uses_ndvi = True
    name = "echo"

    def __init__(self):
        self.inputs = []

    def predict(self, X, *, ndvi):
        self.inputs.append(np.array(ndvi))
        return np.where(np.isfinite(ndvi), ndvi, 0.5).astype(np.float32)


def _line_cube(ny=20, nx=20, seed=0):
    """NDVI a straight line in days on every pixel (its own slope), a few random clouds."""
    ds = make_tiny_cube(nt=12, ny=ny, nx=nx, seed=seed, cloud_fraction=0.0)
    rng = np.random.default_rng(seed)
    days = (ds["time"].values - ds["time"].values[0]) / np.timedelta64(1, "D")
    slope = rng.uniform(-0.003, 0.003, (ny, nx))
    truth = (0.5 + slope[None] * (days[:, None, None] - 60)).astype(np.float32)
    ndvi = truth.copy()
    ndvi[rng.random(ndvi.shape) < 0.1] = np.nan
    out = ds.copy(deep=True)
    out["ndvi"] = (ds["ndvi"].dims, ndvi)
    out["cloud"] = (ds["cloud"].dims, np.isnan(ndvi))
    out["ndvi_true"] = (ds["ndvi"].dims, truth)
    return out


def test_hidden_values_never_reach_a_model_that_uses_the_ndvi():
    exp = make_experiment(_line_cube(), seed=0)
    echo = Echo()
    ev = evaluate({"echo": echo}, exp)
    # a model that echoes its input scores R² ≤ 0 where the value was hidden: nothing leaked
    assert (ev.by_gap["r2"].dropna() < 0).all() and ev.by_gap["n"].sum() > 0
    assert (ev.per_date.drop(index="mean")[("echo", "r2")].dropna() < 0).all()
    obs = exp.test_observed()
    gaps = make_gaps(obs, seed=exp.split.seed)
    gap_input = np.concatenate([x for x in echo.inputs if x.shape[0] == len(gaps)])
    assert np.isnan(gap_input[gaps.mask()]).all()
    counts = ev.by_gap.set_index("k")["n"]
    for k in (1, 2, 3, 4):
        assert counts[k] == k * int((gaps.k == k).sum())


def test_leave_one_date_out_hides_exactly_the_scored_date():
    obs = np.array([[0.1, 0.2, np.nan, 0.4], [0.5, np.nan, np.nan, 0.8]], dtype=np.float32)
    echo = Echo()
    out = leave_one_date_out(echo, np.zeros((2, 4, 2), np.float32), obs, chunk=2)
    np.testing.assert_array_equal(out, np.full((2, 4), 0.5, np.float32))   # every value was predicted blind
    for x in echo.inputs[1:]:                      # the copies: one more NaN than their pixel has
        assert all(np.isnan(row).sum() in (2, 3) for row in x)


def test_linear_is_perfect_on_lines_and_radar_models_are_scored_on_the_same_gaps():
    exp = make_experiment(_line_cube(), seed=0)
    models = {**gap_fillers(exp), "oracle": Truthful(exp)}
    ev = evaluate(models, exp)
    lin = ev.by_gap[ev.by_gap["model"] == "Linear"]
    # interior gaps of a line are exact; gaps at the ends are held (not extrapolated), so R² < 1 there
    assert (lin["r2"] > 0.5).all() and (lin["r2"] < 1).all()
    # leave-one-date-out: every entry with a clear date before and after it is exact, the ends are held
    obs = np.isfinite(exp.test_observed())
    before = np.cumsum(obs, axis=1) - obs > 0
    after = np.cumsum(obs[:, ::-1], axis=1)[:, ::-1] - obs > 0
    err = np.abs(ev.predictions["Linear"] - ev.truth)
    assert (before & after).sum() > 1000 and np.nanmax(err[before & after]) < 1e-6
    assert np.nanmax(err[~before]) > 1e-3
    assert ev.by_gap[ev.by_gap["model"] == "oracle"]["r2"].tolist() == pytest.approx([1.0] * 4)
    assert ev.by_gap.groupby("k")["n"].nunique().eq(1).all()   # same hidden entries for every model
    assert list(ev.by_days.columns) == ["model", "bucket", "r2", "rmse", "n"]
    assert ev.by_days["bucket"].cat.ordered


def test_a_date_with_too_few_test_truths_is_not_scored():
    ds = _line_cube(ny=20, nx=20)
    ndvi = ds["ndvi"].values.copy()
    truth = ds["ndvi_true"].values.copy()
    ndvi[5].flat[10:] = np.nan
    truth[5].flat[10:] = np.nan          # date 5: ten truths in the whole grid
    ds["ndvi"] = (ds["ndvi"].dims, ndvi)
    ds["cloud"] = (ds["cloud"].dims, np.isnan(ndvi))
    ds["ndvi_true"] = (ds["ndvi"].dims, truth)
    exp = make_experiment(ds, seed=0)
    ev = evaluate({"oracle": Truthful(exp)}, exp)
    row = ev.per_date.iloc[5]
    assert np.isnan(row[("oracle", "r2")]) and MIN_SCORED > 10


def test_json_schema():
    exp = make_experiment(_line_cube(), seed=0)
    cnn_like = Truthful(exp)
    cnn_like.model_name = "cnn"
    ev = evaluate({**gap_fillers(exp), "CNN": cnn_like, "oracle": Truthful(exp)}, exp)
    doc = json.loads(ev.to_json())
    assert doc["split"] == exp.split.sizes() and doc["protocol"] == "real"
    assert set(doc["models"]) == {"linear", "whittaker", "cnn", "oracle"}
    entry = doc["models"]["linear"]
    assert set(entry) >= {"mean_r2", "mean_rmse", "gap_r2", "gap_rmse", "days_r2"}
    assert list(entry["gap_r2"]) == ["1", "2", "3", "4"]
    assert entry["mean_r2"] == pytest.approx(ev.per_date.loc["mean", ("Linear", "r2")])
    assert entry["days_r2"]["1–20"] is None or isinstance(entry["days_r2"]["1–20"], float)
    assert None in entry["days_r2"].values()   # NaN (no entries in a bucket) becomes null
    assert doc["samples"]["n_samples"] == sum(exp.split.sizes().values())

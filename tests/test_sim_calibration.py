"""Difficulty yardsticks of the demo scene (SPEC §4, issue #7: as hard as real data)."""

from __future__ import annotations

import numpy as np
import pytest

from mcnnseq.sim import simulate_scene
from mcnnseq.sim.calibration import (PER_DATE_BAND, SERIES_BAND, difficulty, in_band, r2_per_date,
                                     scenario_difficulties)
from tests.conftest import make_tiny_cube


def test_r2_per_date_basics():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(100, 3))
    y[5, 1] = np.nan
    assert np.allclose(r2_per_date(y, y), 1.0)
    mean_pred = np.broadcast_to(np.nanmean(y, axis=0), y.shape)
    assert np.allclose(r2_per_date(y, mean_pred), 0.0, atol=1e-12)
    assert np.isnan(r2_per_date(np.full((4, 1), np.nan), np.zeros((4, 1))))[0]


def test_yardsticks_on_a_nearly_linear_cube():
    ds = make_tiny_cube(nt=6, ny=30, nx=30, cloud_fraction=0.0)
    d = difficulty(ds)
    assert d.per_date.shape == (6,) and d.series.shape == (6,)
    assert d.per_date_mean > 0.8 and d.series_mean > 0.8  # radar = linear(NDVI) + small noise there


@pytest.fixture(scope="module")
def demo300():
    """A 300 x 300 scene: about 50 fields, between the app's 200 x 200 default and the 400 x 400 subarea."""
    return scenario_difficulties(simulate_scene(size=300, seed=0, scenario="50%"),
                                 simulate_scene(size=300, seed=0, scenario="70%"))


def test_demo_scene_is_as_hard_as_real_data(demo300):
    for d in demo300:
        assert in_band(d.per_date_mean, PER_DATE_BAND), (d.scenario, d.per_date_mean)
        assert in_band(d.series_mean, SERIES_BAND), (d.scenario, d.series_mean)
        assert d.series_mean > d.per_date_mean + 0.15  # the radar series carries what one date lacks
        assert d.in_band()


def test_70_percent_scenario_trains_on_fewer_pixels(demo300):
    d50, d70 = demo300
    assert d70.sizes["train"] < d50.sizes["train"] and d70.sizes["test"] > d50.sizes["test"]
    assert d50.scenario == "50%" and d70.scenario == "70%"


def test_in_band_edges_and_nan():
    assert in_band(0.3, (0.3, 0.5)) and in_band(0.5, (0.3, 0.5))
    assert not in_band(0.29, (0.3, 0.5)) and not in_band(float("nan"), (0.3, 0.5))

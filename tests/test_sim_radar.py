"""Water-cloud radar model, soil moisture and speckle of the simulator."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import polygamma

from mcnnseq.sim import radar


def test_bare_soil_gives_the_soil_backscatter():
    soil_db = np.full((3, 4), -15.0, dtype=np.float32)
    sigma = radar.water_cloud(np.zeros((3, 4), np.float32), soil_db, np.full(4, 0.8, np.float32),
                              a=np.full(4, 0.13, np.float32), b=np.full(4, 0.12, np.float32))
    np.testing.assert_allclose(10 * np.log10(sigma), -15.0, atol=1e-4)


def test_dense_canopy_saturates_at_a_cos_theta_and_hides_the_soil():
    cos = np.float32(np.cos(np.radians(38)))
    vwc = np.array([[0.0], [1.0], [3.0], [60.0]], dtype=np.float32)
    dry = radar.water_cloud(vwc, np.full((4, 1), -25.0, np.float32), np.array([cos]), a=np.array([0.13], np.float32),
                            b=np.array([0.12], np.float32))[:, 0]
    wet = radar.water_cloud(vwc, np.full((4, 1), -8.0, np.float32), np.array([cos]), a=np.array([0.13], np.float32),
                            b=np.array([0.12], np.float32))[:, 0]
    assert np.all(np.diff(dry) > 0)  # vegetation brightens dry soil
    assert dry[-1] == pytest.approx(0.13 * cos, rel=1e-3) == pytest.approx(wet[-1], rel=1e-3)
    assert wet[0] / dry[0] > 10 and wet[2] / dry[2] < wet[0] / dry[0]  # canopy attenuates the soil term


def test_lai_from_ndvi_is_monotone_and_zero_on_bare_soil():
    ndvi = np.linspace(-0.1, 1.0, 50, dtype=np.float32)
    lai = radar.lai_from_ndvi(ndvi)
    assert lai.dtype == np.float32
    assert np.all(np.diff(lai) >= 0) and lai[ndvi <= radar.NDVI_SOIL].max() == 0
    assert 2.0 < radar.lai_from_ndvi(np.float32(0.8)) < 5.0 and lai.max() <= radar.LAI_MAX


def test_incidence_angle_spans_iw_geometry_and_grows_westward():
    x = 640_000 + 10 * np.arange(1000.0)
    theta = radar.incidence_angle(x, center_deg=38.0, gradient_deg_per_km=0.068)
    assert theta[0] > theta[-1]  # west (small x) is far range
    assert theta.mean() == pytest.approx(38.0, abs=1e-4)
    assert 29 < theta.min() and theta.max() < 46
    assert theta[0] - theta[-1] == pytest.approx(0.068 * 9.99, rel=1e-3)


def test_speckle_keeps_the_mean_and_has_the_gamma_spread():
    rng = np.random.default_rng(0)
    sigma = np.full((200, 1000), 0.05, dtype=np.float32)
    looks = 5.0
    db = radar.speckle_db(sigma, looks=looks, rng=rng)
    assert db.dtype == np.float32 and db.shape == sigma.shape
    linear = 10 ** (db / 10)
    assert linear.mean() == pytest.approx(0.05, rel=0.01)
    expected_std = 10 / np.log(10) * np.sqrt(polygamma(1, looks))  # std of 10 log10(Gamma(L)/L)
    assert db.std() == pytest.approx(expected_std, rel=0.03)


def test_speckle_output_is_clipped_to_plausible_db():
    db = radar.speckle_db(np.array([1e-9, 50.0], np.float32), looks=4.4, rng=np.random.default_rng(0))
    assert db.min() >= radar.DB_CLIP[0] and db.max() <= radar.DB_CLIP[1]


def test_irrigation_wets_then_dries_and_stops_when_inactive():
    t = np.arange(0.0, 60.0)
    tau = np.full(t.shape, 4.0)
    phase, interval = np.array([5.0, 5.0]), np.array([10.0, 10.0])

    def active(days):
        return np.stack([np.ones(days.shape[0], bool), days[:, 1] < 30], axis=1)

    wet = radar.irrigation_wetness(t, phase=phase, interval=interval, active=active, tau=tau)
    assert wet.shape == (60, 2) and wet.dtype == np.float32
    assert wet[5, 0] == pytest.approx(1.0) and wet[15, 0] == pytest.approx(1.0)
    assert wet[9, 0] == pytest.approx(np.exp(-4 / 4.0), rel=1e-5)
    assert wet[25, 1] == pytest.approx(1.0)
    assert wet[58, 1] < 1e-3  # last active event on day 25: long dry since


def test_rain_wets_every_soil_after_the_event_only():
    t = np.array([0.0, 35.0, 36.0, 40.0])
    wet = radar.rain_wetness(t, rain_days=(36.0,), tau=np.full(4, 4.0))
    assert wet[0] == 0 and wet[1] == 0 and wet[2] == pytest.approx(1.0) and wet[3] == pytest.approx(np.exp(-1))


def test_drydown_is_faster_in_summer():
    slow, fast = radar.drydown_days(np.array([15.0, 197.5]), mean=4.0, amplitude=2.0)
    assert slow == pytest.approx(6.0) and fast == pytest.approx(2.0, abs=1e-3)


def test_parameter_tables_cover_every_class():
    for table in (radar.VWC_PER_LAI, radar.STRUCTURE):
        assert set(table) == set(range(1, 9))
    a_vv, b_vv = radar.WCM_AB["vv"]
    a_vh, b_vh = radar.WCM_AB["vh"]
    assert a_vv > a_vh  # co-pol canopy backscatter above cross-pol

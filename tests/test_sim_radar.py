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


def _ages_two_fields():
    t = np.arange(0.0, 60.0)
    phase, interval = np.array([5.0, 5.0]), np.array([10.0, 10.0])

    def active(days):
        return np.stack([np.ones(days.shape[0], bool), days[:, 1] < 30], axis=1)

    return t, radar.irrigation_ages(t, phase=phase, interval=interval, active=active)


def test_irrigation_wets_then_dries_and_stops_when_inactive():
    t, ages = _ages_two_fields()
    assert ages.shape == (3, 60, 2) and ages.dtype == np.float32
    wet = radar.irrigation_wetness(ages, np.full(t.shape, 4.0))
    assert wet.shape == (60, 2) and wet.dtype == np.float32
    assert wet[5, 0] == pytest.approx(1.0) and wet[15, 0] == pytest.approx(1.0)
    assert wet[9, 0] == pytest.approx(np.exp(-4 / 4.0), rel=1e-5)
    assert wet[25, 1] == pytest.approx(1.0)
    assert wet[58, 1] < 1e-3  # last active event on day 25: long dry since
    assert np.isinf(ages[:, 58, 1]).sum() >= 2  # the schedule's events after day 30 did not happen


def test_irrigation_reaches_a_later_set_later():
    t, ages = _ages_two_fields()
    tau = np.full(t.shape, 4.0)
    first = radar.irrigation_wetness(ages, tau, np.zeros(2, np.float32))
    late = radar.irrigation_wetness(ages, tau, np.full(2, 2.0, np.float32))
    # day 16: the event of day 15 wets the first set (age 1) but has not reached the late set yet
    assert first[16, 0] == pytest.approx(np.exp(-1 / 4.0), rel=1e-5)
    assert late[16, 0] == pytest.approx(np.exp(-(11 - 2) / 4.0), rel=1e-5)  # still the event of day 5
    assert late[17, 0] == pytest.approx(1.0)  # the water arrives two days after the set started
    np.testing.assert_allclose(late[2:, 0], first[:-2, 0], rtol=1e-5)  # field 0: the same series, two days later


def test_rain_wets_every_soil_after_each_event_only():
    t = np.array([0.0, 35.0, 36.0, 40.0])
    wet = radar.rain_wetness(t, rain_days=(36.0, 0.0), tau=np.full(4, 4.0))
    assert wet.shape == (4, 2) and wet.dtype == np.float32
    assert wet[0, 0] == 0 and wet[1, 0] == 0 and wet[2, 0] == pytest.approx(1.0)
    assert wet[3, 0] == pytest.approx(np.exp(-1))
    assert wet[0, 1] == pytest.approx(1.0) and wet[3, 1] == pytest.approx(np.exp(-10))


def test_thermal_noise_swamps_dark_targets_only():
    rng = np.random.default_rng(1)
    nesz = 10 ** (-23 / 10)
    dark = np.full((100, 2000), 10 ** (-27 / 10), dtype=np.float32)
    bright = np.full((100, 2000), 10 ** (-10 / 10), dtype=np.float32)
    spread = {}
    for name, sigma in (("dark", dark), ("bright", bright)):
        plain = radar.speckle_db(sigma, looks=4.4, rng=np.random.default_rng(2))
        noisy = radar.speckle_db(sigma, looks=4.4, rng=rng, nesz=nesz)
        spread[name] = (plain.std(), noisy.std())
        linear = 10 ** (noisy[noisy > radar.DB_CLIP[0]] / 10)
        if name == "bright":  # the noise has zero mean: the level stays
            assert linear.mean() == pytest.approx(float(sigma[0, 0]), rel=0.01)
    assert spread["dark"][1] > spread["dark"][0] + 1.0  # dB: VH over bare soil sits near the noise floor
    assert spread["bright"][1] == pytest.approx(spread["bright"][0], abs=0.05)


def test_psf_keeps_the_mean_mixes_edges_and_shifts():
    img = np.zeros((2, 20, 20), dtype=np.float32)
    img[:, :, 10:] = 1.0  # a vertical field edge between columns 9 and 10
    blurred = img.copy()
    radar.psf_resample(blurred, sigma_px=0.9, shifts_px=np.array([[0.0, 0.0], [0.0, 1.0]]))
    assert blurred[0].mean() == pytest.approx(img[0].mean(), abs=1e-3)
    assert 0.05 < blurred[0, 5, 9] < 0.5 < blurred[0, 5, 10] < 0.95  # mixed pixels on both sides
    np.testing.assert_allclose(blurred[0, :, :3], 0.0, atol=1e-6)  # far from the edge: untouched
    assert blurred[1, 5, 9] > blurred[0, 5, 9] + 0.2  # shifted one pixel: the edge arrives earlier
    same = img.copy()
    radar.psf_resample(same, sigma_px=0.0, shifts_px=np.zeros((2, 2)))
    np.testing.assert_array_equal(same, img)


def test_drydown_is_faster_in_summer():
    slow, fast = radar.drydown_days(np.array([15.0, 197.5]), mean=4.0, amplitude=2.0)
    assert slow == pytest.approx(6.0) and fast == pytest.approx(2.0, abs=1e-3)


def test_parameter_tables_cover_every_class():
    for table in (radar.VWC_PER_LAI, radar.STRUCTURE):
        assert set(table) == set(range(1, 9))
    a_vv, b_vv = radar.WCM_AB["vv"]
    a_vh, b_vh = radar.WCM_AB["vh"]
    assert a_vv > a_vh  # co-pol canopy backscatter above cross-pol

"""Cloud masks of the demo scene and artificial clouds over any cube."""

from __future__ import annotations

import numpy as np
import pytest

from mcnnseq.datacube import validate_cube
from mcnnseq.errors import DatacubeError
from mcnnseq.paper import s2_dates
from mcnnseq.sampling import complete_pixels, inherit_split, split_pixels
from mcnnseq.sim import add_artificial_clouds
from mcnnseq.sim.clouds import CLOUDY_DATES, STRIPE_DATE, scenario_mask, smooth_field, stripe_mask
from mcnnseq.sim.params import SimParams
from tests.conftest import make_tiny_cube

SHAPE = (200, 200)


def masks(seed: int, shape=SHAPE):
    return {f: scenario_mask(s2_dates(), shape, pixel_fraction=f, rng=np.random.default_rng(seed), params=SimParams())
            for f in (0.0, 0.5, 0.7)}


@pytest.fixture(scope="module")
def m200():
    return masks(0)


@pytest.mark.parametrize("fraction", [0.5, 0.7])
def test_fraction_of_pixels_with_a_missing_date(m200, fraction):
    assert m200[fraction].any(axis=0).mean() == pytest.approx(fraction, abs=0.03)


def test_fraction_holds_for_other_seeds_and_shapes():
    for seed, shape in ((1, (64, 64)), (2, (30, 90)), (3, (8, 8))):
        m = masks(seed, shape)
        assert m[0.5].any(axis=0).mean() == pytest.approx(0.5, abs=0.03)
        assert m[0.7].any(axis=0).mean() == pytest.approx(0.7, abs=0.03)


def test_70_percent_mask_contains_the_50_percent_mask(m200):
    assert (m200[0.5] <= m200[0.7]).all()
    assert m200[0.7].sum() > m200[0.5].sum()


def test_no_clouds_scenario_is_empty(m200):
    assert not m200[0.0].any()


def test_clouds_fall_on_the_cloudy_dates_only(m200):
    dates = [str(d.date()) for d in s2_dates()]
    cloudy_dates = {d for d, m in zip(dates, m200[0.7]) if m.any()}
    assert cloudy_dates <= set(CLOUDY_DATES) and len(cloudy_dates) >= 5
    assert m200[0.7].mean(axis=(1, 2)).max() < 0.9  # every date keeps observations


def test_stripe_is_a_band_missing_on_its_date(m200):
    i = [str(d.date()) for d in s2_dates()].index(STRIPE_DATE)
    day = m200[0.5][i]
    stripe = stripe_mask(SHAPE, fraction=SimParams().stripe_fraction, tilt_deg=SimParams().stripe_tilt_deg,
                         rng=np.random.default_rng(0))
    assert (day >= stripe).all()  # the stripe is missing on that date (under any clouds)
    assert 0.2 < stripe.mean() < 0.3
    runs = [np.flatnonzero(row) for row in stripe]
    assert all(r.size and r.size == r[-1] - r[0] + 1 for r in runs)  # one contiguous run per row
    assert runs[0][0] != runs[-1][0]  # tilted


def test_clouds_are_spatially_coherent(m200):
    dates = [str(d.date()) for d in s2_dates()]
    m = m200[0.7].copy()
    m[dates.index(STRIPE_DATE)] = False
    cloud = m[m.mean(axis=(1, 2)).argmax()]  # the cloudiest date without the stripe
    p = cloud.mean()
    assert p > 0.05
    same = (cloud[1:, :] == cloud[:-1, :]).mean()
    assert same > 0.9 and same > p ** 2 + (1 - p) ** 2 + 0.2  # far above independent pixels


def test_smooth_field_has_unit_variance_and_long_correlation():
    f = smooth_field((400, 400), 10.0, np.random.default_rng(0))
    assert f.dtype == np.float32 and f.shape == (400, 400)
    assert 0.6 < f.std() < 1.4
    assert np.corrcoef(f[:, :-5].ravel(), f[:, 5:].ravel())[0, 1] > 0.7


# --- add_artificial_clouds ------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny():
    return make_tiny_cube(nt=8, ny=30, nx=40, cloud_fraction=0.1)


def test_artificial_clouds_hit_the_asked_share_of_complete_pixels(tiny):
    before = complete_pixels(tiny)
    out = add_artificial_clouds(tiny, pixel_fraction=0.4, seed=1)
    validate_cube(out)
    lost = before & ~complete_pixels(out)
    assert lost.sum() == round(0.4 * before.sum())
    assert "pixel_fraction=0.4" in out.attrs["artificial_clouds"]


def test_artificial_clouds_keep_the_hidden_ndvi(tiny):
    out = add_artificial_clouds(tiny, pixel_fraction=0.3, seed=2)
    np.testing.assert_array_equal(out["ndvi_true"].values, tiny["ndvi"].values)
    observed = ~out["cloud"].values
    np.testing.assert_array_equal(out["ndvi"].values[observed], out["ndvi_true"].values[observed])
    assert out["cloud"].values.sum() > tiny["cloud"].values.sum()
    assert (out["cloud"].values >= tiny["cloud"].values).all()
    np.testing.assert_array_equal(out["vv"].values, tiny["vv"].values)
    assert "ndvi_true" not in tiny  # the input is left alone


def test_artificial_clouds_are_seeded(tiny):
    a = add_artificial_clouds(tiny, pixel_fraction=0.3, seed=5)
    b = add_artificial_clouds(tiny, pixel_fraction=0.3, seed=5)
    c = add_artificial_clouds(tiny, pixel_fraction=0.3, seed=6)
    np.testing.assert_array_equal(a["cloud"].values, b["cloud"].values)
    assert not np.array_equal(a["cloud"].values, c["cloud"].values)


def test_artificial_clouds_are_coherent_on_a_larger_cube():
    cube = make_tiny_cube(nt=6, ny=120, nx=120, cloud_fraction=0.0)
    out = add_artificial_clouds(cube, pixel_fraction=0.5, seed=0, n_dates=1)
    day = out["cloud"].values[out["cloud"].values.any(axis=(1, 2))][0]
    assert (day[1:, :] == day[:-1, :]).mean() > 0.9


def test_existing_truth_is_kept_and_zero_fraction_masks_nothing():
    cube = make_tiny_cube(with_truth=True)
    out = add_artificial_clouds(cube, pixel_fraction=0.0, seed=0)
    np.testing.assert_array_equal(out["ndvi"].values, cube["ndvi"].values)
    np.testing.assert_array_equal(out["ndvi_true"].values, cube["ndvi_true"].values)


def test_artificial_clouds_feed_inherit_split(tiny):
    base = split_pixels(tiny, seed=0)
    cloudier = inherit_split(base, add_artificial_clouds(tiny, pixel_fraction=0.4, seed=0))
    assert cloudier.train.size < base.train.size and cloudier.test.size > base.test.size
    assert np.union1d(np.union1d(cloudier.train, cloudier.val), cloudier.test).size == (
        base.train.size + base.val.size + base.test.size)


def test_artificial_clouds_reject_bad_input(tiny):
    with pytest.raises(ValueError, match="pixel_fraction"):
        add_artificial_clouds(tiny, pixel_fraction=1.5, seed=0)
    with pytest.raises(DatacubeError, match="tiny test cube: variable 'ndvi'"):
        add_artificial_clouds(tiny.drop_vars("ndvi"), pixel_fraction=0.2, seed=0)
    none_complete = tiny.copy()
    ndvi = none_complete["ndvi"].values.copy()
    ndvi[0, :, :20] = np.nan
    ndvi[1, :, 20:] = np.nan
    none_complete["ndvi"] = (("time", "y", "x"), ndvi)
    none_complete["cloud"] = (("time", "y", "x"), np.isnan(ndvi))
    with pytest.raises(DatacubeError, match="no pixel has a complete NDVI series"):
        add_artificial_clouds(none_complete, pixel_fraction=0.2, seed=0)

"""Sample selection and the paper's split (§2.2.4, Table 2)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import make_tiny_cube
from mcnnseq.errors import DatacubeError
from mcnnseq.sampling import complete_pixels, inherit_split, pixel_series, radar_complete, split_pixels


def test_complete_pixels_are_those_without_a_cloud(tiny_cube):
    expected = ~tiny_cube["cloud"].values.any(axis=0)
    assert np.array_equal(complete_pixels(tiny_cube), expected)


def test_a_date_without_any_observation_does_not_make_pixels_incomplete(tiny_cube):
    ds = tiny_cube.copy(deep=True)
    ds["ndvi"][3] = np.nan
    ds["cloud"][3] = True
    others = [0, 1, 2, 4, 5]
    expected = ~tiny_cube["cloud"].values[others].any(axis=0)
    assert np.array_equal(complete_pixels(ds), expected)
    assert complete_pixels(ds).sum() > complete_pixels(tiny_cube).sum()  # pixels clouded only on date 3


def test_radar_gaps_make_pixels_incomplete(tiny_cube):
    ds = tiny_cube.copy(deep=True)
    ds["vh"][0, 1, 2] = np.nan
    assert not radar_complete(ds)[1, 2]
    assert not complete_pixels(ds)[1, 2]


def test_split_is_disjoint_covers_complete_pixels_and_has_paper_fractions():
    ds = make_tiny_cube(ny=40, nx=50, seed=3)
    s = split_pixels(ds, seed=7)
    all_idx = np.concatenate([s.train, s.val, s.test])
    assert np.unique(all_idx).size == all_idx.size
    assert np.array_equal(np.sort(all_idx), np.flatnonzero(complete_pixels(ds).ravel()))
    n = all_idx.size
    assert s.train.size / n == pytest.approx(0.55, abs=0.01)
    assert s.val.size / n == pytest.approx(0.15, abs=0.01)
    masks = s.masks()
    assert masks["train"].shape == (40, 50) and masks["train"].sum() == s.train.size


def test_split_is_seeded():
    ds = make_tiny_cube(ny=20, nx=20)
    a, b, c = split_pixels(ds, seed=1), split_pixels(ds, seed=1), split_pixels(ds, seed=2)
    assert np.array_equal(a.train, b.train) and np.array_equal(a.test, b.test)
    assert not np.array_equal(a.train, c.train)


def test_split_needs_complete_pixels(tiny_cube):
    ds = tiny_cube.copy(deep=True)
    ds["ndvi"][0, :, :-1] = np.nan
    ds["cloud"][0, :, :-1] = True
    ds["ndvi"][1, :, -1] = np.nan
    ds["cloud"][1, :, -1] = True
    with pytest.raises(DatacubeError, match="only 0 pixel"):
        split_pixels(ds)
    with pytest.raises(ValueError, match="fractions"):
        split_pixels(tiny_cube, fractions=(0.5, 0.5, 0.5))


def test_inherit_split_moves_newly_clouded_pixels_to_test():
    base_ds = make_tiny_cube(ny=20, nx=20, seed=5, with_truth=True)
    base = split_pixels(base_ds, seed=0)
    cloudier = base_ds.copy(deep=True)
    lost = np.concatenate([base.train[:10], base.val[:3]])
    iy, ix = np.divmod(lost, 20)
    cloudier["ndvi"].values[1, iy, ix] = np.nan
    cloudier["cloud"].values[1, iy, ix] = True
    s = inherit_split(base, cloudier)
    assert np.array_equal(s.train, base.train[10:]) and np.array_equal(s.val, base.val[3:])
    assert np.array_equal(s.test, np.sort(np.concatenate([base.test, lost])))
    # the newly clouded test pixels are scored against the NDVI under the clouds
    _, Y = pixel_series(cloudier, lost, target="reference")
    assert np.isfinite(Y).all()


def test_inherit_split_checks_grid_and_truth(tiny_cube):
    base = split_pixels(tiny_cube)
    with pytest.raises(DatacubeError, match="ndvi_true"):
        inherit_split(base, tiny_cube)
    with pytest.raises(DatacubeError, match="grid"):
        inherit_split(base, make_tiny_cube(ny=4, with_truth=True))


def test_pixel_series_shapes_values_and_unscored_dates(tiny_cube):
    ds = tiny_cube.copy(deep=True)
    ds["ndvi"][4] = np.nan
    ds["cloud"][4] = True
    idx = np.array([0, 13, 79])
    X, Y = pixel_series(ds, idx)
    assert X.shape == (3, 6, 2) and X.dtype == np.float32 and Y.shape == (3, 6)
    iy, ix = np.divmod(idx, 10)
    assert np.array_equal(X[:, :, 0], ds["vv"].values[:, iy, ix].T)
    assert np.array_equal(X[:, :, 1], ds["vh"].values[:, iy, ix].T)
    assert np.isnan(Y[:, 4]).all()
    with pytest.raises(ValueError, match="target"):
        pixel_series(ds, idx, target="bogus")

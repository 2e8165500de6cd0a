"""The simulated demo scene as a whole: convention, determinism, scenarios, physical sanity."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mcnnseq.datacube import DIMS, validate_cube
from mcnnseq.errors import DatacubeError
from mcnnseq.paper import CROP_CLASSES, s1_dates, s2_dates
from mcnnseq.sampling import complete_pixels, inherit_split, split_pixels
from mcnnseq.sim import SIMULATOR_VERSION, SimParams, paired_s1_dates, simulate_scene
from mcnnseq.sim.scene import class_proportions


@pytest.fixture(scope="module")
def scene400():
    return simulate_scene(size=400, seed=0, scenario="none")


@pytest.fixture(scope="module")
def pair64():
    return (simulate_scene(size=64, seed=11, scenario="50%"), simulate_scene(size=64, seed=11, scenario="70%"))


def month_mean(ds, var, code, months):
    sel = pd.DatetimeIndex(ds["time"].values).month.isin(months)
    values = ds[var].values[sel][:, ds["crop"].values == code]
    return float(np.nanmean(values))


@pytest.mark.parametrize("size", [8, (8, 13), (5, 40)])
@pytest.mark.parametrize("scenario", ["none", "50%", "70%"])
def test_small_scenes_follow_the_convention(size, scenario):
    ds = simulate_scene(size=size, seed=1, scenario=scenario)
    validate_cube(ds)
    ny, nx = (size, size) if isinstance(size, int) else size
    assert ds.sizes == {"time": 31, "y": ny, "x": nx}
    for name in ("vv", "vh", "ndvi", "ndvi_true"):
        assert ds[name].dims == DIMS and ds[name].dtype == np.float32
    assert ds["cloud"].dtype == bool and ds["crop"].dtype == np.int16 and ds["field"].dtype == np.int32
    assert set(np.unique(ds["crop"].values)) <= set(CROP_CLASSES)


def test_attributes_label_it_simulated_with_its_parameters(pair64):
    ds = pair64[0]
    assert ds.attrs["simulated"] and ds.attrs["source"] == "simulated demo scene (seed 11)"
    assert ds.attrs["scenario"] == "50%" and ds.attrs["simulator_version"] == SIMULATOR_VERSION
    assert SimParams.from_json(ds.attrs["sim_params"]) == SimParams()
    json.dumps({k: v for k, v in ds.attrs.items()})  # plain, NetCDF-storable attribute values


def test_grid_dates_and_crs(pair64):
    ds = pair64[0]
    assert ds.rio.crs.to_epsg() == 32611
    res = ds.rio.resolution()
    assert abs(res[0]) == 10 and abs(res[1]) == 10
    assert list(pd.DatetimeIndex(ds["time"].values)) == list(s2_dates())
    s1 = pd.DatetimeIndex(ds["s1_time"].values)
    assert list(s1) == list(paired_s1_dates()) and set(s1) == set(s1_dates())  # one-to-one
    gap = np.abs((s1 - pd.DatetimeIndex(ds["time"].values)).days)
    assert gap.max() <= 8


def test_same_seed_same_arrays_other_seed_differs():
    a = simulate_scene(size=48, seed=5, scenario="50%")
    b = simulate_scene(size=48, seed=5, scenario="50%")
    c = simulate_scene(size=48, seed=6, scenario="50%")
    for name in ("vv", "vh", "ndvi", "ndvi_true", "cloud", "crop", "field"):
        np.testing.assert_array_equal(a[name].values, b[name].values)
    for name in ("vv", "vh", "ndvi_true", "cloud"):
        assert not np.array_equal(a[name].values, c[name].values, equal_nan=True)


def test_scenarios_differ_only_in_the_mask(pair64):
    a, b = pair64
    for name in ("vv", "vh", "ndvi_true", "crop", "field"):
        np.testing.assert_array_equal(a[name].values, b[name].values)
    assert (a["cloud"].values <= b["cloud"].values).all()
    assert a["cloud"].values.any(axis=0).mean() == pytest.approx(0.5, abs=0.03)
    assert b["cloud"].values.any(axis=0).mean() == pytest.approx(0.7, abs=0.03)
    split = inherit_split(split_pixels(a, seed=0), b)
    assert split.train.size < complete_pixels(a).sum()


def test_ndvi_is_ndvi_true_where_observed(pair64):
    ds = pair64[1]
    ndvi, truth, cloud = ds["ndvi"].values, ds["ndvi_true"].values, ds["cloud"].values
    assert np.isfinite(truth).all()
    np.testing.assert_array_equal(ndvi[~cloud], truth[~cloud])
    assert np.isnan(ndvi[cloud]).all()


def test_no_cloud_scenario_is_complete(scene400):
    assert not scene400["cloud"].values.any()
    assert complete_pixels(scene400).all()


def test_class_proportions_of_the_400_scene(scene400):
    crop = scene400["crop"].values
    for code, frac in class_proportions("subarea2").items():
        assert abs((crop == code).mean() - frac) < 0.02, CROP_CLASSES[code]


def test_crop_phenology_in_the_scene(scene400):
    ds = scene400
    assert month_mean(ds, "ndvi_true", 1, [3, 4]) > month_mean(ds, "ndvi_true", 1, [8]) + 0.3  # onion
    assert month_mean(ds, "ndvi_true", 2, [3, 4]) > 0.75 > 0.15 > month_mean(ds, "ndvi_true", 2, [7, 8])  # wheat
    assert month_mean(ds, "ndvi_true", 4, [1]) > month_mean(ds, "ndvi_true", 4, [7]) + 0.4  # sugar beet
    assert month_mean(ds, "ndvi_true", 3, [12]) > month_mean(ds, "ndvi_true", 3, [8, 9]) + 0.2  # corn regrowth
    assert month_mean(ds, "ndvi_true", 7, range(1, 13)) < 0.2  # non-crop land


def test_optical_noise_varies_pixels_within_a_field(scene400):
    field = scene400["field"].values
    fid = np.bincount(field[field > 0]).argmax()
    inside = scene400["ndvi_true"].values[:, field == fid]
    assert 0.01 < inside.std(axis=1).mean() < 0.1


def test_radar_is_plausible_and_follows_the_vegetation(scene400):
    vv, vh, ndvi = (scene400[n].values for n in ("vv", "vh", "ndvi_true"))
    assert -35 <= vv.min() and vv.max() <= 5 and -35 <= vh.min() and vh.max() <= 5
    assert -20 < np.median(vv) < -8 and -30 < np.median(vh) < -15
    assert np.median(vh - vv) < -5  # cross-pol several dB below co-pol
    dense, bare = ndvi > 0.7, ndvi < 0.2
    assert np.median(vh[dense]) > np.median(vh[bare]) + 5
    assert np.corrcoef(vh.ravel()[::17], ndvi.ravel()[::17])[0, 1] > 0.5


def test_irrigation_brightens_irrigated_fields_only():
    wet = simulate_scene(size=120, seed=2, scenario="none")
    dry = simulate_scene(size=120, seed=2, scenario="none", params=SimParams(soil_moisture_wet=0.0))
    crop = wet["crop"].values
    alfalfa, desert = crop == 5, crop == 7
    assert alfalfa.sum() > 100 and desert.sum() > 100
    gain = wet["vv"].values - dry["vv"].values
    assert gain[:, alfalfa].mean() > 0.5  # dB, alfalfa is irrigated all year
    assert np.abs(gain[:, desert]).max() == 0  # desert and roads are never irrigated
    np.testing.assert_array_equal(wet["ndvi_true"].values, dry["ndvi_true"].values)


def test_bad_arguments_raise_domain_errors():
    with pytest.raises(DatacubeError, match="demo scene: size 2 x 2"):
        simulate_scene(size=2)
    with pytest.raises(DatacubeError, match="size must be"):
        simulate_scene(size="big")
    with pytest.raises(DatacubeError, match="unknown scenario '80%'"):
        simulate_scene(size=8, scenario="80%")
    with pytest.raises(DatacubeError, match="seed"):
        simulate_scene(size=8, seed=-1)

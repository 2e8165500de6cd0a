"""The simulated demo scene as a whole: convention, determinism, scenarios, physical sanity."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

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
    alfalfa = crop == 5
    # desert and roads are never irrigated; only their pixels within reach of the radar's point-spread
    # function (and geolocation error) see a neighbouring field's wet soil
    desert = ndimage.binary_erosion(crop == 7, iterations=6)
    assert alfalfa.sum() > 100 and desert.sum() > 100
    gain = wet["vv"].values - dry["vv"].values
    assert gain[:, alfalfa].mean() > 0.5  # dB, alfalfa is irrigated all year
    assert np.abs(gain[:, desert]).max() == 0
    np.testing.assert_array_equal(wet["ndvi_true"].values, dry["ndvi_true"].values)


#: Knobs that make every pixel of a field alike (no within-field heterogeneity, no speckle).
UNIFORM_FIELDS = dict(roughness_pixel_db=0.0, soil_moisture_noise=0.0, soil_texture_std=0.0, pixel_vigor_std=0.0,
                      smooth_vigor_std=0.0, pixel_biomass_std=0.0, pixel_greenness_std=0.0, pixel_shift_days=0.0,
                      harvest_sweep=False, irrigation_set_days=(0.0, 0.0), irrigation_advance_days=0.0,
                      rain_spatial_cv=0.0, speckle_looks=1e6, nesz_db=None, s1_geolocation_std_m=0.0)


def test_field_edges_are_mixed_pixels_in_the_radar():
    a = simulate_scene(size=80, seed=4, scenario="none", params=SimParams(**UNIFORM_FIELDS, s1_psf_fwhm_m=0.0))
    b = simulate_scene(size=80, seed=4, scenario="none", params=SimParams(**UNIFORM_FIELDS))
    field = a["field"].values
    near_edge = np.zeros(field.shape, dtype=bool)
    for fid in np.unique(field):
        near_edge |= ndimage.binary_dilation(field != fid, iterations=3) & (field == fid)
    assert 0.1 < near_edge.mean() < 0.5
    diff = np.abs(a["vh"].values - b["vh"].values)
    assert diff[:, ~near_edge].mean() < 0.15  # dB: inside a field the point-spread function changes little
    assert diff[:, near_edge].mean() > max(0.3, 3 * diff[:, ~near_edge].mean())  # edges mix both sides
    np.testing.assert_array_equal(a["ndvi_true"].values, b["ndvi_true"].values)


def test_sensor_parameters_move_the_figures_they_should():
    base = simulate_scene(size=48, seed=8, scenario="none")
    quiet = simulate_scene(size=48, seed=8, scenario="none", params=SimParams(nesz_db=None))
    vh_base, vh_quiet = base["vh"].values, quiet["vh"].values
    assert vh_base.std() > vh_quiet.std()  # thermal noise spreads the dark VH values
    np.testing.assert_array_equal(base["ndvi_true"].values, quiet["ndvi_true"].values)


def test_bad_arguments_raise_domain_errors():
    with pytest.raises(DatacubeError, match="demo scene: size 2 x 2"):
        simulate_scene(size=2)
    with pytest.raises(DatacubeError, match="size must be"):
        simulate_scene(size="big")
    with pytest.raises(DatacubeError, match="unknown scenario '80%'"):
        simulate_scene(size=8, scenario="80%")
    with pytest.raises(DatacubeError, match="seed"):
        simulate_scene(size=8, seed=-1)


def test_greenness_patches_reach_the_optics_and_biomass_patches_the_radar():
    base = simulate_scene(size=40, seed=9, scenario="none")
    no_green = simulate_scene(size=40, seed=9, scenario="none", params=SimParams(pixel_greenness_std=0.0))
    no_biomass = simulate_scene(size=40, seed=9, scenario="none", params=SimParams(pixel_biomass_std=0.0))
    np.testing.assert_array_equal(base["vv"].values, no_green["vv"].values)
    assert not np.array_equal(base["ndvi_true"].values, no_green["ndvi_true"].values)
    np.testing.assert_array_equal(base["ndvi_true"].values, no_biomass["ndvi_true"].values)
    assert not np.array_equal(base["vv"].values, no_biomass["vv"].values)


def test_non_crop_land_has_buildings_water_and_trees():
    ds = simulate_scene(size=200, seed=1, scenario="none", params=SimParams(farmstead_fraction=1.0))
    crop, field = ds["crop"].values, ds["field"].values
    ndvi, vv = ds["ndvi_true"].values, ds["vv"].values
    non_crop = crop == 7
    summer = pd.DatetimeIndex(ds["time"].values).month.isin([6, 7, 8])
    mean_ndvi = ndvi[summer].mean(axis=0)
    water = non_crop & (field == 0) & (mean_ndvi < 0.02)
    trees = non_crop & (mean_ndvi > 0.4)
    bright = non_crop & (np.median(vv, axis=0) > -7)
    assert water.sum() > 20 and trees.sum() > 20 and bright.sum() > 10
    assert np.median(vv[:, water]) < -17 and np.median(vv[:, bright]) > -8  # dB: specular water, double bounce
    assert np.median(ndvi[:, bright]) < 0.25  # roofs and yards: bright radar, little green

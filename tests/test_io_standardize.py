"""standardize_cube on in-memory datasets: static maps, masks, extra dims, attributes, CRS sources."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401
import xarray as xr

from mcnnseq.errors import DatacubeError
from mcnnseq.io.standardize import resolve_crs, standardize_cube

NT, NY, NX = 4, 3, 5


def raw(**extra) -> xr.Dataset:
    rng = np.random.default_rng(2)
    dims = ("time", "y", "x")
    ds = xr.Dataset(
        {"vv": (dims, rng.uniform(-15, -5, (NT, NY, NX)).astype(np.float32), {"comment": "from SNAP"}),
         "vh": (dims, rng.uniform(-22, -12, (NT, NY, NX)).astype(np.float32)),
         "ndvi": (dims, rng.uniform(0, 0.9, (NT, NY, NX)).astype(np.float32))},
        coords={"time": pd.date_range("2021-01-01", periods=NT, freq="10D"),
                "y": 4_000_000 - 5 - 10 * np.arange(NY), "x": 400_005 + 10 * np.arange(NX)})
    return ds.assign(extra).rio.write_crs("EPSG:32630")


def test_static_map_stored_with_a_time_axis_becomes_2d():
    crop = np.broadcast_to(np.arange(NY * NX).reshape(NY, NX), (NT, NY, NX)).astype(np.uint16)
    cube = standardize_cube(raw(crop=(("time", "y", "x"), crop)), source="s")
    assert cube["crop"].dims == ("y", "x") and cube["crop"].dtype == np.int16
    np.testing.assert_array_equal(cube["crop"].values, crop[0])
    varying = crop.copy()
    varying[1, 0, 0] += 1
    with pytest.raises(DatacubeError, match="s: variable 'crop': changes from date to date"):
        standardize_cube(raw(crop=(("time", "y", "x"), varying)), source="s")


def test_cloud_mask_and_scl_both_mask_ndvi():
    cloud = np.zeros((NT, NY, NX), dtype=bool)
    cloud[0, 0, 0] = True
    scl = np.full((NT, NY, NX), 4, dtype=np.uint8)
    scl[1, 1, 1] = 3  # cloud shadow
    cube = standardize_cube(raw(clouds=(("time", "y", "x"), cloud), SCL=(("time", "y", "x"), scl)), source="s")
    assert np.isnan(cube["ndvi"].values[0, 0, 0]) and np.isnan(cube["ndvi"].values[1, 1, 1])
    assert cube["cloud"].values.sum() == 2


def test_length_one_band_dimension_is_dropped_and_other_extra_dims_refused():
    ds = raw()
    ds["vv"] = ds["vv"].expand_dims(band=1, axis=1)
    assert standardize_cube(ds, source="s")["vv"].dims == ("time", "y", "x")
    ds = raw()
    ds["vh"] = ds["vh"].expand_dims(band=2, axis=1)
    with pytest.raises(DatacubeError, match="variable 'vh': .*'band' has length 2"):
        standardize_cube(ds, source="s")


def test_attributes_defaults_completed_or_exact():
    cube = standardize_cube(raw(), source="s")
    assert cube["vv"].attrs["units"] == "dB" and cube["vv"].attrs["comment"] == "from SNAP"
    assert cube["vh"].attrs["units"] == "dB" and cube.attrs["source"] == "s"
    exact = standardize_cube(raw(), source="s", exact_attrs=True)
    assert exact["vv"].attrs == {"comment": "from SNAP"}


def test_s1_time_variable_and_easting_northing_dims():
    ds = raw().rename(x="easting", y="northing")
    ds["s1_dates"] = ("time", (pd.date_range("2021-01-01", periods=NT, freq="10D") - pd.Timedelta("1D")).values)
    cube = standardize_cube(ds, source="s")
    assert (cube["time"].values - cube["s1_time"].values == np.timedelta64(1, "D")).all()
    assert cube["time"].dtype == np.dtype("datetime64[ns]")


@pytest.mark.parametrize("attrs, epsg", [
    ({"crs": "EPSG:32633"}, 32633),
    ({"epsg": 32634}, 32634),
])
def test_crs_from_global_attributes(attrs, epsg):
    ds = raw().drop_vars("spatial_ref")
    for name in ds.data_vars:
        ds[name].encoding.pop("grid_mapping", None)
        ds[name].attrs.pop("grid_mapping", None)
    ds.attrs.update(attrs)
    assert resolve_crs(ds, source="s").to_epsg() == epsg
    assert standardize_cube(ds, source="s").rio.crs.to_epsg() == epsg


def test_unreadable_crs_is_reported():
    ds = raw().drop_vars("spatial_ref")
    ds.attrs["crs"] = "EPSG:not-a-code"
    with pytest.raises(DatacubeError, match="s: the CRS in the global attribute 'crs' cannot be understood"):
        standardize_cube(ds, source="s")


def test_true_colour_bands_are_kept_as_reflectance():
    rng = np.random.default_rng(5)
    dims = ("time", "y", "x")
    dn = {b: rng.integers(100, 3000, (NT, NY, NX)).astype(np.uint16) for b in ("B02", "B03", "B04")}
    dn["B04"][0, 0, 0] = 65535  # the producer's no-data value
    dn["B02"][1, 0, 1] = 0  # the L2A no-data value
    cube = standardize_cube(raw(**{f"S2-L2A-{b}": (dims, v) for b, v in dn.items()}), source="s", nodata=65535)
    for role, band in (("red", "B04"), ("green", "B03"), ("blue", "B02")):
        var = cube[role]
        assert var.dtype == np.float32 and var.dims == dims and var.attrs["units"] == "1"
        assert var.attrs["source_variable"] == f"S2-L2A-{band}"
        ok = (dn[band] != 65535) & (dn[band] != 0)
        np.testing.assert_allclose(var.values[ok], dn[band][ok] / 10_000, rtol=1e-6)
    assert np.isnan(cube["red"].values[0, 0, 0]) and np.isnan(cube["blue"].values[1, 0, 1])
    # without nodata the extreme uint16 value is still masked: it can never be a reflectance
    again = standardize_cube(raw(**{f"S2-L2A-{b}": (dims, v) for b, v in dn.items()}), source="s")
    assert np.isnan(again["red"].values[0, 0, 0])
    # reflectance stored as 0..1 floats is kept as it is; one band alone is no true colour
    refl = {b: rng.uniform(0.01, 0.4, (NT, NY, NX)).astype(np.float32) for b in ("red", "green", "blue")}
    cube = standardize_cube(raw(**{b: (dims, v) for b, v in refl.items()}), source="s")
    np.testing.assert_allclose(cube["green"].values, refl["green"])
    assert "red" not in standardize_cube(raw(B04=(dims, dn["B04"])), source="s", nodata=65535).variables

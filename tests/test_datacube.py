"""The datacube validator: one test per kind of bad cube, each checking the message names the problem."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import make_tiny_cube
from mcnnseq.datacube import new_cube, observed_dates_mask, reference_ndvi, summarize_cube, validate_cube
from mcnnseq.errors import DatacubeError


def test_valid_cube_passes_and_is_returned(tiny_cube):
    assert validate_cube(tiny_cube) is tiny_cube


def _fails(ds, *fragments, source="cube.nc"):
    with pytest.raises(DatacubeError) as info:
        validate_cube(ds, source=source)
    msg = str(info.value)
    assert msg.startswith(source)
    for fragment in fragments:
        assert fragment in msg, msg
    return info.value


def test_not_a_dataset():
    _fails(np.zeros(3), "expected an xarray.Dataset")


def test_missing_dimension(tiny_cube):
    _fails(tiny_cube.rename({"time": "t"}), "missing dimension 'time'")


@pytest.mark.parametrize("name", ["vv", "vh", "ndvi", "cloud"])
def test_missing_variable(tiny_cube, name):
    err = _fails(tiny_cube.drop_vars(name), f"variable '{name}'", "missing")
    assert err.variable == name


def test_wrong_dims_of_a_variable(tiny_cube):
    ds = tiny_cube.assign(vv=tiny_cube["vv"].transpose("y", "time", "x"))
    _fails(ds, "variable 'vv'", "expected ('time', 'y', 'x')")


def test_wrong_dtype(tiny_cube):
    _fails(tiny_cube.assign(vh=tiny_cube["vh"].astype("float64")), "variable 'vh'", "float64", "float32")
    _fails(tiny_cube.assign(cloud=tiny_cube["cloud"].astype("int8")), "variable 'cloud'", "bool")


def test_single_date_is_not_a_series(tiny_cube):
    _fails(tiny_cube.isel(time=[0]), "variable 'time'", "at least 2")


def test_unsorted_and_duplicated_dates(tiny_cube):
    _fails(tiny_cube.isel(time=[1, 0, 2, 3, 4, 5]), "not sorted")
    times = tiny_cube["time"].values.copy()
    times[2] = times[1]
    _fails(tiny_cube.assign_coords(time=times), "duplicated date")


def test_missing_and_geographic_crs(tiny_cube):
    ds = tiny_cube.drop_vars("spatial_ref")
    ds.attrs.pop("crs", None)
    for v in ds.data_vars:
        ds[v].attrs.pop("grid_mapping", None)
        ds[v].encoding.pop("grid_mapping", None)
    _fails(ds, "no CRS")
    _fails(tiny_cube.rio.write_crs("EPSG:4326"), "geographic", "projected")


def test_linear_sigma0_gets_a_hint(tiny_cube):
    ds = tiny_cube.assign(vv=(10 ** (tiny_cube["vv"] / 10)).astype("float32") * 100)
    _fails(ds, "variable 'vv'", "outside the plausible dB range")
    lin = tiny_cube.assign(vv=(10 ** (tiny_cube["vv"] / 10)).astype("float32"))
    lin["vv"][0, 0, 0] = -50  # an absurd value anywhere is enough
    _fails(lin, "variable 'vv'", "outside the plausible dB range")


def test_linear_hint_when_values_look_linear(tiny_cube):
    ds = tiny_cube.copy()
    ds["vh"] = (ds["vh"] * 0 + 12.0).astype("float32")  # above +10 dB, small and positive
    err = _fails(ds, "variable 'vh'")
    assert "linear" not in str(err)  # 12 is not < 5: no misleading hint
    ds["vh"] = (ds["vh"] * 0 + 0.02).astype("float32")
    ds["vh"][0, 0, 0] = 50.0
    _fails(ds, "variable 'vh'", "outside")


def test_all_nan_radar_and_ndvi(tiny_cube):
    ds = tiny_cube.copy()
    ds["vv"] = ds["vv"] * np.nan
    _fails(ds, "variable 'vv'", "all NaN")
    ds = tiny_cube.copy()
    ds["ndvi"] = (ds["ndvi"] * np.nan).astype("float32")
    ds["cloud"] = ds["cloud"] | True
    _fails(ds, "variable 'ndvi'", "no optical observation")


def test_ndvi_out_of_range(tiny_cube):
    _fails(tiny_cube.assign(ndvi=(tiny_cube["ndvi"] * 10000).astype("float32")), "variable 'ndvi'", "outside −1 … 1")


def test_cloud_inconsistent_with_ndvi(tiny_cube):
    ds = tiny_cube.copy()
    cloud = ds["cloud"].values.copy()
    cloud[0, 0, 0] = not cloud[0, 0, 0]
    ds["cloud"] = (ds["cloud"].dims, cloud)
    _fails(ds, "variable 'cloud'", "inconsistent with 'ndvi'")


def test_crop_and_field_checked(tiny_cube):
    _fails(tiny_cube.assign(crop=tiny_cube["crop"].astype("float32")), "variable 'crop'", "integer")
    _fails(tiny_cube.assign(field=tiny_cube["vv"].astype("int32")), "variable 'field'", "expected ('y', 'x')")


def test_ndvi_true_checked():
    ds = make_tiny_cube(with_truth=True)
    validate_cube(ds)
    _fails(ds.assign(ndvi_true=ds["ndvi_true"] * 3), "variable 'ndvi_true'", "outside")


def test_source_defaults_to_attrs(tiny_cube):
    ds = tiny_cube.drop_vars("vv")
    with pytest.raises(DatacubeError, match="^tiny test cube: variable 'vv'"):
        validate_cube(ds)


def test_summary_reports_grid_dates_and_clouds(tiny_cube):
    s = summarize_cube(tiny_cube)
    assert s.shape == (6, 8, 10)
    assert s.crs == "EPSG:32611"
    assert s.resolution[0] == pytest.approx(10.0)
    assert len(s.dates) == 6 and s.dates[0] == "2018-01-11"
    expected = float(tiny_cube["cloud"].values.any(axis=0).mean())
    assert s.pixels_with_a_cloud == pytest.approx(expected)
    assert s.ranges["ndvi"][0] >= -1 and s.ranges["ndvi"][1] <= 1
    text = s.to_text()
    assert "8 x 10 pixels" in text and "EPSG:32611" in text


def test_dates_without_observation_are_listed(tiny_cube):
    ds = tiny_cube.copy(deep=True)
    ds["ndvi"][2] = np.nan
    ds["cloud"][2] = True
    validate_cube(ds)
    assert list(observed_dates_mask(ds)) == [True, True, False, True, True, True]
    assert summarize_cube(ds).dates_without_observation == [str(ds["time"].values[2])[:10]]


def test_reference_ndvi_prefers_truth(tiny_cube):
    assert reference_ndvi(tiny_cube).name == "ndvi"
    assert reference_ndvi(make_tiny_cube(with_truth=True)).name == "ndvi_true"


def test_new_cube_derives_cloud_and_dtypes():
    nd = np.array([[[0.2, np.nan]], [[0.3, 0.4]]])
    ds = new_cube(vv=np.full((2, 1, 2), -10.0), vh=np.full((2, 1, 2), -17.0), ndvi=nd,
                  time=["2018-01-01", "2018-01-13"], x=[5.0, 15.0], y=[5.0], crs="EPSG:32611")
    assert ds["cloud"].values.tolist() == [[[False, True]], [[False, False]]]
    assert ds["vv"].dtype == np.float32 and ds["cloud"].dtype == bool
    validate_cube(ds)


# ---------------------------------------------------------------------------------------------------
# Points cubes (parcel/point tables) and the optional true-colour reflectances
# ---------------------------------------------------------------------------------------------------

def _points_cube(n: int = 5, nt: int = 4):
    from mcnnseq.datacube import POINTS_LAYOUT

    cube = make_tiny_cube(nt=nt, ny=1, nx=n)
    cube = cube.drop_vars(["field", "spatial_ref"]).assign_coords(x=np.arange(n, dtype=float), y=[0.0])
    cube = cube.assign_coords(id=("x", [f"p{i}" for i in range(n)]), lon=("x", np.linspace(4, 5, n)),
                              lat=("x", np.linspace(50, 51, n)))
    cube.attrs = {"source": "points.csv", "layout": POINTS_LAYOUT, "crop_classes": "1=maize; 2=wheat"}
    return cube


def test_a_points_cube_needs_no_crs():
    cube = _points_cube()
    assert cube.rio.crs is None
    assert validate_cube(cube) is cube


def test_a_points_cube_has_one_row_and_unique_ids():
    cube = _points_cube()
    _fails(cube.drop_vars("id"), "variable 'id'", "'id' coordinate along x", source="points.csv")
    ids = cube["id"].values.copy()
    ids[3] = ids[1]
    _fails(cube.assign_coords(id=("x", ids)), "duplicated id 'p1'", source="points.csv")
    _fails(cube.assign_coords(lat=("x", np.full(5, 95.0))), "variable 'lat'", "beyond ±90", source="points.csv")
    two_rows = make_tiny_cube(ny=2, nx=3)
    two_rows.attrs["layout"] = "points"
    _fails(two_rows.assign_coords(id=("x", ["a", "b", "c"])), "one row (y = 1)")
    grid = cube.copy()
    grid.attrs = {"source": "grid.nc"}
    _fails(grid, "has no CRS", source="grid.nc")  # without the points layout a CRS is still required


def test_summary_of_a_points_cube():
    s = summarize_cube(_points_cube())
    assert s.layout == "points" and s.bounds == (4.0, 50.0, 5.0, 51.0)
    text = s.to_text()
    assert "points      5 ids" in text and "lon 4.00000 … 5.00000" in text and "grid" not in text


def test_crop_class_names():
    from mcnnseq.datacube import crop_class_names
    from mcnnseq.paper import CROP_CLASSES

    assert crop_class_names(_points_cube()) == {1: "maize", 2: "wheat"}
    assert crop_class_names(make_tiny_cube()) == CROP_CLASSES  # no names stored: the paper's classes


def test_optional_reflectances(tiny_cube):
    red = (tiny_cube["ndvi"] * 0 + 0.05).astype("float32")
    rgb = tiny_cube.assign(red=red, green=red, blue=red)
    assert validate_cube(rgb)
    assert validate_cube(rgb.assign(red=red * 30))  # bright clouds reflect a little above 1
    _fails(rgb.assign(red=red * 10000), "variable 'red'", "not surface reflectances", "×10000")
    _fails(rgb.assign(blue=red.astype("float64")), "variable 'blue'", "float32")
    _fails(rgb.assign(green=red.isel(time=0)), "variable 'green'", "expected ('time', 'y', 'x')")


def test_true_colour_bands_come_as_three_float_reflectances():
    from conftest import make_tiny_cube

    cube = make_tiny_cube(nt=3, ny=4, nx=5)
    for name in ("red", "green", "blue"):
        cube[name] = (("time", "y", "x"), np.full((3, 4, 5), 0.1, dtype=np.float32))
    validate_cube(cube)
    with pytest.raises(DatacubeError, match="not all of red, green and blue"):
        validate_cube(cube.drop_vars("blue"))
    bad = cube.copy()
    bad["green"] = bad["green"] * 1000
    with pytest.raises(DatacubeError, match="variable 'green'.*not surface reflectances"):
        validate_cube(bad)

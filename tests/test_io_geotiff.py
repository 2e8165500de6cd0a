"""GeoTIFF stacks: reading (band descriptions, dates.csv, mappings), writing, exact round trips, errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import rioxarray  # noqa: F401
import xarray as xr
from affine import Affine

from conftest import make_tiny_cube
from mcnnseq.errors import DatacubeError
from mcnnseq.io import open_geotiff_stack, read_geotiff, write_geotiff_stack
from mcnnseq.io.geotiff import read_dates_csv

DATA = Path(__file__).parent / "data"
DESCRIBED = DATA / "stack_described"
WITH_CSV = DATA / "stack_csv"


def band_values(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read()


def test_stack_with_band_descriptions():
    cube = open_geotiff_stack(DESCRIBED)
    with rasterio.open(DESCRIBED / "vv.tif") as src:
        descriptions, transform = src.descriptions, src.transform
    np.testing.assert_array_equal(pd.DatetimeIndex(cube["time"].values).strftime("%Y-%m-%d"), descriptions)
    np.testing.assert_array_equal(cube["s1_time"].values, cube["time"].values)
    np.testing.assert_array_equal(cube["vv"].values, band_values(DESCRIBED / "vv.tif"))
    np.testing.assert_array_equal(cube["ndvi"].values, band_values(DESCRIBED / "ndvi.tif"))
    np.testing.assert_array_equal(cube["cloud"].values, np.isnan(band_values(DESCRIBED / "ndvi.tif")))
    np.testing.assert_array_equal(cube["crop"].values, band_values(DESCRIBED / "crop.tif")[0])
    assert cube.rio.crs.to_epsg() == 32611
    assert cube.rio.transform() == transform
    assert cube["vv"].attrs["units"] == "dB"


def test_stack_with_dates_csv_linear_sigma0_and_bands():
    cube = open_geotiff_stack(WITH_CSV)
    table = pd.read_csv(WITH_CSV / "dates.csv")
    np.testing.assert_array_equal(cube["time"].values, pd.to_datetime(table["date"]).values)
    np.testing.assert_array_equal(cube["s1_time"].values, pd.to_datetime(table["s1_date"]).values)
    np.testing.assert_allclose(cube["vv"].values, 10 * np.log10(band_values(WITH_CSV / "VV.tif").astype(float)),
                               rtol=1e-6)
    red = band_values(WITH_CSV / "B04.tif").astype(float)
    nir = band_values(WITH_CSV / "B08.tif").astype(float)
    expected = np.where(red == 0, np.nan, (nir - red) / (nir + red))  # 0 is the declared no-data
    assert np.isnan(expected).sum() == 6
    np.testing.assert_allclose(cube["ndvi"].values, expected, rtol=1e-6)
    assert cube.rio.crs.to_epsg() == 32631


def test_mapping_with_aliases_explicit_dates_and_crop():
    dates = pd.read_csv(WITH_CSV / "dates.csv")["date"].tolist()
    cube = open_geotiff_stack({"S1-SIGMA0-VV": WITH_CSV / "VV.tif", "vh": WITH_CSV / "VH.tif",
                               "red": WITH_CSV / "B04.tif", "nir": WITH_CSV / "B08.tif"}, dates=dates)
    assert list(pd.DatetimeIndex(cube["time"].values).strftime("%Y-%m-%d")) == dates
    np.testing.assert_array_equal(cube["s1_time"].values, cube["time"].values)  # no S1 dates given
    cube = open_geotiff_stack({"vv": DESCRIBED / "vv.tif", "vh": DESCRIBED / "vh.tif",
                               "ndvi": DESCRIBED / "ndvi.tif"}, crop=DESCRIBED / "crop.tif")
    assert cube["crop"].dtype == np.int16


def test_read_dates_csv_without_header(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("2021-01-01\n2021-01-11\n")
    dates, s1 = read_dates_csv(path)
    assert list(dates.strftime("%Y-%m-%d")) == ["2021-01-01", "2021-01-11"] and s1 is None
    path.write_text("date\n2021-01-01\nsoon\n")
    with pytest.raises(DatacubeError, match=r"d.csv: row 3: 'soon' is not a date"):
        read_dates_csv(path)


# --- writing -------------------------------------------------------------------------------------

def test_stack_folder_round_trips_exactly(tmp_path):
    cube = make_tiny_cube(with_truth=True, seed=4)
    cube.attrs["simulated"] = True
    written = write_geotiff_stack(cube, tmp_path / "out")
    assert sorted(p.name for p in written) == ["crop.tif", "dates.csv", "field.tif", "ndvi.tif", "ndvi_true.tif",
                                               "vh.tif", "vv.tif"]
    xr.testing.assert_identical(open_geotiff_stack(tmp_path / "out"), cube)


def test_single_variable_geotiff_is_float32_with_dates_crs_and_transform(tmp_path):
    cube = make_tiny_cube(seed=5)
    path = write_geotiff_stack(cube, tmp_path / "ndvi_filled.tif", variable="ndvi")[0]
    with rasterio.open(path) as src:
        assert src.count == cube.sizes["time"] and src.dtypes[0] == "float32" and np.isnan(src.nodata)
        assert list(src.descriptions) == list(pd.DatetimeIndex(cube["time"].values).strftime("%Y-%m-%d"))
        assert src.crs.to_epsg() == 32611
        assert src.transform == Affine(10, 0, 600_000, 0, -10, 3_650_000)
        assert src.tags(1)["s1_date"] == str(cube["s1_time"].values[0])[:10]
        np.testing.assert_array_equal(src.read(), cube["ndvi"].values)
    xr.testing.assert_identical(read_geotiff(path), cube["ndvi"])


def test_dataarray_float64_comes_back_float32_and_crop_keeps_int16(tmp_path):
    cube = make_tiny_cube(seed=6)
    pred = cube["ndvi"].astype(np.float64).rename("ndvi_pred")
    back = read_geotiff(write_geotiff_stack(pred, tmp_path / "pred.tif")[0])
    assert back.dtype == np.float32 and back.name == "ndvi_pred"
    np.testing.assert_array_equal(back.values, cube["ndvi"].values)
    crop = read_geotiff(write_geotiff_stack(cube["crop"], tmp_path / "crop.tif")[0])
    xr.testing.assert_identical(crop, cube["crop"])


def test_writing_without_crs_is_refused(tmp_path):
    da = make_tiny_cube()["ndvi"].drop_vars("spatial_ref")
    da.attrs.pop("grid_mapping", None)
    da.encoding.pop("grid_mapping", None)
    with pytest.raises(DatacubeError, match="no_crs.tif: variable 'ndvi': has no CRS"):
        write_geotiff_stack(da, tmp_path / "no_crs.tif")


# --- bad stacks ----------------------------------------------------------------------------------

def copy_stack(tmp_path: Path, source: Path = DESCRIBED) -> Path:
    target = tmp_path / source.name
    shutil.copytree(source, target)
    return target


def rewrite(path: Path, *, transform=None, count=None, descriptions=None, crs=None) -> None:
    with rasterio.open(path) as src:
        data, profile, desc = src.read(), src.profile, list(src.descriptions)
    data = data[:count] if count else data
    profile.update(count=data.shape[0], transform=transform or profile["transform"], crs=crs or profile["crs"])
    path.unlink()
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        for band, text in enumerate(descriptions if descriptions is not None else desc[:data.shape[0]], start=1):
            if text:
                dst.set_band_description(band, text)


def expect_stack_error(files, *phrases, **kwargs) -> str:
    with pytest.raises(DatacubeError) as info:
        open_geotiff_stack(files, **kwargs)
    for phrase in phrases:
        assert phrase in str(info.value), str(info.value)
    return str(info.value)


def test_mismatched_grid_names_both_files(tmp_path):
    stack = copy_stack(tmp_path)
    rewrite(stack / "vh.tif", transform=Affine(10, 0, 600_020, 0, -10, 3_650_000))
    expect_stack_error(stack, "vh.tif", "vv.tif", "does not match")


def test_mismatched_crs_names_both_files(tmp_path):
    stack = copy_stack(tmp_path)
    rewrite(stack / "ndvi.tif", crs="EPSG:32612")
    expect_stack_error(stack, "ndvi.tif", "vv.tif", "EPSG:32612")


def test_band_count_must_match_dates_csv(tmp_path):
    stack = copy_stack(tmp_path, WITH_CSV)
    rewrite(stack / "B08.tif", count=5)
    expect_stack_error(stack, "B08.tif", "5 bands", "dates.csv lists 6 dates")


def test_missing_dates_and_partial_descriptions(tmp_path):
    stack = copy_stack(tmp_path, WITH_CSV)
    (stack / "dates.csv").unlink()
    expect_stack_error(stack, "has no dates", "dates_csv")
    stack = copy_stack(tmp_path)
    rewrite(stack / "vh.tif", descriptions=["2021-03-02", "", "2021-03-22", "2021-04-01", "2021-04-11", "2021-04-21"])
    expect_stack_error(stack, "vh.tif", "band 2 has no date")


def test_different_s1_and_s2_dates_need_a_tolerance(tmp_path):
    stack = copy_stack(tmp_path)
    s1 = [d.strftime("%Y-%m-%d") for d in pd.date_range("2021-02-27", periods=6, freq="12D")]
    for name in ("vv.tif", "vh.tif"):
        rewrite(stack / name, descriptions=s1)
    expect_stack_error(stack, "vv.tif", "ndvi.tif", "tolerance_days")
    cube = open_geotiff_stack(stack, tolerance_days=4)
    s2 = pd.DatetimeIndex(pd.date_range("2021-03-02", periods=6, freq="10D"))
    assert cube.attrs["pairing"].endswith("dropped: 2021-04-11, 2021-04-21")
    assert set(pd.DatetimeIndex(cube["time"].values)) <= set(s2)
    gaps = (pd.DatetimeIndex(cube["s1_time"].values) - pd.DatetimeIndex(cube["time"].values)).days
    assert cube.sizes["time"] == 4 and np.abs(gaps).max() <= 4
    first_s1 = list(pd.DatetimeIndex(s1)).index(pd.Timestamp(cube["s1_time"].values[0]))
    np.testing.assert_array_equal(cube["vv"].values[0], band_values(DESCRIBED / "vv.tif")[first_s1])


def test_corrupt_and_wrong_files(tmp_path):
    stack = copy_stack(tmp_path)
    (stack / "vh.tif").write_bytes((DESCRIBED / "vh.tif").read_bytes()[:600])
    expect_stack_error(stack, "vh.tif", "corrupt or truncated")
    stack = tmp_path / "wrong"
    stack.mkdir()
    for name in ("vv.tif", "ndvi.tif"):
        shutil.copy(DESCRIBED / name, stack / name)
    shutil.copy(DATA / "classic_db.nc", stack / "vh.tif")
    expect_stack_error(stack, "vh.tif", "NetCDF file, not a GeoTIFF")
    (stack / "vh.tif").unlink()
    expect_stack_error(stack, "wrong: has no VH GeoTIFF", "vv.tif")


def test_stack_max_pixels_and_bad_keys():
    expect_stack_error(DESCRIBED, "vv.tif", "too large", max_pixels=100)
    with pytest.raises(ValueError, match="unknown variable 'temperature'"):
        open_geotiff_stack({"vv": DESCRIBED / "vv.tif", "temperature": DESCRIBED / "vh.tif"})


def test_bad_values_name_the_file(tmp_path):
    stack = copy_stack(tmp_path)
    with rasterio.open(stack / "vh.tif", "r+") as dst:
        dst.write(dst.read() + 80)
    expect_stack_error(stack, "vh.tif", "outside the plausible dB range")

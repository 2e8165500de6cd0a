"""open_cube / write_netcdf / write_zarr: aliases, decoding, exact round trips, clear errors, the real cube."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401
import xarray as xr

from conftest import make_tiny_cube
from mcnnseq.datacube import validate_cube
from mcnnseq.errors import DatacubeError
from mcnnseq.io import open_cube, write_netcdf, write_zarr

DATA = Path(__file__).parent / "data"
REAL = Path(__file__).parents[2] / "shared/data/worldcereal_belgium_2021/worldcereal_preprocessed_inputs.nc"


def foreign_cube(*, nt: int = 5, ny: int = 4, nx: int = 6, crs: str | None = "EPSG:32631") -> xr.Dataset:
    """A small cube as another producer might store it: dim ``t``, upper-case names, dB radar."""
    rng = np.random.default_rng(5)
    ndvi = rng.uniform(0.1, 0.8, (nt, ny, nx)).astype(np.float32)
    ds = xr.Dataset(
        {"VV": (("t", "y", "x"), rng.uniform(-15, -5, (nt, ny, nx)).astype(np.float32)),
         "VH": (("t", "y", "x"), rng.uniform(-22, -12, (nt, ny, nx)).astype(np.float32)),
         "NDVI": (("t", "y", "x"), ndvi)},
        coords={"t": pd.date_range("2021-04-01", periods=nt, freq="12D").values,
                "y": 5_600_000 - 5 - 10 * np.arange(ny), "x": 600_000 + 5 + 10 * np.arange(nx)})
    return ds.rio.write_crs(crs) if crs else ds


def save(ds: xr.Dataset, path: Path) -> Path:
    ds.to_netcdf(path)
    return path


def expect_error(path: Path, *phrases: str, **kwargs) -> DatacubeError:
    with pytest.raises(DatacubeError) as info:
        open_cube(path, **kwargs)
    message = str(info.value)
    assert path.name in message, message
    for phrase in phrases:
        assert phrase in message, message
    return info.value


# --- fixtures from other producers -------------------------------------------------------------

def test_aliases_file_refuses_undeclared_nodata_and_says_what_to_pass():
    err = expect_error(DATA / "s1s2_aliases.nc", "65535", "nodata=65535")
    assert err.variable in ("B04", "B08")


def test_aliases_file_decodes_linear_sigma0_bands_scl_and_crop():
    raw = xr.open_dataset(DATA / "s1s2_aliases.nc").load()
    cube = open_cube(DATA / "s1s2_aliases.nc", nodata=65535)
    assert cube.sizes == {"time": 6, "y": 8, "x": 10}
    assert cube.rio.crs.to_epsg() == 32631
    np.testing.assert_array_equal(cube["time"].values, raw["t"].values)
    np.testing.assert_array_equal(cube["s1_time"].values, raw["t"].values)
    np.testing.assert_allclose(cube["vv"].values, 10 * np.log10(raw["VV"].values.astype(np.float64)), rtol=1e-6)
    np.testing.assert_allclose(cube["vh"].values, 10 * np.log10(raw["VH"].values.astype(np.float64)), rtol=1e-6)
    red, nir = raw["B04"].values.astype(np.float64), raw["B08"].values.astype(np.float64)
    missing = (red == 65535) | (nir == 65535) | (raw["SCL"].values == 9)
    expected = np.where(missing, np.nan, (nir - red) / (nir + red))
    np.testing.assert_allclose(cube["ndvi"].values, expected, rtol=1e-6)
    assert np.isnan(cube["ndvi"].values[2]).all()  # the undeclared-no-data date
    np.testing.assert_array_equal(cube["cloud"].values, missing)
    np.testing.assert_array_equal(cube["crop"].values, raw["croptype"].values)
    assert cube["crop"].dtype == np.int16
    assert "10*log10" in cube["vv"].attrs["decoding"] and cube["vv"].attrs["source_variable"] == "VV"


def test_classic_netcdf3_keeps_db_and_reads_cloud_mask_and_s1_dates():
    raw = xr.open_dataset(DATA / "classic_db.nc").load()
    cube = open_cube(DATA / "classic_db.nc")
    np.testing.assert_array_equal(cube["vv"].values, raw["sigma0_vv"].values)
    np.testing.assert_array_equal(cube["cloud"].values, raw["cloud_mask"].values == 1)
    assert np.isnan(cube["ndvi"].values[cube["cloud"].values]).all()
    np.testing.assert_array_equal(cube["s1_time"].values, raw["s1_date"].values)
    np.testing.assert_array_equal(cube["crop"].values, raw["label"].values)
    assert cube.rio.crs.to_epsg() == 32611


def test_zarr_store_from_another_producer(tmp_path):
    path = tmp_path / "foreign.zarr"
    foreign_cube().to_zarr(path, mode="w", consolidated=False)
    cube = open_cube(path)
    assert cube.sizes["time"] == 5 and cube.rio.crs.to_epsg() == 32631


def test_names_maps_unknown_variable_names(tmp_path):
    ds = foreign_cube().rename({"VV": "backscatter_copol"})
    path = save(ds, tmp_path / "odd_names.nc")
    expect_error(path, "no VV backscatter", "backscatter_copol")
    cube = open_cube(path, names={"vv": "backscatter_copol"})
    np.testing.assert_array_equal(cube["vv"].values, ds["backscatter_copol"].values)


def test_crs_argument_supplies_a_missing_crs(tmp_path):
    path = save(foreign_cube(crs=None), tmp_path / "nocrs.nc")
    expect_error(path, "has no CRS")
    assert open_cube(path, crs="EPSG:32631").rio.crs.to_epsg() == 32631


def test_contradictory_options_are_a_value_error():
    with pytest.raises(ValueError, match="not both"):
        open_cube(DATA / "classic_db.nc", sigma0="db", sigma0_log_dn=(20, -83))
    with pytest.raises(ValueError, match="sigma0 must be"):
        open_cube(DATA / "classic_db.nc", sigma0="decibel")


# --- bad files: the message names the file and the problem -------------------------------------

@pytest.mark.parametrize("name, content, phrase", [
    ("notes.nc", b"time,vv,vh\n2021-01-01,1,2\n", "text file"),
    ("picture.nc", b"\x89PNG\r\n\x1a\n" + bytes(64), "PNG image"),
    ("empty.nc", b"", "empty"),
    ("archive.nc", b"PK\x03\x04" + bytes(64), "ZIP archive"),
    ("lfs.nc", b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\n", "Git LFS pointer"),
    ("noise.nc", bytes(range(1, 32)) * 4, "unknown format"),
])
def test_wrong_file_types(tmp_path, name, content, phrase):
    path = tmp_path / name
    path.write_bytes(content)
    expect_error(path, phrase)


@pytest.mark.parametrize("fixture, keep", [("s1s2_aliases.nc", 20_000), ("classic_db.nc", 3_000)])
def test_truncated_files(tmp_path, fixture, keep):
    path = tmp_path / f"cut_{fixture}"
    path.write_bytes((DATA / fixture).read_bytes()[:keep])
    expect_error(path, "corrupt", "truncated")


def test_missing_file_folder_and_geotiff(tmp_path):
    expect_error(tmp_path / "nowhere.nc", "does not exist")
    folder = tmp_path / "plain_folder"
    folder.mkdir()
    expect_error(folder, "not a Zarr store")
    expect_error(DATA / "stack_described" / "vv.tif", "GeoTIFF", "open_geotiff_stack")


def modified(tmp_path: Path, name: str, change) -> Path:
    return save(change(foreign_cube()), tmp_path / name)


def with_time(ds: xr.Dataset, order: list[int]) -> xr.Dataset:
    return ds.assign_coords(t=ds["t"].values[order])


@pytest.mark.parametrize("name, change, phrases", [
    ("no_vh.nc", lambda ds: ds.drop_vars("VH"), ["no VH backscatter", "VV, NDVI"]),
    ("no_optical.nc", lambda ds: ds.drop_vars("NDVI"), ["no NDVI"]),
    ("all_nan.nc", lambda ds: ds.assign(NDVI=ds["NDVI"] * np.nan), ["ndvi", "all NaN"]),
    ("hot.nc", lambda ds: ds.assign(VV=ds["VV"] + 60), ["outside the plausible dB range"]),
    ("dn.nc", lambda ds: ds.assign(VV=(ds["VV"] * 0 + 3000).astype(np.float32)), ["digital numbers", "sigma0_log_dn"]),
    ("ndvi_scaled.nc", lambda ds: ds.assign(NDVI=ds["NDVI"] * 10000), ["outside −1 … 1"]),
    ("infinite.nc", lambda ds: ds.assign(VH=ds["VH"].where(ds["VH"] > -21, np.inf)), ["infinite"]),
    ("geographic.nc", lambda ds: ds.rio.write_crs("EPSG:4326"), ["geographic"]),
    ("latlon.nc", lambda ds: ds.rename(x="lon", y="lat"), ["latitude/longitude", "reproject"]),
    ("unsorted.nc", lambda ds: with_time(ds, [1, 0, 2, 3, 4]), ["time", "not sorted"]),
    ("duplicated.nc", lambda ds: with_time(ds, [0, 0, 2, 3, 4]), ["time", "duplicated date"]),
    ("other_grid.nc", lambda ds: ds.assign(VH=ds["VH"].rename(x="x2", y="y2")), ["VH", "not on the cube's"]),
    ("no_time.nc", lambda ds: ds.isel(t=0), ["no 'time' dimension"]),
    ("ambiguous.nc", lambda ds: ds.assign({"S1-SIGMA0-VV": ds["VV"]}), ["several variables could be 'vv'"]),
    ("uneven.nc", lambda ds: ds.assign_coords(x=ds["x"].values + [0, 0, 0, 5, 5, 5]), ["not evenly spaced"]),
    ("one_date.nc", lambda ds: ds.isel(t=[0]), ["at least 2"]),
])
def test_bad_content(tmp_path, name, change, phrases):
    expect_error(modified(tmp_path, name, change), *phrases)


def test_numeric_time_without_units(tmp_path):
    ds = foreign_cube()
    ds = ds.assign_coords(t=np.arange(ds.sizes["t"]))
    expect_error(save(ds, tmp_path / "plain_numbers.nc"), "plain numbers, not dates")


def test_max_pixels_guard(tmp_path):
    path = save(foreign_cube(), tmp_path / "big.nc")  # 5 x 4 x 6 = 120 cells
    expect_error(path, "too large", "120 cells", "max_pixels=100", max_pixels=100)
    assert open_cube(path, max_pixels=120).sizes["time"] == 5
    assert open_cube(path, max_pixels=None).sizes["time"] == 5


# --- writers: exact round trips ----------------------------------------------------------------

def rich_cube() -> xr.Dataset:
    cube = make_tiny_cube(with_truth=True, seed=3)
    cube.attrs.update(simulated=True, scenario={"cloud": 0.5, "seed": 3}, note=None)
    cube["ndvi_pred"] = (cube["ndvi_true"] + 0.01).astype(np.float32)
    cube["ndvi_pred"].attrs["model"] = "MCNN-Seq"
    return cube


def test_write_netcdf_round_trips_exactly(tmp_path):
    cube = rich_cube()
    assert np.isnan(cube["ndvi"].values).any()
    back = open_cube(write_netcdf(cube, tmp_path / "cube.nc"))
    xr.testing.assert_identical(back, cube)  # values incl. NaN, dtypes, coords, s1_time, CRS, attrs
    assert back["cloud"].dtype == bool and back["crop"].dtype == np.int16 and back["field"].dtype == np.int32
    assert back.attrs["simulated"] is True and back.attrs["scenario"] == {"cloud": 0.5, "seed": 3}
    assert back["time"].dtype == cube["time"].dtype
    validate_cube(back)


def test_write_zarr_round_trips_exactly(tmp_path):
    cube = rich_cube()
    path = tmp_path / "cube.zarr"
    write_zarr(cube, path)
    write_zarr(cube, path)  # replacing an existing store
    xr.testing.assert_identical(open_cube(path), cube)


def test_real_cube_round_trips_through_netcdf(tmp_path):
    cube = open_cube(REAL, nodata=65535, sigma0_log_dn=(20, -83))
    xr.testing.assert_identical(open_cube(write_netcdf(cube, tmp_path / "belgium.nc")), cube)


def test_write_refuses_an_invalid_cube_and_keeps_the_old_file(tmp_path):
    path = write_netcdf(make_tiny_cube(), tmp_path / "keep.nc")
    before = path.read_bytes()
    bad = make_tiny_cube()
    bad["vv"] = bad["vv"] + 100
    with pytest.raises(DatacubeError, match="keep.nc.*outside the plausible dB range"):
        write_netcdf(bad, path)
    assert path.read_bytes() == before


def test_write_to_a_missing_folder_is_a_datacube_error(tmp_path):
    with pytest.raises(DatacubeError, match="cube.nc: cannot be written"):
        write_netcdf(make_tiny_cube(), tmp_path / "no" / "such" / "cube.nc")


# --- the real openEO cube (../shared/data) -----------------------------------------------------

def test_real_cube_without_options_asks_for_nodata():
    expect_error(REAL, "nodata=65535")


def test_real_cube_opens_valid_with_readme_ranges():
    cube = open_cube(REAL, nodata=65535, sigma0_log_dn=(20, -83))
    validate_cube(cube)
    assert cube.sizes == {"time": 12, "y": 100, "x": 100}
    assert cube.rio.crs.to_epsg() == 32631
    assert list(pd.DatetimeIndex(cube["time"].values)) == list(pd.date_range("2020-11-01", periods=12, freq="MS"))
    vv, vh, ndvi = (cube[v].values for v in ("vv", "vh", "ndvi"))
    # README: VV about -14 … -5 dB (median -9.9), VH about -21 … -13 (median -16.6): the 5-95 % ranges
    assert np.isfinite(vv).all() and np.isfinite(vh).all()  # radar complete on all 12 dates
    lo, med, hi = np.percentile(vv, [5, 50, 95])
    assert -15 < lo < -13 and abs(med - -9.9) < 0.2 and -6 < hi < -4.5
    lo, med, hi = np.percentile(vh, [5, 50, 95])
    assert -22 < lo < -20 and abs(med - -16.6) < 0.2 and -13.5 < hi < -12
    # README: no optical value anywhere on 2020-12-01 and 2021-01-01; the other months gap-free
    empty = np.isnan(ndvi).all(axis=(1, 2))
    assert [str(d)[:10] for d in cube["time"].values[empty]] == ["2020-12-01", "2021-01-01"]
    assert np.isnan(ndvi[~empty]).mean() < 1e-3
    np.testing.assert_array_equal(cube["cloud"].values, np.isnan(ndvi))
    # README: NDVI about 0 … 0.88
    lo, hi = np.nanpercentile(ndvi, [1, 95])
    assert 0 < lo < 0.2 and 0.85 < hi < 0.92 and np.nanmax(ndvi) <= 1


def test_corrupt_zarr_chunk_and_metadata(tmp_path):
    path = write_zarr(make_tiny_cube(), tmp_path / "broken.zarr")
    chunk = next(p for p in (path / "vv").rglob("*") if p.is_file() and p.name != "zarr.json")
    chunk.write_bytes(b"garbage!" * 10)
    expect_error(path, "corrupt or truncated")
    (path / "zarr.json").write_text("{not json")
    expect_error(path, "cannot be opened as a Zarr store")

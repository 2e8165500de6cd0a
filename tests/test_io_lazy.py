"""Lazy (dask) cubes: open_cube(chunks=...) decodes block by block to exactly the in-memory values."""

from __future__ import annotations

from pathlib import Path

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401
import xarray as xr

from conftest import make_tiny_cube
from mcnnseq.errors import DatacubeError
from mcnnseq.io import open_cube, write_netcdf, write_zarr
from mcnnseq.io.lazy import DEFAULT_BLOCK, block_shape

DATA = Path(__file__).parent / "data"
REAL = Path(__file__).parents[2] / "shared/data/worldcereal_belgium_2021/worldcereal_preprocessed_inputs.nc"


def assert_lazy(cube: xr.Dataset) -> None:
    for name in ("vv", "vh", "ndvi", "cloud"):
        assert isinstance(cube[name].data, da.Array), name
        assert cube[name].chunks[0] == (cube.sizes["time"],)  # every block holds whole series


def test_real_cube_lazily_equals_the_in_memory_cube():
    opts = dict(nodata=65535, sigma0_log_dn=(20, -83))  # log-DN radar, 65535 no-data
    eager = open_cube(REAL, **opts)
    lazy = open_cube(REAL, chunks=32, **opts)
    assert_lazy(lazy)
    assert lazy.chunks["y"] == (32, 32, 32, 4)
    xr.testing.assert_identical(lazy.compute(), eager)  # values, NaNs, dtypes, coords, CRS, attrs
    assert lazy.rio.crs == eager.rio.crs


@pytest.mark.parametrize("fixture, kwargs", [
    ("s1s2_aliases.nc", {"nodata": 65535}),  # linear sigma0, NDVI from B04/B08, SCL clouds, crop with a time axis
    ("classic_db.nc", {}),                    # classic NetCDF, dB, a 0/1 cloud mask, S1 dates
])
def test_decoding_fixtures_lazily_equal_in_memory(fixture, kwargs):
    eager = open_cube(DATA / fixture, **kwargs)
    lazy = open_cube(DATA / fixture, chunks=(3, 4), **kwargs)
    assert_lazy(lazy)
    xr.testing.assert_identical(lazy.compute(), eager)


def test_our_zarr_and_netcdf_files_round_trip_lazily(tmp_path):
    cube = make_tiny_cube(with_truth=True, seed=3, ny=9, nx=11)
    cube.attrs.update(simulated=True, scenario={"cloud": 0.5})
    cube["ndvi_pred"] = (cube["ndvi_true"] + 0.01).astype(np.float32)  # an extra variable rides along
    for path in (write_zarr(cube, tmp_path / "c.zarr"), write_netcdf(cube, tmp_path / "c.nc")):
        lazy = open_cube(path, chunks={"y": 4, "x": 5})
        assert_lazy(lazy)
        assert isinstance(lazy["ndvi_pred"].data, da.Array)
        xr.testing.assert_identical(lazy.compute(), open_cube(path))
        xr.testing.assert_identical(lazy.compute(), cube)


def test_cell_limit_refuses_in_memory_and_points_to_the_lazy_path(tmp_path):
    path = write_zarr(make_tiny_cube(nt=6, ny=8, nx=10), tmp_path / "big.zarr")  # 480 cells
    with pytest.raises(DatacubeError) as info:
        open_cube(path, max_pixels=100)
    message = str(info.value)
    assert "big.zarr" in message and "480 cells" in message
    assert "chunks=" in message and "--chunks" in message
    lazy = open_cube(path, max_pixels=100, chunks=4)  # the limit is for memory, not for lazy cubes
    assert_lazy(lazy)
    xr.testing.assert_identical(lazy.compute(), open_cube(path))


def test_wrong_options_fail_at_open_from_the_sample():
    with pytest.raises(DatacubeError, match="nodata=65535") as info:
        open_cube(DATA / "s1s2_aliases.nc", chunks=4)
    assert "s1s2_aliases.nc" in str(info.value)


def grid_cube(path: Path, *, bad: tuple | None = None) -> Path:
    """A 6-date 12 x 12 cube stored by another producer; ``bad`` = (variable, value, t, y, x) planted."""
    cube = make_tiny_cube(nt=6, ny=12, nx=12, seed=1)
    raw = xr.Dataset({"VV": cube["vv"].copy(), "VH": cube["vh"].copy(), "NDVI": cube["ndvi"].copy()},
                     coords={"time": cube["time"], "y": cube["y"], "x": cube["x"]}).rio.write_crs("EPSG:32611")
    if bad is not None:
        name, value, t, y, x = bad
        raw[name].values[t, y, x] = value
    raw.to_netcdf(path)
    return path


def test_a_bad_value_outside_the_sample_fails_when_its_block_is_computed(tmp_path):
    # 4 x 4 blocks of 3 px: the sample reads the diagonal blocks (0,0), (1,1), (3,3); (0,3) is not read at open
    path = grid_cube(tmp_path / "one_bad_block.nc", bad=("NDVI", 1.7, 2, 1, 10))
    with pytest.raises(DatacubeError, match="outside"):
        open_cube(path)  # in memory: refused at once
    lazy = open_cube(path, chunks=3)
    ok = lazy["ndvi"].isel(y=slice(0, 3), x=slice(0, 3)).values  # a good block computes
    assert np.isfinite(ok).any()
    with pytest.raises(DatacubeError, match="NDVI|ndvi") as info:
        lazy["ndvi"].compute()
    assert "one_bad_block.nc" in str(info.value) and "outside" in str(info.value)


def test_infinite_radar_in_an_unsampled_block_fails_when_computed(tmp_path):
    path = grid_cube(tmp_path / "inf.nc", bad=("VH", np.inf, 0, 10, 1))
    lazy = open_cube(path, chunks=3)
    with pytest.raises(DatacubeError, match="infinite"):
        lazy["vh"].compute()


def test_a_block_without_any_optical_value_is_fine(tmp_path):
    cube = make_tiny_cube(nt=6, ny=12, nx=12, seed=2)
    cube["ndvi"].values[:, 0:6, 6:12] = np.nan  # a whole block clouded on every date
    cube["cloud"].values[:] = np.isnan(cube["ndvi"].values)
    path = write_netcdf(cube, tmp_path / "cloudy_corner.nc")
    lazy = open_cube(path, chunks=6)
    xr.testing.assert_identical(lazy.compute(), cube)


def test_block_shape_forms_and_errors():
    assert block_shape("auto", ny=2000, nx=300) == (DEFAULT_BLOCK, 300)
    assert block_shape("auto", ny=2000, nx=2000, stored={"y": 300, "x": 1000}) == (600, 1000)
    assert block_shape(100, ny=50, nx=500) == (50, 100)
    assert block_shape((10, 20), ny=50, nx=500) == (10, 20)
    assert block_shape({"y": 10}, ny=50, nx=500) == (10, 500)
    assert block_shape({"y": -1, "x": 7}, ny=50, nx=500) == (50, 7)
    for bad in ("big", 0, -3, (1, 2, 3), {"time": 2, "band": 1}, 2.5, True):
        with pytest.raises(ValueError):
            block_shape(bad, ny=10, nx=10)


def test_lazy_zarr_from_another_producer_with_dim_aliases(tmp_path):
    rng = np.random.default_rng(5)
    nt, ny, nx = 5, 6, 7
    ds = xr.Dataset(
        {"VV": (("t", "y", "x"), rng.uniform(-15, -5, (nt, ny, nx)).astype(np.float32)),
         "VH": (("t", "y", "x"), rng.uniform(-22, -12, (nt, ny, nx)).astype(np.float32)),
         "NDVI": (("t", "y", "x"), rng.uniform(0.1, 0.8, (nt, ny, nx)).astype(np.float32))},
        coords={"t": pd.date_range("2021-04-01", periods=nt, freq="12D").values,
                "y": (5_600_000 - 5 - 10 * np.arange(ny)).astype(np.int64), "x": 600_005.0 + 10 * np.arange(nx)})
    ds.rio.write_crs("EPSG:32631").to_zarr(tmp_path / "f.zarr", mode="w", consolidated=False)
    eager = open_cube(tmp_path / "f.zarr")
    lazy = open_cube(tmp_path / "f.zarr", chunks=4)
    assert_lazy(lazy)
    xr.testing.assert_identical(lazy.compute(), eager)


@pytest.mark.parametrize("stack", ["stack_described", "stack_csv"])
def test_geotiff_stacks_lazily_equal_in_memory(stack):
    from mcnnseq.io import open_geotiff_stack

    eager = open_geotiff_stack(DATA / stack)
    lazy = open_geotiff_stack(DATA / stack, chunks=(3, 4))
    assert_lazy(lazy)
    xr.testing.assert_identical(lazy.compute(), eager)


def test_written_geotiff_stack_round_trips_lazily(tmp_path):
    from mcnnseq.io import open_geotiff_stack, write_geotiff_stack

    cube = make_tiny_cube(with_truth=True, seed=4, ny=9, nx=11)
    write_geotiff_stack(cube, tmp_path / "out")
    lazy = open_geotiff_stack(tmp_path / "out", chunks=5, max_pixels=10)  # the limit is for memory only
    assert_lazy(lazy)
    xr.testing.assert_identical(lazy.compute(), cube)


def test_an_empty_corner_sample_looks_wider_before_refusing(tmp_path):
    cube = make_tiny_cube(nt=6, ny=16, nx=16, seed=5)
    # only the off-diagonal quadrant (rows 0-7, cols 8-15) has optical data: the diagonal windows see none
    ndvi = cube["ndvi"].values
    ndvi[:, 8:, :] = np.nan
    ndvi[:, :8, :8] = np.nan
    cube["cloud"].values[:] = np.isnan(ndvi)
    path = write_netcdf(cube, tmp_path / "quadrant.nc")
    lazy = open_cube(path, chunks=8)
    xr.testing.assert_identical(lazy.compute(), open_cube(path))
    cube["ndvi"].values[:] = np.nan
    cube["ndvi"].values[0, 0, 15] = 0.5  # one value (the writer validates), in no sampled window
    cube["cloud"].values[:] = np.isnan(cube["ndvi"].values)
    path = write_netcdf(cube, tmp_path / "almost_empty.nc")
    with pytest.raises(DatacubeError, match="no optical value at all in 19 sampled windows") as info:
        open_cube(path, chunks=2)
    assert "almost_empty.nc" in str(info.value)


def test_lazy_opening_reads_only_small_windows(monkeypatch, tmp_path):
    from mcnnseq.io import lazy as lazy_module

    monkeypatch.setattr(lazy_module, "SAMPLE_SIDE", 3)
    seen = []
    original = lazy_module.standardize_cube

    def spy(ds, **kw):
        seen.append((ds.sizes["y"], ds.sizes["x"]))
        return original(ds, **kw)

    monkeypatch.setattr(lazy_module, "standardize_cube", spy)
    path = write_zarr(make_tiny_cube(nt=6, ny=20, nx=20, seed=6), tmp_path / "w.zarr")
    open_cube(path, chunks=10)
    assert seen and all(h <= 3 and w <= 3 for h, w in seen)  # three 3 x 3 windows, not 10 x 10 blocks

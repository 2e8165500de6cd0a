"""pair_dates / pair_cubes: nearest S1 date within a tolerance, dropped S2 dates reported, grids checked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401
import xarray as xr

from mcnnseq.datacube import validate_cube
from mcnnseq.errors import DatacubeError
from mcnnseq.io import pair_cubes, pair_dates
from mcnnseq.paper import s1_dates, s2_dates


def test_pairs_nearest_within_tolerance_and_drops_the_rest():
    s1 = ["2021-01-01", "2021-01-13", "2021-01-25"]
    s2 = ["2021-01-03", "2021-01-08", "2021-01-19", "2021-02-10"]
    pairs = pair_dates(s1, s2, tolerance_days=6)
    assert list(pairs["paired"]) == [True, True, True, False]
    assert list(pairs["s1_index"]) == [0, 1, 1, -1]
    assert list(pairs["gap_days"][:3]) == [-2.0, 5.0, -6.0]
    assert pd.isna(pairs["s1_date"].iloc[3]) and np.isnan(pairs["gap_days"].iloc[3])
    assert list(pairs["s2_index"]) == [0, 1, 2, 3]


def test_ties_go_to_the_earlier_s1_date_whatever_the_input_order():
    pairs = pair_dates(["2021-01-13", "2021-01-01"], ["2021-01-07"], tolerance_days=6)
    assert pairs["s1_date"].iloc[0] == pd.Timestamp("2021-01-01") and pairs["s1_index"].iloc[0] == 1


def test_paper_dates_all_pair_within_six_days():
    pairs = pair_dates(s1_dates(), s2_dates(), tolerance_days=6)
    assert pairs["paired"].all() and pairs["gap_days"].abs().max() <= 6
    assert pair_dates(s1_dates(), s2_dates(), tolerance_days=2)["paired"].sum() < 31


def test_bad_arguments():
    with pytest.raises(ValueError, match="tolerance_days"):
        pair_dates(["2021-01-01"], ["2021-01-01"], tolerance_days=-1)
    with pytest.raises(ValueError, match="at least one"):
        pair_dates([], ["2021-01-01"])


def s1_and_s2(*, shift_x: float = 0.0, s2_crs: str = "EPSG:32631"):
    rng = np.random.default_rng(9)
    ny, nx = 3, 4
    x = 500_005 + 10 * np.arange(nx)
    y = 5_000_000 - 5 - 10 * np.arange(ny)
    t1 = pd.date_range("2021-03-01", periods=8, freq="12D")
    t2 = pd.DatetimeIndex(["2021-03-03", "2021-03-20", "2021-04-01", "2021-04-05", "2021-06-20"])
    s1 = xr.Dataset({"VV": (("t", "y", "x"), rng.uniform(-15, -5, (8, ny, nx)).astype(np.float32)),
                     "VH": (("t", "y", "x"), rng.uniform(-22, -12, (8, ny, nx)).astype(np.float32))},
                    coords={"t": t1, "y": y, "x": x}, attrs={"source": "s1.nc"}).rio.write_crs("EPSG:32631")
    s2 = xr.Dataset({"ndvi": (("time", "y", "x"), rng.uniform(0, 0.9, (5, ny, nx)).astype(np.float32)),
                     "crop": (("y", "x"), rng.integers(1, 9, (ny, nx)).astype(np.int16))},
                    coords={"time": t2, "y": y, "x": x + shift_x}, attrs={"source": "s2.nc"}).rio.write_crs(s2_crs)
    return s1, s2


def test_pair_cubes_builds_a_valid_cube_with_s1_time():
    s1, s2 = s1_and_s2()
    cube = pair_cubes(s1, s2, tolerance_days=6)
    validate_cube(cube)
    pairs = pair_dates(s1["t"].values, s2["time"].values, tolerance_days=6)
    kept = pairs[pairs["paired"]]
    assert len(kept) == 4  # 2021-06-20 is 27 days after the last S1 date
    np.testing.assert_array_equal(cube["time"].values, kept["s2_date"].values)
    np.testing.assert_array_equal(cube["s1_time"].values, kept["s1_date"].values)
    np.testing.assert_array_equal(cube["vv"].values, s1["VV"].values[kept["s1_index"].to_numpy()])
    np.testing.assert_array_equal(cube["ndvi"].values, s2["ndvi"].values[kept["s2_index"].to_numpy()])
    np.testing.assert_array_equal(cube["crop"].values, s2["crop"].values)
    assert cube.attrs["pairing"] == "4 of 5 S2 dates paired with an S1 date within 6 days; dropped: 2021-06-20"
    assert cube.attrs["source"] == "s1.nc + s2.nc"


def test_pair_cubes_refuses_other_grids_and_crs_naming_both():
    s1, s2 = s1_and_s2(shift_x=10)
    with pytest.raises(DatacubeError, match=r"s1.nc: grid .* does not match the grid of s2.nc"):
        pair_cubes(s1, s2)
    s1, s2 = s1_and_s2(s2_crs="EPSG:32632")
    with pytest.raises(DatacubeError, match=r"s1.nc: CRS EPSG:32631 differs from the CRS of s2.nc"):
        pair_cubes(s1, s2)


def test_pair_cubes_without_any_pair_or_radar():
    s1, s2 = s1_and_s2()
    with pytest.raises(DatacubeError, match="no S2 date of s2.nc has an S1 date of s1.nc within 0.5 days"):
        pair_cubes(s1, s2, tolerance_days=0.5)
    with pytest.raises(DatacubeError, match="s1.nc: has no VH backscatter"):
        pair_cubes(s1.drop_vars("VH"), s2)

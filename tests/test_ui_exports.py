"""mcnnseq.ui.exports: download contents that the readers give back exactly."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd

from conftest import make_tiny_cube
from mcnnseq.ui import exports, upload


def test_slug():
    assert exports.slug("MCNN-Seq") == "mcnn-seq"
    assert exports.slug("demo:200x200:seed0:50%") == "demo_200x200_seed0_50"


def test_netcdf_and_geotiff_zip_round_trip(tmp_path):
    cube = make_tiny_cube(nt=4, ny=5, nx=6, seed=2, with_truth=True)
    back = upload.load_netcdf(upload.Upload("c.nc", exports.netcdf_bytes(cube)))
    np.testing.assert_array_equal(back["ndvi_true"].values, cube["ndvi_true"].values)

    data = exports.geotiff_stack_zip(cube, folder="cube")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = sorted(zf.namelist())
        zf.extractall(tmp_path)
    assert "cube/dates.csv" in names and "cube/vv.tif" in names and "cube/cloud.tif" not in names
    from mcnnseq.io import open_geotiff_stack

    again = open_geotiff_stack(tmp_path / "cube")
    np.testing.assert_array_equal(again["vh"].values, cube["vh"].values)
    assert list(again["time"].values) == list(cube["time"].values)


def test_prediction_geotiff_has_one_band_per_date(tmp_path):
    from mcnnseq.io import read_geotiff

    cube = make_tiny_cube(nt=4, ny=5, nx=6)
    da = (cube["vv"] * 0 + 0.5).astype(np.float32).rename("ndvi_pred")
    path = tmp_path / "p.tif"
    path.write_bytes(exports.geotiff_bytes(da, name="p.tif"))
    back = read_geotiff(path)
    assert back.shape == (4, 5, 6) and np.allclose(back.values, 0.5)
    assert [str(pd.Timestamp(t).date()) for t in back["time"].values] == \
        [str(pd.Timestamp(t).date()) for t in cube["time"].values]


def test_per_date_table_flattens_for_csv():
    idx = pd.DatetimeIndex(["2018-01-11", "2018-01-16"], name="time")
    table = pd.DataFrame([[0.5, 0.1], [0.7, 0.05]], index=idx,
                         columns=pd.MultiIndex.from_product([["CNN"], ["r2", "rmse"]]))
    table.loc["mean"] = table.mean()
    flat = exports.per_date_table(table)
    text = exports.csv_bytes(flat).decode()
    assert text.splitlines()[0] == "date,CNN_r2,CNN_rmse"
    assert text.splitlines()[1].startswith("2018-01-11,0.5,") and text.splitlines()[3].startswith("mean,0.6")

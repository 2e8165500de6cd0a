"""mcnnseq.ui.exports: download contents that the readers give back exactly."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

import pytest

from conftest import make_tiny_cube
from mcnnseq.ui import exports, upload

REAL_CUBE = Path(__file__).resolve().parents[2] / "shared" / "data" / "worldcereal_belgium_2021" / \
    "worldcereal_preprocessed_inputs.nc"


def test_slug_and_file_names():
    assert exports.slug("MCNN-Seq") == "mcnn-seq"
    assert exports.slug("demo:200x200:seed0:50%") == "demo_200x200_seed0_50"
    assert exports.slug("CNN · quick (2)") == "cnn_quick_2"
    assert exports.file_name("belgium", "MCNN-Seq · quick", "ndvi_filled", suffix=".tif") == \
        "belgium_mcnn-seq_quick_ndvi_filled.tif"
    assert exports.file_name("belgium", suffix="nc") == "belgium.nc"


def _prediction(cube):
    from mcnnseq.prediction import predict_cube

    class Half:
        def predict(self, X):
            return np.full(X.shape[:2], 0.5, dtype=np.float32)

    return predict_cube(Half(), cube, name="MCNN-Seq · quick")


@pytest.mark.parametrize("what", ["prediction", "cube", "real cube"])
def test_netcdf_exports_carry_the_crs_for_xarray_and_gdal(tmp_path, what):
    import rasterio
    import rioxarray  # noqa: F401
    import xarray as xr

    if what == "real cube":
        from mcnnseq.io import open_cube

        cube = open_cube(REAL_CUBE, nodata=65535, sigma0_log_dn=(20, -83))
    else:
        cube = make_tiny_cube(nt=4, ny=5, nx=6, seed=2, with_truth=True)
    ds = _prediction(cube) if what == "prediction" else cube
    variable = "ndvi_filled" if what == "prediction" else "ndvi"
    path = tmp_path / "out.nc"
    path.write_bytes(exports.netcdf_bytes(ds, name="out.nc", validate=what != "prediction"))
    with xr.open_dataset(path, decode_coords="all") as back:
        assert back.rio.crs == cube.rio.crs
        assert back.attrs["Conventions"].startswith("CF-")
        for name, var in back.data_vars.items():
            assert var.encoding.get("grid_mapping") == "spatial_ref", name
            assert "units" in var.attrs and "long_name" in var.attrs, name
        assert "crs_wkt" in back["spatial_ref"].attrs
        assert back["x"].attrs["standard_name"] == "projection_x_coordinate" and back["x"].attrs["units"] == "m"
        assert np.issubdtype(back["time"].dtype, np.datetime64)
    with xr.open_dataset(path, decode_times=False) as raw:
        assert "since" in raw["time"].attrs["units"] and "calendar" in raw["time"].attrs  # CF dates
    with rasterio.open(f"netcdf:{path}:{variable}") as src:
        assert src.crs == cube.rio.crs and src.count == cube.sizes["time"]
        assert src.transform.a == pytest.approx(float(cube.rio.resolution()[0]))
    if what != "prediction":
        from mcnnseq.io import open_cube

        xr.testing.assert_identical(open_cube(path), cube)  # the CF attributes do not change the round trip


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


def test_gap_length_csv_and_gap_filled_tables():
    import io

    import pandas as pd

    from mcnnseq.io.table import open_table
    from mcnnseq.workspace import Workspace

    frame = pd.DataFrame({"id": [f"p{i}" for i in range(40) for _ in range(8)],
                          "date": list(pd.date_range("2021-04-01", periods=8, freq="10D").strftime("%Y-%m-%d")) * 40})
    rng = np.random.default_rng(0)
    frame["vv"] = rng.uniform(-15, -8, len(frame)).round(3)
    frame["vh"] = rng.uniform(-22, -15, len(frame)).round(3)
    frame["ndvi"] = np.where(rng.random(len(frame)) < 0.2, np.nan, rng.uniform(0.1, 0.9, len(frame)).round(4))
    ds = open_table(frame.to_csv(index=False).encode(), name="p.csv")
    ws = Workspace(shipped_models=lambda s: {})
    ws.use_file(ds, name="p.csv")
    linear = ws.offer_classic()[0]
    table = exports.gap_length_table(ws.evaluation([linear]))
    assert list(table.columns) == ["Linear · classic R²", "Linear · classic RMSE", "Linear · classic n"]
    text = exports.csv_bytes(table).decode()
    assert text.splitlines()[0] == "grouping,gap,Linear · classic R²,Linear · classic RMSE,Linear · classic n"
    scene = ws.scene_predictions([linear])[linear.name]
    filled = pd.read_csv(io.BytesIO(exports.table_file(scene, "csv", cube=ds)))
    assert filled["id"].nunique() == 40 and {"ndvi", "ndvi_pred", "ndvi_filled"} <= set(filled)
    back = pd.read_parquet(io.BytesIO(exports.table_file(scene, "parquet", cube=ds)))
    np.testing.assert_allclose(back["ndvi_filled"].to_numpy(float), filled["ndvi_filled"].to_numpy(float), atol=1e-6)

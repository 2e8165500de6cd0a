"""Parcel/point tables: long-form CSV/Parquet <-> points cube, and every bad table named by column and rows."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from mcnnseq.datacube import crop_class_names, is_points, summarize_cube
from mcnnseq.errors import DatacubeError
from mcnnseq.io.table import (open_table, open_uploaded_table, points_frame, table_bytes, table_frame,
                              write_table)

DATA = Path(__file__).resolve().parent / "data"
_spec = importlib.util.spec_from_file_location("make_tables", DATA / "make_tables.py")
make_tables = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_tables)


def _csv(tmp_path: Path, frame: pd.DataFrame, name: str = "t.csv", **kw) -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False, **kw)
    return path


def _same_dates(n_ids: int = 4, n_dates: int = 5, seed: int = 0) -> pd.DataFrame:
    """One date list: vv, vh, ndvi on the same rows (as an openEO export on a common time grid)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_ids):
        for d in pd.date_range("2021-04-01", periods=n_dates, freq="10D"):
            rows.append({"id": f"f{i}", "date": d.strftime("%Y-%m-%d"), "vv": round(rng.uniform(-15, -8), 3),
                         "vh": round(rng.uniform(-22, -15), 3), "ndvi": round(rng.uniform(0.1, 0.9), 4)})
    return pd.DataFrame(rows)


def _fails(source, *fragments, **kw) -> str:
    with pytest.raises(DatacubeError) as info:
        open_table(source, **kw)
    msg = str(info.value)
    for fragment in fragments:
        assert fragment in msg, msg
    return msg


# ----------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------

def test_the_example_file_is_what_the_generator_writes(tmp_path):
    """tests/data/parcels_example.csv is the script's output, not edited by hand."""
    make_tables.parcel_table(6, seed=1).to_csv(tmp_path / "again.csv", index=False, lineterminator="\n")
    assert (tmp_path / "again.csv").read_bytes() == (DATA / "parcels_example.csv").read_bytes()


def test_example_table_opens_as_a_points_cube_with_each_ids_own_radar():
    rows = pd.read_csv(DATA / "parcels_example.csv")
    cube = open_table(DATA / "parcels_example.csv")
    assert is_points(cube) and cube.sizes["y"] == 1 and cube.sizes["x"] == rows["id"].nunique()
    assert list(cube["id"].values) == list(dict.fromkeys(rows["id"]))
    s2_days = sorted(set(rows.loc[rows["vv"].isna(), "date"]))
    assert [str(np.datetime64(t, "D")) for t in cube["time"].values] == s2_days
    assert cube.attrs["crop_classes"] == "1=maize; 2=sugar beet; 3=winter wheat"
    assert "per id the nearest radar row" in cube.attrs["pairing"]
    for i, pid in enumerate(cube["id"].values):
        mine = rows[rows["id"] == pid]
        radar = mine.dropna(subset=["vv"]).assign(date=lambda f: pd.to_datetime(f["date"]))
        optical = mine[mine["vv"].isna()].set_index("date")
        assert cube["lon"].values[i] == pytest.approx(mine["lon"].iloc[0])
        assert crop_class_names(cube)[int(cube["crop"].values[0, i])] == mine["crop"].iloc[0]
        for t, day in enumerate(pd.DatetimeIndex(cube["time"].values)):
            ndvi = optical.loc[day.strftime("%Y-%m-%d"), "ndvi"]
            got = cube["ndvi"].values[t, 0, i]
            assert (np.isnan(got) and np.isnan(ndvi)) or got == pytest.approx(ndvi, abs=1e-6)
            gaps = (radar["date"] - day).dt.days
            best = radar.loc[gaps.abs().sort_values(kind="stable").index[0]]  # nearest, earlier on ties
            assert abs((best["date"] - day).days) <= 6
            assert cube["vv"].values[t, 0, i] == pytest.approx(best["vv"], abs=1e-5)
            assert cube["vh"].values[t, 0, i] == pytest.approx(best["vh"], abs=1e-5)
    # the two S1 tracks: parcels west and east of 4.5° E take radar from dates 6 days apart
    lon = cube["lon"].values
    assert (lon < 4.5).any() and (lon >= 4.5).any()


def test_same_dates_table_keeps_one_date_list(tmp_path):
    frame = _same_dates()
    frame.loc[3, "ndvi"] = np.nan  # a cloudy date of f0
    cube = open_table(_csv(tmp_path, frame))
    assert cube.sizes["time"] == 5
    np.testing.assert_array_equal(cube["s1_time"].values, cube["time"].values)
    assert bool(cube["cloud"].values[3, 0, 0]) and np.isnan(cube["ndvi"].values[3, 0, 0])
    np.testing.assert_allclose(cube["vv"].values[:, 0, 1], frame.loc[frame["id"] == "f1", "vv"], atol=1e-5)
    assert "same rows" in cube.attrs["pairing"] and "lon" not in cube.coords


def test_aliases_linear_sigma0_and_numeric_ids(tmp_path):
    frame = _same_dates().rename(columns={"id": "parcel_id", "date": "time", "vv": "VV", "vh": "sigma0_vh",
                                          "ndvi": "NDVI"})
    frame["parcel_id"] = frame["parcel_id"].str[1:].astype(int) + 100
    db = frame[["VV", "sigma0_vh"]].to_numpy()
    frame["VV"], frame["sigma0_vh"] = 10 ** (frame["VV"] / 10), 10 ** (frame["sigma0_vh"] / 10)
    cube = open_table(_csv(tmp_path, frame))
    assert cube["id"].dtype.kind == "i" and list(cube["id"].values) == [100, 101, 102, 103]
    np.testing.assert_allclose(cube["vv"].values.transpose(2, 0, 1).reshape(-1), db[:, 0], atol=1e-4)
    assert cube["vv"].attrs["source_variable"] == "VV" and "linear" in cube["vv"].attrs["decoding"]


def test_parquet_and_upload_bytes(tmp_path):
    frame = _same_dates()
    frame["date"] = pd.to_datetime(frame["date"])
    path = tmp_path / "t.parquet"
    frame.to_parquet(path, index=False)
    a = open_table(path)
    b = open_uploaded_table(path.read_bytes(), "my fields.parquet")
    np.testing.assert_array_equal(a["ndvi"].values, b["ndvi"].values)
    assert b.attrs["source"] == "my fields.parquet"


def test_earth_engine_milliseconds_semicolons_and_decimal_commas(tmp_path):
    frame = _same_dates(n_ids=2, n_dates=3)
    ms = (pd.to_datetime(frame["date"]) - pd.Timestamp("1970-01-01")) // pd.Timedelta(milliseconds=1) \
        + 10 * 3600 * 1000  # 10:00 UTC
    text = "system:time_start;id;VV;VH;NDVI\n" + "\n".join(
        f"{m};{r.id};{str(r.vv).replace('.', ',')};{str(r.vh).replace('.', ',')};{str(r.ndvi).replace('.', ',')}"
        for m, r in zip(ms, frame.itertuples()))
    cube = open_table(text.encode(), name="ee.csv")
    assert [str(np.datetime64(t, "D")) for t in cube["time"].values] == ["2021-04-01", "2021-04-11", "2021-04-21"]
    assert cube["ndvi"].values[0, 0, 0] == pytest.approx(frame["ndvi"].iloc[0], abs=1e-6)


def test_projected_coordinates_need_their_crs(tmp_path):
    frame = _same_dates(n_ids=2, n_dates=2)
    frame["x"] = np.where(frame["id"] == "f0", 600_000.0, 601_000.0)
    frame["y"] = 5_600_000.0
    path = _csv(tmp_path, frame)
    _fails(path, "t.csv", "unknown CRS", "crs=", "--crs")
    cube = open_table(path, crs="EPSG:32631")
    assert 4.0 < cube["lon"].values[0] < 4.5 and 50.0 < cube["lat"].values[0] < 50.6
    assert cube["lon"].values[1] > cube["lon"].values[0]


def test_crop_codes_stay_codes(tmp_path):
    frame = _same_dates(n_ids=3, n_dates=2)
    frame["crop"] = frame["id"].map({"f0": 5, "f1": 12, "f2": None})
    cube = open_table(_csv(tmp_path, frame))
    assert list(cube["crop"].values[0]) == [5, 12, 0]
    assert crop_class_names(cube) == {5: "5", 12: "12"}


def test_summary_of_a_points_cube():
    text = summarize_cube(open_table(DATA / "parcels_example.csv")).to_text()
    assert "points      6 ids" in text and "location    lon 4." in text and "crop labels yes" in text


# ----------------------------------------------------------------------------------------------
# Bad tables: the message names the file, the column and the rows
# ----------------------------------------------------------------------------------------------

def test_missing_columns(tmp_path):
    path = _csv(tmp_path, _same_dates().drop(columns=["vh", "ndvi"]))
    _fails(path, "t.csv", "missing columns 'vh'", "'ndvi'", "the table has: id, date, vv")


def test_duplicate_id_date_rows(tmp_path):
    frame = _same_dates()
    frame = pd.concat([frame, frame.iloc[[6]]], ignore_index=True)  # f1, 2021-04-11 twice
    _fails(_csv(tmp_path, frame), "duplicate rows", "id 'f1' on 2021-04-11", "lines 8, 22")


def test_rows_that_complement_each_other_are_not_duplicates(tmp_path):
    frame = _same_dates(n_ids=1, n_dates=3)
    radar = frame.assign(ndvi=np.nan)
    optical = frame.assign(vv=np.nan, vh=np.nan)
    cube = open_table(_csv(tmp_path, pd.concat([radar, optical])))
    np.testing.assert_allclose(cube["ndvi"].values[:, 0, 0], frame["ndvi"], atol=1e-6)


def test_unparseable_dates(tmp_path):
    frame = _same_dates()
    frame.loc[4, "date"] = "next tuesday"
    _fails(_csv(tmp_path, frame), "column 'date'", "line 6", "'next tuesday'", "YYYY-MM-DD")
    frame.loc[4, "date"] = ""
    _fails(_csv(tmp_path, frame, "e.csv"), "column 'date'", "line 6", "no date")


def test_plain_numbers_are_not_dates(tmp_path):
    frame = _same_dates(n_ids=1, n_dates=3)
    frame["date"] = [1, 2, 3]
    _fails(_csv(tmp_path, frame), "column 'date'", "plain numbers, not dates")


def test_mixed_units(tmp_path):
    frame = _same_dates()
    frame.loc[[2, 9], "vv"] = 10 ** (frame.loc[[2, 9], "vv"] / 10)  # two rows linear, the rest dB
    msg = _fails(_csv(tmp_path, frame), "column 'vv'", "mixed units", "lines 4, 11", "linear")
    assert "--sigma0 db" in msg


def test_non_numeric_values(tmp_path):
    frame = _same_dates()
    frame["ndvi"] = frame["ndvi"].astype(object)
    frame.loc[7, "ndvi"] = "cloudy"
    _fails(_csv(tmp_path, frame), "column 'ndvi'", "line 9", "'cloudy'", "not a number")


def test_empty_tables(tmp_path):
    (tmp_path / "zero.csv").write_bytes(b"")
    _fails(tmp_path / "zero.csv", "zero.csv", "empty (0 bytes)")
    (tmp_path / "header.csv").write_text("id,date,vv,vh,ndvi\n")
    _fails(tmp_path / "header.csv", "header.csv", "empty", "no rows")


def test_values_out_of_range(tmp_path):
    frame = _same_dates()
    frame.loc[5, "ndvi"] = 5300
    _fails(_csv(tmp_path, frame), "column 'ndvi'", "line 7", "−1 … 1", "10000")
    frame = _same_dates()
    frame.loc[5, "vh"] = 60.0
    _fails(_csv(tmp_path, frame, "b.csv"), "column 'vh'", "line 7", "outside the plausible")


def test_an_id_with_two_crops_or_places(tmp_path):
    frame = _same_dates(n_ids=2, n_dates=3)
    frame["crop"] = ["maize"] * 3 + ["wheat", "barley", "wheat"]
    _fails(_csv(tmp_path, frame), "column 'crop'", "id 'f1' has more than one crop", "lines 5, 6, 7")
    frame = _same_dates(n_ids=2, n_dates=3).assign(lon=4.0, lat=50.0)
    frame.loc[1, "lon"] = 4.5
    _fails(_csv(tmp_path, frame, "p.csv"), "column 'lon'", "id 'f0' has more than one location")
    frame.loc[1, "lon"] = 400
    _fails(_csv(tmp_path, frame, "q.csv"), "column 'lon'", "line 3", "beyond ±180")


def test_not_a_table(tmp_path):
    (tmp_path / "x.csv").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    _fails(tmp_path / "x.csv", "x.csv", "NetCDF", "--data")
    _fails(tmp_path / "nope.csv", "nope.csv", "does not exist")


def test_the_cell_limit(tmp_path):
    _fails(_csv(tmp_path, _same_dates()), "too large", "max_pixels=10", max_pixels=10)


# ----------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------

def _bare(ds: xr.Dataset) -> xr.Dataset:
    out = ds.copy()
    out.attrs = {}
    for name in out.variables:
        out[name].attrs = {}
    return out


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_write_table_reads_back_the_same_cube(tmp_path, suffix):
    cube = open_table(DATA / "parcels_example.csv")
    path = write_table(cube, tmp_path / f"back{suffix}")
    again = open_table(path)
    xr.testing.assert_identical(_bare(again), _bare(cube))
    assert again.attrs["crop_classes"] == cube.attrs["crop_classes"]


def test_a_prediction_goes_out_beside_the_observations(tmp_path):
    from mcnnseq.prediction import predict_cube

    class Mean:
        name = "mean"

        def predict(self, X):
            return np.full(X.shape[:2], 0.5, dtype=np.float32)

    cube = open_table(DATA / "parcels_example.csv")
    pred = predict_cube(Mean(), cube)
    frame = table_frame(pred, cube=cube)
    assert list(frame.columns) == ["id", "date", "s1_date", "lon", "lat", "crop", "vv", "vh", "ndvi", "ndvi_pred",
                                   "ndvi_filled", "fill_source"]
    assert set(frame["fill_source"]) <= {0, 1, 2} and (frame.loc[frame["ndvi"].notna(), "fill_source"] == 0).all()
    assert len(frame) == cube.sizes["time"] * cube.sizes["x"]
    observed = frame["ndvi"].notna()
    np.testing.assert_array_equal(frame.loc[observed, "ndvi_filled"], frame.loc[observed, "ndvi"])
    assert (frame.loc[~observed, "ndvi_filled"] == 0.5).all() and (~observed).any()
    assert set(frame["crop"]) == {"maize", "sugar beet", "winter wheat"}
    text = table_bytes(pred, "csv", cube=cube).decode()
    assert text.startswith("id,date,s1_date,lon,lat,crop,vv,vh,ndvi,ndvi_pred,ndvi_filled,fill_source\n"
                           "p001,2021-03-03,")
    write_table(pred, tmp_path / "filled.parquet", cube=cube)
    back = pd.read_parquet(tmp_path / "filled.parquet")
    np.testing.assert_allclose(back["ndvi_filled"], frame["ndvi_filled"])


def test_points_frame_for_the_map_and_crops():
    frame = points_frame(open_table(DATA / "parcels_example.csv"))
    assert list(frame.columns) == ["id", "lon", "lat", "crop", "crop_name"]
    assert len(frame) == 6 and frame["crop_name"].iloc[0] == "maize"


def test_grid_cubes_are_not_written_as_tables(tmp_path, tiny_cube):
    with pytest.raises(DatacubeError, match="gridded cube, not a parcel/point table"):
        write_table(tiny_cube, tmp_path / "x.csv")
    with pytest.raises(DatacubeError, match="unknown table format '.txt'"):
        write_table(open_table(DATA / "parcels_example.csv"), tmp_path / "x.txt")


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    import mcnnseq.io.table as table_module

    cube = open_table(DATA / "parcels_example.csv")
    target = tmp_path / "keep.csv"
    target.write_text("old")

    def broken(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(table_module.os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        write_table(cube, target)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["keep.csv"]

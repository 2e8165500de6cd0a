"""mcnnseq.ui.upload: uploaded bytes -> validated cube, errors that name the uploaded file."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import make_tiny_cube
from mcnnseq.errors import DatacubeError
from mcnnseq.ui import exports, upload


@pytest.fixture(scope="module")
def cube():
    return make_tiny_cube(nt=5, ny=6, nx=7, seed=3)


def test_netcdf_upload_round_trip(cube):
    ds = upload.load_netcdf(upload.Upload("field area.nc", exports.netcdf_bytes(cube)))
    assert ds.attrs["source"] == "field area.nc"
    for name in ("vv", "vh", "ndvi", "crop"):
        np.testing.assert_array_equal(ds[name].values, cube[name].values)


def test_bad_bytes_name_the_uploaded_file():
    with pytest.raises(DatacubeError) as info:
        upload.load_netcdf(upload.Upload("my cube (v2).nc", b"not a netcdf file at all\n" * 5))
    msg = str(info.value)
    assert msg.startswith("my cube (v2).nc") and "/tmp" not in msg


def test_empty_upload():
    with pytest.raises(DatacubeError, match="empty"):
        upload.load_netcdf(upload.Upload("empty.nc", b""))


def test_decode_options_reach_the_reader(cube):
    encoded = cube.copy()
    for pol in ("vv", "vh"):  # the openEO producer's log-encoded digital numbers: dB = 20*log10(DN) - 83
        encoded[pol] = (10 ** ((cube[pol] + 83) / 20)).astype(np.float32)
    data = exports.netcdf_bytes(encoded, validate=False)
    with pytest.raises(DatacubeError, match="dn.nc: variable 'vv'.*outside the plausible dB range"):
        upload.load_netcdf(upload.Upload("dn.nc", data))
    ds = upload.load_netcdf(upload.Upload("dn.nc", data), options={"sigma0_log_dn": (20.0, -83.0)})
    np.testing.assert_allclose(ds["vh"].values, cube["vh"].values, atol=1e-3)


def test_geotiff_stack_upload(cube, tmp_path):
    from mcnnseq.io import write_geotiff_stack

    written = {p.name: p for p in write_geotiff_stack(cube, tmp_path / "stack")}
    files = {role: upload.Upload(f"{role}.tif", written[f"{role}.tif"].read_bytes()) for role in ("vv", "vh", "ndvi")}
    files["dates"] = upload.Upload("dates.csv", written["dates.csv"].read_bytes())
    files["crop"] = upload.Upload("crop.tif", written["crop.tif"].read_bytes())
    ds = upload.load_geotiff_stack(files)
    np.testing.assert_array_equal(ds["ndvi"].values, cube["ndvi"].values)
    np.testing.assert_array_equal(ds["crop"].values, cube["crop"].values)
    assert "vv.tif" in ds.attrs["source"]
    files["vh"] = upload.Upload("vh.tif", b"\x00" * 100)
    with pytest.raises(DatacubeError, match="vh.tif"):
        upload.load_geotiff_stack(files)


def test_too_large_cube_is_refused_with_the_one_limit(cube):
    from mcnnseq.defaults import MAX_CELLS
    from mcnnseq.io import DEFAULT_MAX_PIXELS

    assert DEFAULT_MAX_PIXELS == MAX_CELLS  # one limit for the readers and the dashboard
    data = exports.netcdf_bytes(cube)
    with pytest.raises(DatacubeError, match="too large") as info:
        upload.load_netcdf(upload.Upload("big.nc", data), options={"max_pixels": 100})
    text = upload.in_form_words(str(info.value))
    assert "big.nc" in text and "max_pixels" not in text and "the dashboard's limit of 100" in text
    upload.load_netcdf(upload.Upload("ok.nc", data), options={"max_pixels": 5 * 6 * 7})


@pytest.mark.parametrize("message, words, not_there", [
    ("x.nc: variable 'VV': holds 65535 (the extreme uint16 value) in 3 cell(s), which is almost always an undeclared "
     "no-data marker: pass nodata=65535 (or nodata=float('nan') if it is real data)",
     ["tick “Values equal to a no-data code are missing”", "“No-data code” to 65535"], ["nodata="]),
    ("x.nc: variable 'VV': values 1 … 9e+03 are outside the plausible dB range -40 … 10 — these look like encoded "
     "digital numbers: give their decoding, e.g. sigma0_log_dn=(20, -83) for dB = 20*log10(DN) - 83, and the "
     "no-data value with nodata=",
     ["“Radar values are: log-encoded DN", "“Gain”", "20 and −83"], ["sigma0_log_dn", "nodata="]),
    ("x.nc: variable 'VV': values -90 … 3 are outside the plausible dB range -40 … 10 after decoding with "
     "sigma0_log_dn=(20.0, -83.0) — check gain, offset and nodata",
     ["gain 20 and offset −83", "“Offset”", "“No-data code”"], ["sigma0_log_dn"]),
    ("x.nc: variable 'vv': values 0.01 … 0.5 are outside the plausible dB range — this looks like linear σ0; open it "
     "with sigma0='linear' to convert to dB", ["“Radar values are: linear σ0”"], ["sigma0="]),
    ("x.nc: has no CRS: no grid-mapping variable found; pass crs='EPSG:…' if you know it",
     ["write one into the file"], ["crs="]),
])
def test_reader_advice_in_the_words_of_the_form(message, words, not_there):
    text = upload.in_form_words(message)
    for w in words:
        assert w in text, text
    for w in not_there:
        assert w not in text, text


def test_table_uploads_name_the_file_and_refuse_what_is_not_a_table():
    import pandas as pd

    from mcnnseq.ui.upload import Upload, load_table

    frame = pd.DataFrame({"id": ["a", "a", "b", "b"], "date": ["2021-04-01", "2021-04-11"] * 2,
                          "vv": [-12.0, -11.0, -13.0, -12.5], "vh": [-19.0, -18.0, -20.0, -19.5],
                          "ndvi": [0.3, None, 0.5, 0.6], "crop": ["maize", "maize", "wheat", "wheat"]})
    ds = load_table(Upload("fields.csv", frame.to_csv(index=False).encode()), options={"crs": "", "sigma0": "auto"})
    assert ds.attrs["layout"] == "points" and ds.sizes["x"] == 2 and ds.attrs["source"] == "fields.csv"
    with pytest.raises(DatacubeError, match=r"fields\.xlsx.*\.csv or \.parquet"):
        load_table(Upload("fields.xlsx", b"PK"))
    with pytest.raises(DatacubeError, match=r"empty\.csv.*empty"):
        load_table(Upload("empty.csv", b""))
    with pytest.raises(DatacubeError, match=r"novh\.csv.*vh"):
        load_table(Upload("novh.csv", frame.drop(columns=["vh"]).to_csv(index=False).encode()))

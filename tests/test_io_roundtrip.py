"""The round-trip record: attributes NetCDF cannot hold, and datetime resolutions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from mcnnseq.io import roundtrip


def test_encode_and_decode_restore_attributes():
    ds = xr.Dataset({"v": ("t", np.arange(3.0), {"flag": True, "meta": {"a": [1, 2]}, "units": "dB"})},
                    coords={"t": pd.date_range("2021-01-01", periods=3).values.astype("datetime64[s]")},
                    attrs={"simulated": False, "note": None, "n": np.int64(3), "names": ["a", "b"]})
    encoded = roundtrip.encode_dataset(ds, extra_vars=["v"])
    assert set(encoded.attrs) == {"n", "names", roundtrip.MARKER}
    assert encoded["v"].attrs == {"units": "dB"}
    assert ds.attrs["simulated"] is False and "flag" in ds["v"].attrs  # the input is untouched
    decoded, record = roundtrip.decode_dataset(encoded)
    assert decoded.attrs == {"n": 3, "names": ["a", "b"], "simulated": False, "note": None}
    assert decoded["v"].attrs == {"units": "dB", "flag": True, "meta": {"a": [1, 2]}}
    assert record["extra_vars"] == ["v"] and record["time_dtypes"] == {}


def test_time_resolution_is_restored():
    da = xr.DataArray([1, 2], dims="time", coords={"time": np.array(["2021-01-01", "2021-01-02"], "datetime64[s]")})
    record = {"time_dtypes": roundtrip.time_dtypes(da)}
    as_ns = da.assign_coords(time=da["time"].values.astype("datetime64[ns]"))
    back = roundtrip.restore_time_dtypes(as_ns, record)
    assert back["time"].dtype == np.dtype("datetime64[s]")
    xr.testing.assert_identical(back, da)


def test_foreign_files_pass_unchanged():
    ds = xr.Dataset(attrs={"title": "x"})
    same, record = roundtrip.decode_dataset(ds)
    assert same is ds and record is None

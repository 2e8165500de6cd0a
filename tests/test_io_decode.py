"""Decoding stored numbers: no-data, σ0 to dB, log-encoded digital numbers, NDVI, cloud masks, class maps."""

from __future__ import annotations

import numpy as np
import pytest

from mcnnseq.errors import DatacubeError
from mcnnseq.io import decode


def test_linear_and_log_dn_to_db():
    np.testing.assert_allclose(decode.linear_to_db(np.array([1.0, 0.1, 0.01])), [0.0, -10.0, -20.0])
    assert np.isnan(decode.linear_to_db(np.array([0.0, -0.001]))).all()
    dn = 10 ** ((np.array([-10.0, -16.6]) + 83) / 20)  # how the WorldCereal cube encodes dB
    np.testing.assert_allclose(decode.log_dn_to_db(dn, 20, -83), [-10.0, -16.6])
    assert np.isnan(decode.log_dn_to_db(np.array([0.0]), 20, -83)).all()


@pytest.mark.parametrize("values, units, expected", [
    (np.array([0.02, 0.05, 0.1, 0.3]), "", True),
    (np.array([-0.001, 0.02, 0.05, 0.1, 0.3]), "", True),  # noise-removal artefacts just below 0
    (np.array([-15.0, -9.0, -12.0, -3.0]), "", False),
    (np.array([0.02, 0.05, 0.1]), "dB", False),
    (np.array([-15.0, -9.0]), "linear", True),
    (np.array([2000.0, 5000.0]), "", False),  # digital numbers are not linear sigma0
    (np.array([np.nan, np.nan]), "", False),
])
def test_looks_linear(values, units, expected):
    assert decode.looks_linear(values, units=units) is expected


def test_radar_to_db_modes_and_hints():
    lin = np.array([[0.1, 0.01]])
    db, how = decode.radar_to_db(lin, sigma0="auto", sigma0_log_dn=None, units="", source="f.nc", variable="VV")
    np.testing.assert_allclose(db, [[-10.0, -20.0]], rtol=1e-6)
    assert "10*log10" in how
    assert db.dtype == np.float32
    kept, how = decode.radar_to_db(np.array([-12.0]), sigma0="db", sigma0_log_dn=None, units="",
                                   source="f.nc", variable="VV")
    assert kept[0] == -12.0 and how == ""
    with pytest.raises(DatacubeError, match=r"f.nc: variable 'VV': .*digital numbers.*sigma0_log_dn=\(20, -83\)"):
        decode.radar_to_db(np.array([3000.0, 5000.0]), sigma0="auto", sigma0_log_dn=None, units="",
                           source="f.nc", variable="VV")
    with pytest.raises(DatacubeError, match="check gain, offset and nodata"):
        decode.radar_to_db(np.array([65535.0]), sigma0="auto", sigma0_log_dn=(20, -83), units="",
                           source="f.nc", variable="VV")


def test_nodata_masking_and_suspicious_markers():
    stored = np.array([1, 65535, 3], dtype=np.uint16)
    out = decode.mask_nodata(stored, 65535)
    assert out.dtype == np.float64 and np.isnan(out[1]) and out[2] == 3
    assert decode.suspicious_nodata(stored) == 65535
    assert decode.suspicious_nodata(np.array([-32768, 5], dtype=np.int16)) == -32768
    assert decode.suspicious_nodata(np.array([1, 2], dtype=np.uint16)) is None
    assert decode.suspicious_nodata(np.array([65535.0])) is None  # floats: NaN is the marker


def test_ndvi_from_bands():
    red = np.array([1000.0, 500.0, 0.0, np.nan, 300.0])
    nir = np.array([3000.0, 500.0, 2000.0, 2000.0, -5.0])
    ndvi = decode.ndvi_from_bands(red, nir)
    np.testing.assert_allclose(ndvi[:2], [0.5, 0.0])
    assert np.isnan(ndvi[2:]).all() and ndvi.dtype == np.float32


def test_cloud_masks():
    np.testing.assert_array_equal(decode.cloud_from_mask(np.array([0, 1, np.nan]), source="s", variable="c"),
                                  [False, True, True])
    with pytest.raises(DatacubeError, match="values other than 0/1"):
        decode.cloud_from_mask(np.array([0.0, 37.0]), source="s", variable="cloud_prob")
    scl = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, np.nan])
    np.testing.assert_array_equal(decode.cloud_from_scl(scl),
                                  [True, True, False, True, False, False, False, False, True, True, True, True, True])


def test_class_codes():
    codes = decode.class_codes(np.array([[1.0, np.nan], [8.0, 3.0]]), dtype=np.int16, source="s", variable="crop")
    np.testing.assert_array_equal(codes, [[1, 0], [8, 3]])
    assert codes.dtype == np.int16
    with pytest.raises(DatacubeError, match="non-integer"):
        decode.class_codes(np.array([1.5]), dtype=np.int16, source="s", variable="crop")
    with pytest.raises(DatacubeError, match="do not fit int16"):
        decode.class_codes(np.array([70000.0]), dtype=np.int16, source="s", variable="crop")

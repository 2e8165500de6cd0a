"""Tests of mcnnseq.flags: the fill_source codes and the per-point flags of a series."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import make_tiny_cube
from mcnnseq.flags import (CLOUD_FILLED, FLAG_LABELS, FLAG_MEANINGS, NO_OPTICAL_DATE, NO_VALUE, OBSERVED,
                           fill_source, fill_source_attrs, optical_dates, point_flags)


def test_codes_of_one_series():
    observed = np.array([0.3, np.nan, np.nan, 0.5, np.nan])
    predicted = np.array([0.31, 0.4, 0.45, 0.52, np.nan])
    optical = np.array([True, True, False, True, True])
    assert fill_source(observed, predicted, optical).tolist() == [OBSERVED, CLOUD_FILLED, NO_OPTICAL_DATE,
                                                                   OBSERVED, NO_VALUE]
    assert point_flags(observed, predicted, optical) == ["observed", "cloud_filled", "no_optical_date", "observed",
                                                         "no_value"]
    assert set(FLAG_LABELS) == set(FLAG_MEANINGS) == {0, 1, 2, 3}
    with pytest.raises(ValueError, match="4 optical-date flags for 5 dates"):
        fill_source(observed, predicted, optical[:4])


def test_a_cube_block_and_its_optical_dates():
    ds = make_tiny_cube(nt=5, ny=3, nx=4, seed=1)
    ds["ndvi"][2] = np.nan                                         # a date with no optical value anywhere
    ds["cloud"][2] = True
    ds["cloud"][4, 0, 0] = True                                    # a cloud flag masks the value
    optical = optical_dates(ds)
    assert optical.tolist() == [True, True, False, True, True]
    observed = ds["ndvi"].where(~ds["cloud"]).values
    predicted = np.full(observed.shape, 0.5, np.float32)
    predicted[:, 1, 1] = np.nan                                    # incomplete radar: no prediction
    codes = fill_source(observed, predicted, optical)
    assert codes.dtype == np.uint8 and codes.shape == observed.shape
    assert (codes[2][np.isfinite(predicted[2])] == NO_OPTICAL_DATE).all()
    assert codes[4, 0, 0] == CLOUD_FILLED and codes[2, 1, 1] == NO_VALUE
    assert (codes[np.isfinite(observed)] == OBSERVED).all()
    assert optical_dates(ds.drop_vars(["ndvi", "cloud"])).tolist() == [False] * 5
    assert optical_dates(ds.chunk({"y": 1})).tolist() == optical.tolist()   # lazy cubes too


def test_cf_attributes():
    attrs = fill_source_attrs()
    assert attrs["flag_values"].tolist() == [0, 1, 2, 3]
    assert attrs["flag_meanings"].split() == ["observed", "cloud_filled", "no_optical_date", "no_value"]

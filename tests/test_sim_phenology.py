"""Crop NDVI phenology of the simulator (paper §4.3)."""

from __future__ import annotations

import numpy as np
import pytest

from mcnnseq.paper import s2_dates
from mcnnseq.sim.params import SimParams
from mcnnseq.sim.phenology import CUT_REGIMES, SUBTYPES, days_since_2018, ndvi_curves, sample_field_phenology

DAYS = np.arange(0.0, 365.0, 1.0)
MONTH = {m: (DAYS >= d0) & (DAYS < d1) for m, (d0, d1) in {
    "jan": (0, 31), "feb": (31, 59), "mar": (59, 90), "apr": (90, 120), "may": (120, 151), "jun": (151, 181),
    "jul": (181, 212), "aug": (212, 243), "sep": (243, 273), "oct": (273, 304), "nov": (304, 334),
    "dec": (334, 365)}.items()}


@pytest.fixture(scope="module")
def curves():
    """Daily clean NDVI (365, F) of 40 fields of each class, and the class of each column."""
    field_crop = np.concatenate([[7], np.repeat(np.arange(1, 9), 40)]).astype(np.int16)
    pheno, subtype, always = sample_field_phenology(field_crop, np.random.default_rng(0), SimParams())
    return ndvi_curves(DAYS, pheno), field_crop, subtype, always


def mean(curves, code, month):
    ndvi, crop, *_ = curves
    return float(ndvi[MONTH[month]][:, crop == code].mean())


def test_days_since_2018():
    d = days_since_2018(s2_dates())
    assert d[0] == 10 and d[-1] == 360 and np.all(np.diff(d) > 0)


def test_values_are_valid_ndvi(curves):
    ndvi = curves[0]
    assert ndvi.dtype == np.float32 and ndvi.shape == (365, 321)
    assert np.isfinite(ndvi).all() and ndvi.min() > 0.0 and ndvi.max() < 1.05


def test_onion_and_wheat_peak_march_april_then_low(curves):
    for code in (1, 2):
        spring = max(mean(curves, code, "mar"), mean(curves, code, "apr"))
        assert spring > mean(curves, code, "aug") + 0.4
        assert spring > mean(curves, code, "jan")
    assert mean(curves, 2, "jul") < 0.15  # wheat stubble below ~0.1 after harvest (paper §4.3.1)
    assert mean(curves, 1, "jul") > 0.15  # onion reference stays above ~0.2
    assert max(mean(curves, 2, "mar"), mean(curves, 2, "apr")) > 0.8  # wheat reaches NDVI saturation


def test_sugar_beet_high_in_winter_harvested_then_replanted(curves):
    assert mean(curves, 4, "jan") > 0.75
    assert mean(curves, 4, "aug") < 0.25
    assert mean(curves, 4, "dec") > mean(curves, 4, "oct") > mean(curves, 4, "sep")


def test_corn_spring_crop_and_autumn_regrowth(curves):
    assert mean(curves, 3, "jun") > mean(curves, 3, "feb") + 0.5
    assert mean(curves, 3, "dec") > mean(curves, 3, "sep") + 0.2


def test_alfalfa_is_cut_every_few_weeks(curves):
    ndvi, crop, *_ = curves
    series = ndvi[:, crop == 5][:, 0]
    drops = np.flatnonzero(np.diff(series) < -0.02)
    cuts = 1 + np.count_nonzero(np.diff(drops) > 5)  # a cut spans consecutive falling days
    assert 6 <= cuts <= 12  # 8-10 cuttings a year in the low desert
    assert series.max() - series.min() > 0.3


def test_cutting_cycles_are_shorter_in_summer():
    mean_days, amplitude = CUT_REGIMES[1]
    assert amplitude > 0  # alfalfa grows back faster in the heat
    from mcnnseq.sim.phenology import _CYCLES
    days, cycles = _CYCLES[1]
    rate_jan = np.interp(30, days, cycles) - np.interp(0, days, cycles)
    rate_jul = np.interp(211, days, cycles) - np.interp(181, days, cycles)
    assert rate_jul > 1.5 * rate_jan


def test_non_crop_land_stays_bare(curves):
    ndvi, crop, *_ = curves
    assert ndvi[:, crop == 7].max() < 0.3


def test_mixed_classes_use_all_subtypes_and_perennials_irrigate(curves):
    _, crop, subtype, always = curves
    for code, kinds in SUBTYPES.items():
        assert set(np.unique(subtype[crop == code])) == set(range(len(kinds)))
    assert always[crop == 5].all() and not always[crop == 2].any()


def test_field_jitter_differs_between_fields(curves):
    ndvi, crop, *_ = curves
    onion = ndvi[:, crop == 1]
    peak_day = onion.argmax(axis=0)
    assert np.ptp(peak_day) > 5 and onion.max(axis=0).std() > 0.01


def test_per_column_days_match_shared_days():
    field_crop = np.array([7, 1, 5, 6, 6, 8], dtype=np.int16)
    pheno, *_ = sample_field_phenology(field_crop, np.random.default_rng(1), SimParams())
    t = np.array([10.0, 100.0, 200.0])
    shared = ndvi_curves(t, pheno)
    per_col = ndvi_curves(np.repeat(t[:, None], 6, axis=1), pheno)
    np.testing.assert_allclose(shared, per_col, atol=1e-6)

"""The paper's reference values are internally consistent."""

from __future__ import annotations

import pandas as pd
import pytest

from mcnnseq.paper import TABLE1_PIXELS, TABLE2_SAMPLES, s1_dates, s2_dates, table4


def test_dates():
    s2 = s2_dates()
    assert len(s2) == 31 and s2.is_monotonic_increasing and s2[0] == pd.Timestamp("2018-01-11")
    s1 = s1_dates()
    assert len(s1) == 31 and (s1[1:] - s1[:-1]).days.unique().tolist() == [12]


def test_table4_means_match_the_spec():
    t = table4()
    assert t.shape == (31, 6)
    assert t[("MCNN-Seq", "r2")].mean() == pytest.approx(0.85, abs=0.01)
    assert t[("RNN", "r2")].mean() == pytest.approx(0.68, abs=0.01)
    assert t[("CNN", "r2")].mean() == pytest.approx(0.64, abs=0.01)


def test_table2_70_percent_keeps_the_same_pixels():
    assert sum(TABLE2_SAMPLES["subarea1 (50% cloud)"]) == sum(TABLE2_SAMPLES["subarea1 (70% cloud)"])
    assert set(TABLE1_PIXELS["subarea1"]) == set(range(1, 9))

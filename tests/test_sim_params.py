"""Simulator knobs: defaults, JSON round trip, scenarios."""

from __future__ import annotations

import dataclasses

import pytest

from mcnnseq.sim.params import SCENARIOS, SIMULATOR_VERSION, SimParams


def test_json_round_trip_keeps_every_knob():
    p = SimParams(speckle_looks=5.5, rain_days=(10.0,), cloud_scale_px=(5.0, 9.0))
    assert SimParams.from_json(p.to_json()) == p
    assert SimParams.from_json(SimParams().to_json()) == SimParams()


def test_params_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        SimParams().speckle_looks = 1.0  # type: ignore[misc]


def test_scenarios_and_version():
    assert SCENARIOS == {"none": 0.0, "50%": 0.5, "70%": 0.7}
    assert isinstance(SIMULATOR_VERSION, str) and SIMULATOR_VERSION


def test_defaults_are_physically_plausible():
    p = SimParams()
    assert 1.0 <= p.speckle_looks <= 20.0
    assert 0 < p.soil_moisture_dry < p.soil_moisture_wet <= 50
    assert 29.0 < p.incidence_center_deg < 46.0
    assert p.road_spacing_px * 10 == pytest.approx(1609, abs=5)  # one mile


def test_heterogeneity_knobs_are_within_their_documented_ranges():
    p = SimParams()
    assert 3.0 <= p.speckle_looks <= 6.0  # IW GRDH ENL 4.4, no speckle filter
    assert -28.0 <= p.nesz_db <= -22.0  # IW NESZ: requirement -22 dB, lower across most of the swath
    assert 18.0 <= p.s1_psf_fwhm_m <= 25.0 and 8.0 <= p.s2_psf_fwhm_m <= 15.0
    assert 0 < p.s1_geolocation_std_m < p.s2_geolocation_std_m <= 6.0
    assert 0 < p.field_shift_days <= 30 and 0 < p.season_length_std_days <= 15
    lo, hi = p.irrigation_set_days
    assert 0 < lo <= hi <= 5
    assert p.row_effect_db[0] >= p.row_effect_db[1] > 0  # co-pol more sensitive to row structure
    assert 0 < p.tillage_roughness_db <= 6 and p.tillage_decay_days > 0
    assert 0 <= p.dew_probability[1] <= p.dew_probability[0] <= 1
    assert all(0 <= d < 365 for d in p.rain_days)

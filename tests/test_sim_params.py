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

"""Physical heterogeneity of the simulated scene: rows, tillage, structure, dew, rain, sweeps."""

from __future__ import annotations

import numpy as np
import pytest

from mcnnseq.sim import heterogeneity as het
from mcnnseq.sim.params import SimParams
from mcnnseq.sim.phenology import Phenology, sample_field_phenology


def two_fields():
    """Field 1: 10 rows x 30 cols (wide), field 2: 30 rows x 10 cols (tall); column 30 is a road."""
    field = np.zeros((30, 41), dtype=np.int32)
    field[:10, :30] = 1
    field[:, 31:] = 2
    return field


def test_rows_run_along_the_long_side_and_only_bedded_fields_face_the_radar():
    field = two_fields()
    north_south = het.rows_north_south(field, 3, np.random.default_rng(0))
    assert north_south[1:].tolist() == [False, True]  # the wide field's rows run east-west, the tall one's north-south
    assert het.rows_face_radar(north_south, np.array([7, 4, 4], np.int16)).tolist() == [False, False, True]
    assert not het.rows_face_radar(north_south, np.array([7, 5, 5], np.int16)).any()  # alfalfa: flat borders
    square = np.ones((20, 20), dtype=np.int32)
    drawn = [het.rows_north_south(square, 2, np.random.default_rng(s))[1] for s in range(40)]
    assert 5 < sum(drawn) < 35  # a square field's rows run either way


def test_row_effect_brightens_only_fields_facing_the_radar():
    facing = np.array([False, True, True, False] * 50)
    db = het.row_effect_db(facing, np.random.default_rng(0), (3.0, 2.0))
    assert (db["vv"][~facing] == 0).all() and (db["vh"][~facing] == 0).all()
    assert 1.5 <= db["vv"][facing].min() and db["vv"][facing].max() <= 4.5
    assert db["vv"][facing].mean() == pytest.approx(3.0, abs=0.3)
    np.testing.assert_allclose(db["vh"][facing] / db["vv"][facing], 2 / 3, rtol=1e-5)


def test_tillage_roughens_before_planting_and_slakes_back():
    field_crop = np.array([7, 2, 5], dtype=np.int16)  # road, wheat, alfalfa
    pheno = Phenology.empty(3)
    pheno.amp1[:] = 0.8
    pheno.s1[:], pheno.e1[:] = 100.0, 200.0
    pheno.s2[:], pheno.e2[:] = -2000.0, 2000.0
    t = np.arange(0.0, 365.0)
    till = het.tillage_roughness_db(t, pheno, field_crop, np.zeros(3, np.int8), np.random.default_rng(0),
                                    effect_db=3.0, decay_days=40.0)
    assert till.shape == (365, 3) and till.dtype == np.float32
    assert (till[:, 0] == 0).all() and (till[:, 2] == 0).all()  # roads and perennial alfalfa: no tillage
    wheat = till[:, 1]
    assert (wheat[:65] == 0).all()  # seedbed preparation 10-35 days before the green-up centre (day 100)
    start = int(np.argmax(wheat > 0))
    assert 65 <= start <= 90 and 1.5 <= wheat[start] <= 4.5
    assert wheat[start + 40] == pytest.approx(wheat[start] * np.exp(-1), rel=0.05)
    after = int(np.argmax(t > 205))
    assert wheat[after + 30] > wheat[after - 1]  # disking after the harvest roughens it again


def test_structure_factors_have_mean_one_and_correlated_polarisations():
    f = het.structure_factors(20_000, np.random.default_rng(0), 0.25)
    assert f.shape == (20_000, 4) and f.dtype == np.float32 and (f > 0).all()
    np.testing.assert_allclose(f.mean(axis=0), 1.0, atol=0.01)
    np.testing.assert_allclose(np.log(f).std(axis=0), 0.25, rtol=0.03)
    logs = np.log(f)
    assert np.corrcoef(logs[:, 0], logs[:, 1])[0, 1] == pytest.approx(0.5, abs=0.03)  # A_vv with A_vh
    assert abs(np.corrcoef(logs[:, 0], logs[:, 2])[0, 1]) < 0.03  # A independent of B
    assert (het.structure_factors(5, np.random.default_rng(0), 0.0) == 1).all()


def test_dew_is_commoner_in_winter_and_only_on_candidates():
    t = np.array([15.0] * 200 + [197.5] * 200)
    candidate = np.array([False] + [True] * 499)
    dew = het.dew_mask(t, candidate, np.random.default_rng(0), (0.5, 0.1))
    assert not dew[:, 0].any()
    assert dew[:200, 1:].mean() == pytest.approx(0.5, abs=0.02)
    assert dew[200:, 1:].mean() == pytest.approx(0.1, abs=0.02)


def test_rain_patterns_vary_in_space_and_between_events():
    coef, basis = het.rain_patterns((60, 80), 4, np.random.default_rng(0), cv=0.5, scale_px=20.0)
    assert coef.shape == (4, 3) and basis.shape == (3, 4800) and basis.dtype == np.float32
    amounts = coef @ basis
    assert (0.5 <= coef[:, 0]).all() and (coef[:, 0] <= 1.5).all()
    assert (amounts.mean(axis=1) > 0).all()
    assert (amounts.std(axis=1) > 0.1 * coef[:, 0]).all()  # patchy rain
    assert abs(np.corrcoef(amounts[0], amounts[1])[0, 1]) < 0.99  # each event falls elsewhere
    _, big = het.rain_patterns((400, 400), 1, np.random.default_rng(1), cv=0.5, scale_px=20.0)
    np.testing.assert_allclose(big[1:].mean(axis=1), 0.0, atol=0.2)  # scene-wide, the amount is the event's
    coef0, basis0 = het.rain_patterns((6, 8), 2, np.random.default_rng(0), cv=0.0, scale_px=20.0)
    assert np.ptp(coef0 @ basis0, axis=1).max() == 0  # cv 0: uniform rain


def test_field_coordinates_run_across_and_along_the_rows():
    field = two_fields()
    across, along = het.field_coordinates(field, np.array([False, False, True]))
    assert across.shape == field.shape and (across[field == 0] == 0).all()
    assert 0 < across[field > 0].min() and across.max() < 1 and along.max() < 1
    # wide field: across = north-south position; tall field: across = east-west position
    assert across[0, 0] < across[9, 0] and across[0, 0] == across[0, 29]
    assert across[0, 31] < across[0, 40] and across[0, 31] == across[29, 31]
    assert along[0, 0] < along[0, 29] and along[0, 31] < along[29, 31]


def test_irrigation_sets_delay_the_water_across_the_field():
    field = two_fields()
    coords = het.field_coordinates(field, np.array([False, False, True]))
    delay = het.irrigation_delays(field, np.array([7, 4, 5], np.int16), np.random.default_rng(0),
                                  set_days=(1.0, 3.0), advance_days=0.3, coords=coords)
    assert delay.dtype == np.float32 and (delay[field == 0] == 0).all()
    for fid in (1, 2):
        d = delay[field == fid]
        assert d.min() >= 0 and d.max() <= 3.0 + 0.3
        assert np.unique(np.round(d, 4)).size > 1  # not one wetting time for the whole field
        assert np.ptp(d) >= 0.5 * 1.0  # first and last of >= 2 sets over >= 1 day: >= half a day apart


def test_harvest_sweeps_across_the_field_in_class_specific_days():
    field = two_fields()
    coords = het.field_coordinates(field, np.array([False, False, True]))
    late = het.harvest_delays(field, np.array([7, 8, 2], np.int16), np.random.default_rng(0), coords)
    assert late.dtype == np.float32 and (late[field == 0] == 0).all()
    vegetables, wheat = late[field == 1], late[field == 2]
    lo, hi = het.HARVEST_SWEEP_DAYS[8]
    assert 0.5 * lo <= np.ptp(vegetables) <= hi  # hand crews: days to weeks
    assert np.ptp(wheat) <= het.HARVEST_SWEEP_DAYS[2][1]  # a combine: a day or two


def test_scene_heterogeneity_draws_are_seeded():
    field_crop = np.array([7, 1, 2, 3, 4, 5, 6, 8], dtype=np.int16)
    pheno, subtype, _ = sample_field_phenology(field_crop, np.random.default_rng(3), SimParams())
    t = np.linspace(0, 365, 31)
    a = het.tillage_roughness_db(t, pheno, field_crop, subtype, np.random.default_rng(5), effect_db=3.0,
                                 decay_days=40.0)
    b = het.tillage_roughness_db(t, pheno, field_crop, subtype, np.random.default_rng(5), effect_db=3.0,
                                 decay_days=40.0)
    np.testing.assert_array_equal(a, b)
    assert (a[:, 5] == 0).all()  # alfalfa
    assert (a[:, 1:5] > 0).any(axis=0).all()  # every annual crop gets tilled at some point of the year


def test_non_crop_cover_puts_farmsteads_on_non_crop_fields_and_water_along_roads():
    field = np.zeros((60, 60), dtype=np.int32)
    field[:, :2] = 0
    field[:, 2:30] = 1
    field[:, 30:] = 2
    field[:2, :] = 0
    field_crop = np.array([7, 7, 5], dtype=np.int16)  # roads, a non-crop field, alfalfa
    cover = het.non_crop_cover(field, field_crop, np.random.default_rng(0), farmstead_fraction=1.0,
                               canal_fraction=0.25, bank_tree_fraction=0.1)
    assert cover.dtype == np.int8 and (cover[field == 2] == het.COVER_BARE).all()  # crops keep their cover
    farm = cover[field == 1]
    assert (farm == het.COVER_BUILDINGS).mean() == pytest.approx(0.05, abs=0.01)
    assert (farm == het.COVER_TREES).mean() == pytest.approx(0.15, abs=0.01)
    road = cover[field == 0]
    assert (road == het.COVER_WATER).mean() == pytest.approx(0.25, abs=0.02)
    assert (road == het.COVER_TREES).mean() == pytest.approx(0.1, abs=0.02)
    assert not (cover == het.COVER_WATER)[field > 0].any()
    none = het.non_crop_cover(field, field_crop, np.random.default_rng(0), farmstead_fraction=0.0,
                              canal_fraction=0.0, bank_tree_fraction=0.0)
    assert (none == het.COVER_BARE).all()

"""Physical heterogeneity that blurs the radar–NDVI relation of the simulated scene (SPEC §4).

Two fields with the same NDVI do not give the same backscatter in real data. This module draws the
reasons, per field unless said otherwise:

* **row direction** of bedded crops: beds facing the radar brighten the soil term
  (:func:`rows_face_radar`, :func:`row_effect_db`);
* **tillage**: seedbed preparation before planting and disking after harvest roughen the soil,
  which slakes back under irrigation and rain (:func:`tillage_roughness_db`);
* **irrigation sets** and **harvest sweeps** across a field (:func:`irrigation_delays`,
  :func:`harvest_delays`);
* **crop structure and variety** within a class: per-field factors of the water-cloud scattering
  and attenuation parameters (:func:`structure_factors`);
* **dew** on irrigated canopies at the dawn overpass (:func:`dew_mask`);
* **rain** that falls unevenly over the scene (:func:`rain_patterns`, per pixel);
* **non-crop land** that is not bare: farmsteads (buildings, trees) and the canals and drains along
  the roads (open water, bank vegetation) (:func:`non_crop_cover`);

and, per date, the radar's point-spread function and the S1–S2 co-registration error, which mix
the backscatter of neighbouring fields into the pixels at field edges (:func:`radar.psf_resample`).
Magnitudes and sources: ``docs/simulator.md``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from mcnnseq.sim.clouds import smooth_field
from mcnnseq.sim.phenology import Phenology

#: Classes grown on beds and furrow-irrigated in the valley (onion, corn, sugar beet, vegetables and
#: melons). Wheat, alfalfa and hay are flat-planted in border-irrigated basins: no row effect.
BEDDED_CLASSES: tuple[int, ...] = (1, 3, 4, 8)

#: Classes tilled before planting and after harvest (annual crops). Alfalfa and bermudagrass
#: (perennial) and non-crop land are not.
TILLED_CLASSES: tuple[int, ...] = (1, 2, 3, 4, 6, 8)
_PERENNIAL_HAY_SUBTYPE = 1  # bermudagrass, see phenology.SUBTYPES[6]

#: Days of seedbed preparation before the green-up centre, and of disking after the harvest centre.
_TILL_BEFORE_PLANTING = (10.0, 35.0)
_DISK_AFTER_HARVEST = (5.0, 30.0)
_WINDOW = (-400.0, 800.0)  # a season date outside this range has no event in the simulated year


def rows_north_south(field: np.ndarray, n_ids: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_ids,)`` bool per field id: its rows (furrows, border strips) run north–south.

    Rows run along a field's long side (from the head ditch to the tail ditch): north–south in
    fields taller than wide, east–west in wider ones, either way (at random) in square ones.
    ``field`` (y, x) field ids below ``n_ids``.
    """
    north_south = rng.random(n_ids) < 0.5
    for fid, sl in enumerate(ndimage.find_objects(field), start=1):
        if sl is None:
            continue
        height, width = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
        if height != width:
            north_south[fid] = height > width
    return north_south


def rows_face_radar(north_south: np.ndarray, field_crop: np.ndarray) -> np.ndarray:
    """``(n_fields + 1,)`` bool: the field is bedded (:data:`BEDDED_CLASSES`) and its rows run
    north–south. The descending Sentinel-1 pass looks west-north-west (about 283°), nearly across
    north–south beds, whose slopes then face the radar."""
    bedded = np.isin(field_crop, BEDDED_CLASSES)
    bedded[0] = False
    return north_south & bedded


def row_effect_db(facing: np.ndarray, rng: np.random.Generator, effect_db: tuple[float, float]
                  ) -> dict[str, np.ndarray]:
    """Soil-term offset (dB) per field ``(n_fields + 1,)`` and polarisation ("vv", "vh"): ``effect_db``
    times a per-field U(0.5, 1.5) (bed height and spacing) where the beds face the radar, else 0."""
    scale = rng.uniform(0.5, 1.5, facing.size).astype(np.float32) * facing
    return {pol: (np.float32(db) * scale).astype(np.float32) for pol, db in zip(("vv", "vh"), effect_db)}


def tillage_roughness_db(t: np.ndarray, pheno: Phenology, field_crop: np.ndarray, subtype: np.ndarray,
                         rng: np.random.Generator, *, effect_db: float, decay_days: float) -> np.ndarray:
    """Extra soil roughness ``(T, n_fields + 1)`` float32 (dB) at days ``t`` from tillage events.

    Each annual crop's season (``pheno`` per field) brings a seedbed preparation 10–35 days before
    its green-up centre and a disking 5–30 days after its harvest centre. An event roughens the soil
    by ``effect_db`` x U(0.5, 1.5), decaying as exp(-age / ``decay_days``); the latest event counts
    where two overlap (tillage resets the surface).
    """
    t = np.asarray(t, dtype=np.float64)[:, None]
    n = field_crop.size
    tilled = np.isin(field_crop, TILLED_CLASSES) & ~((field_crop == 6) & (subtype == _PERENNIAL_HAY_SUBTYPE))
    tilled[0] = False
    events, sizes = [], []
    for amp, start, end in ((pheno.amp1, pheno.s1, pheno.e1), (pheno.amp2, pheno.s2, pheno.e2)):
        lead = rng.uniform(*_TILL_BEFORE_PLANTING, n)
        lag = rng.uniform(*_DISK_AFTER_HARVEST, n)
        real = tilled & (amp > 0)
        for day, ok in ((start - lead, real & (start > _WINDOW[0])), (end + lag, real & (end < _WINDOW[1]))):
            events.append(np.where(ok, day, np.nan))
            sizes.append(effect_db * rng.uniform(0.5, 1.5, n))
    out = np.zeros((t.shape[0], n), dtype=np.float64)
    latest = np.full(out.shape, -np.inf)
    if effect_db <= 0 or decay_days <= 0:
        return out.astype(np.float32)
    for day, size in zip(events, sizes):
        age = t - day[None, :]
        newer = np.isfinite(age) & (age >= 0) & (day[None, :] > latest)
        out = np.where(newer, size[None, :] * np.exp(-np.where(newer, age, 0.0) / decay_days), out)
        latest = np.where(newer, day[None, :], latest)
    return out.astype(np.float32)


def structure_factors(n_fields: int, rng: np.random.Generator, std: float) -> np.ndarray:
    """``(n_fields, 4)`` float32 lognormal multipliers of mean 1 of (A_vv, A_vh, B_vv, B_vh), log
    std ``std``; the two polarisations of A (and of B) correlated 0.5."""
    z = rng.standard_normal((n_fields, 4))
    common = rng.standard_normal((n_fields, 2))
    half = np.sqrt(0.5)
    logs = np.empty((n_fields, 4))
    logs[:, 0:2] = half * (common[:, [0]] + z[:, 0:2])
    logs[:, 2:4] = half * (common[:, [1]] + z[:, 2:4])
    return np.exp(std * logs - 0.5 * std ** 2).astype(np.float32)


def dew_mask(t: np.ndarray, candidate: np.ndarray, rng: np.random.Generator,
             probability: tuple[float, float]) -> np.ndarray:
    """``(T, n_fields + 1)`` bool: dew on the canopy at the overpass of days ``t``.

    Only ``candidate`` fields (irrigated crops) get dew, with a probability from ``probability[0]``
    (mid-January: long cold nights over wet fields) to ``probability[1]`` (mid-July).
    """
    winter, summer = probability
    season = 0.5 * (1.0 + np.cos(2 * np.pi * (np.asarray(t, dtype=np.float64) - 15.0) / 365.0))
    p = summer + (winter - summer) * season
    return (rng.random((season.size, candidate.size)) < p[:, None]) & candidate[None, :]


def rain_patterns(shape: tuple[int, int], n_events: int, rng: np.random.Generator, *, cv: float,
                  scale_px: float) -> tuple[np.ndarray, np.ndarray]:
    """Relative rain amount of each event per pixel, as ``coef @ basis``: ``coef`` ``(n_events, 3)``,
    ``basis`` ``(3, ny*nx)`` float32 (a row of ones and two unit-variance smooth fields of
    ``scale_px``). Event ``e`` brings U(0.5, 1.5) x (1 + ``cv`` x its own unit-variance mixture of
    the two fields): rain cells of a few km that fall elsewhere each time. Clip the sum at 0."""
    basis = np.ones((3, shape[0] * shape[1]), dtype=np.float32)
    basis[1] = smooth_field(shape, scale_px, rng).ravel()
    basis[2] = smooth_field(shape, scale_px, rng).ravel()
    amount = rng.uniform(0.5, 1.5, n_events)
    angle = rng.uniform(0.0, 2 * np.pi, n_events)
    coef = np.stack([amount, amount * cv * np.cos(angle), amount * cv * np.sin(angle)], axis=1)
    return coef.astype(np.float32), basis


def field_coordinates(field: np.ndarray, north_south: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(across, along)``, each ``(ny, nx)`` float32 in 0..1: a pixel's position across its field's
    rows and along them (``north_south`` per field id, :func:`rows_north_south`). Roads (field 0) get 0."""
    across = np.zeros(field.shape, dtype=np.float32)
    along = np.zeros(field.shape, dtype=np.float32)
    for fid, sl in enumerate(ndimage.find_objects(field), start=1):
        if sl is None:
            continue
        h, w = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
        rows = ((np.arange(h) + 0.5) / h).astype(np.float32)[:, None]
        cols = ((np.arange(w) + 0.5) / w).astype(np.float32)[None, :]
        a, b = (cols, rows) if north_south[fid] else (rows, cols)
        across[sl] = np.broadcast_to(a, (h, w))
        along[sl] = np.broadcast_to(b, (h, w))
    return across, along


def irrigation_delays(field: np.ndarray, field_crop: np.ndarray, rng: np.random.Generator, *,
                      set_days: tuple[float, float], advance_days: float,
                      coords: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """``(ny, nx)`` float32 days after a field's irrigation starts when the water reaches each pixel.

    A field is irrigated in 2–6 sets (groups of furrows or border strips) one after the other,
    across its rows, over ``set_days`` (U(lo, hi) per field) in all, from one side or the other;
    within a set the water advances along the rows from the head ditch in ``advance_days``.
    ``coords``: :func:`field_coordinates` of ``field``.
    """
    across, along = coords
    n = field_crop.size
    total = rng.uniform(*set_days, n).astype(np.float32)
    n_sets = rng.integers(2, 7, n)
    flip = rng.random(n) < 0.5
    head = rng.random(n) < 0.5
    across = np.where(flip[field], 1.0 - across, across)
    along = np.where(head[field], 1.0 - along, along)
    sets = n_sets[field]
    delay = np.floor(across * sets) / sets * total[field] + advance_days * along
    delay[field == 0] = 0.0
    return delay.astype(np.float32)


#: Days a harvest takes to sweep a field, per class (U(lo, hi) per field): a combine cuts a wheat or
#: corn field in a day or two, a swather an alfalfa or hay field likewise; beets are dug over days;
#: onions are lifted and cured in the field and vegetables cut by hand crews in passes over weeks.
HARVEST_SWEEP_DAYS: dict[int, tuple[float, float]] = {
    1: (5.0, 15.0), 2: (1.0, 3.0), 3: (1.0, 4.0), 4: (3.0, 10.0), 5: (1.0, 3.0), 6: (1.0, 3.0), 7: (0.0, 0.0),
    8: (5.0, 20.0),
}


def harvest_delays(field: np.ndarray, field_crop: np.ndarray, rng: np.random.Generator,
                   coords: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """``(ny, nx)`` float32 days by which each pixel's harvest (or cut) follows the first one in its
    field: the harvest sweeps across the rows (``coords``: :func:`field_coordinates`) in
    :data:`HARVEST_SWEEP_DAYS` of its class."""
    across, _ = coords
    n = field_crop.size
    lo = np.array([HARVEST_SWEEP_DAYS.get(int(c), (0.0, 0.0))[0] for c in field_crop], dtype=np.float64)
    hi = np.array([HARVEST_SWEEP_DAYS.get(int(c), (0.0, 0.0))[1] for c in field_crop], dtype=np.float64)
    days = (lo + (hi - lo) * rng.random(n)).astype(np.float32)
    flip = rng.random(n) < 0.5
    across = np.where(flip[field], 1.0 - across, across)
    delay = across * days[field]
    delay[field == 0] = 0.0
    return delay.astype(np.float32)


_FARM_BUILDINGS, _FARM_TREES = 0.05, 0.15  # shares of a farmstead field

#: Cover codes of :func:`non_crop_cover`.
COVER_BARE, COVER_TREES, COVER_BUILDINGS, COVER_WATER = 0, 1, 2, 3
#: NDVI of the covers: trees (base, seasonal amplitude, green-up day, leaf-fall day: athel tamarisk,
#: eucalyptus and reeds, greenest April-October), roofs and yards, open water.
TREE_NDVI: tuple[float, float, float, float] = (0.3, 0.25, 70.0, 320.0)
BUILDING_NDVI, WATER_NDVI = 0.12, -0.05
#: Radar of the covers: trees hold ~3 kg/m² of water per unit LAI (wood) and scatter 1.3 x a crop's A;
#: buildings are bright (double bounce) at (VV, VH) dB with a per-pixel spread (orientation, size);
#: open water is specular and dark, brighter or darker with the wind on each date (scene-wide).
TREE_VWC_PER_LAI, TREE_A_FACTOR = 3.0, 1.3
BUILDING_DB, BUILDING_SPREAD_DB = (-3.0, -12.0), 3.0
WATER_DB, WIND_SPREAD_DB = (-22.0, -30.0), 3.0


def non_crop_cover(field: np.ndarray, field_crop: np.ndarray, rng: np.random.Generator, *,
                   farmstead_fraction: float, canal_fraction: float, bank_tree_fraction: float) -> np.ndarray:
    """``(ny, nx)`` int8 cover of the non-crop pixels (:data:`COVER_BARE` elsewhere).

    A share ``farmstead_fraction`` of the non-crop fields are farmsteads, feedlots or yards: patches (a
    few pixels) of buildings (5 % of the field) and of trees (windbreaks, 15 %) on bare ground. Along the
    road grid (field 0), ``canal_fraction`` of the pixels are open water of canals and drains and
    ``bank_tree_fraction`` bank vegetation (reeds, tamarisk), in stretches of a few hundred metres.
    """
    from mcnnseq.sim.scene import NON_CROP

    cover = np.zeros(field.shape, dtype=np.int8)
    farmstead = (field_crop == NON_CROP) & (rng.random(field_crop.size) < farmstead_fraction)
    farmstead[0] = False
    patches = smooth_field(field.shape, 2.0, rng)
    in_farm = farmstead[field]
    if in_farm.any():
        hi, lo = np.quantile(patches[in_farm], [1.0 - _FARM_BUILDINGS, _FARM_TREES])
        cover[in_farm & (patches >= hi)] = COVER_BUILDINGS
        cover[in_farm & (patches <= lo)] = COVER_TREES
    road = field == 0
    stretch = smooth_field(field.shape, 15.0, rng)
    if road.any():
        hi, lo = np.quantile(stretch[road], [1.0 - canal_fraction, bank_tree_fraction])
        cover[road & (stretch > hi)] = COVER_WATER
        cover[road & (stretch < lo)] = COVER_TREES
    return cover

"""Assemble the simulated Imperial Valley demo scene (SPEC §4) as a datacube.

Order of work: layout (fields, classes) -> per-field and per-pixel phenology and heterogeneity
(:mod:`mcnnseq.sim.heterogeneity`) -> per block of rows: clean NDVI at the S2 dates, clean NDVI at
the S1 dates -> canopy water; irrigation, rain, texture -> soil moisture; water-cloud sigma0 ->
then over the whole scene each sensor's point-spread function and geolocation error (mixed pixels
at field edges) -> per block: optical noise (``ndvi_true``), speckle and thermal noise -> dB; then
the cloud mask of the scenario. Every random draw comes from a child of ``SeedSequence([seed, ...])``
named by its purpose, so the scenarios of one seed share everything but the cloud threshold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from mcnnseq.datacube import new_cube
from mcnnseq.errors import DatacubeError
from mcnnseq.paper import CROP_CLASSES, s1_dates, s2_dates
from mcnnseq.sim import heterogeneity as het
from mcnnseq.sim import radar
from mcnnseq.sim.clouds import scenario_mask, smooth_field
from mcnnseq.sim.params import SCENARIOS, SIMULATOR_VERSION, SimParams
from mcnnseq.sim.phenology import CUT_REGIMES, days_since_2018, ndvi_curves, sample_field_phenology
from mcnnseq.sim.scene import CRS, NON_CROP, PIXEL_SIZE_M, make_layout

SOURCE = "demo scene"
MIN_SIZE, MAX_SIZE = 4, 4000
_BLOCK_PIXELS = 16_384  # pixels simulated at once, in whole rows (cache-sized; fixed, so the arrays depend
# only on the size and seed)
_IRRIGATION_LEAD_DAYS = 14.0  # pre-irrigation before emergence; irrigation stops this long before harvest
_IRRIGATION_ACTIVE_NDVI = 0.08  # seasonal NDVI above base that marks a field as cropped
_SHRUB_FRACTION, _SHRUB_NDVI = 0.05, 0.12
_PIXEL_BASE_STD = 0.015
_NDVI_MAX = 0.93  # a canopy's NDVI saturates (dense wheat reaches ~0.9, paper §4.3.1)
_MV_MAX = 45.0  # vol %: saturated clay topsoil (porosity ~45-50 %)
_FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))

_STREAMS = ("layout", "phenology", "pixels", "fields", "clouds", "structure", "geometry", "soil", "noise", "speckle")
_BLOCK_STREAMS = ("soil", "noise", "speckle")  # one child per row block


def paired_s1_dates() -> pd.DatetimeIndex:
    """The S1 date paired with each of the paper's 31 S2 dates.

    The paper pairs 31 S1 scenes one-to-one with 31 S2 scenes (§2.2.1–2.2.2, Fig. 2). Among
    one-to-one pairings the nearest is the order-preserving one (k-th S2 date with the k-th S1
    date, at most 8 days apart); plain nearest-date pairing would give the 2018-07-04 S1 scene to
    three S2 dates and leave five S1 scenes unused.
    """
    s1, s2 = s1_dates(), s2_dates()
    if len(s1) != len(s2):  # pragma: no cover - both are fixed at 31 by the paper
        raise RuntimeError("the paper's S1 and S2 date lists differ in length")
    return pd.DatetimeIndex(s1.values, name="s1_time")


def _parse_size(size) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)):
        ny = nx = int(size)
    else:
        try:
            ny, nx = (int(v) for v in size)
        except (TypeError, ValueError):
            raise DatacubeError(f"size must be an int or a (ny, nx) pair, got {size!r}", source=SOURCE) from None
    if not (MIN_SIZE <= ny <= MAX_SIZE and MIN_SIZE <= nx <= MAX_SIZE):
        raise DatacubeError(f"size {ny} x {nx} pixels is outside {MIN_SIZE} … {MAX_SIZE} per side", source=SOURCE)
    return ny, nx


def simulate_scene(*, size=400, seed: int = 0, scenario: str = "50%", params: SimParams | None = None
                   ) -> xr.Dataset:
    """Simulate the Imperial Valley demo scene as a datacube (SPEC §3–§4). SIMULATED data.

    ``size``: ``n`` or ``(ny, nx)`` pixels of 10 m (4 … 4000 per side; 400 = the paper's 4 km x
    4 km subarea 2). ``seed``: non-negative int; the same seed gives identical arrays.
    ``scenario``: ``"50%"`` / ``"70%"`` (that fraction of the pixels has at least one missing NDVI
    date: clouds, shadows and the 2018-12-02 stripe; the 70 % mask contains the 50 % one) or
    ``"none"`` (nothing missing). ``params``: :class:`~mcnnseq.sim.params.SimParams` knobs.

    Returns dims ``(time=31, y, x)``: ``vv``, ``vh`` (float32 dB), ``ndvi`` (float32, NaN where
    missing), ``cloud`` (bool), ``ndvi_true`` (float32, NDVI with optical noise, also under the
    clouds), ``crop`` (int16, codes of :data:`mcnnseq.paper.CROP_CLASSES`), ``field`` (int32, 0 =
    road/canal); coords ``time`` (S2 dates), ``s1_time``, ``x``, ``y`` (UTM 11N, m).
    """
    ny, nx = _parse_size(size)
    if scenario not in SCENARIOS:
        raise DatacubeError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}", source=SOURCE)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DatacubeError(f"seed must be a non-negative integer, got {seed!r}", source=SOURCE)
    params = params or SimParams()
    streams = dict(zip(_STREAMS, np.random.SeedSequence([int(seed), 2018]).spawn(len(_STREAMS))))
    rng = {name: np.random.default_rng(ss) for name, ss in streams.items() if name not in _BLOCK_STREAMS}

    layout = make_layout(ny, nx, rng=rng["layout"], road_spacing_px=params.road_spacing_px,
                         road_width_px=params.road_width_px, proportions_from=params.proportions_from)
    field_pheno, subtype, always_irrigated = sample_field_phenology(layout.field_crop, rng["phenology"], params)
    north_south = het.rows_north_south(layout.field, layout.field_crop.size, rng["layout"])
    coords = het.field_coordinates(layout.field, north_south)
    cover = het.non_crop_cover(layout.field, layout.field_crop, rng["layout"],
                               farmstead_fraction=params.farmstead_fraction, canal_fraction=params.canal_fraction,
                               bank_tree_fraction=params.bank_tree_fraction).ravel()
    pixels, greenness = _pixel_phenology(field_pheno, layout, rng["pixels"], params, coords, cover)
    static = _radar_static(layout, rng["fields"], params, cover)

    s2, s1 = s2_dates(), paired_s1_dates()
    t2, t1 = days_since_2018(s2), days_since_2018(s1)
    T = len(s2)
    state = _field_state(t1, layout, field_pheno, subtype, always_irrigated, rng["fields"], params,
                         het.rows_face_radar(north_south, layout.field_crop))
    state.update(_pixel_state(layout, rng["structure"], params, coords))
    rain_coef, state["rain_basis"] = het.rain_patterns((ny, nx), len(params.rain_days), rng["geometry"],
                                                       cv=params.rain_spatial_cv, scale_px=params.rain_scale_px)
    rain = radar.rain_wetness(t1, rain_days=params.rain_days, tau=state["tau"]) * np.float32(params.rain_moisture)
    state["rain_wet"] = rain @ rain_coef  # (T, 3) weights of the rain basis: vol % per pixel = weights @ basis
    state["wind"] = (10.0 ** (rng["geometry"].normal(0.0, het.WIND_SPREAD_DB, T) / 10.0)).astype(np.float32)[:, None]
    shifts_s1 = rng["geometry"].normal(0.0, params.s1_geolocation_std_m / PIXEL_SIZE_M, (T, 2))
    shifts_s2 = rng["geometry"].normal(0.0, params.s2_geolocation_std_m / PIXEL_SIZE_M, (T, 2))

    out = {name: np.empty((T, ny, nx), dtype=np.float32) for name in ("vv", "vh", "ndvi_true")}
    rows = max(1, _BLOCK_PIXELS // nx)
    blocks = [(r0, min(ny, r0 + rows)) for r0 in range(0, ny, rows)]
    seeds = {name: streams[name].spawn(len(blocks)) for name in _BLOCK_STREAMS}
    for b, (r0, r1) in enumerate(blocks):  # clean NDVI and sigma0 (linear)
        _clean_block(out, r0, r1, nx, t1, t2, pixels, greenness, static, state, params,
                     np.random.default_rng(seeds["soil"][b]))
    # each sensor's resolution cell and geolocation error mix neighbouring fields at the edges
    radar.psf_resample(out["ndvi_true"], sigma_px=params.s2_psf_fwhm_m / _FWHM_PER_SIGMA / PIXEL_SIZE_M,
                       shifts_px=shifts_s2)
    for pol in ("vv", "vh"):
        radar.psf_resample(out[pol], sigma_px=params.s1_psf_fwhm_m / _FWHM_PER_SIGMA / PIXEL_SIZE_M,
                           shifts_px=shifts_s1)
    date_bias = rng["geometry"].normal(0.0, params.optical_date_bias_std, T).astype(np.float32)[:, None, None]
    nesz = float(10.0 ** (params.nesz_db / 10.0)) if params.nesz_db is not None else 0.0  # always drawn
    for b, (r0, r1) in enumerate(blocks):  # optical noise, speckle
        ndvi = out["ndvi_true"][:, r0:r1, :]
        ndvi += date_bias
        ndvi += np.random.default_rng(seeds["noise"][b]).normal(
            0.0, params.optical_noise_std, ndvi.shape).astype(np.float32)
        np.clip(ndvi, -0.2, 0.99, out=ndvi)
        srng = np.random.default_rng(seeds["speckle"][b])
        for pol in ("vv", "vh"):
            out[pol][:, r0:r1, :] = radar.speckle_db(out[pol][:, r0:r1, :], looks=params.speckle_looks, rng=srng,
                                                       nesz=nesz)

    missing = scenario_mask(s2, (ny, nx), pixel_fraction=SCENARIOS[scenario], rng=rng["clouds"], params=params)
    ndvi_obs = out["ndvi_true"].copy()
    ndvi_obs[missing] = np.nan
    attrs = {
        "title": "MCNN-Seq Studio demo scene — SIMULATED Imperial Valley (CA) 2018",
        "source": f"simulated demo scene (seed {int(seed)})",
        "simulated": 1,
        "scenario": scenario,
        "seed": int(seed),
        "simulator_version": SIMULATOR_VERSION,
        "sim_params": params.to_json(),
        "crop_classes": "; ".join(f"{k}={v}" for k, v in CROP_CLASSES.items()),
        "comment": "Simulated with mcnnseq.sim (see docs/simulator.md); not real Sentinel data.",
    }
    return new_cube(vv=out["vv"], vh=out["vh"], ndvi=ndvi_obs, ndvi_true=out["ndvi_true"], time=s2, s1_time=s1,
                    x=layout.x, y=layout.y, crs=CRS, crop=layout.crop, field=layout.field, attrs=attrs)


def _clean_block(out: dict[str, np.ndarray], r0: int, r1: int, nx: int, t1: np.ndarray, t2: np.ndarray,
                 pixels, greenness: np.ndarray, static: dict, state: dict, params: SimParams,
                 rng: np.random.Generator) -> None:
    """Rows ``r0:r1``: clean NDVI at the S2 dates into ``out["ndvi_true"]`` and clean sigma0
    (linear) at the S1 dates into ``out["vv"]``, ``out["vh"]``."""
    T = t2.size
    sl = slice(r0 * nx, r1 * nx)
    n = sl.stop - sl.start
    pb = pixels.take(sl)
    f = static["field"][sl]
    # optical: greenness (chlorophyll, cover) scales the seasonal part of the NDVI
    ndvi = ndvi_curves(t2, pb, scale=greenness[sl])
    np.minimum(ndvi, _NDVI_MAX, out=ndvi)
    out["ndvi_true"][:, r0:r1, :] = ndvi.reshape(T, r1 - r0, nx)
    # radar: canopy water at the S1 dates (lagging the NDVI in annual crops)
    t_veg = t1[:, None] - static["lag"][sl] if params.biomass_lag_days > 0 else t1
    vwc = radar.lai_from_ndvi(np.minimum(ndvi_curves(t_veg, pb), _NDVI_MAX))
    vwc *= static["vwc_coef"][sl]
    # topsoil moisture: irrigation (reaching each pixel with its set's delay), rain, texture, noise
    mv = radar.irrigation_wetness(state["ages"][:, :, f], state["tau"], state["delay"][sl])
    texture = state["texture"][sl]
    dry = state["mv_dry"][f] * texture
    mv *= state["mv_wet"][f] * texture - dry
    mv += dry
    mv += np.maximum(state["rain_wet"] @ state["rain_basis"][:, sl], np.float32(0.0))
    mv += rng.standard_normal((T, n), dtype=np.float32) * np.float32(params.soil_moisture_noise)
    np.clip(mv, 1.0, _MV_MAX, out=mv)
    dew = state["dew_gain"][:, f]
    for j, pol in enumerate(("vv", "vh")):
        c, d = radar.SOIL_CD[pol]
        soil_db = np.float32(d) * mv
        soil_db += static[f"soil_offset_{pol}"][sl] + np.float32(c)
        soil_db += state[f"soil_field_db_{pol}"][:, f]
        a = static[f"a_{pol}"][sl] * dew
        sigma = radar.water_cloud(vwc, soil_db, static["cos_theta"][sl], a=a, b=static[f"b_{pol}"][sl])
        hard = static["hard"][sl]  # buildings and open water: their own backscatter
        if hard.any():
            level = static[f"hard_{pol}"][sl][hard]
            sigma[:, hard] = np.where(static["water"][sl][hard], level * state["wind"], level)
        out[pol][:, r0:r1, :] = sigma.reshape(T, r1 - r0, nx)


def _field_state(t1: np.ndarray, layout, field_pheno, subtype: np.ndarray, always_irrigated: np.ndarray,
                 rng: np.random.Generator, params: SimParams, facing: np.ndarray) -> dict[str, np.ndarray]:
    """Per-field (and per-date) quantities at the S1 dates ``t1``: irrigation ages ``(K, T, F)``,
    dry-down time ``tau`` ``(T,)``, dry and wet topsoil moisture ``(F,)`` (vol %), soil-term offsets
    per polarisation ``(T, F)`` (dB: row direction where ``facing``, + tillage), dew gain ``(T, F)``."""
    n_fields = layout.field_crop.size
    tau = radar.drydown_days(t1, mean=params.drydown_days, amplitude=params.drydown_amplitude_days)
    lo_i, hi_i = params.irrigation_interval_days
    interval = rng.uniform(lo_i, hi_i, n_fields)
    phase = rng.uniform(0.0, 1.0, n_fields) * interval
    cropped = layout.field_crop != NON_CROP
    cropped[0] = False

    def active(days: np.ndarray) -> np.ndarray:
        env = ndvi_curves(days + _IRRIGATION_LEAD_DAYS, field_pheno, with_cuts=False) - field_pheno.base
        return cropped & (always_irrigated | (env > _IRRIGATION_ACTIVE_NDVI))

    state = {"tau": tau.astype(np.float32), "ages": radar.irrigation_ages(t1, phase=phase, interval=interval,
                                                                          active=active)}
    state["mv_dry"] = np.clip(rng.normal(params.soil_moisture_dry, params.soil_moisture_dry_std, n_fields),
                              1.0, None).astype(np.float32)
    mv_wet = np.minimum(rng.normal(params.soil_moisture_wet, params.soil_moisture_wet_std, n_fields), _MV_MAX)
    state["mv_wet"] = np.maximum(mv_wet, state["mv_dry"]).astype(np.float32)  # irrigation never dries a soil
    rows_db = het.row_effect_db(facing, rng, params.row_effect_db)
    till_db = het.tillage_roughness_db(t1, field_pheno, layout.field_crop, subtype, rng,
                                       effect_db=params.tillage_roughness_db, decay_days=params.tillage_decay_days)
    for pol in ("vv", "vh"):
        state[f"soil_field_db_{pol}"] = till_db + rows_db[pol][None, :]
    state["dew_gain"] = np.where(het.dew_mask(t1, cropped, rng, params.dew_probability),
                                 np.float32(10.0 ** (params.dew_db / 10.0)), np.float32(1.0)).astype(np.float32)
    return state


def _pixel_state(layout, rng: np.random.Generator, params: SimParams, coords) -> dict[str, np.ndarray]:
    """Per pixel, flat ``(ny*nx,)``: irrigation delay (days) and soil texture factor."""
    delay = het.irrigation_delays(layout.field, layout.field_crop, rng, set_days=params.irrigation_set_days,
                                  advance_days=params.irrigation_advance_days, coords=coords)
    texture = 1.0 + params.soil_texture_std * smooth_field(layout.field.shape, params.soil_texture_px, rng)
    return {"delay": delay.ravel(), "texture": np.clip(texture, 0.5, None).astype(np.float32).ravel()}


def _pixel_phenology(field_pheno, layout, rng: np.random.Generator, params: SimParams, coords, cover: np.ndarray):
    """Per-pixel phenology: the field's (or the non-crop ``cover``'s), with a date jitter, the harvest
    sweeping across the field, vigour variation and edge effect; and the pixel's greenness factor
    ``(ny*nx,)`` (scales the optical NDVI only, not the canopy water)."""
    ny, nx = layout.field.shape
    n = ny * nx
    p = field_pheno.take(layout.field.ravel())
    trees = cover == het.COVER_TREES
    base, amp, green_up, leaf_fall = het.TREE_NDVI
    p.base[trees], p.amp1[trees], p.s1[trees], p.e1[trees] = base, amp, green_up, leaf_fall
    p.r1[trees] = p.f1[trees] = 15.0
    for code, value in ((het.COVER_BUILDINGS, het.BUILDING_NDVI), (het.COVER_WATER, het.WATER_NDVI)):
        p.base[cover == code], p.amp1[cover == code] = value, 0.0
    other = cover != het.COVER_BARE
    p.amp2[other], p.cut1[other], p.cut2[other] = 0.0, 0.0, 0.0
    shift = rng.normal(0.0, params.pixel_shift_days, n).astype(np.float32)
    for name in ("s1", "e1", "s2", "e2"):
        getattr(p, name)[:] += shift
    late = het.harvest_delays(layout.field, layout.field_crop, rng, coords).ravel()  # drawn either way
    if params.harvest_sweep:
        p.e1 += late
        p.e2 += late
        period = np.array([1.0] + [CUT_REGIMES[k][0] for k in sorted(CUT_REGIMES)], dtype=np.float32)
        cut = np.maximum(p.cut1, p.cut2).astype(np.int64)  # a pixel has at most one cutting regime
        p.phase -= late / period[cut] * (cut > 0)  # a later cut: fewer cycles done by any day
    vigor = 1.0 + rng.normal(0.0, params.pixel_vigor_std, n).astype(np.float32)
    vigor += params.smooth_vigor_std * smooth_field((ny, nx), params.smooth_vigor_px, rng).ravel()
    vigor[layout.edge.ravel()] *= params.edge_vigor
    p.amp1 *= vigor
    p.amp2 *= vigor
    p.base += rng.normal(0.0, _PIXEL_BASE_STD, n).astype(np.float32)
    shrubs = (layout.crop.ravel() == NON_CROP) & (rng.random(n) < _SHRUB_FRACTION) & (cover == het.COVER_BARE)
    p.base[shrubs] += _SHRUB_NDVI
    greenness = 1.0 + params.pixel_greenness_std * smooth_field((ny, nx), params.smooth_vigor_px, rng).ravel()
    return p, np.clip(greenness, 0.3, None).astype(np.float32)


def _radar_static(layout, rng: np.random.Generator, params: SimParams, cover: np.ndarray) -> dict[str, np.ndarray]:
    """Per-pixel constants of the radar model, flat ``(ny*nx,)``: field id, canopy water per unit LAI
    (kg/m²), biomass lag (days), cos(incidence), water-cloud A and B per polarisation (class x
    field structure factors), static soil offset per polarisation (dB: roughness, angle); for
    buildings and open water (``hard``, ``water``) their own sigma0 per polarisation (linear)."""
    ny, nx = layout.field.shape
    n = ny * nx
    fid = layout.field.ravel()
    crop = layout.crop.ravel()
    n_fields = layout.field_crop.size
    lut = np.zeros(9, dtype=np.float32)
    for code, value in radar.VWC_PER_LAI.items():
        lut[code] = value
    vwc_field = np.exp(rng.normal(-0.5 * params.vwc_field_std ** 2, params.vwc_field_std, n_fields))
    vwc_field = vwc_field.astype(np.float32)  # lognormal of mean 1
    biomass = 1.0 + params.pixel_biomass_std * smooth_field((ny, nx), params.smooth_vigor_px, rng).ravel()
    out = {"field": fid, "vwc_coef": lut[crop] * vwc_field[fid] * np.clip(biomass, 0.3, None)}
    lag = np.zeros(9, dtype=np.float32)
    for code in radar.LAGGED_CLASSES:
        lag[code] = params.biomass_lag_days
    spread = params.biomass_lag_spread
    out["lag"] = (lag[crop] * rng.uniform(1.0 - spread, 1.0 + spread, n_fields)[fid]).astype(np.float32)
    theta = radar.incidence_angle(layout.x, center_deg=params.incidence_center_deg,
                                  gradient_deg_per_km=params.incidence_gradient_deg_per_km)
    theta_pix = np.broadcast_to(theta[None, :], (ny, nx)).ravel()
    out["cos_theta"] = np.cos(np.radians(theta_pix)).astype(np.float32)
    angle_db = radar.SOIL_ANGLE_SLOPE_DB_PER_DEG * (theta_pix - params.incidence_center_deg)
    rough_field = rng.normal(0.0, params.roughness_field_db, n_fields).astype(np.float32)
    rough_pixel = rng.normal(0.0, params.roughness_pixel_db, n).astype(np.float32)
    structure = het.structure_factors(n_fields, rng, params.structure_field_std)
    for j, pol in enumerate(("vv", "vh")):
        a, b = radar.WCM_AB[pol]
        a_lut = np.zeros(9, dtype=np.float32)
        b_lut = np.zeros(9, dtype=np.float32)
        for code, factors in radar.STRUCTURE.items():
            a_lut[code] = a * factors[j]
            b_lut[code] = b * factors[2 + j]
        out[f"a_{pol}"] = a_lut[crop] * structure[fid, j]
        out[f"b_{pol}"] = b_lut[crop] * structure[fid, 2 + j]
        out[f"soil_offset_{pol}"] = (rough_field[fid] + rough_pixel + angle_db).astype(np.float32)
    trees = cover == het.COVER_TREES
    out["vwc_coef"][trees] = het.TREE_VWC_PER_LAI
    out["lag"][trees] = 0.0
    spread = rng.normal(0.0, het.BUILDING_SPREAD_DB, n)
    out["water"] = cover == het.COVER_WATER
    out["hard"] = out["water"] | (cover == het.COVER_BUILDINGS)
    for j, pol in enumerate(("vv", "vh")):
        out[f"a_{pol}"][trees] *= het.TREE_A_FACTOR
        level_db = np.where(out["water"], het.WATER_DB[j], het.BUILDING_DB[j] + spread)
        out[f"hard_{pol}"] = (10.0 ** (level_db / 10.0)).astype(np.float32)
    return out

"""Assemble the simulated Imperial Valley demo scene (SPEC §4) as a datacube.

Order of work: layout (fields, classes) -> per-field and per-pixel phenology -> per row block:
clean NDVI at the S2 dates plus optical noise (``ndvi_true``), clean NDVI at the S1 dates ->
canopy water -> soil moisture -> water-cloud sigma0 -> speckle -> dB; then the cloud mask of the
scenario. Every random draw comes from a child of ``SeedSequence([seed, ...])`` named by its
purpose, so the scenarios of one seed share everything but the cloud threshold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from mcnnseq.datacube import new_cube
from mcnnseq.errors import DatacubeError
from mcnnseq.paper import CROP_CLASSES, s1_dates, s2_dates
from mcnnseq.sim import radar
from mcnnseq.sim.clouds import scenario_mask, smooth_field
from mcnnseq.sim.params import SCENARIOS, SIMULATOR_VERSION, SimParams
from mcnnseq.sim.phenology import days_since_2018, ndvi_curves, sample_field_phenology
from mcnnseq.sim.scene import CRS, NON_CROP, make_layout

SOURCE = "demo scene"
MIN_SIZE, MAX_SIZE = 4, 4000
_BLOCK_ROWS = 64  # rows simulated at once (bounds memory; fixed, so results do not depend on it)
_IRRIGATION_LEAD_DAYS = 14.0  # pre-irrigation before emergence; irrigation stops this long before harvest
_IRRIGATION_ACTIVE_NDVI = 0.08  # seasonal NDVI above base that marks a field as cropped
_SHRUB_FRACTION, _SHRUB_NDVI = 0.05, 0.12
_PIXEL_BASE_STD = 0.015
_NDVI_MAX = 0.93  # a canopy's NDVI saturates (dense wheat reaches ~0.9, paper §4.3.1)

_STREAMS = ("layout", "phenology", "pixels", "fields", "clouds", "noise")


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
    rng = {name: np.random.default_rng(ss) for name, ss in streams.items() if name != "noise"}

    layout = make_layout(ny, nx, rng=rng["layout"], road_spacing_px=params.road_spacing_px,
                         road_width_px=params.road_width_px, proportions_from=params.proportions_from)
    field_pheno, _subtype, always_irrigated = sample_field_phenology(layout.field_crop, rng["phenology"], params)
    fid = layout.field.ravel()
    n_fields = layout.field_crop.size

    pixels = _pixel_phenology(field_pheno, layout, rng["pixels"], params)
    static = _radar_static(layout, rng["fields"], params)

    s2 = s2_dates()
    s1 = paired_s1_dates()
    t2, t1 = days_since_2018(s2), days_since_2018(s1)
    tau = radar.drydown_days(t1, mean=params.drydown_days, amplitude=params.drydown_amplitude_days)
    # field-level irrigation schedule and wetness at the S1 dates
    frng = rng["fields"]
    lo_i, hi_i = params.irrigation_interval_days
    interval = frng.uniform(lo_i, hi_i, n_fields)
    phase = frng.uniform(0.0, 1.0, n_fields) * interval
    cropped = layout.field_crop != NON_CROP
    cropped[0] = False

    def active(days: np.ndarray) -> np.ndarray:
        env = ndvi_curves(days + _IRRIGATION_LEAD_DAYS, field_pheno, with_cuts=False) - field_pheno.base
        return cropped & (always_irrigated | (env > _IRRIGATION_ACTIVE_NDVI))

    wet_field = radar.irrigation_wetness(t1, phase=phase, interval=interval, active=active, tau=tau)
    wet_rain = radar.rain_wetness(t1, rain_days=params.rain_days, tau=tau) * np.float32(params.rain_moisture)
    mv_dry = np.clip(frng.normal(params.soil_moisture_dry, params.soil_moisture_dry_std, n_fields), 1.0, None)
    mv_dry = mv_dry.astype(np.float32)

    T = len(s2)
    shape = (T, ny, nx)
    out = {name: np.empty(shape, dtype=np.float32) for name in ("vv", "vh", "ndvi_true")}
    n_blocks = -(-ny // _BLOCK_ROWS)
    noise_seeds = streams["noise"].spawn(n_blocks + 1)  # [0]: per-date bias, then one per row block
    date_bias = np.random.default_rng(noise_seeds[0]).normal(
        0.0, params.optical_date_bias_std, T).astype(np.float32)[:, None]
    block_seeds = noise_seeds[1:]
    for b in range(n_blocks):
        r0, r1 = b * _BLOCK_ROWS, min(ny, (b + 1) * _BLOCK_ROWS)
        sl = slice(r0 * nx, r1 * nx)
        brng = np.random.default_rng(block_seeds[b])
        pb = pixels.take(sl)
        n = sl.stop - sl.start
        # optical: clean NDVI at the S2 dates + noise
        ndvi = ndvi_curves(t2, pb)
        np.minimum(ndvi, _NDVI_MAX, out=ndvi)
        ndvi += date_bias
        ndvi += brng.normal(0.0, params.optical_noise_std, ndvi.shape).astype(np.float32)
        np.clip(ndvi, -0.2, 0.99, out=ndvi)
        out["ndvi_true"][:, r0:r1, :] = ndvi.reshape(T, r1 - r0, nx)
        # radar: vegetation state at the S1 dates
        t_veg = t1[:, None] - static["lag"][sl] if params.biomass_lag_days > 0 else t1
        vwc = radar.lai_from_ndvi(np.minimum(ndvi_curves(t_veg, pb), _NDVI_MAX))
        vwc *= static["vwc_coef"][sl]
        f = fid[sl]
        mv = mv_dry[f] + (np.float32(params.soil_moisture_wet) - mv_dry[f]) * wet_field[:, f]
        mv += wet_rain[:, None]
        mv += brng.normal(0.0, params.soil_moisture_noise, (T, n)).astype(np.float32)
        np.clip(mv, 1.0, 45.0, out=mv)
        for pol in ("vv", "vh"):
            c, d = radar.SOIL_CD[pol]
            soil_db = np.float32(d) * mv
            soil_db += static[f"soil_offset_{pol}"][sl] + np.float32(c)
            sigma = radar.water_cloud(vwc, soil_db, static["cos_theta"][sl], a=static[f"a_{pol}"][sl],
                                      b=static[f"b_{pol}"][sl])
            out[pol][:, r0:r1, :] = radar.speckle_db(sigma, looks=params.speckle_looks, rng=brng).reshape(
                T, r1 - r0, nx)

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


def _pixel_phenology(field_pheno, layout, rng: np.random.Generator, params: SimParams):
    """Per-pixel phenology: the field's, with a date jitter, vigour variation and edge effect."""
    ny, nx = layout.field.shape
    n = ny * nx
    p = field_pheno.take(layout.field.ravel())
    shift = rng.normal(0.0, params.pixel_shift_days, n).astype(np.float32)
    for name in ("s1", "e1", "s2", "e2"):
        getattr(p, name)[:] += shift
    vigor = 1.0 + rng.normal(0.0, params.pixel_vigor_std, n).astype(np.float32)
    vigor += params.smooth_vigor_std * smooth_field((ny, nx), params.smooth_vigor_px, rng).ravel()
    vigor[layout.edge.ravel()] *= params.edge_vigor
    p.amp1 *= vigor
    p.amp2 *= vigor
    p.base += rng.normal(0.0, _PIXEL_BASE_STD, n).astype(np.float32)
    shrubs = (layout.crop.ravel() == NON_CROP) & (rng.random(n) < _SHRUB_FRACTION)
    p.base[shrubs] += _SHRUB_NDVI
    return p


def _radar_static(layout, rng: np.random.Generator, params: SimParams) -> dict[str, np.ndarray]:
    """Per-pixel constants of the radar model, flat ``(ny*nx,)`` float32."""
    ny, nx = layout.field.shape
    n = ny * nx
    fid = layout.field.ravel()
    crop = layout.crop.ravel()
    n_fields = layout.field_crop.size
    lut = np.zeros(9, dtype=np.float32)
    for code, value in radar.VWC_PER_LAI.items():
        lut[code] = value
    vwc_field = np.exp(rng.normal(0.0, params.vwc_field_std, n_fields)).astype(np.float32)
    out = {"vwc_coef": lut[crop] * vwc_field[fid]}
    lag = np.zeros(9, dtype=np.float32)
    for code in radar.LAGGED_CLASSES:
        lag[code] = params.biomass_lag_days
    out["lag"] = lag[crop]
    theta = radar.incidence_angle(layout.x, center_deg=params.incidence_center_deg,
                                  gradient_deg_per_km=params.incidence_gradient_deg_per_km)
    theta_pix = np.broadcast_to(theta[None, :], (ny, nx)).ravel()
    out["cos_theta"] = np.cos(np.radians(theta_pix)).astype(np.float32)
    angle_db = radar.SOIL_ANGLE_SLOPE_DB_PER_DEG * (theta_pix - params.incidence_center_deg)
    rough_field = rng.normal(0.0, params.roughness_field_db, n_fields).astype(np.float32)
    rough_pixel = rng.normal(0.0, params.roughness_pixel_db, n).astype(np.float32)
    for j, pol in enumerate(("vv", "vh")):
        a, b = radar.WCM_AB[pol]
        a_lut = np.zeros(9, dtype=np.float32)
        b_lut = np.zeros(9, dtype=np.float32)
        for code, factors in radar.STRUCTURE.items():
            a_lut[code] = a * factors[j]
            b_lut[code] = b * factors[2 + j]
        out[f"a_{pol}"] = a_lut[crop]
        out[f"b_{pol}"] = b_lut[crop]
        out[f"soil_offset_{pol}"] = (rough_field[fid] + rough_pixel + angle_db).astype(np.float32)
    return out

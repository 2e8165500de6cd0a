"""Spatially coherent cloud masks, cloud shadows and the acquisition stripe.

Each cloudy date gets a smooth Gaussian random field (a cloud length scale of a few hundred metres
plus fine texture for ragged edges); a cloud's shadow is the same field shifted north-west. A
pixel is cloudy on date ``d`` when ``F_d - c_d`` exceeds a threshold ``q``, ``c_d`` making some
dates cloudier than others. The threshold is set from the scores themselves so that exactly the
asked fraction of pixels has at least one cloudy (or striped) date. A cloudier scenario only lowers
``q`` over the same fields, so its mask is a superset of the less cloudy one (the paper's 70 % case
is the 50 % case plus 20 % of the pixels, §2.2.4).

:func:`add_artificial_clouds` lays such a mask over any cube (e.g. the real one) and keeps the
NDVI under it as ``ndvi_true``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from scipy import ndimage

from mcnnseq.errors import DatacubeError

#: Relative cloudiness of the S2 dates that carry clouds in the demo scene (0..1, 1 = cloudiest).
#: Illustrative: the paper marks cloud-affected dates in its Fig. 2 but lists only 2018-12-02 (clouds
#: and an acquisition stripe, most of the scene missing) and 2018-12-27 (a small cloudy area) in the
#: text; the others follow the low-desert weather (winter storms, the July–September monsoon).
CLOUDY_DATES: dict[str, float] = {
    "2018-01-16": 0.9, "2018-02-15": 0.5, "2018-03-17": 0.7, "2018-05-11": 0.3, "2018-07-30": 0.6,
    "2018-08-14": 0.5, "2018-09-13": 0.4, "2018-11-22": 0.6, "2018-12-02": 0.8, "2018-12-27": 0.35,
}
#: The date with the acquisition stripe (paper §4.2, Fig. 8).
STRIPE_DATE = "2018-12-02"
_SHADOW_WEAKENING = 0.3  # only the thick core of a cloud casts a shadow that masks the pixel


def _kernel_std(sigma: float, truncate: float = 4.0) -> float:
    """Std of unit white noise after the 2-D Gaussian filter of ``sigma`` pixels."""
    radius = int(truncate * sigma + 0.5)
    w = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    w /= w.sum()
    return float((w ** 2).sum())


def smooth_field(shape: tuple[int, int], sigma_px: float, rng: np.random.Generator) -> np.ndarray:
    """A unit-variance Gaussian random field ``shape`` (float32) with correlation length ``sigma_px``.

    Large scales are drawn on a coarse grid and interpolated bilinearly (cheap at 1000 x 1000).
    """
    ny, nx = shape
    sigma_px = max(float(sigma_px), 0.5)
    factor = max(1, int(sigma_px // 3))
    cy, cx = -(-ny // factor) + 2, -(-nx // factor) + 2
    coarse = ndimage.gaussian_filter(rng.standard_normal((cy, cx)), sigma_px / factor, mode="wrap")
    coarse /= _kernel_std(sigma_px / factor)
    if factor > 1:
        coarse = ndimage.zoom(coarse, factor, order=1, grid_mode=False)
    return coarse[:ny, :nx].astype(np.float32)


def cloud_scores(shape: tuple[int, int], n_dates: int, rng: np.random.Generator, *,
                 scale_px: tuple[float, float], texture_px: float,
                 shadow_offset_px: tuple[int, int] = (0, 0)) -> np.ndarray:
    """``(n_dates, ny, nx)`` float32 cloud scores: per date, the larger of a unit-variance smooth
    field (the cloud) and the same field shifted by ``shadow_offset_px`` (rows, cols), a little
    weaker (its shadow)."""
    ny, nx = shape
    sy, sx = int(shadow_offset_px[0]), int(shadow_offset_px[1])
    oy, ox = max(0, sy), max(0, sx)  # where the scene starts in the padded field
    out = np.empty((n_dates, ny, nx), dtype=np.float32)
    for d in range(n_dates):
        scale = rng.uniform(*scale_px)
        padded = (ny + abs(sy), nx + abs(sx))
        field = 0.9 * smooth_field(padded, scale, rng) + 0.35 * smooth_field(padded, texture_px, rng)
        field /= np.hypot(0.9, 0.35)
        cloud = field[oy:oy + ny, ox:ox + nx]
        shadow = field[oy - sy:oy - sy + ny, ox - sx:ox - sx + nx] - _SHADOW_WEAKENING
        np.maximum(cloud, shadow, out=out[d])
    return out


def _threshold(scores: np.ndarray, k: int) -> float:
    """The value ``q`` such that exactly the ``k`` largest ``scores`` (1-D) are ``>= q``."""
    if k <= 0:
        return np.inf
    if k >= scores.size:
        return -np.inf
    return float(np.partition(scores, scores.size - k)[scores.size - k])


def stripe_mask(shape: tuple[int, int], *, fraction: float, tilt_deg: float,
                rng: np.random.Generator) -> np.ndarray:
    """``(ny, nx)`` bool: a band of about ``fraction`` of the width, tilted ``tilt_deg`` from north."""
    ny, nx = shape
    width = max(1.0, round(fraction * nx))
    center = rng.uniform(0.3, 0.7) * nx
    yy, xx = np.mgrid[0:ny, 0:nx]
    offset = xx + 0.5 - center - np.tan(np.radians(tilt_deg)) * (yy + 0.5 - ny / 2)
    return np.abs(offset) < width / 2


def scenario_mask(dates, shape: tuple[int, int], *, pixel_fraction: float, rng: np.random.Generator,
                  params) -> np.ndarray:
    """Missing-optical mask ``(T, ny, nx)`` bool of the demo scene for ``dates`` (the S2 dates).

    Clouds (and shadows) on the dates of :data:`CLOUDY_DATES`, the stripe on :data:`STRIPE_DATE`;
    exactly ``round(pixel_fraction * ny * nx)`` pixels (give or take ties) have at least one missing
    date. ``pixel_fraction == 0`` gives no cloud and no stripe. The random draws do not depend on
    ``pixel_fraction``, so for the same ``rng`` seed a larger fraction gives a superset.
    ``params`` is a :class:`~mcnnseq.sim.params.SimParams`.
    """
    ny, nx = shape
    keys = [str(pd.Timestamp(d).date()) for d in pd.DatetimeIndex(dates)]
    cloudy = [i for i, k in enumerate(keys) if k in CLOUDY_DATES]
    stripe = stripe_mask(shape, fraction=params.stripe_fraction, tilt_deg=params.stripe_tilt_deg, rng=rng)
    scores = cloud_scores(shape, len(cloudy), rng, scale_px=params.cloud_scale_px,
                          texture_px=params.cloud_texture_px, shadow_offset_px=params.shadow_offset_px)
    mask = np.zeros((len(keys), ny, nx), dtype=bool)
    if pixel_fraction <= 0:
        return mask
    offsets = np.array([1.5 * (1.0 - CLOUDY_DATES[keys[i]]) for i in cloudy], dtype=np.float32)
    scores -= offsets[:, None, None]
    has_stripe = STRIPE_DATE in keys
    if not has_stripe:
        stripe[:] = False
    free = ~stripe
    n_target = int(round(pixel_fraction * ny * nx)) - int(stripe.sum())
    best = scores.max(axis=0) if cloudy else np.full(shape, -np.inf, dtype=np.float32)
    q = _threshold(best[free], n_target)
    for j, i in enumerate(cloudy):
        mask[i] = scores[j] >= q
    if has_stripe:
        mask[keys.index(STRIPE_DATE)] |= stripe
    return mask


def add_artificial_clouds(ds: xr.Dataset, *, pixel_fraction: float, seed: int = 0,
                          n_dates: int | None = None) -> xr.Dataset:
    """Lay a seeded, spatially coherent artificial cloud mask over a datacube.

    ``pixel_fraction`` (0..1) is the share of the pixels that are *complete* in ``ds`` (see
    :func:`mcnnseq.sampling.complete_pixels`) that lose at least one observed date — e.g. 0.4 on a
    "50 %" cube makes about 20 % more of all pixels incomplete, as in the paper's 70 % case. Clouds
    fall on ``n_dates`` observed dates drawn at random (default: a quarter of them, at least one);
    pixels that were already incomplete may be clouded too. Returns a new cube with ``ndvi`` set to
    NaN and ``cloud`` set under the mask, and ``ndvi_true`` holding the NDVI before masking (an
    existing ``ndvi_true`` is kept). Same ``ds``, fraction and seed give the same mask.

    Raises :class:`DatacubeError` when ``ds`` has no ``ndvi``/``cloud`` of dims (time, y, x), or
    when clouds are asked for but no pixel is complete.
    """
    from mcnnseq.datacube import DIMS, observed_dates_mask
    from mcnnseq.sampling import complete_pixels

    source = ds.attrs.get("source") if isinstance(ds, xr.Dataset) else None
    if not isinstance(ds, xr.Dataset):
        raise DatacubeError(f"expected an xarray.Dataset, got {type(ds).__name__}")
    for name in ("ndvi", "cloud", "vv", "vh"):
        if name not in ds.data_vars or ds[name].dims != DIMS:
            raise DatacubeError(f"missing or not of dims {DIMS}: artificial clouds need a datacube",
                                source=source, variable=name)
    if not 0.0 <= float(pixel_fraction) <= 1.0:
        raise ValueError(f"pixel_fraction must be within 0 … 1, got {pixel_fraction}")
    ny, nx = ds.sizes["y"], ds.sizes["x"]
    ndvi_before = np.asarray(ds["ndvi"].values, dtype=np.float32)
    observed = np.flatnonzero(observed_dates_mask(ds))
    complete = complete_pixels(ds)
    n_complete = int(complete.sum())
    n_target = int(round(float(pixel_fraction) * n_complete))
    if n_target > 0 and observed.size == 0:
        raise DatacubeError("no date has an optical observation to cloud", source=source, variable="ndvi")
    if float(pixel_fraction) > 0 and n_complete == 0:
        raise DatacubeError("no pixel has a complete NDVI series, so none can be clouded artificially",
                            source=source, variable="ndvi")

    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 7_2018]))
    k = int(n_dates) if n_dates is not None else max(1, int(round(observed.size / 4)))
    k = max(1, min(k, observed.size)) if observed.size else 0
    chosen = np.sort(rng.choice(observed, size=k, replace=False)) if k else np.array([], dtype=int)
    weights = rng.uniform(0.3, 1.0, k).astype(np.float32)
    top = max(1.5, min(ny, nx) / 4)
    scale = (min(12.0, top), min(35.0, top))
    scores = cloud_scores((ny, nx), k, rng, scale_px=scale, texture_px=min(3.0, top))
    scores -= (1.5 * (1.0 - weights))[:, None, None]
    mask = np.zeros(ndvi_before.shape, dtype=bool)
    if n_target > 0:
        q = _threshold(scores.max(axis=0)[complete], n_target)
        mask[chosen] = scores >= q

    ndvi_after = np.where(mask, np.float32(np.nan), ndvi_before).astype(np.float32)
    out = ds.copy()
    out["ndvi"] = (DIMS, ndvi_after, ds["ndvi"].attrs)
    out["cloud"] = (DIMS, np.isnan(ndvi_after), ds["cloud"].attrs)
    if "ndvi_true" not in ds.variables:
        out["ndvi_true"] = (DIMS, ndvi_before, {"units": "1", "long_name": "NDVI before the artificial clouds"})
    dates = [str(pd.Timestamp(t).date()) for t in np.asarray(ds["time"].values)[chosen]]
    out.attrs["artificial_clouds"] = (f"pixel_fraction={float(pixel_fraction):g}, seed={int(seed)}, "
                                      f"dates={','.join(dates)}")
    return out

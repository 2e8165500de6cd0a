"""Sentinel-1 backscatter of the simulated scene: water-cloud model, soil moisture, speckle.

Per polarisation ``p`` (VV, VH), in linear units (Attema & Ulaby 1978)::

    sigma0 = A_p cos(theta) (1 - tau2) + tau2 * sigma_soil,     tau2 = exp(-2 B_p V / cos(theta))

``V`` is the canopy water content (kg/m²) = crop factor x LAI, LAI from NDVI by the inverted
Beer-law relation of Baret & Guyot (1991); ``sigma_soil`` is linear in dB with topsoil moisture
``mv`` (vol %), ``sigma_soil_dB = C_p + D_p mv + roughness + slope (theta - theta_ref)`` (the
empirical linear-in-dB form of Ulaby, Batlivala & Dobson 1978). Soil moisture follows
irrigation events per field and rare rain, drying down exponentially in the desert heat; dry
desert soil otherwise; a large field is irrigated set by set, so the water reaches its pixels
hours to days apart. The backscatter is blurred by the radar's point-spread function and
resampled off the optical grid by the co-registration error before speckle. Speckle is multiplicative, gamma distributed with ``L`` looks. Output in dB.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: Water-cloud vegetation parameters per polarisation: (A, linear; B, m²/kg). Set by us (published
#: calibrations, e.g. Prévot et al. 1993, Bindlish & Barros 2001, Baghdadi et al. 2017, depend on crop,
#: descriptor and angle): A fixes the saturated canopy backscatter A cos(theta) (VV ~ -10 dB, VH ~ -16 dB
#: over a dense crop, typical Sentinel-1 levels), B the attenuation per kg/m² of canopy water.
WCM_AB: dict[str, tuple[float, float]] = {"vv": (0.13, 0.12), "vh": (0.032, 0.16)}

#: Bare-soil backscatter: (C, dB at 0 vol %; D, dB per vol %) per polarisation at the reference angle.
#: Sensitivities of 0.2–0.35 dB per vol % are typical of C-band bare-soil studies (our values within).
SOIL_CD: dict[str, tuple[float, float]] = {"vv": (-20.0, 0.30), "vh": (-28.5, 0.25)}
#: Bare-soil angular slope, dB per degree (C band, moderately rough soil: -0.1 to -0.25).
SOIL_ANGLE_SLOPE_DB_PER_DEG = -0.15

#: LAI from NDVI: NDVI = NDVI_SOIL + (NDVI_INF - NDVI_SOIL)(1 - exp(-K_EXT LAI)), Baret & Guyot (1991).
NDVI_SOIL, NDVI_INF, K_EXT = 0.12, 0.93, 0.6
LAI_MAX = 7.0

#: Canopy water content per unit LAI (kg/m²), per class code: stalky corn and wheat hold more water
#: per leaf area than onion, alfalfa or grass hay (orders of magnitude of field VWC data, e.g.
#: Jackson et al. 2004 for corn; 4–5 kg/m² at full corn canopy, 1–2 kg/m² for alfalfa/grass).
VWC_PER_LAI: dict[int, float] = {1: 0.35, 2: 0.55, 3: 0.9, 4: 0.55, 5: 0.4, 6: 0.35, 7: 0.3, 8: 0.45}

#: Classes whose canopy water content lags their NDVI by ``SimParams.biomass_lag_days``: in annual
#: crops biomass and stem water keep growing after greenness peaks and stems stay wet while leaves
#: senesce. Not for cut crops (a cut removes both at once) nor bare land.
LAGGED_CLASSES: tuple[int, ...] = (1, 2, 3, 4, 8)

#: Structure factors per class: multipliers of (A_vv, A_vh, B_vv, B_vh). Vertical stems (wheat, corn)
#: attenuate VV more than VH (VV falls during stem elongation); broad beet leaves scatter more; the
#: upright tubular onion leaves less.
STRUCTURE: dict[int, tuple[float, float, float, float]] = {
    1: (0.8, 0.9, 1.0, 1.0),
    2: (0.9, 1.0, 1.8, 1.0),
    3: (1.1, 1.2, 1.4, 1.0),
    4: (1.25, 1.15, 1.0, 1.0),
    5: (1.0, 1.0, 1.0, 1.0),
    6: (0.9, 0.95, 1.1, 1.0),
    7: (1.0, 1.0, 1.0, 1.0),
    8: (1.05, 1.05, 1.0, 1.0),
}

#: dB clip of the output: the floor stands for the noise-equivalent sigma0 of the GRD product.
DB_CLIP: tuple[float, float] = (-35.0, 5.0)


def incidence_angle(x: np.ndarray, *, center_deg: float, gradient_deg_per_km: float) -> np.ndarray:
    """Incidence angle (deg) per column, ``(nx,)``: the descending pass looks west, so the angle
    grows westward across the IW swath (29–46° over ~250 km). ``x`` in metres."""
    xc = 0.5 * (x[0] + x[-1])
    return (center_deg - gradient_deg_per_km * (x - xc) / 1000.0).astype(np.float32)


def lai_from_ndvi(ndvi: np.ndarray) -> np.ndarray:
    """Leaf area index (m²/m², same shape as ``ndvi``) by the inverted Beer-law NDVI relation."""
    cover = np.clip((ndvi - NDVI_SOIL) / (NDVI_INF - NDVI_SOIL), 0.0, 0.985)
    return np.minimum(-np.log1p(-cover) / K_EXT, LAI_MAX).astype(np.float32)


def drydown_days(t: np.ndarray, *, mean: float, amplitude: float) -> np.ndarray:
    """Topsoil dry-down time (days) at days ``t``: slowest mid-January, fastest mid-July."""
    return mean + amplitude * np.cos(2 * np.pi * (np.asarray(t) - 15.0) / 365.0)


def irrigation_ages(t: np.ndarray, *, phase: np.ndarray, interval: np.ndarray, active, n_back: int = 3
                    ) -> np.ndarray:
    """Ages (days) ``(n_back, T, F)`` float32 of the ``n_back`` latest irrigations of ``F`` fields at
    days ``t`` (``(T,)``), newest first; ``inf`` where that irrigation did not happen.

    Field ``f`` is scheduled every ``interval[f]`` days from ``phase[f]``, and irrigated only when
    ``active(te)`` (a callable, ``(T, F)`` days -> ``(T, F)`` bool) says so at the event day ``te``.
    """
    t = np.asarray(t, dtype=np.float64)[:, None]
    since = np.mod(t - phase[None, :], interval[None, :])
    out = np.empty((n_back, t.shape[0], phase.size), dtype=np.float32)
    for k in range(n_back):
        age = since + k * interval[None, :]
        out[k] = np.where(active(t - age), age, np.inf)
    return out


def irrigation_wetness(ages: np.ndarray, tau: np.ndarray, delay=0.0) -> np.ndarray:
    """Wetness ``(T, N)`` in 0..1 from irrigation ``ages`` ``(n_back, T, N)`` (see
    :func:`irrigation_ages`, gathered per pixel): ``exp(-(age - delay) / tau)`` of the newest
    irrigation that has reached the pixel, i.e. is at least ``delay`` days old. ``delay`` ``(N,)``
    (days) is when the water reaches the pixel after the field's irrigation starts (irrigation sets);
    ``tau`` ``(T,)`` the dry-down time."""
    delay = np.asarray(delay, dtype=np.float32)
    newest = np.full(ages.shape[1:], np.inf, dtype=np.float32)
    for k in range(ages.shape[0]):
        age = ages[k] - delay
        np.minimum(newest, np.where(age >= 0, age, np.float32(np.inf)), out=newest)
    newest *= (-1.0 / np.asarray(tau, dtype=np.float32))[:, None]
    return np.exp(newest, out=newest)


def rain_wetness(t: np.ndarray, *, rain_days, tau: np.ndarray) -> np.ndarray:
    """Wetness ``(T, E)`` in 0..1 of each of the ``E`` rain events at days ``t`` (0 before the event,
    ``exp(-age / tau)`` after; ``tau`` ``(T,)``)."""
    t = np.asarray(t, dtype=np.float64)[:, None]
    age = t - np.asarray(rain_days, dtype=np.float64)[None, :]
    tau = np.asarray(tau, dtype=np.float64)[:, None]
    return np.where(age >= 0, np.exp(-np.clip(age, 0, None) / tau), 0.0).astype(np.float32)


def water_cloud(vwc: np.ndarray, soil_db: np.ndarray, cos_theta: np.ndarray, *, a: np.ndarray,
                b: np.ndarray) -> np.ndarray:
    """Total sigma0 (linear) ``(T, N)`` from canopy water ``vwc`` (kg/m², ``(T, N)``), bare-soil
    backscatter ``soil_db`` (dB, ``(T, N)``), ``cos_theta`` ``(N,)`` and per-pixel ``a``, ``b`` ``(N,)``."""
    tau2 = np.exp(-2.0 * b * vwc / cos_theta)
    veg = a * cos_theta * (1.0 - tau2)
    soil = np.power(np.float32(10.0), soil_db / np.float32(10.0))
    return (veg + tau2 * soil).astype(np.float32, copy=False)


def speckle_db(sigma0: np.ndarray, *, looks: float, rng: np.random.Generator, nesz: float | None = None
               ) -> np.ndarray:
    """``sigma0`` (linear) times unit-mean gamma speckle of ``looks`` looks, plus the residual of the
    thermal noise after its removal (the fluctuation of a noise of power ``nesz``, linear, averaged
    over ``looks`` looks; Gaussian approximation), in dB, clipped to :data:`DB_CLIP`. ``nesz=None``: no
    thermal noise and no draw for it (``nesz=0.0`` draws it at zero power). Shape and float32 kept."""
    scale = np.float32(1.0 / looks)
    noisy = sigma0 * (rng.standard_gamma(looks, size=sigma0.shape, dtype=np.float32) * scale)
    if nesz is not None:  # zero-mean fluctuation of std nesz / sqrt(looks) (Gaussian approximation)
        residual = rng.standard_normal(size=sigma0.shape, dtype=np.float32)
        residual *= np.float32(nesz / np.sqrt(looks))
        noisy += residual
    out = np.float32(10.0) * np.log10(np.maximum(noisy, np.float32(1e-6)))
    return np.clip(out, *DB_CLIP).astype(np.float32, copy=False)


def _shifted_kernel(sigma_px: float, shift_px: float) -> np.ndarray:
    """1-D weights (odd length, sum 1) of a Gaussian of ``sigma_px`` centred ``shift_px`` off the
    middle; linear-interpolation weights when ``sigma_px`` is tiny."""
    radius = int(np.ceil(abs(shift_px) + 2.5 * max(sigma_px, 0.4)))
    k = np.arange(-radius, radius + 1, dtype=np.float64)
    if sigma_px < 0.1:
        w = np.clip(1.0 - np.abs(k - shift_px), 0.0, None)
    else:
        w = np.exp(-0.5 * ((k - shift_px) / sigma_px) ** 2)
    return w / w.sum()


def psf_resample(image: np.ndarray, *, sigma_px: float, shifts_px: np.ndarray) -> None:
    """Blur each date of ``image`` ``(T, ny, nx)`` (linear sigma0, float32, in place) with a Gaussian
    point-spread function of ``sigma_px`` pixels, resampled ``shifts_px[t]`` = (rows, cols) off the
    pixel grid (co-registration error). Edges repeat the border pixels."""
    if sigma_px < 0.1 and not np.any(shifts_px):
        return
    for t in range(image.shape[0]):
        for axis, shift in ((0, shifts_px[t, 0]), (1, shifts_px[t, 1])):
            ndimage.correlate1d(image[t], _shifted_kernel(sigma_px, float(shift)), axis=axis, mode="nearest",
                                output=image[t])

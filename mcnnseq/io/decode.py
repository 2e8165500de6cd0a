"""Turning stored numbers into datacube units: no-data masking, σ0 to dB, reflectances to NDVI, masks.

All functions take and return plain numpy arrays (any shape, usually ``(time, y, x)``) and raise
:class:`~mcnnseq.errors.DatacubeError` naming ``source`` and the variable for data that cannot be right.
"""

from __future__ import annotations

import numpy as np

from mcnnseq.datacube import DB_RANGE
from mcnnseq.errors import DatacubeError

SIGMA0_MODES: tuple[str, ...] = ("auto", "db", "linear")

#: Sentinel-2 L2A scene-classification classes that hide the surface: 0 no data, 1 saturated or
#: defective, 3 cloud shadow, 8 cloud (medium probability), 9 cloud (high probability), 10 thin
#: cirrus, 11 snow or ice. Classes 2 (dark area), 4 vegetation, 5 bare soil, 6 water, 7 unclassified
#: keep their NDVI.
SCL_MASKED_CLASSES: tuple[int, ...] = (0, 1, 3, 8, 9, 10, 11)


def mask_nodata(values: np.ndarray, nodata: float | None) -> np.ndarray:
    """``values`` as float64 with NaN where they equal ``nodata`` (or are already NaN)."""
    out = np.asarray(values, dtype=np.float64)
    if nodata is not None:
        out = np.where(values == nodata, np.nan, out)
    return out


def suspicious_nodata(values: np.ndarray) -> int | None:
    """The integer type's extreme value (65535 for uint16, −32768 for int16…) if ``values`` hold it.

    Such a value is almost always an undeclared no-data marker; reading it as data would turn the
    missing NDVI of a cloudy date into a real-looking number.
    """
    if values.dtype.kind == "u":
        marker = int(np.iinfo(values.dtype).max)
    elif values.dtype.kind == "i":
        marker = int(np.iinfo(values.dtype).min)
    else:
        return None
    return marker if bool((values == marker).any()) else None


def reject_infinite(values: np.ndarray, *, source: str | None, variable: str) -> None:
    """Raise if ``values`` hold ±inf (a division by zero upstream, not a measurement)."""
    n_inf = int(np.isinf(values).sum())
    if n_inf:
        raise DatacubeError(f"has {n_inf} infinite value(s); a measurement is finite or missing (NaN)",
                            source=source, variable=variable)


def looks_linear(values: np.ndarray, *, units: str = "") -> bool:
    """True when σ0 ``values`` are clearly linear power ratios rather than dB.

    A ``units`` attribute of ``dB`` or ``linear`` decides. Otherwise the data decide: linear σ0 of
    land lies between 0 and about 1 (median ~0.01–0.3, a few noise values just below 0), while dB
    values are mostly negative (−25 … −5). So "clearly linear" means median in (0, 1) and the 1st
    percentile ≥ −0.05. Integer digital numbers and dB data are never taken for linear.
    """
    unit = units.strip().lower()
    if unit in ("db", "decibel", "decibels"):
        return False
    if unit in ("linear", "m2/m2", "m^2/m^2", "m2 m-2"):
        return True
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return False
    p1, median = np.percentile(finite, [1, 50])
    return bool(0.0 < median < 1.0 and p1 >= -0.05)


def linear_to_db(values: np.ndarray) -> np.ndarray:
    """σ0 power ratio -> dB: ``10·log10(σ0)``; values ≤ 0 (no signal, noise-removal artefacts) become NaN."""
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(values > 0, 10.0 * np.log10(np.where(values > 0, values, 1.0)), np.nan)


def log_dn_to_db(values: np.ndarray, gain: float, offset: float) -> np.ndarray:
    """Log-encoded digital numbers -> dB: ``dB = gain·log10(DN) + offset``; DN ≤ 0 becomes NaN.

    Example: the WorldCereal / openEO preprocessed cube stores ``DN = 10**((dB + 83) / 20)``, so
    ``gain=20, offset=-83``.
    """
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(values > 0, gain * np.log10(np.where(values > 0, values, 1.0)) + offset, np.nan)


def radar_to_db(values: np.ndarray, *, sigma0: str, sigma0_log_dn: tuple[float, float] | None,
                units: str, source: str | None, variable: str) -> tuple[np.ndarray, str]:
    """Decode one σ0 variable (float64 with NaN for no-data) to dB; return it and what was done.

    ``sigma0``: ``"db"`` (stored in dB), ``"linear"`` (power ratio, converted with 10·log10) or
    ``"auto"`` (see :func:`looks_linear`). ``sigma0_log_dn=(gain, offset)`` decodes log-encoded
    digital numbers instead. Values outside −40 … +10 dB after decoding raise, with a hint.
    """
    if sigma0_log_dn is not None:
        gain, offset = (float(v) for v in sigma0_log_dn)
        db = log_dn_to_db(values, gain, offset)
        how = f"decoded from digital numbers: dB = {gain:g}*log10(DN) {'+' if offset >= 0 else '-'} {abs(offset):g}"
    elif sigma0 == "linear" or (sigma0 == "auto" and looks_linear(values, units=units)):
        db = linear_to_db(values)
        how = "converted from linear sigma0: dB = 10*log10(sigma0)"
    else:
        db = values
        how = ""
    finite = db[np.isfinite(db)]
    if finite.size and (finite.min() < DB_RANGE[0] or finite.max() > DB_RANGE[1]):
        lo, hi = float(finite.min()), float(finite.max())
        raw = values[np.isfinite(values)]
        if sigma0_log_dn is None and raw.min() >= 0 and raw.max() > 50:
            hint = (" — these look like encoded digital numbers: give their decoding, e.g. "
                    "sigma0_log_dn=(20, -83) for dB = 20*log10(DN) - 83, and the no-data value with nodata=")
        elif sigma0_log_dn is not None:
            hint = f" after decoding with sigma0_log_dn={tuple(sigma0_log_dn)} — check gain, offset and nodata"
        elif sigma0 == "db" and raw.min() >= 0:
            hint = " — non-negative values read as dB: is this linear sigma0 (sigma0='linear')?"
        else:
            hint = ""
        raise DatacubeError(f"values {lo:.4g} … {hi:.4g} are outside the plausible dB range "
                            f"{DB_RANGE[0]:g} … {DB_RANGE[1]:g}{hint}", source=source, variable=variable)
    return db.astype(np.float32), how


def ndvi_from_bands(red: np.ndarray, nir: np.ndarray) -> np.ndarray:
    """NDVI = (nir − red) / (nir + red) from float reflectances (any common scale, e.g. ×10000).

    NaN where either band is missing or ≤ 0: 0 is the no-data value of Sentinel-2 L2A products, and
    no land surface reflects nothing (a 0 red band would fake an NDVI of exactly 1). Returns float32.
    """
    red = np.asarray(red, dtype=np.float64)
    nir = np.asarray(nir, dtype=np.float64)
    valid = (red > 0) & (nir > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ndvi = np.where(valid, (nir - red) / np.where(valid, nir + red, 1.0), np.nan)
    return ndvi.astype(np.float32)


#: Sentinel-2 L2A digital numbers are reflectance x 10000.
REFLECTANCE_SCALE: float = 10_000.0


def reflectance(values: np.ndarray, *, nodata: float | None) -> np.ndarray:
    """A stored optical band (reflectance 0..1, or L2A digital numbers) -> float32 reflectance 0..1, NaN missing.

    Missing: ``nodata``, the integer type's extreme value (65535 for uint16: never a reflectance,
    so it is masked even when ``nodata`` is not given) and values ≤ 0 (the L2A no-data value).
    Integer data, or float data whose 99th percentile exceeds 2 (no surface reflects twice the light
    it receives), are digital numbers and are divided by :data:`REFLECTANCE_SCALE`. Values above 1
    (bright clouds, specular glints) are clipped to 1. The L2A ``BOA_ADD_OFFSET`` of processing
    baseline 04.00 is not subtracted: producers such as openEO have harmonised it already.
    """
    stored = np.asarray(values)
    out = mask_nodata(stored, nodata)
    marker = suspicious_nodata(stored)
    if marker is not None:
        out = np.where(stored == marker, np.nan, out)
    out = np.where(out > 0, out, np.nan)
    finite = out[np.isfinite(out)]
    if stored.dtype.kind in "iu" or (finite.size and np.percentile(finite, 99) > 2.0):
        out = out / REFLECTANCE_SCALE
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def cloud_from_mask(values: np.ndarray, *, source: str | None, variable: str) -> np.ndarray:
    """A cloud mask (bool, or 0/1 numbers; NaN = no data) -> bool, True = cloudy or missing."""
    if values.dtype == bool:
        return values.copy()
    as_float = np.asarray(values, dtype=np.float64)
    finite = as_float[np.isfinite(as_float)]
    odd = np.setdiff1d(np.unique(finite), [0.0, 1.0])
    if odd.size:
        raise DatacubeError(f"holds values other than 0/1 ({', '.join(f'{v:g}' for v in odd[:5])}…); a cloud "
                            "mask is True/1 where cloudy — for a Sentinel-2 scene classification name it 'scl', "
                            "for a cloud probability threshold it first", source=source, variable=variable)
    return ~np.isfinite(as_float) | (as_float == 1.0)


def cloud_from_scl(values: np.ndarray) -> np.ndarray:
    """Sentinel-2 scene classification (SCL) -> bool, True where :data:`SCL_MASKED_CLASSES` or no data."""
    as_float = np.asarray(values, dtype=np.float64)
    return ~np.isfinite(as_float) | np.isin(as_float, SCL_MASKED_CLASSES)


def class_codes(values: np.ndarray, *, dtype: type, source: str | None, variable: str) -> np.ndarray:
    """A class-code or id map (float64 with NaN for no data) -> integers, no data -> 0 (unknown)."""
    as_float = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(as_float)
    vals = as_float[finite]
    if vals.size and not np.array_equal(vals, np.round(vals)):
        raise DatacubeError("holds non-integer values; it must be an integer class code / id map",
                            source=source, variable=variable)
    info = np.iinfo(dtype)
    if vals.size and (vals.min() < info.min or vals.max() > info.max):
        raise DatacubeError(f"values {vals.min():g} … {vals.max():g} do not fit {np.dtype(dtype).name}",
                            source=source, variable=variable)
    return np.where(finite, as_float, 0).astype(dtype)

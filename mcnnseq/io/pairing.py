"""Pair Sentinel-2 dates with the nearest Sentinel-1 date (SPEC §3 d, paper §2: S2 images "chosen close
in date" to the 12-day S1 acquisitions), and build one datacube from separate S1 and S2 cubes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from mcnnseq.errors import DatacubeError
from mcnnseq.io.aliases import find_roles
from mcnnseq.io.standardize import (DEFAULT_MAX_PIXELS, check_options, grid_coords, rename_dims, resolve_crs,
                                    standardize_cube, time_values)

_RADAR_ROLES = ("vv", "vh")
_OPTICAL_ROLES = ("ndvi", "red", "nir", "cloud", "scl", "ndvi_true")
_STATIC_ROLES = ("crop", "field")


def pair_dates(s1_dates: Sequence, s2_dates: Sequence, *, tolerance_days: float = 6) -> pd.DataFrame:
    """Pair each S2 date with the nearest S1 date no more than ``tolerance_days`` away.

    Returns one row per S2 date, in the given order, with columns ``s2_date``, ``s1_date`` (NaT when
    unpaired), ``gap_days`` (S1 minus S2, in days, float; NaN when unpaired), ``s2_index``,
    ``s1_index`` (positions in the inputs, −1 when unpaired) and ``paired`` (bool). Ties go to the
    earlier S1 date. One S1 date may serve two S2 dates (S1 repeats every 6–12 days, S2 every 5).
    Raises ``ValueError`` for empty or missing dates or a negative tolerance.
    """
    if tolerance_days < 0:
        raise ValueError(f"tolerance_days must be >= 0, got {tolerance_days}")
    s1 = pd.DatetimeIndex(pd.to_datetime(list(s1_dates)))
    s2 = pd.DatetimeIndex(pd.to_datetime(list(s2_dates)))
    if len(s1) == 0 or len(s2) == 0:
        raise ValueError("pair_dates needs at least one S1 and one S2 date")
    if s1.hasnans or s2.hasnans:
        raise ValueError("pair_dates: a date is missing (NaT)")
    order = np.argsort(s1.values, kind="stable")
    s1_sorted = s1.values[order]
    gap = (s1_sorted[None, :] - s2.values[:, None]) / np.timedelta64(1, "D")  # (n_s2, n_s1) days
    best = np.argmin(np.abs(gap), axis=1)  # first minimum = earlier S1 date on ties
    best_gap = gap[np.arange(len(s2)), best]
    paired = np.abs(best_gap) <= tolerance_days + 1e-9
    s1_index = np.where(paired, order[best], -1)
    return pd.DataFrame({
        "s2_date": s2,
        "s1_date": pd.DatetimeIndex(np.where(paired, s1_sorted[best], np.datetime64("NaT"))),
        "gap_days": np.where(paired, best_gap, np.nan),
        "s2_index": np.arange(len(s2)),
        "s1_index": s1_index.astype(np.int64),
        "paired": paired,
    })


def describe_pairing(pairs: pd.DataFrame, *, tolerance_days: float) -> str:
    """One line for ``attrs``/logs: how many S2 dates were paired and which were dropped."""
    kept = int(pairs["paired"].sum())
    text = f"{kept} of {len(pairs)} S2 dates paired with an S1 date within {tolerance_days:g} days"
    dropped = pairs.loc[~pairs["paired"], "s2_date"]
    if len(dropped):
        text += "; dropped: " + ", ".join(str(d.date()) for d in dropped)
    return text


def _source(ds: xr.Dataset, default: str) -> str:
    return str(ds.attrs.get("source", default)) if isinstance(ds, xr.Dataset) else default


def pair_cubes(s1_ds: xr.Dataset, s2_ds: xr.Dataset, *, tolerance_days: float = 6, nodata: float | None = None,
               sigma0: str = "auto", sigma0_log_dn: tuple[float, float] | None = None, crs=None,
               max_pixels: int | None = DEFAULT_MAX_PIXELS) -> xr.Dataset:
    """One datacube from an S1 dataset (VV, VH on S1 dates) and an S2 dataset (NDVI or red/nir,
    optional cloud/SCL, crop, field on S2 dates) on the same grid.

    Each S2 date is paired with the nearest S1 date within ``tolerance_days``
    (:func:`pair_dates`); S2 dates without a partner are dropped and listed in
    ``cube.attrs['pairing']``. ``time`` is the S2 date, ``s1_time`` the paired S1 date. Variable
    aliases and the decode keywords work as in :func:`mcnnseq.io.open_cube`. Both grids must match
    (same x/y coordinates and CRS), else :class:`DatacubeError` naming both datasets.
    """
    check_options(sigma0=sigma0, sigma0_log_dn=sigma0_log_dn, nodata=nodata)
    src1, src2 = _source(s1_ds, "S1 data"), _source(s2_ds, "S2 data")
    s1 = rename_dims(s1_ds, source=src1)
    s2 = rename_dims(s2_ds, source=src2)
    roles1 = find_roles([str(n) for n in s1.variables if n not in s1.dims], source=src1)
    roles2 = find_roles([str(n) for n in s2.variables if n not in s2.dims], source=src2)
    for role in _RADAR_ROLES:
        if role not in roles1:
            raise DatacubeError(f"has no {role.upper()} backscatter variable (found: "
                                f"{', '.join(map(str, s1.data_vars)) or 'none'})", source=src1)
    if "ndvi" not in roles2 and not ("red" in roles2 and "nir" in roles2):
        raise DatacubeError(f"has no NDVI (or red and nir) variable (found: "
                            f"{', '.join(map(str, s2.data_vars)) or 'none'})", source=src2)

    x1, y1 = grid_coords(s1, source=src1)
    x2, y2 = grid_coords(s2, source=src2)
    crs1 = resolve_crs(s1, crs=crs, source=src1)
    crs2 = resolve_crs(s2, crs=crs, source=src2)
    if x1.shape != x2.shape or y1.shape != y2.shape or not (np.allclose(x1, x2, rtol=0, atol=1e-6)
                                                            and np.allclose(y1, y2, rtol=0, atol=1e-6)):
        raise DatacubeError(f"grid ({len(y1)} x {len(x1)} pixels from x {x1[0]:.1f}, y {y1[0]:.1f}) does not "
                            f"match the grid of {src2} ({len(y2)} x {len(x2)} pixels from x {x2[0]:.1f}, "
                            f"y {y2[0]:.1f}); resample one onto the other first", source=src1)
    if crs1 is not None and crs2 is not None and crs1 != crs2:
        raise DatacubeError(f"CRS {crs1.to_string()} differs from the CRS of {src2} ({crs2.to_string()})",
                            source=src1)

    t1 = time_values(s1["time"], source=src1, name="time")
    t2 = time_values(s2["time"], source=src2, name="time")
    pairs = pair_dates(t1, t2, tolerance_days=tolerance_days)
    kept = pairs[pairs["paired"]]
    if kept.empty:
        raise DatacubeError(f"no S2 date of {src2} has an S1 date of {src1} within {tolerance_days:g} days "
                            f"(S2 {pd.Timestamp(t2[0]).date()} … {pd.Timestamp(t2[-1]).date()}, "
                            f"S1 {pd.Timestamp(t1[0]).date()} … {pd.Timestamp(t1[-1]).date()})", source=src2)
    i1 = kept["s1_index"].to_numpy()
    i2 = kept["s2_index"].to_numpy()
    time = t2[i2]

    def take(ds: xr.Dataset, name: str, index: np.ndarray) -> xr.Variable:
        var = ds[name]
        if "time" in var.dims:
            var = var.isel(time=index)
        return xr.Variable(var.dims, var.values, var.attrs)

    data_vars = {roles1[role]: take(s1, roles1[role], i1) for role in _RADAR_ROLES}
    data_vars.update({roles2[role]: take(s2, roles2[role], i2) for role in _OPTICAL_ROLES if role in roles2})
    for role in _STATIC_ROLES:
        if role in roles2:
            data_vars[roles2[role]] = take(s2, roles2[role], i2)
        elif role in roles1:
            data_vars[roles1[role]] = take(s1, roles1[role], i1)
    attrs = dict(s2.attrs)
    attrs["source"] = f"{src1} + {src2}"
    attrs["pairing"] = describe_pairing(pairs, tolerance_days=tolerance_days)
    raw = xr.Dataset(data_vars, coords={"time": time, "y": y2, "x": x2, "s1_time": ("time", t1[i1])}, attrs=attrs)
    return standardize_cube(raw, source=attrs["source"], nodata=nodata, sigma0=sigma0, sigma0_log_dn=sigma0_log_dn,
                            crs=crs2 if crs2 is not None else crs1, max_pixels=max_pixels)

"""A true-colour picture of the scene for a date: map context that needs no internet (no Streamlit here).

From the cube's own optical bands (``red``, ``green``, ``blue`` reflectance, which the readers keep
from B04/B03/B02) when it has them; for the simulated demo scene, which has none, a plausible one
derived from its NDVI: each pixel mixes a bare-soil colour and a green-canopy colour by its vegetation
cover, ``((NDVI − NDVI_soil) / (NDVI_canopy − NDVI_soil))²`` (the scaled-NDVI cover of Carlson & Ripley,
1997), with each field's soil a little brighter or darker. Either way each pixel shows the chosen
date if it is clear there, else the nearest date on which it is clear.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

#: Reflectance (red, green, blue) of dry bare soil of an irrigated desert valley, and of a dense green canopy.
SOIL_RGB: tuple[float, float, float] = (0.20, 0.16, 0.12)
CANOPY_RGB: tuple[float, float, float] = (0.035, 0.075, 0.03)
NDVI_SOIL, NDVI_CANOPY = 0.15, 0.85
#: Display: reflectance mapped linearly from 0..DISPLAY_MAX to 0..255 with this gamma (a common true-colour stretch).
DISPLAY_MAX, DISPLAY_GAMMA = 0.3, 0.8


@dataclass(frozen=True)
class TrueColour:
    """``rgb`` (y, x, 3) float32 reflectance 0..1, NaN where no date is clear; ``days`` (y, x): days between
    the chosen date and the date shown (NaN where none); ``simulated``: derived from NDVI, not observed."""

    rgb: np.ndarray
    days: np.ndarray
    simulated: bool
    date: str

    @property
    def label(self) -> str:
        what = "simulated true colour (from the NDVI)" if self.simulated else "true colour (Sentinel-2 B04, B03, B02)"
        return f"{what}, {self.date} or the nearest clear date"

    def rgba(self) -> np.ndarray:
        """(y, x, 4) uint8 for display (:data:`DISPLAY_MAX`, :data:`DISPLAY_GAMMA`); transparent where NaN."""
        ok = np.isfinite(self.rgb).all(axis=-1)
        scaled = np.clip(np.nan_to_num(self.rgb) / DISPLAY_MAX, 0.0, 1.0) ** DISPLAY_GAMMA
        out = np.zeros(self.rgb.shape[:2] + (4,), dtype=np.uint8)
        out[..., :3] = np.rint(255 * scaled).astype(np.uint8)
        out[..., 3] = np.where(ok, 255, 0)
        return out


def has_bands(ds: xr.Dataset) -> bool:
    """Whether the cube holds its own true-colour bands."""
    return all(name in ds.variables for name in ("red", "green", "blue"))


def simulated_rgb(ndvi: np.ndarray, field: np.ndarray | None = None) -> np.ndarray:
    """(..., y, x) NDVI -> (..., y, x, 3) float32 reflectance: bare soil and canopy mixed by vegetation cover.

    ``field`` (y, x) ids vary the soil brightness by up to ±12 % per field (a fixed function of the id).
    """
    ndvi = np.asarray(ndvi, dtype=np.float32)
    cover = np.clip((ndvi - NDVI_SOIL) / (NDVI_CANOPY - NDVI_SOIL), 0.0, 1.0) ** 2
    soil = np.asarray(SOIL_RGB, dtype=np.float32)
    if field is not None:
        ids = np.asarray(field, dtype=np.int64)
        brightness = 1.0 + 0.12 * np.sin(ids * 2.399963)  # golden-angle steps: neighbouring ids differ
        soil = soil * brightness[..., None].astype(np.float32)
    rgb = cover[..., None] * np.asarray(CANOPY_RGB, dtype=np.float32) + (1.0 - cover[..., None]) * soil
    return np.where(np.isfinite(ndvi)[..., None], rgb, np.nan).astype(np.float32)


def composite(ds: xr.Dataset, ti: int) -> TrueColour:
    """The true colour of date index ``ti``, each pixel from the nearest date on which it is clear."""
    times = pd.DatetimeIndex(ds["time"].values)
    days_to = np.abs((times - times[ti]).days.to_numpy()).astype(np.float64)
    order = np.argsort(days_to, kind="stable")
    ny, nx = ds.sizes["y"], ds.sizes["x"]
    rgb = np.full((ny, nx, 3), np.nan, dtype=np.float32)
    days = np.full((ny, nx), np.nan)
    own = has_bands(ds)
    cloud = ds["cloud"] if "cloud" in ds.variables else None
    field = np.asarray(ds["field"].values) if "field" in ds.variables else None
    for t in order:
        empty = np.isnan(days)
        if not empty.any():
            break
        if own:
            layer = np.stack([np.asarray(ds[b].isel(time=int(t)).values) for b in ("red", "green", "blue")], axis=-1)
        else:
            layer = simulated_rgb(np.asarray(ds["ndvi"].isel(time=int(t)).values), field)
        clear = np.isfinite(layer).all(axis=-1)
        if cloud is not None:
            clear &= ~np.asarray(cloud.isel(time=int(t)).values, dtype=bool)
        take = empty & clear
        rgb[take] = layer[take]
        days[take] = days_to[t]
    return TrueColour(rgb=rgb, days=days, simulated=not own, date=str(times[ti].date()))

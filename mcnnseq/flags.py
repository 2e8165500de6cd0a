"""Where each value of a gap-filled series comes from: observed, cloud-filled, no-optical date (SPEC §5).

One integer code per (date, pixel) — the ``fill_source`` variable of the exports and the point
marks of every chart:

* :data:`OBSERVED` (0) — a clear optical observation: ``ndvi_filled`` is the observed NDVI;
* :data:`CLOUD_FILLED` (1) — the date has optical observations in the cube but not on this pixel
  (cloud, shadow, masked): the value is the model's prediction;
* :data:`NO_OPTICAL_DATE` (2) — the date has no clear optical observation anywhere in the cube
  (no acquisition, winter darkness, a whole-scene cloud): the value is the model's prediction;
* :data:`NO_VALUE` (3) — neither an observation nor a prediction (incomplete radar series).

:func:`optical_dates` decides which dates have optical observations (any clear pixel in the cube).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

OBSERVED: int = 0
CLOUD_FILLED: int = 1
NO_OPTICAL_DATE: int = 2
NO_VALUE: int = 3
#: code -> CF flag meaning (one word each, as CF's ``flag_meanings`` wants).
FLAG_MEANINGS: dict[int, str] = {OBSERVED: "observed", CLOUD_FILLED: "cloud_filled",
                                 NO_OPTICAL_DATE: "no_optical_date", NO_VALUE: "no_value"}
#: code -> label for charts and legends.
FLAG_LABELS: dict[int, str] = {OBSERVED: "observed", CLOUD_FILLED: "cloud-filled (predicted)",
                               NO_OPTICAL_DATE: "no optical date (predicted)", NO_VALUE: "no value"}
FILL_SOURCE_DTYPE = np.uint8


def fill_source_attrs() -> dict:
    """CF attributes of a ``fill_source`` variable (``flag_values``, ``flag_meanings``, ``long_name``)."""
    codes = sorted(FLAG_MEANINGS)
    return {"long_name": "source of each gap-filled NDVI value",
            "flag_values": np.asarray(codes, dtype=FILL_SOURCE_DTYPE),
            "flag_meanings": " ".join(FLAG_MEANINGS[c] for c in codes),
            "comment": "observed: clear optical NDVI; cloud_filled: predicted where this pixel had no clear value "
                       "on a date observed elsewhere in the cube; no_optical_date: predicted on a date with no "
                       "clear optical value anywhere in the cube; no_value: neither"}


def optical_dates(ds: xr.Dataset) -> np.ndarray:
    """(T,) bool: dates with at least one clear NDVI value in ``ds`` (``ndvi`` finite where not ``cloud``).

    Reads the cube's ``ndvi`` (and ``cloud``) once; works on lazy (dask) cubes. All False without ``ndvi``.
    """
    if "ndvi" not in ds.data_vars:
        return np.zeros(ds.sizes["time"], dtype=bool)
    clear = ds["ndvi"].notnull()
    if "cloud" in ds.data_vars:
        clear = clear & ~ds["cloud"].astype(bool)
    other = [d for d in clear.dims if d != "time"]
    return np.asarray(clear.any(dim=other).transpose("time").values, dtype=bool)


def fill_source(observed, predicted, optical) -> np.ndarray:
    """Codes (:data:`FILL_SOURCE_DTYPE`, shape of ``observed``) for one series or a block of a cube.

    ``observed``: the observed NDVI, NaN where not clear; ``predicted``: the model's NDVI (NaN = none),
    same shape; ``optical``: (T,) bool from :func:`optical_dates`, broadcast along the time axis,
    which is the **first** axis of ``observed`` ((T,), (T, n) or (T, y, x)).
    """
    obs = np.isfinite(np.asarray(observed))
    pred = np.isfinite(np.asarray(predicted))
    opt = np.asarray(optical, dtype=bool).reshape((-1,) + (1,) * (obs.ndim - 1))
    if opt.shape[0] != obs.shape[0]:
        raise ValueError(f"{opt.shape[0]} optical-date flags for {obs.shape[0]} dates")
    code = np.where(opt, CLOUD_FILLED, NO_OPTICAL_DATE)
    code = np.where(pred, code, NO_VALUE)
    return np.where(obs, OBSERVED, code).astype(FILL_SOURCE_DTYPE)


def point_flags(observed, predicted, optical) -> list[str]:
    """Per point of one pixel's series (T,): ``"observed"``, ``"cloud_filled"``, ``"no_optical_date"`` or
    ``"no_value"`` (the :data:`FLAG_MEANINGS` words) — what a chart marks on each date."""
    codes = fill_source(np.asarray(observed, dtype=float).reshape(-1), np.asarray(predicted, dtype=float).reshape(-1),
                        np.asarray(optical, dtype=bool).reshape(-1))
    return [FLAG_MEANINGS[int(c)] for c in codes]

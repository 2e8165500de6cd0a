"""Sample selection and the train/validation/test split of the paper (§2.2.4, Table 2).

Samples are pixels. A pixel is *complete* when its radar is finite on every date and its NDVI is
observed on every date on which the scene has any optical observation (dates with no optical value
anywhere, like the real cube's two winter months, are predicted but never scored). Complete pixels
are split at random, with a seed, into train 55 % / validation 15 % / test 30 %.

The "70 % cloud" scenario inherits from the "50 % cloud" one (Table 2): the extra clouds are laid on
the 50 % cube, so train and validation keep only the pixels that stay complete, and every pixel that
lost a date to the extra clouds joins the test set, scored against the NDVI under the clouds.

Pixel indices are flat indices into the raveled ``(y, x)`` grid (``iy * nx + ix``), sorted, int64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from mcnnseq.datacube import observed_dates_mask, reference_ndvi
from mcnnseq.errors import DatacubeError

SPLIT_FRACTIONS: tuple[float, float, float] = (0.55, 0.15, 0.30)


@dataclass(frozen=True)
class Split:
    """Train / validation / test pixel indices (flat, into the ``(y, x)`` grid of ``shape``)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    shape: tuple[int, int]
    seed: int

    def masks(self) -> dict[str, np.ndarray]:
        """``{"train", "val", "test"} -> (y, x)`` bool masks."""
        out = {}
        for name in ("train", "val", "test"):
            m = np.zeros(self.shape[0] * self.shape[1], dtype=bool)
            m[getattr(self, name)] = True
            out[name] = m.reshape(self.shape)
        return out

    def sizes(self) -> dict[str, int]:
        return {"train": int(self.train.size), "val": int(self.val.size), "test": int(self.test.size)}


def radar_complete(ds: xr.Dataset) -> np.ndarray:
    """``(y, x)`` bool: radar (VV and VH) finite on every date; only these pixels can be predicted."""
    vv = np.asarray(ds["vv"].values)
    vh = np.asarray(ds["vh"].values)
    return np.isfinite(vv).all(axis=0) & np.isfinite(vh).all(axis=0)


def complete_pixels(ds: xr.Dataset) -> np.ndarray:
    """``(y, x)`` bool: pixels usable as samples (radar complete, NDVI observed on every observed date)."""
    observed = observed_dates_mask(ds)
    ndvi = np.asarray(ds["ndvi"].values)[observed]
    return radar_complete(ds) & np.isfinite(ndvi).all(axis=0)


def split_pixels(ds: xr.Dataset, *, seed: int = 0,
                 fractions: tuple[float, float, float] = SPLIT_FRACTIONS) -> Split:
    """Split the complete pixels of ``ds`` at random into train / validation / test.

    Same ``ds`` and ``seed`` give the same split. Raises :class:`DatacubeError` when fewer than
    3 pixels are complete (nothing to train, validate and test on).
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    complete = complete_pixels(ds)
    idx = np.flatnonzero(complete.ravel())
    if idx.size < 3:
        raise DatacubeError(
            f"only {idx.size} pixel(s) have a complete NDVI series; at least 3 are needed to train, "
            "validate and test", source=ds.attrs.get("source"), variable="ndvi")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(idx)
    n_train = int(round(fractions[0] * idx.size))
    n_val = int(round(fractions[1] * idx.size))
    n_train = max(1, min(n_train, idx.size - 2))
    n_val = max(1, min(n_val, idx.size - n_train - 1))
    return Split(train=np.sort(perm[:n_train]), val=np.sort(perm[n_train:n_train + n_val]),
                 test=np.sort(perm[n_train + n_val:]), shape=complete.shape, seed=seed)


def inherit_split(base: Split, ds_cloudier: xr.Dataset) -> Split:
    """The split of a cloudier scenario inherited from ``base`` (Table 2's 70 % from 50 % case).

    Train and validation keep the pixels still complete in ``ds_cloudier``; the rest of them join
    the test set with ``base.test``. ``ds_cloudier`` must hold ``ndvi_true`` so the newly clouded
    test pixels can be scored.
    """
    shape = (ds_cloudier.sizes["y"], ds_cloudier.sizes["x"])
    if shape != base.shape:
        raise DatacubeError(f"grid {shape} differs from the grid {base.shape} the base split was made on",
                            source=ds_cloudier.attrs.get("source"))
    if "ndvi_true" not in ds_cloudier.variables:
        raise DatacubeError("the cloudier scenario needs 'ndvi_true' to score the newly clouded pixels",
                            source=ds_cloudier.attrs.get("source"), variable="ndvi_true")
    still = complete_pixels(ds_cloudier).ravel()
    train = base.train[still[base.train]]
    val = base.val[still[base.val]]
    lost = np.concatenate([base.train[~still[base.train]], base.val[~still[base.val]]])
    test = np.sort(np.concatenate([base.test, lost]))
    return Split(train=train, val=val, test=test, shape=base.shape, seed=base.seed)


def pixel_series(ds: xr.Dataset, index: np.ndarray, *, target: str = "ndvi") -> tuple[np.ndarray, np.ndarray]:
    """Samples for the models: radar in, NDVI out, for the flat pixel ``index``.

    Returns ``X`` of shape ``(n, T, 2)`` float32 — VV, VH in dB — and ``Y`` of shape ``(n, T)``
    float32 NDVI with NaN where there is no truth (never scored). ``target="ndvi"`` gives the observed
    NDVI (train/validation); ``target="reference"`` the NDVI to score against (``ndvi_true`` if present).
    """
    index = np.asarray(index, dtype=np.int64)
    ny, nx = ds.sizes["y"], ds.sizes["x"]
    iy, ix = np.divmod(index, nx)

    def take(name_or_da) -> np.ndarray:
        arr = name_or_da if isinstance(name_or_da, xr.DataArray) else ds[name_or_da]
        values = np.asarray(arr.transpose("time", "y", "x").values)
        return values[:, iy, ix].T  # (n, T)

    X = np.stack([take("vv"), take("vh")], axis=-1).astype(np.float32, copy=False)
    if target == "ndvi":
        Y = take("ndvi")
    elif target == "reference":
        Y = take(reference_ndvi(ds))
    else:
        raise ValueError(f"target must be 'ndvi' or 'reference', got {target!r}")
    Y = Y.astype(np.float32, copy=True)
    Y[:, ~observed_dates_mask(ds)] = np.nan  # a date with no optical observation is never scored
    return X, Y

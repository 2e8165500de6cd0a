"""How hard is the demo scene? Two linear yardsticks against real data (issue #7, SPEC §4).

* **Per-date linear regression** of NDVI on (VV, VH) of the same date, no temporal context: the
  simplest "radar to optics" mapping. Target band: mean test R² over the dates **0.30 … 0.50**
  (real cubes we measured: 0.16–0.36).
* **Whole-series ridge regression** of the 31-date NDVI series on the 62-value VV+VH series: how
  much of the NDVI series a linear map of the whole radar series explains. Target band **0.55 …
  0.75** (real cubes: 0.47–0.74).

Both are fitted on the train pixels of :func:`mcnnseq.sampling.split_pixels` (observed NDVI) and
scored per date on the test pixels against the reference NDVI (``ndvi_true`` where present). The
simulator is calibrated against these linear yardsticks only, never against a network's score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from mcnnseq.sampling import Split, inherit_split, pixel_series, split_pixels

#: Target bands (SPEC §4): mean per-date linear R², mean whole-series ridge R².
PER_DATE_BAND: tuple[float, float] = (0.30, 0.50)
SERIES_BAND: tuple[float, float] = (0.55, 0.75)
#: What real cubes scored on the same yardsticks (issue #7), for context in reports.
REAL_PER_DATE: tuple[float, float] = (0.16, 0.36)
REAL_SERIES: tuple[float, float] = (0.47, 0.74)


def r2_per_date(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Coefficient of determination per column, ``(T,)``; NaN truth ignored, NaN if < 2 values."""
    out = np.full(y_true.shape[1], np.nan)
    for t in range(y_true.shape[1]):
        ok = np.isfinite(y_true[:, t])
        if ok.sum() < 2:
            continue
        y = y_true[ok, t].astype(np.float64)
        sst = ((y - y.mean()) ** 2).sum()
        if sst > 0:
            out[t] = 1.0 - ((y - y_pred[ok, t]) ** 2).sum() / sst
    return out


def _fit_lstsq(x: np.ndarray, y: np.ndarray, alpha: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ridge (``alpha`` on the standardised features, none on the intercept) by least squares.
    ``x`` (n, F), ``y`` (n, K) -> ``(coef (F + 1, K), mean (F,), std (F,))`` for :func:`_predict`."""
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.hstack([np.ones((x.shape[0], 1)), (x - mu) / sd])
    if alpha > 0:
        reg = np.sqrt(alpha) * np.eye(z.shape[1])[1:]
        z = np.vstack([z, reg])
        y = np.vstack([y, np.zeros((reg.shape[0], y.shape[1]))])
    coef, *_ = np.linalg.lstsq(z, y, rcond=None)
    return coef, mu, sd


def _predict(model: tuple[np.ndarray, np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    coef, mu, sd = model
    return coef[0] + ((x - mu) / sd) @ coef[1:]


def per_date_linear_r2(ds: xr.Dataset, split: Split) -> np.ndarray:
    """Test R² ``(T,)`` of a per-date linear regression NDVI_t ~ 1 + VV_t + VH_t (dB) fitted on the
    train pixels; NaN on dates without truth."""
    x_tr, y_tr = pixel_series(ds, split.train, target="ndvi")
    x_te, y_te = pixel_series(ds, split.test, target="reference")
    pred = np.full(y_te.shape, np.nan)
    for t in range(y_tr.shape[1]):
        ok = np.isfinite(y_tr[:, t])
        if ok.sum() < 3:
            continue
        model = _fit_lstsq(x_tr[ok, t, :].astype(np.float64), y_tr[ok, t:t + 1].astype(np.float64))
        pred[:, t] = _predict(model, x_te[:, t, :].astype(np.float64))[:, 0]
    return r2_per_date(y_te, pred)


def whole_series_ridge_r2(ds: xr.Dataset, split: Split, *, alpha: float = 1.0) -> np.ndarray:
    """Test R² ``(T,)`` of a ridge regression of the whole NDVI series on the whole VV+VH series
    (2T features, dB, standardised), fitted on the train pixels."""
    x_tr, y_tr = pixel_series(ds, split.train, target="ndvi")
    x_te, y_te = pixel_series(ds, split.test, target="reference")
    observed = np.isfinite(y_tr).all(axis=0)
    flat_tr = x_tr.reshape(len(x_tr), -1).astype(np.float64)
    flat_te = x_te.reshape(len(x_te), -1).astype(np.float64)
    model = _fit_lstsq(flat_tr, y_tr[:, observed].astype(np.float64), alpha=alpha)
    pred = np.full(y_te.shape, np.nan)
    pred[:, observed] = _predict(model, flat_te)
    return r2_per_date(y_te, pred)


@dataclass(frozen=True)
class Difficulty:
    """Difficulty figures of one scene: per-date R² ``(T,)`` of both yardsticks and split sizes."""

    scenario: str
    dates: list[str]
    per_date: np.ndarray
    series: np.ndarray
    sizes: dict[str, int]

    @property
    def per_date_mean(self) -> float:
        return float(np.nanmean(self.per_date))

    @property
    def series_mean(self) -> float:
        return float(np.nanmean(self.series))

    def in_band(self) -> bool:
        """Both means inside their target bands."""
        return in_band(self.per_date_mean, PER_DATE_BAND) and in_band(self.series_mean, SERIES_BAND)


def in_band(value: float, band: tuple[float, float]) -> bool:
    """``band[0] <= value <= band[1]`` (False for NaN)."""
    return bool(band[0] <= value <= band[1])


def difficulty(ds: xr.Dataset, *, split: Split | None = None, seed: int = 0, alpha: float = 1.0) -> Difficulty:
    """Both yardsticks on ``ds`` with ``split`` (default: ``split_pixels(ds, seed=seed)``)."""
    split = split or split_pixels(ds, seed=seed)
    dates = [str(np.datetime_as_string(t, unit="D")) for t in ds["time"].values]
    return Difficulty(scenario=str(ds.attrs.get("scenario", "?")), dates=dates,
                      per_date=per_date_linear_r2(ds, split), series=whole_series_ridge_r2(ds, split, alpha=alpha),
                      sizes=split.sizes())


def scenario_difficulties(ds50: xr.Dataset, ds70: xr.Dataset, *, seed: int = 0, alpha: float = 1.0
                          ) -> tuple[Difficulty, Difficulty]:
    """The 50 % scene with its own split, and the 70 % scene with the split inherited from it (Table 2)."""
    base = split_pixels(ds50, seed=seed)
    return (difficulty(ds50, split=base, alpha=alpha),
            difficulty(ds70, split=inherit_split(base, ds70), alpha=alpha))

"""Accuracy metrics of predicted NDVI (paper §3 Eqs. 15–16, Tables 3–4, Figs. 6–11, 13–15).

Every function is NaN-aware: a NaN in the truth means *no truth* (cloud, stripe, a date with no
optical value anywhere) and that entry is never scored. A NaN in the prediction (radar incomplete,
so nothing could be predicted) cannot be scored either. Only entries where both the truth and the
prediction are finite count; the ``n`` columns say how many did.

Conventions (chosen here, the paper is silent):

* R² is ``1 - SS_res / SS_tot`` (Eq. 16). When the truth is constant (``SS_tot = 0``) R² is
  undefined and returned as NaN, never ``-inf``; with no scored entry R² and RMSE are NaN.
* RMSE is the standard ``sqrt(mean((y - ŷ)²))``. The paper's Eq. 15 is misprinted (it shows the
  mean absolute error without the square and the root); the spec says to use the standard RMSE.
* Standard deviations are population standard deviations (``ddof=0``) unless asked otherwise.
* Radar statistics are taken on the dB values, as the paper plots them (Fig. 9e–f).

Only numpy and pandas are used; arrays may be numpy arrays or anything :func:`numpy.asarray`
accepts (xarray DataArrays included).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

#: Default edges of the error histogram (prediction − truth, NDVI): 80 bins of 0.025 over −1 … 1.
ERROR_BINS: np.ndarray = np.linspace(-1.0, 1.0, 81)


class Histogram(NamedTuple):
    """A 1-D histogram: ``counts`` (n_bins,) int64 and ``edges`` (n_bins + 1,) float64."""

    counts: np.ndarray
    edges: np.ndarray


class Histogram2D(NamedTuple):
    """A 2-D histogram: ``counts[i, j]`` = entries with truth in ``x_edges`` bin i and prediction in
    ``y_edges`` bin j (so a plot with truth on x needs ``counts.T`` as its image)."""

    counts: np.ndarray
    x_edges: np.ndarray
    y_edges: np.ndarray


# --------------------------------------------------------------------------------------------- basics

def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if t.shape != p.shape:
        raise ValueError(f"y_true has shape {t.shape} but y_pred has shape {p.shape}; they must match")
    return t, p


def valid_mask(y_true, y_pred) -> np.ndarray:
    """Bool mask, shape of the inputs: entries that are scored (truth and prediction both finite)."""
    t, p = _pair(y_true, y_pred)
    return np.isfinite(t) & np.isfinite(p)


def _valid_flat(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t, p = _pair(y_true, y_pred)
    ok = np.isfinite(t) & np.isfinite(p)
    return t[ok], p[ok]


def _r2(t: np.ndarray, p: np.ndarray) -> float:
    if t.size == 0 or t.max() == t.min():  # exact test: a float mean of equal values need not be exact
        return float("nan")
    ss_res = float(np.sum((t - p) ** 2))
    ss_tot = float(np.sum((t - t.mean()) ** 2))
    return 1.0 - ss_res / ss_tot


def _rmse(t: np.ndarray, p: np.ndarray) -> float:
    if t.size == 0:
        return float("nan")
    return float(np.sqrt(np.mean((t - p) ** 2)))


def r2_score(y_true, y_pred) -> float:
    """Coefficient of determination ``1 - SS_res/SS_tot`` over all scored entries (any shape, flattened).

    NaN when nothing is scored or the truth is constant (R² undefined).
    """
    return _r2(*_valid_flat(y_true, y_pred))


def rmse(y_true, y_pred) -> float:
    """Root mean squared error ``sqrt(mean((y_true - y_pred)²))`` over all scored entries (NDVI units).

    This is the standard RMSE; the paper's Eq. 15 is misprinted (no square, no root). NaN when
    nothing is scored.
    """
    return _rmse(*_valid_flat(y_true, y_pred))


# --------------------------------------------------------------------------------- per date (Table 4)

def _date_index(dates, length: int) -> pd.Index:
    if dates is None:
        return pd.RangeIndex(length, name="time")
    index = pd.DatetimeIndex(pd.to_datetime(np.asarray(dates)), name="time")
    if len(index) != length:
        raise ValueError(f"{len(index)} dates given for {length} time steps")
    return index


def per_date_metrics(y_true, y_pred, dates=None, *, min_n: int = 1) -> pd.DataFrame:
    """R², RMSE and the number of scored pixels for each date (Table 4 / Fig. 6 form).

    ``y_true`` and ``y_pred`` are ``(n, T)`` NDVI (pixels × dates), NaN in ``y_true`` = no truth.
    Returns a DataFrame indexed by ``time`` (``dates``, length T; 0 … T−1 when omitted) with columns
    ``r2``, ``rmse`` (float) and ``n`` (int). A date with no truth is kept, with NaN metrics and n = 0;
    so is a date with fewer than ``min_n`` scored pixels (its ``n`` says how many it had).
    """
    t, p = _pair(y_true, y_pred)
    if t.ndim != 2:
        raise ValueError(f"expected (n, T) arrays, got shape {t.shape}")
    index = _date_index(dates, t.shape[1])
    ok = np.isfinite(t) & np.isfinite(p)
    rows = []
    for j in range(t.shape[1]):
        tj, pj = t[ok[:, j], j], p[ok[:, j], j]
        n = int(tj.size)
        rows.append((_r2(tj, pj), _rmse(tj, pj), n) if n >= max(1, min_n) else (np.nan, np.nan, n))
    out = pd.DataFrame(rows, index=index, columns=["r2", "rmse", "n"])
    out["n"] = out["n"].astype(np.int64)
    return out


def pooled_scores(y_true, y_pred, *, min_n: int = 1) -> tuple[float, float, int]:
    """``(r2, rmse, n)`` pooled over all scored entries (any shape); NaN scores below ``min_n`` entries."""
    t, p = _valid_flat(y_true, y_pred)
    if t.size < max(1, min_n):
        return float("nan"), float("nan"), int(t.size)
    return _r2(t, p), _rmse(t, p), int(t.size)


def scores_by_group(y_true, y_pred, groups, *, order: Sequence | None = None, min_n: int = 1,
                    column: str = "group") -> pd.DataFrame:
    """R², RMSE and n pooled within each group of entries (e.g. gap length, days since a clear date).

    ``y_true``, ``y_pred``, ``groups`` have one shape; entries whose truth or prediction is not finite
    are not scored. ``order`` lists the groups to report (missing ones get n = 0 and NaN scores;
    default: the groups present, sorted). Returns a DataFrame with columns ``column``, ``r2``,
    ``rmse``, ``n``, one row per group.
    """
    t, p = _pair(y_true, y_pred)
    g = np.asarray(groups)
    if g.shape != t.shape:
        raise ValueError(f"groups have shape {g.shape} but the truth has shape {t.shape}")
    ok = np.isfinite(t) & np.isfinite(p)
    keys = list(order) if order is not None else sorted(set(g[ok].tolist()))
    rows = []
    for key in keys:
        sel = ok & (g == key)
        rows.append((key, *pooled_scores(t[sel], p[sel], min_n=min_n)))
    out = pd.DataFrame(rows, columns=[column, "r2", "rmse", "n"])
    out["n"] = out["n"].astype(np.int64)
    return out


def add_mean_row(table: pd.DataFrame, *, label: str = "mean") -> pd.DataFrame:
    """``table`` with one more row ``label``: the column means over the scored dates (NaNs skipped).

    Works on :func:`compare_models` output and on :func:`mcnnseq.paper.table4` alike.
    """
    mean = table.mean(axis=0, skipna=True).to_frame(label).T
    mean.columns = table.columns
    out = pd.concat([table, mean], axis=0)
    out.index.name = table.index.name
    return out


def compare_models(predictions: Mapping[str, np.ndarray], y_true, dates=None, *, mean_row: bool = True,
                   include_n: bool = False, min_n: int = 1) -> pd.DataFrame:
    """Per-date R² and RMSE of several models on the same truth, laid out like ``paper.table4()``.

    ``predictions`` maps a model name to its ``(n, T)`` NDVI prediction; ``y_true`` is ``(n, T)``.
    Columns are a MultiIndex ``(model, metric)`` with metrics ``r2``, ``rmse`` (and ``n`` when
    ``include_n``), rows the dates (index ``time``) plus, when ``mean_row``, a last row ``"mean"``
    holding the mean over the scored dates (dates with no truth are skipped, as in the paper's mean).
    A date with fewer than ``min_n`` truths is not scored (NaN).
    """
    if not predictions:
        raise ValueError("no model predictions to compare")
    metrics = ["r2", "rmse", "n"] if include_n else ["r2", "rmse"]
    frames = {name: per_date_metrics(y_true, pred, dates, min_n=min_n)[metrics] for name, pred in predictions.items()}
    out = pd.concat(frames, axis=1, names=["model", "metric"])
    if mean_row:
        out = add_mean_row(out)
    return out


# ------------------------------------------------------------------- per class profiles (Table 3, Figs. 9–11)

def _class_index(classes, shape_yx: tuple[int, int], mask, ignore: Iterable) -> tuple[np.ndarray, np.ndarray]:
    """Flat class position per pixel (−1 = not used) and the sorted class labels."""
    cls = np.asarray(classes)
    if cls.shape != shape_yx:
        raise ValueError(f"class map has shape {cls.shape}, expected the grid shape {shape_yx}")
    use = np.ones(shape_yx, dtype=bool)
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        if m.shape != shape_yx:
            raise ValueError(f"mask has shape {m.shape}, expected the grid shape {shape_yx}")
        use &= m
    ignore = list(ignore)
    if ignore:
        use &= ~np.isin(cls, ignore)
    labels, inverse = np.unique(cls[use], return_inverse=True)
    pos = np.full(shape_yx, -1, dtype=np.int64)
    pos[use] = inverse.ravel()
    return pos.ravel(), labels


def _grouped_stats(values: np.ndarray, pos: np.ndarray, n_classes: int, ddof: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per date and class: mean, std, count of the finite values. ``values`` (T, y, x); outputs (T, K)."""
    nt = values.shape[0]
    mean = np.full((nt, n_classes), np.nan)
    std = np.full((nt, n_classes), np.nan)
    count = np.zeros((nt, n_classes), dtype=np.int64)
    used = pos >= 0
    for j in range(nt):
        row = np.asarray(values[j], dtype=np.float64).ravel()
        ok = used & np.isfinite(row)
        key, vals = pos[ok], row[ok]
        count[j] = np.bincount(key, minlength=n_classes)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.bincount(key, weights=vals, minlength=n_classes) / count[j]
            # two passes (deviations from the mean) for accuracy on nearly constant profiles
            sq = np.bincount(key, weights=(vals - m[key]) ** 2, minlength=n_classes)
            s = np.sqrt(sq / (count[j] - ddof))
        s[count[j] - ddof <= 0] = np.nan
        mean[j], std[j] = m, s
    return mean, std, count


def _tidy(labels: np.ndarray, index: pd.Index, columns: dict[str, np.ndarray],
          class_names: Mapping | None, class_column: str) -> pd.DataFrame:
    nt, k = len(index), len(labels)
    data = {class_column: np.tile(labels, nt), "time": np.repeat(np.asarray(index), k)}
    for name, arr in columns.items():
        data[name] = arr.reshape(nt * k)
    out = pd.DataFrame(data)
    if class_names is not None:
        out.insert(1, "name", out[class_column].map(lambda c: class_names.get(c, str(c))))
    return out.sort_values([class_column, "time"], kind="stable").reset_index(drop=True)


def class_profiles(observed, predicted, classes, *, dates=None, mask=None, ignore: Iterable = (0,),
                   paired: bool = False, ddof: int = 0, class_names: Mapping | None = None,
                   class_column: str = "class") -> pd.DataFrame:
    """Mean NDVI profile per class (crop or field) and date, observed vs predicted (Figs. 9–11).

    ``observed`` (T, y, x) reference NDVI (NaN = no observation), ``predicted`` (T, y, x) NDVI,
    ``classes`` (y, x) integer crop codes or field ids, ``mask`` optional (y, x) bool (pixels to use,
    e.g. the test pixels); classes in ``ignore`` (default 0 = unknown / no field) are left out.
    Observed statistics use the pixels observed on that date; predicted statistics use every pixel
    with a prediction, or, when ``paired``, only the pixel-dates that have an observation.

    Returns a tidy DataFrame, one row per (class, date): ``class`` (``class_column``), ``name``
    (when ``class_names`` is given), ``time``, ``obs_mean``, ``obs_std``, ``obs_n``, ``pred_mean``,
    ``pred_std``, ``pred_n`` and the ±2σ bands ``obs_lo``, ``obs_hi``, ``pred_lo``, ``pred_hi``
    (mean ∓ 2·std). A date with nothing observed keeps its row with NaN observed statistics.
    """
    obs = np.asarray(observed)
    pred = np.asarray(predicted)
    if obs.shape != pred.shape or obs.ndim != 3:
        raise ValueError(f"observed {obs.shape} and predicted {pred.shape} must be (T, y, x) arrays of one shape")
    pos, labels = _class_index(classes, obs.shape[1:], mask, ignore)
    if paired:
        pred = np.where(np.isfinite(obs), pred, np.nan)
    om, os_, on = _grouped_stats(obs, pos, labels.size, ddof)
    pm, ps, pn = _grouped_stats(pred, pos, labels.size, ddof)
    index = _date_index(dates, obs.shape[0])
    cols = {"obs_mean": om, "obs_std": os_, "obs_n": on, "pred_mean": pm, "pred_std": ps, "pred_n": pn,
            "obs_lo": om - 2 * os_, "obs_hi": om + 2 * os_, "pred_lo": pm - 2 * ps, "pred_hi": pm + 2 * ps}
    return _tidy(labels, index, cols, class_names, class_column)


def profile_agreement(profiles: pd.DataFrame, *, class_column: str = "class") -> pd.DataFrame:
    """R² and RMSE between the observed and the predicted mean curve of each class (Table 3 form).

    ``profiles`` is :func:`class_profiles` output. Dates where either mean is missing are skipped.
    Returns a DataFrame indexed by class with columns ``r2``, ``rmse``, ``n_dates`` (dates scored)
    and ``n_pixels`` (the largest number of pixels of the class observed on one date).
    """
    rows = {}
    for cls, g in profiles.groupby(class_column, sort=True):
        t, p = _valid_flat(g["obs_mean"].to_numpy(), g["pred_mean"].to_numpy())
        rows[cls] = (_r2(t, p), _rmse(t, p), int(t.size), int(g["obs_n"].max()))
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["r2", "rmse", "n_dates", "n_pixels"])
    out.index.name = class_column
    return out


def radar_profiles(vv, vh, classes, *, dates=None, mask=None, ignore: Iterable = (0,), ddof: int = 0,
                   class_names: Mapping | None = None, class_column: str = "class") -> pd.DataFrame:
    """Mean and std of VV and VH backscatter (dB) per class and date, for the radar panels (Fig. 9e–f).

    ``vv``, ``vh`` (T, y, x) dB; statistics over the finite values, taken in dB. Returns a tidy
    DataFrame: ``class``, [``name``], ``time``, ``vv_mean``, ``vv_std``, ``vh_mean``, ``vh_std``, ``n``
    (pixels with a finite VV value on that date).
    """
    a = np.asarray(vv)
    b = np.asarray(vh)
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(f"vv {a.shape} and vh {b.shape} must be (T, y, x) arrays of one shape")
    pos, labels = _class_index(classes, a.shape[1:], mask, ignore)
    am, as_, an = _grouped_stats(a, pos, labels.size, ddof)
    bm, bs, _ = _grouped_stats(b, pos, labels.size, ddof)
    index = _date_index(dates, a.shape[0])
    cols = {"vv_mean": am, "vv_std": as_, "vh_mean": bm, "vh_std": bs, "n": an}
    return _tidy(labels, index, cols, class_names, class_column)


# ------------------------------------------------------------------------------- per pixel (Fig. 15)

def _pixel_sums(t: np.ndarray, p: np.ndarray):
    ok = np.isfinite(t) & np.isfinite(p)
    n = ok.sum(axis=0)
    tz = np.where(ok, t, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = tz.sum(axis=0) / n
        ss_res = np.where(ok, (t - p) ** 2, 0.0).sum(axis=0)
        ss_tot = np.where(ok, (t - mean) ** 2, 0.0).sum(axis=0)
    tmax = np.where(ok, t, -np.inf).max(axis=0)
    tmin = np.where(ok, t, np.inf).min(axis=0)
    return n, ss_res, ss_tot, tmax == tmin


def pixel_r2_map(y_true, y_pred, *, min_dates: int = 3, block_rows: int = 256) -> np.ndarray:
    """Per-pixel R² of the predicted NDVI time series against the truth (Fig. 15).

    ``y_true``, ``y_pred`` (T, y, x). Returns (y, x) float32: for each pixel, R² over its scored
    dates; NaN where fewer than ``min_dates`` dates are scored or the true series is constant.
    Computed in blocks of ``block_rows`` rows to bound memory.
    """
    return _pixel_map(y_true, y_pred, min_dates=min_dates, block_rows=block_rows, kind="r2")


def pixel_rmse_map(y_true, y_pred, *, min_dates: int = 1, block_rows: int = 256) -> np.ndarray:
    """Per-pixel RMSE (NDVI) over the scored dates, (T, y, x) -> (y, x) float32; NaN below ``min_dates``."""
    return _pixel_map(y_true, y_pred, min_dates=min_dates, block_rows=block_rows, kind="rmse")


def _pixel_map(y_true, y_pred, *, min_dates: int, block_rows: int, kind: str) -> np.ndarray:
    shape_t = np.shape(y_true)
    if shape_t != np.shape(y_pred) or len(shape_t) != 3:
        raise ValueError(f"y_true {shape_t} and y_pred {np.shape(y_pred)} must be (T, y, x) arrays of one shape")
    if min_dates < 1:
        raise ValueError(f"min_dates must be at least 1, got {min_dates}")
    ny = shape_t[1]
    out = np.full(shape_t[1:], np.nan, dtype=np.float32)
    for y0 in range(0, ny, max(1, block_rows)):
        sl = slice(y0, min(ny, y0 + max(1, block_rows)))
        t = np.asarray(y_true[:, sl], dtype=np.float64)
        p = np.asarray(y_pred[:, sl], dtype=np.float64)
        n, ss_res, ss_tot, constant = _pixel_sums(t, p)
        with np.errstate(invalid="ignore", divide="ignore"):
            if kind == "r2":
                val = 1.0 - ss_res / ss_tot
                val[constant] = np.nan
            else:
                val = np.sqrt(ss_res / n)
        val[n < min_dates] = np.nan
        out[sl] = val
    return out


# ------------------------------------------------------------------- one date (Figs. 7, 8, 13, 14)

def error_histogram(y_true, y_pred, *, bins: int | Sequence[float] | np.ndarray = ERROR_BINS,
                    range: tuple[float, float] | None = None) -> Histogram:
    """Histogram of the errors ``y_pred − y_true`` (NDVI) over the scored entries (any shape).

    ``bins`` are edges (default :data:`ERROR_BINS`, −1 … 1 by 0.025) or a number of bins over
    ``range``. Errors outside the edges are not counted (``counts.sum()`` tells how many were).
    """
    t, p = _valid_flat(y_true, y_pred)
    counts, edges = np.histogram(p - t, bins=bins, range=range)
    return Histogram(counts.astype(np.int64), edges.astype(np.float64))


def density_scatter(y_true, y_pred, *, bins: int | Sequence = 100,
                    range: tuple[float, float] = (-0.2, 1.0)) -> Histogram2D:
    """2-D histogram of (truth, prediction) pairs of NDVI for a density scatter plot.

    ``bins`` per axis over ``range`` (both axes share it). ``counts[i, j]``: truth in bin i,
    prediction in bin j. Pairs outside the range are not counted.
    """
    t, p = _valid_flat(y_true, y_pred)
    counts, xe, ye = np.histogram2d(t, p, bins=bins, range=[range, range])
    return Histogram2D(counts.astype(np.int64), xe, ye)

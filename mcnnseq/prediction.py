"""Whole-scene prediction with bounded memory: radar cube in, predicted and gap-filled NDVI cubes out.

A trained model maps each pixel's Sentinel-1 series ``(T, 2)`` (VV, VH in dB) to its NDVI series
``(T,)``. Here every pixel of a cube is predicted, a block of rows at a time, so that never more
than about ``chunk_pixels`` pixels' inputs ``(n, T, 2)`` float32 are in memory at once, whether
the cube's variables are numpy arrays or lazy (dask, or a NetCDF opened with ``chunks=``).

Outputs (same grid, coordinates and CRS as the input):

* ``ndvi_pred`` (time, y, x) float32 — the model's NDVI on every date; NaN where the radar of
  the pixel is incomplete (a NaN VV or VH on any date), since the model needs the whole series;
* ``ndvi_filled`` (time, y, x) float32 — the observed NDVI where clear, the prediction under
  clouds and wherever the optical value is missing;
* ``ndvi_std`` (time, y, x) float32 — the calibrated standard deviation of ``ndvi_pred``
  (:mod:`mcnnseq.uncertainty`), for models that have a σ model (the trained networks);
* ``fill_source`` (time, y, x) uint8 — where each ``ndvi_filled`` value comes from (observed,
  cloud-filled, no-optical date, no value: :mod:`mcnnseq.flags`), when the cube has ``ndvi``.

Any object with a ``predict(X)`` method (:class:`Predictor`) is a model here; the trained models of
:mod:`mcnnseq.training` are, and so is a plain function wrapped in a small class for tests.

Numerical precision: a model whose ``predict`` takes ``precision=`` (the trained networks) predicts
whole scenes at :data:`SCENE_PRECISION` (``"auto"``: the fast path of
:mod:`mcnnseq.models.fast_inference`, bfloat16 where the hardware has it natively; its change in test
R² is measured by ``benchmarks/benchmark.py``); pass ``precision="reference"`` for the models' own
float32 forward.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Protocol, runtime_checkable

import numpy as np
import xarray as xr

from mcnnseq.datacube import DIMS
from mcnnseq.errors import CheckpointError, DatacubeError

#: Default number of pixels predicted per call of ``model.predict`` (about 16 MB of input at T = 31).
CHUNK_PIXELS: int = 65_536

ProgressCallback = Callable[[int, int], None]

#: How a trained network may compute (see :mod:`mcnnseq.models.fast_inference`): ``"auto"`` (the fastest
#: path this machine supports within the accuracy bound), ``"bf16"``, ``"fp32"`` (fast path, float32),
#: ``"reference"`` (the model's own float32 forward; what evaluation uses).
PRECISIONS: tuple[str, ...] = ("auto", "bf16", "fp32", "reference")
#: Precision of whole-scene prediction (``predict_cube``, ``predict_multi``, the CLI's ``predict``).
SCENE_PRECISION: str = "auto"


@runtime_checkable
class Predictor(Protocol):
    """A model: ``predict(X, ndvi=None)`` -> (n, T_out) float32 NDVI.

    ``X`` (n, T, 2) float32 VV, VH in dB. ``ndvi`` (n, T_out) float32 is the pixel's *observed*
    (clear) NDVI, NaN where missing — its mask is ``isfinite(ndvi)``. Models that use it (the classic
    gap-fillers, the fusion network) say so with a true ``uses_ndvi`` attribute; radar-only models
    ignore it, and a model without ``uses_ndvi`` is called as ``predict(X)``.
    """

    def predict(self, X: np.ndarray) -> np.ndarray: ...


def uses_ndvi(model: Predictor) -> bool:
    """True when ``model`` takes the observed NDVI (``predict(X, ndvi=...)``)."""
    return bool(getattr(model, "uses_ndvi", False))


def takes_precision(model: Predictor) -> bool:
    """True when ``model.predict`` accepts ``precision=`` (one of :data:`PRECISIONS`)."""
    try:
        return "precision" in inspect.signature(model.predict).parameters
    except (TypeError, ValueError):
        return False


def call_predict(model: Predictor, X: np.ndarray, ndvi: np.ndarray | None = None, *,
                 precision: str | None = None) -> np.ndarray:
    """``model.predict(X)``, with ``ndvi=`` (all-NaN when not given) for a model that :func:`uses_ndvi`.

    ``precision`` (one of :data:`PRECISIONS`) is passed to models that :func:`takes_precision`; None
    leaves the model's own default.
    """
    kwargs = {"precision": precision} if precision is not None and takes_precision(model) else {}
    if not uses_ndvi(model):
        return model.predict(X, **kwargs)
    if ndvi is None:
        ndvi = np.full(X.shape[:2], np.nan, dtype=np.float32)
    return model.predict(X, ndvi=ndvi, **kwargs)


def has_std(model) -> bool:
    """True when ``model`` gives a σ with its predictions (``predict_with_std`` and a σ model, see
    :mod:`mcnnseq.uncertainty`)."""
    return callable(getattr(model, "predict_with_std", None)) and getattr(model, "uncertainty", None) is not None


def call_predict_std(model, X: np.ndarray, ndvi: np.ndarray | None = None, *,
                     precision: str | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """``(prediction, σ)`` (n, T) of any model (:mod:`mcnnseq.prediction` contract); σ None without a σ model."""
    if not has_std(model):
        return np.asarray(call_predict(model, X, ndvi, precision=precision), dtype=np.float32), None
    kwargs = {} if precision is None else {"precision": precision}
    if uses_ndvi(model):
        if ndvi is None:
            ndvi = np.full(X.shape[:2], np.nan, dtype=np.float32)
        return model.predict_with_std(X, ndvi=ndvi, **kwargs)
    return model.predict_with_std(X, **kwargs)


def model_name(model: Predictor) -> str:
    """A display name for ``model``: its ``name`` attribute, its config's ``model``/``name``, or its class."""
    name = getattr(model, "name", None)
    if isinstance(name, str) and name:
        return name
    config = getattr(model, "config", None)
    for key in ("model", "name", "kind"):
        value = config.get(key) if isinstance(config, Mapping) else getattr(config, key, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__


def block_rows(nx: int, chunk_pixels: int) -> int:
    """Rows per block so that a block holds at most ``chunk_pixels`` pixels (at least one row)."""
    return max(1, int(chunk_pixels) // max(1, int(nx)))


def _source(ds: xr.Dataset) -> str:
    return str(ds.attrs.get("source") or "datacube")


def _check_inputs(ds: xr.Dataset, chunk_pixels: int) -> None:
    if not isinstance(chunk_pixels, (int, np.integer)) or chunk_pixels < 1:
        raise ValueError(f"chunk_pixels must be a positive integer, got {chunk_pixels!r}")
    if not isinstance(ds, xr.Dataset):
        raise DatacubeError(f"expected an xarray.Dataset, got {type(ds).__name__}")
    for dim in DIMS:
        if dim not in ds.dims:
            raise DatacubeError(f"missing dimension '{dim}' (a datacube has dims {DIMS})", source=_source(ds))
    for name in ("vv", "vh"):
        if name not in ds.data_vars:
            raise DatacubeError("missing: the radar is needed to predict NDVI", source=_source(ds), variable=name)
        if set(ds[name].dims) != set(DIMS):
            raise DatacubeError(f"has dims {ds[name].dims}, expected {DIMS}", source=_source(ds), variable=name)


def _read(ds: xr.Dataset, name: str, rows: slice) -> np.ndarray:
    """``(T, rows, x)`` values of one variable; reads (or computes) only those rows."""
    return np.asarray(ds[name].isel(y=rows).transpose(*DIMS).values)


def _observed(ds: xr.Dataset, rows: slice) -> np.ndarray | None:
    """``(T, rows, x)`` float32 observed NDVI, NaN where cloudy or missing; None without ``ndvi``."""
    if "ndvi" not in ds.data_vars:
        return None
    ndvi = _read(ds, "ndvi", rows).astype(np.float32, copy=False)
    if "cloud" in ds.data_vars:
        ndvi = np.where(_read(ds, "cloud", rows).astype(bool), np.float32(np.nan), ndvi)
    return ndvi


def predict_radar(model: Predictor, vv: np.ndarray, vh: np.ndarray, *, chunk_pixels: int = CHUNK_PIXELS,
                  name: str | None = None, source: str | None = None, ndvi: np.ndarray | None = None,
                  precision: str = SCENE_PRECISION) -> np.ndarray:
    """Predict NDVI for a block of radar (see :func:`predict_radar_std`, of which this is the first output)."""
    return predict_radar_std(model, vv, vh, chunk_pixels=chunk_pixels, name=name, source=source, ndvi=ndvi,
                             precision=precision, with_std=False)[0]


def predict_radar_std(model: Predictor, vv: np.ndarray, vh: np.ndarray, *, chunk_pixels: int = CHUNK_PIXELS,
                      name: str | None = None, source: str | None = None, ndvi: np.ndarray | None = None,
                      precision: str = SCENE_PRECISION, with_std: bool = True
                      ) -> tuple[np.ndarray, np.ndarray | None]:
    """Predict NDVI for a block of radar: ``vv``, ``vh`` (T, rows, x) dB -> (T, rows, x) float32 NDVI.

    ``ndvi`` (T, rows, x), the observed NDVI (NaN where cloudy or missing), goes to models that
    :func:`uses_ndvi`. ``precision`` (:data:`PRECISIONS`) goes to models that :func:`takes_precision`.
    Returns ``(prediction, std)``: ``std`` (T, rows, x) float32 is the calibrated σ for models that
    have one (:func:`has_std`) when ``with_std``, else None.

    Pixels with a non-finite VV or VH on any date get NaN. ``model.predict`` is called on at most
    ``chunk_pixels`` pixels at a time and must return T dates per pixel, else
    :class:`~mcnnseq.errors.CheckpointError` (naming the model's checkpoint file when it has a
    ``source`` attribute, and the cube ``source``).
    """
    nt, nrow, nx = vv.shape
    n = nrow * nx
    out = np.full((n, nt), np.nan, dtype=np.float32)
    std = np.full((n, nt), np.nan, dtype=np.float32) if with_std and has_std(model) else None

    def shaped(a):
        return None if a is None else a.reshape(nrow, nx, nt).transpose(2, 0, 1)

    if n == 0 or nt == 0:
        return shaped(out), shaped(std)
    # (T, rows, x) -> (rows*x, T): one transpose per polarisation, then pairs are gathered per chunk
    a = np.ascontiguousarray(np.asarray(vv, dtype=np.float32).reshape(nt, n).T)
    b = np.ascontiguousarray(np.asarray(vh, dtype=np.float32).reshape(nt, n).T)
    obs = (np.ascontiguousarray(np.asarray(ndvi, dtype=np.float32).reshape(nt, n).T)
           if ndvi is not None and uses_ndvi(model) else None)
    valid = np.flatnonzero(np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1))
    for start in range(0, valid.size, chunk_pixels):
        sel = valid[start:start + chunk_pixels]
        X = np.stack([a[sel], b[sel]], axis=-1)  # (n_chunk, T, 2) float32 dB
        if std is None:
            y = np.asarray(call_predict(model, X, None if obs is None else obs[sel], precision=precision))
        else:
            y, s = call_predict_std(model, X, None if obs is None else obs[sel], precision=precision)
            y = np.asarray(y)
        if y.ndim != 2 or y.shape[0] != sel.size or y.shape[1] != nt:
            label = name or model_name(model)
            cube = f"the cube '{source}'" if source else "the cube"
            if y.ndim == 2 and y.shape[0] == sel.size:
                problem = (f"model '{label}' predicts {y.shape[1]} date(s) per pixel but {cube} has {nt} "
                           "dates; use a model trained on this cube's dates")
            else:
                problem = (f"model '{label}' returned an array of shape {y.shape} for {sel.size} pixel(s) "
                           f"of {cube}; expected ({sel.size}, {nt})")
            model_file = getattr(model, "source", None)
            raise CheckpointError(problem, source=model_file if isinstance(model_file, str) else None)
        out[sel] = y
        if std is not None:
            std[sel] = s
    return shaped(out), shaped(std)


def iter_prediction_blocks(models: Mapping[str, Predictor], ds: xr.Dataset, *, chunk_pixels: int = CHUNK_PIXELS,
                           precision: str = SCENE_PRECISION
                           ) -> Iterator[tuple[slice, np.ndarray | None, dict[str, np.ndarray]]]:
    """Predict ``ds`` a block of rows at a time, reading the radar once for all ``models``.

    Yields ``(rows, observed, predictions)``: ``rows`` a ``slice`` along ``y``, ``observed`` the
    ``(T, rows, x)`` observed NDVI (NaN where cloudy; None when the cube has no ``ndvi``) and
    ``predictions`` ``{name: (T, rows, x) float32}``. A block holds at most ``chunk_pixels`` pixels
    (one row when a row is longer). Use it to stream a prediction to disk.
    """
    for rows, observed, preds, _ in _iter_blocks(models, ds, chunk_pixels=chunk_pixels, precision=precision,
                                                 with_std=False):
        yield rows, observed, preds


def _iter_blocks(models: Mapping[str, Predictor], ds: xr.Dataset, *, chunk_pixels: int, precision: str,
                 with_std: bool):
    """:func:`iter_prediction_blocks` plus ``{name: (T, rows, x) σ}`` for the models that have one."""
    _check_inputs(ds, chunk_pixels)
    ny, nx = ds.sizes["y"], ds.sizes["x"]
    step = block_rows(nx, chunk_pixels)
    src = _source(ds)
    for y0 in range(0, ny, step):
        rows = slice(y0, min(ny, y0 + step))
        vv = _read(ds, "vv", rows)
        vh = _read(ds, "vh", rows)
        observed = _observed(ds, rows)
        preds, stds = {}, {}
        for name, model in models.items():
            preds[name], std = predict_radar_std(model, vv, vh, chunk_pixels=chunk_pixels, name=name, source=src,
                                                 ndvi=observed, precision=precision, with_std=with_std)
            if std is not None:
                stds[name] = std
        yield rows, observed, preds, stds


def fill_gaps(observed: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Gap-filled NDVI: ``observed`` where finite, ``predicted`` elsewhere (same shapes, float32)."""
    return np.where(np.isfinite(observed), observed, predicted).astype(np.float32, copy=False)


def _coords(ds: xr.Dataset) -> dict:
    """The coordinates of ``ds`` that live on (time, y, x) or are scalar (``spatial_ref``)."""
    return {k: v for k, v in ds.coords.items() if set(v.dims) <= set(DIMS)}


def _output_dataset(ds: xr.Dataset, name: str, pred, filled, std=None, source=None) -> xr.Dataset:
    import rioxarray  # noqa: F401  (registers the .rio accessor)

    from mcnnseq.flags import fill_source_attrs

    data_vars = {"ndvi_pred": (DIMS, pred, {
        "units": "1", "long_name": f"NDVI predicted from Sentinel-1 by {name}",
        "comment": "NaN where the radar series of the pixel is incomplete"})}
    if filled is not None:
        data_vars["ndvi_filled"] = (DIMS, filled, {
            "units": "1", "long_name": f"NDVI gap-filled by {name}: observed where clear, predicted elsewhere"})
    if std is not None:
        data_vars["ndvi_std"] = (DIMS, std, {
            "units": "1", "long_name": f"standard deviation of the NDVI predicted by {name}",
            "comment": "calibrated on validation pixels so that about 95 % of held-out truths lie within "
                       "ndvi_pred ± 2 ndvi_std"})
    if source is not None:
        data_vars["fill_source"] = (DIMS, source, fill_source_attrs())
    attrs = dict(ds.attrs)
    attrs["model"] = name
    out = xr.Dataset(data_vars, coords=_coords(ds), attrs=attrs)
    crs = ds.rio.crs
    if crs is not None:
        out.rio.write_crs(crs, inplace=True)  # inplace: the default deep-copies the data
    out.rio.set_spatial_dims(x_dim="x", y_dim="y", inplace=True)
    return out


def predict_multi(models: Mapping[str, Predictor], ds: xr.Dataset, *, chunk_pixels: int = CHUNK_PIXELS,
                  progress: ProgressCallback | None = None, precision: str = SCENE_PRECISION
                  ) -> dict[str, xr.Dataset]:
    """Predict the whole cube with several models sharing the radar reads; ``{name: dataset}``.

    Each dataset is what :func:`predict_cube` returns for that model. ``progress(done, total)`` is
    called after every block with the number of pixels done so far and the number in the grid.
    ``precision``: see :data:`PRECISIONS`.
    """
    if not models:
        raise ValueError("no model to predict with")
    _check_inputs(ds, chunk_pixels)
    from mcnnseq.flags import fill_source, optical_dates

    nt, ny, nx = ds.sizes["time"], ds.sizes["y"], ds.sizes["x"]
    has_ndvi = "ndvi" in ds.data_vars
    preds = {name: np.empty((nt, ny, nx), dtype=np.float32) for name in models}
    filled = {name: np.empty((nt, ny, nx), dtype=np.float32) for name in models} if has_ndvi else None
    sources = {name: np.empty((nt, ny, nx), dtype=np.uint8) for name in models} if has_ndvi else None
    optical = optical_dates(ds) if has_ndvi else None
    stds: dict[str, np.ndarray] = {}
    total = ny * nx
    for rows, observed, block, block_std in _iter_blocks(models, ds, chunk_pixels=chunk_pixels, precision=precision,
                                                         with_std=True):
        for name, p in block.items():
            preds[name][:, rows] = p
            if filled is not None:
                filled[name][:, rows] = fill_gaps(observed, p)
                sources[name][:, rows] = fill_source(observed, p, optical)
        for name, s in block_std.items():
            stds.setdefault(name, np.empty((nt, ny, nx), dtype=np.float32))[:, rows] = s
        if progress is not None:
            progress(rows.stop * nx, total)
    return {name: _output_dataset(ds, name, preds[name], filled[name] if filled else None, std=stds.get(name),
                                  source=sources[name] if sources else None) for name in models}


def predict_cube(model: Predictor, ds: xr.Dataset, *, chunk_pixels: int = CHUNK_PIXELS,
                 progress: ProgressCallback | None = None, name: str | None = None,
                 precision: str = SCENE_PRECISION) -> xr.Dataset:
    """Predict the NDVI of every pixel and date of ``ds`` with ``model``; numpy-backed result.

    ``ds`` follows :mod:`mcnnseq.datacube` (``vv``, ``vh`` dB; ``ndvi``/``cloud`` for the filled
    cube), numpy- or dask-backed. Returns a Dataset with ``ndvi_pred`` and (when ``ds`` has
    ``ndvi``) ``ndvi_filled`` (float32) and ``fill_source`` (uint8), plus ``ndvi_std`` for models with a
    σ model, all (time, y, x), the input's coordinates (``time``,
    ``s1_time``, ``y``, ``x``), CRS and attrs plus ``attrs["model"]`` (``name`` or
    :func:`model_name`). Inputs are read ``chunk_pixels`` pixels (whole rows) at a time; the two
    outputs take 2 × 4 bytes × T × y × x. ``progress(done, total)`` reports pixels done after each
    block. ``precision``: see :data:`PRECISIONS`. Raises :class:`CheckpointError` when the model's
    output length differs from ``time``.
    """
    label = name or model_name(model)
    return predict_multi({label: model}, ds, chunk_pixels=chunk_pixels, progress=progress,
                         precision=precision)[label]


def _lazy_block(vv: np.ndarray, vh: np.ndarray, ndvi: np.ndarray | None = None, *, model, chunk_pixels, name,
                source, precision) -> np.ndarray:
    return predict_radar(model, vv, vh, chunk_pixels=chunk_pixels, name=name, source=source, ndvi=ndvi,
                         precision=precision)


def _lazy_block_std(vv: np.ndarray, vh: np.ndarray, ndvi: np.ndarray | None = None, *, model, chunk_pixels, name,
                    source, precision) -> np.ndarray:
    """(2, T, rows, x): the prediction and its σ of one block, computed once."""
    pred, std = predict_radar_std(model, vv, vh, chunk_pixels=chunk_pixels, name=name, source=source, ndvi=ndvi,
                                  precision=precision)
    return np.stack([pred, std])


def predict_cube_lazy(model: Predictor, ds: xr.Dataset, *, chunk_pixels: int = CHUNK_PIXELS,
                      name: str | None = None, precision: str = SCENE_PRECISION) -> xr.Dataset:
    """Like :func:`predict_cube` but dask-backed: nothing is predicted until the result is computed.

    Writing the result (``to_netcdf``) then predicts and writes one block of rows at a time.
    Use ``dask.config.set(scheduler="synchronous")`` to keep one block in memory at a time (the
    threaded scheduler predicts one block per thread in parallel). The model must tolerate being
    called from dask's threads.
    """
    import dask.array as da

    _check_inputs(ds, chunk_pixels)
    label = name or model_name(model)
    step = block_rows(ds.sizes["x"], chunk_pixels)

    def lazy(var: str):
        data = ds[var].transpose(*DIMS).data
        arr = data if isinstance(data, da.Array) else da.from_array(data, chunks=(-1, step, -1))
        return arr.rechunk((-1, step, -1))

    fn = partial(_lazy_block, model=model, chunk_pixels=int(chunk_pixels), name=label, source=_source(ds),
                 precision=precision)
    observed = None
    if "ndvi" in ds.data_vars:
        observed = lazy("ndvi").astype(np.float32)
        if "cloud" in ds.data_vars:
            observed = da.where(lazy("cloud").astype(bool), np.float32(np.nan), observed)
    inputs = [lazy("vv"), lazy("vh")] + ([observed] if observed is not None and uses_ndvi(model) else [])
    from mcnnseq.flags import fill_source, optical_dates

    std = None
    if has_std(model):      # one task per block computes both; ndvi_std and ndvi_pred are views of it
        both = da.map_blocks(partial(_lazy_block_std, **fn.keywords), *inputs, dtype=np.float32, new_axis=0,
                             chunks=((2,),) + inputs[0].chunks, meta=np.empty((0, 0, 0, 0), np.float32))
        pred, std = both[0], both[1]
    else:
        pred = da.map_blocks(fn, *inputs, dtype=np.float32, meta=np.empty((0, 0, 0), np.float32))
    filled = source = None
    if observed is not None:
        filled = da.where(da.isfinite(observed), observed, pred)
        source = da.map_blocks(fill_source, observed, pred, optical=optical_dates(ds), dtype=np.uint8,
                               meta=np.empty((0, 0, 0), np.uint8))
    return _output_dataset(ds, label, pred, filled, std=std, source=source)

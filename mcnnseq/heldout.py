"""Test-pixel predictions as the evaluation scores them: leave-one-date-out and artificially gapped copies.

:func:`held_out_predictions` gives each test value's prediction the way :func:`mcnnseq.experiment.evaluate`
scores it (a model that reads the NDVI never sees the value it predicts), :func:`gap_predictions` the
predictions of the copies of :class:`mcnnseq.gaps.Gaps`; both return the mean and, for models with a σ
model, the σ from the same forward pass, so the scores and the ±2σ coverage
(:func:`mcnnseq.uncertainty.coverage_from_predictions`) share one pass.
"""

from __future__ import annotations

import numpy as np

from mcnnseq.prediction import call_predict_std, has_std, uses_ndvi

#: Series handed to a model at once when it predicts copies (leave-one-date-out, artificial gaps).
COPY_CHUNK: int = 16_384


def _predict_copies(model, X: np.ndarray, rows: np.ndarray, ndvi: np.ndarray,
                    chunk: int = COPY_CHUNK) -> tuple[np.ndarray, np.ndarray | None]:
    """``(mean, σ)`` of ``X[rows]`` with ``ndvi`` (m, T) given per copy, ``chunk`` copies at a time (σ: None
    without a σ model)."""
    mean = np.empty(ndvi.shape, dtype=np.float32)
    std = np.empty(ndvi.shape, dtype=np.float32) if has_std(model) else None
    for start in range(0, rows.size, chunk):
        sl = slice(start, start + chunk)
        m, s = call_predict_std(model, X[rows[sl]], ndvi[sl])
        mean[sl] = m
        if std is not None:
            std[sl] = s
    return mean, std


def held_out_predictions(model, X: np.ndarray, observed: np.ndarray, *,
                         chunk: int = COPY_CHUNK) -> tuple[np.ndarray, np.ndarray | None]:
    """``(mean, σ)`` (n, T) as :func:`evaluate` scores the test pixels (σ: None without a σ model).

    ``X`` (n, T, 2) dB, ``observed`` (n, T) NDVI (NaN where missing). A model that uses the NDVI is
    predicted **leave-one-date-out**: entry (i, t) observed is predicted from pixel i's observations
    with date t hidden; an entry not observed, from all of them. The copies are predicted in batches of
    ``chunk``, mean and σ from the same forward pass. Radar-only models: one prediction of ``X``.
    """
    obs = np.asarray(observed, dtype=np.float32)
    mean, std = call_predict_std(model, X, obs)
    mean = np.array(mean, dtype=np.float32)
    std = None if std is None else np.array(std, dtype=np.float32)
    if not uses_ndvi(model):
        return mean, std
    pix, date = np.nonzero(np.isfinite(obs))
    for start in range(0, pix.size, chunk):
        p, d = pix[start:start + chunk], date[start:start + chunk]
        gapped = obs[p].copy()
        gapped[np.arange(p.size), d] = np.nan
        m, s = call_predict_std(model, X[p], gapped)
        mean[p, d] = m[np.arange(p.size), d]
        if std is not None:
            std[p, d] = s[np.arange(p.size), d]
    return mean, std


def leave_one_date_out(model, X: np.ndarray, observed: np.ndarray, *, chunk: int = COPY_CHUNK) -> np.ndarray:
    """``(n, T)`` predictions of a model that uses the NDVI, each observed entry predicted without itself
    (the mean of :func:`held_out_predictions`)."""
    return held_out_predictions(model, X, observed, chunk=chunk)[0]


def gap_predictions(model, X: np.ndarray, observed: np.ndarray, gaps, held_out: tuple[np.ndarray, np.ndarray | None],
                    *, chunk: int = COPY_CHUNK) -> tuple[np.ndarray, np.ndarray | None]:
    """``(mean, σ)`` (len(gaps), T) of each artificially gapped copy (:class:`mcnnseq.gaps.Gaps`): a model
    that uses the NDVI predicts from the gapped series; a radar-only one's ``held_out`` (the output of
    :func:`held_out_predictions`) is reused, row by copy."""
    if uses_ndvi(model):
        return _predict_copies(model, X, gaps.pixel, gaps.apply(np.asarray(observed, dtype=np.float32)), chunk)
    mean, std = held_out
    return mean[gaps.pixel], None if std is None else std[gaps.pixel]


__all__ = ["COPY_CHUNK", "gap_predictions", "held_out_predictions", "leave_one_date_out"]

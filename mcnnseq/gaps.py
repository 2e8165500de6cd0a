"""Artificial gaps: hide k consecutive observed dates of a pixel, so the hidden values are a truth.

Real clouds hide the truth they make. To score a gap-filler on real data (SPEC §2, "error by gap
length") we make gaps where we know the answer: on a pixel's observed NDVI series, a window of ``k``
consecutive dates (consecutive in the cube's date list), **all observed on that pixel**, is hidden;
the model then predicts the series from the rest (radar-only models need no NDVI at all), and the
hidden values are the truth. A window is allowed only when at least :data:`MIN_OTHER_CLEAR` other
dates of the pixel stay observed, so an NDVI-based gap-filler always has something on which to stand.

The same machinery serves training by hiding dates (the fusion network): :func:`hide_random_windows`
hides one random window per row of a batch.

Everything is seeded: the window chosen for gap length k depends only on ``(seed, k)`` and the
observed mask, not on which other lengths are asked for. Arrays are pixel-major: ``(n, T)`` rows =
pixels, columns = dates.

Days since the last clear observation: for a hidden entry at date t of a window starting at s, the
days from the last date before s observed on that pixel to date t (NaN when no date before s is
observed: "none before"). :data:`DAYS_EDGES` buckets them; the edges are chosen so that the
1-, 2-, 3- and 4-month gaps of monthly composites (28–31, 59–62, 89–92, 120–123 days) fall in
distinct buckets, and 5- to 12-day cadences (Sentinel-2, the demo) resolve their first weeks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

#: Gap lengths scored by default (consecutive hidden dates).
GAP_LENGTHS: tuple[int, ...] = (1, 2, 3, 4)
#: Observed dates that must remain on a pixel outside its hidden window.
MIN_OTHER_CLEAR: int = 2
#: Upper edges (days, inclusive) of the "days since the last clear observation" buckets; the last is open.
DAYS_EDGES: tuple[int, ...] = (20, 40, 70, 100, 130)
NONE_BEFORE: str = "none before"


def days_labels(edges: Sequence[int] = DAYS_EDGES) -> list[str]:
    """Bucket labels in order: ``"1–20", "21–40", …, ">130", "none before"``."""
    labels, lo = [], 1
    for hi in edges:
        labels.append(f"{lo}–{hi}")
        lo = hi + 1
    return labels + [f">{edges[-1]}", NONE_BEFORE]


def days_bucket_index(days: np.ndarray, edges: Sequence[int] = DAYS_EDGES) -> np.ndarray:
    """Position in :func:`days_labels` (int64, shape of ``days``) of each day count; NaN -> the last ("none before")."""
    days = np.asarray(days, dtype=np.float64)
    pos = np.searchsorted(np.asarray(edges, dtype=np.float64), days, side="left")
    return np.where(np.isfinite(days), pos, len(edges) + 1).astype(np.int64)


def days_bucket(days: np.ndarray, edges: Sequence[int] = DAYS_EDGES) -> np.ndarray:
    """Label (object array, shape of ``days``) of each day count; NaN -> ``"none before"``."""
    return np.asarray(days_labels(edges), dtype=object)[days_bucket_index(days, edges)]


def _observed(values: np.ndarray) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 2:
        raise ValueError(f"expected an (n, T) array of pixels x dates, got shape {arr.shape}")
    return arr if arr.dtype == bool else np.isfinite(arr)


def valid_windows(observed: np.ndarray, k: int, *, min_other: int = MIN_OTHER_CLEAR) -> np.ndarray:
    """``(n, T−k+1)`` bool: window start s is allowed on pixel i (dates s … s+k−1 observed, ``min_other`` others).

    ``observed`` is an (n, T) bool mask or NDVI array (finite = observed).
    """
    obs = _observed(observed)
    n, T = obs.shape
    if k < 1:
        raise ValueError(f"a gap hides at least one date, got k={k}")
    if k > T:
        return np.zeros((n, 0), dtype=bool)
    c = np.concatenate([np.zeros((n, 1), dtype=np.int64), np.cumsum(obs, axis=1)], axis=1)
    inside = c[:, k:] - c[:, :-k]                       # observed dates in each window
    total = c[:, -1:]
    return (inside == k) & (total - k >= min_other)


@dataclass(frozen=True)
class Gaps:
    """Artificial gaps: row j hides dates ``start[j] … start[j]+k[j]−1`` of pixel row ``pixel[j]``.

    ``pixel``, ``start``, ``k``: (m,) int64; ``n_dates``: T. Several rows may hide windows of the same pixel.
    """

    pixel: np.ndarray
    start: np.ndarray
    k: np.ndarray
    n_dates: int

    def __len__(self) -> int:
        return int(self.pixel.size)

    def mask(self) -> np.ndarray:
        """``(m, T)`` bool: the hidden entries of each row."""
        t = np.arange(self.n_dates)[None, :]
        return (t >= self.start[:, None]) & (t < (self.start + self.k)[:, None])

    def apply(self, ndvi: np.ndarray) -> np.ndarray:
        """``(m, T)`` float32: each row's observed NDVI (``ndvi`` (n, T)) with its window set to NaN."""
        out = np.asarray(ndvi, dtype=np.float32)[self.pixel].copy()
        out[self.mask()] = np.nan
        return out

    def hidden(self, truth: np.ndarray) -> np.ndarray:
        """``(m, T)`` float32: ``truth`` (n, T) on the hidden entries, NaN elsewhere."""
        vals = np.asarray(truth, dtype=np.float32)[self.pixel]
        return np.where(self.mask(), vals, np.float32(np.nan))

    def days_since_clear(self, observed: np.ndarray, dates) -> np.ndarray:
        """``(m, T)`` float days from the last date observed before the window to each hidden date.

        NaN outside the window and where no earlier date of the pixel is observed ("none before").
        ``observed`` (n, T) bool mask or NDVI; ``dates`` (T,) datetime-like.
        """
        obs = _observed(observed)[self.pixel]
        T = self.n_dates
        day = np.asarray(np.asarray(dates, dtype="datetime64[D]").astype(np.int64), dtype=np.float64)
        if day.size != T:
            raise ValueError(f"{day.size} dates given for {T} time steps")
        idx = np.broadcast_to(np.arange(T), obs.shape)
        before = obs & (idx < self.start[:, None])
        last = np.where(before, idx, -1).max(axis=1)     # last observed date before the window
        out = np.where(self.mask(), day[None, :] - day[np.clip(last, 0, None)][:, None], np.nan)
        out[last < 0] = np.nan
        return out

    def subset(self, rows: np.ndarray) -> "Gaps":
        return Gaps(self.pixel[rows], self.start[rows], self.k[rows], self.n_dates)


def _rng(seed: int, k: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(k), 0x9A95]))


def _pick(valid: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One uniformly random allowed start per row; returns (rows that have one, their start)."""
    keys = rng.random(valid.shape)
    keys[~valid] = -1.0
    rows = np.flatnonzero(valid.any(axis=1))
    return rows, keys[rows].argmax(axis=1)


def make_gaps(observed: np.ndarray, *, k_values: Iterable[int] = GAP_LENGTHS, seed: int = 0,
              min_other: int = MIN_OTHER_CLEAR) -> Gaps:
    """For every pixel and every k in ``k_values`` its series allows, one seeded random window of k dates.

    ``observed`` (n, T) bool mask or NDVI (finite = observed). Rows are ordered by k, then pixel.
    """
    obs = _observed(observed)
    parts = []
    for k in k_values:
        k = int(k)
        valid = valid_windows(obs, k, min_other=min_other)
        rows, start = _pick(valid, _rng(seed, k))
        parts.append((rows, start, np.full(rows.size, k)))
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return Gaps(empty, empty, empty, obs.shape[1])
    return Gaps(*(np.concatenate([p[i] for p in parts]).astype(np.int64) for i in range(3)), obs.shape[1])


def random_gaps(observed: np.ndarray, rng: np.random.Generator, *, k_values: Iterable[int] = GAP_LENGTHS,
                min_other: int = MIN_OTHER_CLEAR) -> Gaps:
    """One window per pixel, its length drawn uniformly among the ``k_values`` the pixel allows.

    For training by hiding dates: pass a seeded ``np.random.Generator`` and call once per batch.
    Pixels that allow no window get no row.
    """
    obs = _observed(observed)
    n, T = obs.shape
    ks = [int(k) for k in k_values]
    allowed = np.stack([valid_windows(obs, k, min_other=min_other).any(axis=1) for k in ks], axis=1)
    keys = rng.random(allowed.shape)
    keys[~allowed] = -1.0
    rows = np.flatnonzero(allowed.any(axis=1))
    chosen = np.asarray(ks)[keys[rows].argmax(axis=1)]
    start = np.zeros(rows.size, dtype=np.int64)
    for k in set(chosen.tolist()):
        sel = chosen == k
        valid = valid_windows(obs[rows[sel]], k, min_other=min_other)
        _, start[sel] = _pick(valid, rng)
    return Gaps(rows.astype(np.int64), start, chosen.astype(np.int64), T)


def hide_random_windows(ndvi: np.ndarray, rng: np.random.Generator, *, k_values: Iterable[int] = GAP_LENGTHS,
                        min_other: int = MIN_OTHER_CLEAR) -> tuple[np.ndarray, np.ndarray]:
    """``(gapped, hidden)`` of the shape of ``ndvi`` (n, T): one random window hidden per row that allows one.

    ``gapped`` float32 is ``ndvi`` with the window NaN; ``hidden`` bool marks the hidden entries (their
    truth is ``ndvi[hidden]``). Rows that allow no window are returned unchanged.
    """
    arr = np.asarray(ndvi, dtype=np.float32)
    gaps = random_gaps(arr, rng, k_values=k_values, min_other=min_other)
    hidden = np.zeros(arr.shape, dtype=bool)
    hidden[gaps.pixel] = gaps.mask()
    gapped = arr.copy()
    gapped[hidden] = np.nan
    return gapped, hidden

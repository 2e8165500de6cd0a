"""Classic gap-fillers: what a user would do without radar (SPEC §2 "What a user would do without radar").

Both fill a pixel's NDVI series from its own clear observations and ignore the radar. They follow
the prediction contract (:mod:`mcnnseq.prediction`): ``uses_ndvi = True`` and
``predict(X, *, ndvi)`` with ``X`` (n, T, 2) dB (only its shape is used) and ``ndvi`` (n, T) float32,
the observed NDVI with NaN where missing; they return (n, T) float32 NDVI. They have no weights and
no training, and take series of any length.

* :class:`LinearGapFill` — linear interpolation in time between the nearest clear observations
  before and after each date, in real days when the dates are given (``LinearGapFill(dates)``),
  on the date index otherwise. Before the first / after the last clear date the nearest clear value
  is held; a pixel with no clear value gets NaN. Observed dates keep their value.
* :class:`WhittakerGapFill` — the Whittaker smoother (Eilers 2003, "A perfect smoother", Anal. Chem.
  75: 3631–3636): ``z = argmin Σ w_t (y_t − z_t)² + λ Σ (Δ² z)²`` with weights ``w`` = 1 on clear
  dates, 0 elsewhere, so gaps are filled by the smooth. With dates, ``Δ²`` is the second divided
  difference in time (Eilers 2003 §"unequally spaced"), scaled so that equally spaced dates give the
  ordinary second difference; time is measured in mean date steps, so λ means the same on any cadence.
  λ is chosen **per pixel by generalised cross-validation** (Craven & Wahba 1979; as in Eilers 2003
  and Garcia 2010, "Robust smoothing of gridded data in one and higher dimensions with missing
  values", CSDA 54: 1167–1178): ``GCV(λ) = n · RSS / (n − tr H)²`` over the pixel's n clear dates,
  ``H = (W + λ DᵀD)⁻¹ W``, minimised over the grid :data:`WHITTAKER_LAMBDAS` (half decades from
  10⁻² to 10⁵) and refined by a quarter decade. The second-order penalty reproduces straight lines
  exactly (its null space); a quadratic is reproduced up to an error that shrinks with λ (GCV picks
  a small λ on noise-free curves). The bare smoother extrapolates linearly beyond the first / last
  clear date, which on NDVI runs away within weeks: like the linear gap-filler, we hold the smoothed
  value of the first / last clear date instead. The output is clipped to the NDVI range −1 … 1.
  Pixels with two clear values get the line through them (held outside), one clear value it on
  every date, none NaN.

The Whittaker solves are batched over pixels: ``W + λ DᵀD`` is pentadiagonal, factorised as
``L D Lᵀ`` by a recursion along time that runs on all pixels of a chunk at once; ``tr H`` comes from
the band of the inverse (Takahashi's recursion), so nothing of size T × T is formed per pixel.
Memory is bounded by ``chunk_pixels`` (about 20 float64 arrays of chunk_pixels × T).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mcnnseq.errors import ModelConfigError

#: Candidate smoothing parameters λ (time in mean date steps) searched by GCV: 10^-2 … 10^5 by half decades,
#: then refined by a quarter decade around each pixel's best.
WHITTAKER_LAMBDAS: np.ndarray = 10.0 ** np.arange(-2.0, 5.0001, 0.5)
#: Pixels smoothed at once by :class:`WhittakerGapFill` (bounds memory: ~20 × 8 B × T per pixel).
WHITTAKER_CHUNK: int = 16_384
NDVI_CLIP: tuple[float, float] = (-1.0, 1.0)


def _date_positions(dates: Sequence | None, length: int, label: str) -> np.ndarray:
    """Positions of the ``length`` dates in days (float64), or 0 … length−1 without dates."""
    if dates is None:
        return np.arange(length, dtype=np.float64)
    pos = np.asarray(np.asarray(dates, dtype="datetime64[ns]").astype("datetime64[s]").astype(np.int64),
                     dtype=np.float64) / 86_400.0
    if pos.size != length:
        raise ModelConfigError(f"{label} was set up for {pos.size} dates but the data has {length}; "
                               "set it up with this cube's dates")
    if pos.size > 1 and not (np.diff(pos) > 0).all():
        raise ModelConfigError(f"{label}: the dates must be sorted and unique")
    return pos


def _check(X: np.ndarray | None, ndvi: np.ndarray | None, label: str) -> np.ndarray:
    if ndvi is None:
        raise ModelConfigError(f"{label} fills gaps from the observed NDVI: call predict(X, ndvi=...)")
    y = np.asarray(ndvi, dtype=np.float64)
    if y.ndim != 2:
        raise ModelConfigError(f"{label}: ndvi must have shape (n, T), got {y.shape}")
    if X is not None and np.shape(X)[0] != y.shape[0]:
        raise ModelConfigError(f"{label}: X has {np.shape(X)[0]} pixels but ndvi has {y.shape[0]}")
    return y


class _GapFiller:
    """Common attributes of the classic gap-fillers (no weights, no training, any series length)."""

    uses_ndvi: bool = True
    trainable: bool = False
    model_name: str = ""
    name: str = ""
    source: str | None = None

    def __init__(self, dates: Sequence | None = None):
        self.dates = None if dates is None else np.asarray(dates, dtype="datetime64[ns]")

    def for_dates(self, dates: Sequence | None):
        """A copy of this gap-filler set up for ``dates`` (the cube's S2 dates)."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.dates = None if dates is None else np.asarray(dates, dtype="datetime64[ns]")
        return clone

    def config(self) -> dict:
        return {"dates": None if self.dates is None else [str(d)[:10] for d in self.dates]}

    def __repr__(self) -> str:
        n = "index" if self.dates is None else f"{self.dates.size} dates"
        return f"{type(self).__name__}({n})"


class LinearGapFill(_GapFiller):
    """Linear interpolation in time over the clear observations (see the module docstring)."""

    model_name = "linear"
    name = "Linear"

    def predict(self, X: np.ndarray | None = None, *, ndvi: np.ndarray | None = None, **_) -> np.ndarray:
        """``ndvi`` (n, T) observed NDVI, NaN where missing -> (n, T) float32 filled NDVI."""
        y = _check(X, ndvi, self.name)
        return linear_fill(y, _date_positions(self.dates, y.shape[1], self.name)).astype(np.float32)


def linear_fill(y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Linear interpolation of each row of ``y`` (n, T) at positions ``t`` (T,) over its finite entries.

    Outside the first / last finite entry the nearest finite value is held; all-NaN rows stay NaN.
    """
    n, T = y.shape
    obs = np.isfinite(y)
    idx = np.broadcast_to(np.arange(T), (n, T))
    prev = np.maximum.accumulate(np.where(obs, idx, -1), axis=1)
    nxt = np.minimum.accumulate(np.where(obs, idx, T)[:, ::-1], axis=1)[:, ::-1]
    has_prev, has_next = prev >= 0, nxt < T
    pc, nc = np.clip(prev, 0, T - 1), np.clip(nxt, 0, T - 1)
    rows = np.arange(n)[:, None]
    y_prev, y_next = y[rows, pc], y[rows, nc]
    t_prev, t_next = t[pc], t[nc]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(nc > pc, (t[None, :] - t_prev) / (t_next - t_prev), 0.0)
    out = np.where(has_prev & has_next, y_prev + frac * (y_next - y_prev),
                   np.where(has_prev, y_prev, np.where(has_next, y_next, np.nan)))
    return np.where(obs, y, out)


# ------------------------------------------------------------------------------------------- Whittaker

def second_difference_matrix(t: np.ndarray) -> np.ndarray:
    """``D`` (T−2, T): twice the second divided differences at positions ``t`` in mean-step units.

    For equally spaced ``t`` its rows are ``[1, −2, 1]``; ``D @ z = 0`` exactly when ``z`` is linear in ``t``.
    """
    t = np.asarray(t, dtype=np.float64)
    T = t.size
    if T < 3:
        return np.zeros((0, T))
    s = (t - t[0]) / ((t[-1] - t[0]) / (T - 1))
    h = np.diff(s)
    D = np.zeros((T - 2, T))
    i = np.arange(T - 2)
    span = h[:-1] + h[1:]
    D[i, i] = 2.0 / (h[:-1] * span)
    D[i, i + 1] = -2.0 / (h[:-1] * h[1:])
    D[i, i + 2] = 2.0 / (h[1:] * span)
    return D


def _penalty_bands(t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Diagonal and the two upper bands of ``DᵀD`` (pentadiagonal): (T,), (T−1,), (T−2,)."""
    D = second_difference_matrix(t)
    P = D.T @ D
    T = P.shape[0]
    return np.diag(P).copy(), np.diag(P, 1).copy(), np.diag(P, 2).copy() if T > 2 else np.zeros(0)


def _ldl_penta(a0: np.ndarray, a1: np.ndarray, a2: np.ndarray):
    """Batched ``L D Lᵀ`` of symmetric pentadiagonal matrices; bands laid out time-first.

    ``a0`` (T, m) diagonal, ``a1`` (T−1, m) and ``a2`` (T−2, m) the first / second off-diagonals
    (broadcastable over m). Returns ``d`` (T, m), ``l1`` (T−1, m) = L[i+1, i], ``l2`` (T−2, m) = L[i+2, i].
    """
    T, m = a0.shape
    d = np.empty((T, m))
    l1 = np.empty((max(T - 1, 0), m))
    l2 = np.empty((max(T - 2, 0), m))
    for i in range(T):
        di = a0[i].copy()
        if i >= 1:
            di -= l1[i - 1] ** 2 * d[i - 1]
        if i >= 2:
            di -= l2[i - 2] ** 2 * d[i - 2]
        d[i] = di
        if i + 1 < T:
            v = a1[i] - (l2[i - 1] * l1[i - 1] * d[i - 1] if i >= 1 else 0.0)
            l1[i] = v / di
        if i + 2 < T:
            l2[i] = a2[i] / di
    return d, l1, l2


def _solve_ldl(d, l1, l2, b: np.ndarray) -> np.ndarray:
    """Solve ``L D Lᵀ z = b`` for ``b`` (T, m)."""
    T = b.shape[0]
    u = np.empty_like(b)
    for i in range(T):
        ui = b[i].copy()
        if i >= 1:
            ui -= l1[i - 1] * u[i - 1]
        if i >= 2:
            ui -= l2[i - 2] * u[i - 2]
        u[i] = ui
    u /= d
    z = np.empty_like(b)
    for i in range(T - 1, -1, -1):
        zi = u[i].copy()
        if i + 1 < T:
            zi -= l1[i] * z[i + 1]
        if i + 2 < T:
            zi -= l2[i] * z[i + 2]
        z[i] = zi
    return z


def _inverse_diagonal(d, l1, l2) -> np.ndarray:
    """Diagonal (T, m) of ``(L D Lᵀ)⁻¹`` by Takahashi's recursion on the band (no dense inverse)."""
    T, m = d.shape
    s0 = np.empty((T, m))          # Σ[i, i]
    s1 = np.zeros((T, m))          # Σ[i+1, i]
    s2 = np.zeros((T, m))          # Σ[i+2, i]
    for i in range(T - 1, -1, -1):
        if i + 2 < T:
            s2[i] = -l1[i] * s1[i + 1] - l2[i] * s0[i + 2]
            s1[i] = -l1[i] * s0[i + 1] - l2[i] * s1[i + 1]
        elif i + 1 < T:
            s1[i] = -l1[i] * s0[i + 1]
        v = 1.0 / d[i]
        if i + 1 < T:
            v = v - l1[i] * s1[i]
        if i + 2 < T:
            v = v - l2[i] * s2[i]
        s0[i] = v
    return s0


def _hold_ends(z: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """``z`` (n, T) with the values before the first / after the last observed date held at those dates."""
    n, T = obs.shape
    has = obs.any(axis=1)
    first = np.where(has, obs.argmax(axis=1), 0)
    last = np.where(has, T - 1 - obs[:, ::-1].argmax(axis=1), T - 1)
    idx = np.clip(np.arange(T)[None, :], first[:, None], last[:, None])
    return np.take_along_axis(z, idx, axis=1)


def _whittaker_pass(W: np.ndarray, WY: np.ndarray, Y: np.ndarray, nw: np.ndarray, bands, lam: np.ndarray,
                    with_gcv: bool) -> tuple[np.ndarray, np.ndarray]:
    """One solve per column at λ ``lam`` (scalar or (m,)); returns ``(z (T, m), gcv (m,))``."""
    p0, p1, p2 = bands
    lam = np.asarray(lam, dtype=np.float64)
    d, l1, l2 = _ldl_penta(W + lam * p0[:, None], lam * p1[:, None], lam * p2[:, None])
    z = _solve_ldl(d, l1, l2, WY)
    if not with_gcv:
        return z, np.full(W.shape[1], np.nan)
    trace = (W * _inverse_diagonal(d, l1, l2)).sum(axis=0)
    rss = (W * (Y - z) ** 2).sum(axis=0)
    dof = nw - trace
    with np.errstate(invalid="ignore", divide="ignore"):
        gcv = np.where(dof > 1e-9 * nw, nw * rss / dof ** 2, np.inf)
    return z, gcv


def whittaker_smooth(y: np.ndarray, t: np.ndarray | None = None, *,
                     lambdas: Sequence[float] | float = WHITTAKER_LAMBDAS,
                     hold_ends: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Whittaker-smooth each row of ``y`` (n, T) over its finite entries; λ per row by GCV over ``lambdas``.

    ``t`` (T,) date positions (days; None = equally spaced). GCV is minimised over the ``lambdas``
    grid, then refined once by trying λ·10^(±s/2) around each row's best (s = the grid's step in
    decades). With ``hold_ends`` the values before the first / after the last clear date are held at
    the smoothed value of that date (the bare smoother extrapolates linearly, which on NDVI runs away
    within weeks). Returns ``(z, lam)``: ``z`` (n, T) float64 smoothed and gap-filled (not clipped),
    ``lam`` (n,) the λ chosen (NaN for rows with fewer than 3 clear values: 2 give the line through
    them, 1 a constant, 0 NaN). With a single λ there is no search.
    """
    y = np.asarray(y, dtype=np.float64)
    n, T = y.shape
    t = np.arange(T, dtype=np.float64) if t is None else np.asarray(t, dtype=np.float64)
    lams = np.sort(np.atleast_1d(np.asarray(lambdas, dtype=np.float64)))
    z = np.full((n, T), np.nan)
    lam_out = np.full(n, np.nan)
    if n == 0:
        return z, lam_out
    if T < 3:
        return linear_fill(y, t), lam_out
    obs = np.isfinite(y)
    n_obs = obs.sum(axis=1)
    one = n_obs == 1
    if one.any():
        z[one] = np.nansum(y[one], axis=1, keepdims=True)
    rows = np.flatnonzero(n_obs >= 2)
    if rows.size == 0:
        return z, lam_out
    bands = _penalty_bands(t)
    W = obs[rows].T.astype(np.float64)              # (T, m): weights 1 on clear dates, 0 elsewhere
    Y = np.where(obs[rows], y[rows], 0.0).T         # (T, m)
    nw = W.sum(axis=0)
    WY = W * Y
    search = lams.size > 1
    best_gcv = np.full(rows.size, np.inf)
    best_z = np.empty((T, rows.size))
    best_lam = np.full(rows.size, lams[0])
    candidates = [lam for lam in lams]
    if search:
        half = 0.5 * float(np.median(np.diff(np.log10(lams))))
    for i, lam in enumerate(candidates):
        zl, gcv = _whittaker_pass(W, WY, Y, nw, bands, lam, search)
        better = gcv < best_gcv
        if i == 0:
            better |= ~np.isfinite(gcv)  # rows where GCV is undefined (2 clear values) keep a solution
        best_gcv = np.where(better, gcv, best_gcv)
        best_z[:, better] = zl[:, better]
        best_lam = np.where(better, lam, best_lam)
    if search:
        centre = best_lam.copy()
        for factor in (10.0 ** -half, 10.0 ** half):
            zl, gcv = _whittaker_pass(W, WY, Y, nw, bands, centre * factor, True)
            better = gcv < best_gcv
            best_gcv = np.where(better, gcv, best_gcv)
            best_z[:, better] = zl[:, better]
            best_lam = np.where(better, centre * factor, best_lam)
    z[rows] = best_z.T
    lam_out[rows] = np.where(n_obs[rows] >= 3, best_lam, np.nan) if search else lams[0]
    if hold_ends:
        z = _hold_ends(z, obs)
    return z, lam_out


class WhittakerGapFill(_GapFiller):
    """The Whittaker smoother over the clear observations, λ per pixel by GCV (see the module docstring)."""

    model_name = "whittaker"
    name = "Whittaker"

    def __init__(self, dates: Sequence | None = None, *, lambdas: Sequence[float] | float = WHITTAKER_LAMBDAS,
                 chunk_pixels: int = WHITTAKER_CHUNK):
        super().__init__(dates)
        self.lambdas = np.atleast_1d(np.asarray(lambdas, dtype=np.float64))
        if self.lambdas.size == 0 or not (np.isfinite(self.lambdas) & (self.lambdas > 0)).all():
            raise ModelConfigError(f"Whittaker: λ values must be positive numbers, got {lambdas!r}")
        if int(chunk_pixels) < 1:
            raise ModelConfigError(f"Whittaker: chunk_pixels must be a positive integer, got {chunk_pixels!r}")
        self.chunk_pixels = int(chunk_pixels)

    def smooth(self, ndvi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(z, lam)``: (n, T) float32 smoothed NDVI clipped to −1 … 1, (n,) λ chosen (NaN below 3 clear)."""
        y = _check(None, ndvi, self.name)
        t = _date_positions(self.dates, y.shape[1], self.name)
        z = np.empty(y.shape, dtype=np.float32)
        lam = np.empty(y.shape[0])
        for start in range(0, y.shape[0], self.chunk_pixels):
            sl = slice(start, start + self.chunk_pixels)
            zc, lc = whittaker_smooth(y[sl], t, lambdas=self.lambdas)
            z[sl] = np.clip(zc, *NDVI_CLIP)
            lam[sl] = lc
        return z, lam

    def predict(self, X: np.ndarray | None = None, *, ndvi: np.ndarray | None = None, **_) -> np.ndarray:
        """``ndvi`` (n, T) observed NDVI, NaN where missing -> (n, T) float32 smoothed, gap-filled NDVI."""
        _check(X, ndvi, self.name)
        return self.smooth(ndvi)[0]

    def config(self) -> dict:
        return {**super().config(), "lambdas": [float(v) for v in self.lambdas]}

"""Crop-specific NDVI phenology of the simulated Imperial Valley scene (paper §4.3).

Every pixel's clean NDVI is a sum of at most two growing seasons on a bare-soil base::

    NDVI(t) = base + amp1 * S(t; s1, e1, r1, f1) * C1(t) + amp2 * S(t; s2, e2, r2, f2) * C2(t)

``S`` is a double logistic (green-up centred on day ``s`` with width ``r``, senescence or harvest
centred on day ``e`` with width ``f``), ``C`` an optional cutting cycle (alfalfa, hay): after each
cut the canopy falls to a fraction ``lo`` and grows back (a sawtooth). Days are counted from
2018-01-01 (negative: the 2017 planting of winter crops).

Seasons per class (the shapes from the paper's descriptions; the exact days are our approximation of
low-desert crop calendars):

* Onion: planted in autumn, stable in January–February, peak March–April, harvested May–June, then
  low (the paper's reference stays above 0.2 after harvest).
* Winter wheat: peak March–April up to saturation (~0.9), harvested late May, then below 0.1.
* Corn: spring corn (emergence late March, harvest early July) and, in most fields, regrowth or a
  new planting rising from October–November.
* Sugar beet: planted in autumn 2017, high in winter, harvested April–June; most fields planted
  again in October, rising in October–November.
* Alfalfa: perennial, cut every ~4 weeks in summer and ~7 weeks in winter (sawtooth), summer slump.
* Hay (non-alfalfa): sudangrass (summer annual, cut every ~6 weeks), bermudagrass (perennial, dormant
  in winter, cut in summer) or winter small-grain hay followed by sudangrass.
* Non-crop land: bare desert soil, roads, farmsteads (NDVI ~0.1), a few shrubby pixels.
* Other crops: winter vegetables (lettuce, broccoli, carrots), spring melons or autumn vegetables.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from mcnnseq.sim.params import SimParams

_YEAR_START = pd.Timestamp("2018-01-01")
_NO_END = 2000.0  # a season that does not end within the simulated period
_NO_START = -2000.0

#: Cutting regimes: code -> (mean period in days, seasonal amplitude in days). The period is longest
#: mid-January and shortest mid-July. Alfalfa: 8–10 cuts a year in the low desert; hay: ~6 weeks.
CUT_REGIMES: dict[int, tuple[float, float]] = {1: (40.0, 12.0), 2: (42.0, 0.0)}

#: Sub-types of the mixed classes: class code -> ((name, probability), ...).
SUBTYPES: dict[int, tuple[tuple[str, float], ...]] = {
    6: (("sudangrass", 0.5), ("bermudagrass", 0.3), ("small-grain hay + sudangrass", 0.2)),
    8: (("winter vegetables", 0.5), ("spring melons", 0.25), ("autumn vegetables", 0.25)),
}


def days_since_2018(dates) -> np.ndarray:
    """Days from 2018-01-01 (float64, shape ``(T,)``) of a sequence of dates."""
    idx = pd.DatetimeIndex(dates)
    return ((idx - _YEAR_START) / pd.Timedelta(days=1)).to_numpy(dtype=np.float64)


@dataclass
class Phenology:
    """Parameters of the NDVI model, one value per field (or per pixel once broadcast), float32.

    Days are days since 2018-01-01; ``cut1``/``cut2`` are cutting-regime codes (0 = no cutting).
    """

    base: np.ndarray
    amp1: np.ndarray
    s1: np.ndarray
    e1: np.ndarray
    r1: np.ndarray
    f1: np.ndarray
    cut1: np.ndarray
    amp2: np.ndarray
    s2: np.ndarray
    e2: np.ndarray
    r2: np.ndarray
    f2: np.ndarray
    cut2: np.ndarray
    lo: np.ndarray  #: canopy fraction left right after a cut
    phase: np.ndarray  #: cutting-cycle phase at day 0 (cycles)
    rate: np.ndarray  #: cutting-cycle speed multiplier

    @classmethod
    def empty(cls, n: int) -> "Phenology":
        p = cls(**{f.name: np.zeros(n, dtype=np.float32) for f in fields(cls)})
        p.r1[:] = p.f1[:] = p.r2[:] = p.f2[:] = 1.0
        p.rate[:] = 1.0
        p.lo[:] = 1.0
        return p

    def take(self, index: np.ndarray) -> "Phenology":
        """The parameters at ``index`` (e.g. field id of every pixel -> per-pixel parameters)."""
        return Phenology(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


def _logistic(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _season(t: np.ndarray, s, e, r, f) -> np.ndarray:
    """Double logistic ``(T, N)``: 0 before green-up, 1 in the season, 0 after harvest."""
    return np.clip(_logistic((t - s) / r) - _logistic((t - e) / f), 0.0, 1.0)


def _cumulative_cycles(regime: int) -> tuple[np.ndarray, np.ndarray]:
    """Day grid and the number of cutting cycles completed since day 0 (integral of 1/period)."""
    mean, amplitude = CUT_REGIMES[regime]
    days = np.arange(-400.0, 800.0, 0.5)
    period = mean + amplitude * np.cos(2 * np.pi * (days - 15.0) / 365.0)
    cycles = np.cumsum(0.5 / period)
    return days, cycles - np.interp(0.0, days, cycles)


_CYCLES = {k: _cumulative_cycles(k) for k in CUT_REGIMES}
_REGROWTH_MID, _REGROWTH_WIDTH = 0.3, 0.08
_G0 = _logistic(np.float64(-_REGROWTH_MID / _REGROWTH_WIDTH))
_G1 = _logistic(np.float64((1 - _REGROWTH_MID) / _REGROWTH_WIDTH))


def _cut_factor(t: np.ndarray, p: Phenology, cut: np.ndarray) -> np.ndarray:
    """Canopy fraction ``(T, N)`` under the cutting regime ``cut`` (1 where no cutting); ``t`` is
    ``(T, 1)`` or ``(T, N)`` days."""
    out = np.ones((t.shape[0], cut.shape[0]), dtype=np.float32)
    for regime, (days, cycles) in _CYCLES.items():
        cols = np.flatnonzero(cut == regime)
        if cols.size == 0:
            continue
        tc = t if t.shape[1] == 1 else t[:, cols]
        phi = p.phase[cols] + p.rate[cols] * np.interp(tc, days, cycles).astype(np.float32)
        frac = phi - np.floor(phi)
        g = (_logistic((frac - _REGROWTH_MID) / _REGROWTH_WIDTH) - _G0) / (_G1 - _G0)
        lo = p.lo[cols]
        out[:, cols] = lo + (1.0 - lo) * g
    return out


def ndvi_curves(t: np.ndarray, p: Phenology, *, with_cuts: bool = True, scale: np.ndarray | None = None
                ) -> np.ndarray:
    """Clean NDVI ``(T, N)`` float32 at days ``t`` (days since 2018-01-01) for the ``N`` parameter
    sets of ``p``. ``t`` is ``(T,)`` (same days for all) or ``(T, N)`` (days per column).
    ``with_cuts=False`` gives the seasonal envelope (no cutting cycles); ``scale`` ``(N,)``
    multiplies the seasonal part (everything above ``base``)."""
    tt = np.asarray(t, dtype=np.float32)
    if tt.ndim == 1:
        tt = tt[:, None]
    one = _season(tt, p.s1, p.e1, p.r1, p.f1) * p.amp1
    two = _season(tt, p.s2, p.e2, p.r2, p.f2) * p.amp2
    if with_cuts:
        if (p.cut1 > 0).any():
            one *= _cut_factor(tt, p, p.cut1)
        if (p.cut2 > 0).any():
            two *= _cut_factor(tt, p, p.cut2)
    out = one
    out += two
    if scale is not None:
        out *= scale
    out += p.base
    return out.astype(np.float32, copy=False)


def sample_field_phenology(field_crop: np.ndarray, rng: np.random.Generator, params: SimParams
                           ) -> tuple[Phenology, np.ndarray, np.ndarray]:
    """Draw the phenology of every field.

    ``field_crop`` (n_fields + 1,) class code per field id (id 0: roads). Returns the per-field
    :class:`Phenology`, the sub-type index per field (int8, into :data:`SUBTYPES`, 0 for plain
    classes) and whether the field is irrigated all year (bool: alfalfa, bermudagrass).
    """
    n = field_crop.size
    p = Phenology.empty(n)
    subtype = np.zeros(n, dtype=np.int8)
    always = np.zeros(n, dtype=bool)
    shift = rng.normal(0.0, params.field_shift_days, n).astype(np.float32)
    vigor = rng.normal(1.0, params.field_vigor_std, n).astype(np.float32)
    u = rng.random((n, 4)).astype(np.float32)  # spare uniforms for per-field choices
    z = rng.normal(0.0, 1.0, (n, 3)).astype(np.float32)

    def put(idx, **values):
        for name, value in values.items():
            getattr(p, name)[idx] = value[idx] if isinstance(value, np.ndarray) else value

    def sub(code: int) -> np.ndarray:
        probs = np.array([pr for _, pr in SUBTYPES[code]])
        return np.searchsorted(np.cumsum(probs), u[:, 3] * probs.sum(), side="right").astype(np.int8)

    c = field_crop
    # 1 Onion: winter plateau (~0.43) + spring bulbing flush (peak ~0.83 Mar–Apr), harvest May–June.
    i = c == 1
    put(i, base=0.2 + 0.02 * z[:, 0], amp1=0.23, s1=-40.0, e1=140.0 + 8 * z[:, 1], r1=15.0, f1=8.0,
        amp2=0.40, s2=55.0, e2=128.0 + 8 * z[:, 1], r2=10.0, f2=8.0)
    # 2 Winter wheat: emergence January, saturating peak Mar–Apr, senescence early May, < 0.1 after.
    i = c == 2
    put(i, base=0.09 + 0.01 * z[:, 0], amp1=0.82, s1=28.0, e1=122.0, r1=10.0, f1=9.0)
    # 3 Corn: spring corn, and (80 % of fields) autumn regrowth / new planting from late October.
    i = c == 3
    put(i, base=0.12 + 0.02 * z[:, 0], amp1=0.72, s1=90.0, e1=182.0, r1=10.0, f1=8.0,
        amp2=np.where(u[:, 0] < 0.8, 0.5, 0.0).astype(np.float32), s2=300.0 + 10 * z[:, 1], e2=_NO_END, r2=14.0)
    # 4 Sugar beet: planted autumn 2017, harvest mid-April to late June, 85 % replanted in October.
    i = c == 4
    put(i, base=0.12 + 0.02 * z[:, 0], amp1=0.75, s1=-110.0, e1=105.0 + 75 * u[:, 1], r1=15.0, f1=6.0,
        amp2=np.where(u[:, 0] < 0.85, 0.7, 0.0).astype(np.float32), s2=282.0 + 8 * z[:, 1], e2=_NO_END, r2=12.0)
    # 5 Alfalfa: perennial, always green, cut on a seasonal cycle; summer slump (negative season 2).
    i = c == 5
    put(i, base=0.2 + 0.02 * z[:, 0], amp1=0.62, s1=_NO_START, e1=_NO_END, cut1=1.0, lo=0.25,
        phase=u[:, 1], rate=1.0 + 0.07 * z[:, 2], amp2=-0.08, s2=165.0, e2=265.0, r2=12.0, f2=12.0)
    always[i] = True
    # 6 Hay: three sub-types.
    i6 = c == 6
    subtype[i6] = sub(6)[i6]
    i = i6 & (subtype == 0)  # sudangrass
    put(i, base=0.12 + 0.02 * z[:, 0], amp1=0.65, s1=115.0, e1=285.0, r1=8.0, f1=6.0, cut1=2.0, lo=0.2,
        phase=u[:, 1], rate=1.0 + 0.07 * z[:, 2])
    i = i6 & (subtype == 1)  # bermudagrass
    put(i, base=0.28 + 0.03 * z[:, 0], amp1=0.5, s1=85.0, e1=305.0, r1=12.0, f1=12.0, cut1=2.0, lo=0.3,
        phase=u[:, 1], rate=1.0 + 0.07 * z[:, 2])
    always[i] = True
    i = i6 & (subtype == 2)  # winter small-grain hay (cut early April) then sudangrass
    put(i, base=0.1 + 0.02 * z[:, 0], amp1=0.72, s1=20.0, e1=95.0, r1=10.0, f1=4.0,
        amp2=0.55, s2=140.0, e2=280.0, r2=8.0, f2=6.0, cut2=2.0, lo=0.2, phase=u[:, 1], rate=1.0 + 0.07 * z[:, 2])
    # 7 Non-crop land: bare desert soil, a faint winter green-up after the rains.
    i = c == 7
    put(i, base=0.1 + 0.025 * z[:, 0], amp1=0.04, s1=10.0, e1=80.0, r1=10.0, f1=10.0)
    p.base[0], p.amp1[0] = 0.09, 0.0  # roads and canals
    # 8 Other crops: three sub-types.
    i8 = c == 8
    subtype[i8] = sub(8)[i8]
    i = i8 & (subtype == 0)  # winter vegetables: 2017 crop harvested Jan–Mar, next planted Sep–Oct
    put(i, base=0.12 + 0.02 * z[:, 0], amp1=0.65, s1=-70.0, e1=30.0 + 55 * u[:, 1], r1=10.0, f1=5.0,
        amp2=0.65, s2=250.0 + 35 * u[:, 2], e2=335.0 + 85 * u[:, 0], r2=10.0, f2=5.0)
    i = i8 & (subtype == 1)  # spring melons
    put(i, base=0.1 + 0.02 * z[:, 0], amp1=0.55, s1=45.0, e1=160.0, r1=10.0, f1=7.0)
    i = i8 & (subtype == 2)  # autumn vegetables / melons
    put(i, base=0.1 + 0.02 * z[:, 0], amp1=0.6, s1=215.0, e1=315.0, r1=10.0, f1=7.0)

    crop_fields = c != 7
    crop_fields[0] = False
    for name in ("s1", "e1", "s2", "e2"):
        getattr(p, name)[crop_fields] += shift[crop_fields]
    # early and late varieties, harvest scheduling: the season ends earlier or later than planting says
    length = rng.normal(0.0, params.season_length_std_days, n).astype(np.float32)
    for name in ("e1", "e2"):
        getattr(p, name)[crop_fields] += length[crop_fields]
    p.amp1[crop_fields] *= vigor[crop_fields]
    p.amp2[crop_fields] *= vigor[crop_fields]
    return p, subtype, always

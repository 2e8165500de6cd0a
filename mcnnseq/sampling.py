"""Who is a sample, and how the samples are split into train / validation / test (SPEC §2).

Samples are pixels. Two protocols decide which pixels are samples (:data:`PROTOCOLS`):

* ``"paper"`` — the paper's rule (§2.2.4): a pixel is a sample when its radar is finite on every
  date and its NDVI is observed on every date on which the scene has any optical observation (dates
  with no optical value anywhere, like the real cube's two winter months, are predicted but never
  scored). On real clouds this collapses: one month observed on 0.4 % of the pixels leaves a handful.
* ``"real"`` (the default on loaded cubes) — a pixel is a sample when its radar is complete and it
  has at least ``min_clear`` clear NDVI values on the *well-observed* dates. A date observed on fewer
  than :data:`SPARSE_DATE_SHARE` (5 %) of the radar-complete pixels is *sparse*: it never decides
  who is a sample (its observed values still serve as targets and truths). With D well-observed
  dates, ``min_clear = min(D, max(MIN_CLEAR_DATES, ceil(MIN_CLEAR_FRACTION · D)))`` — at least 3
  clear dates (an artificial gap of one date keeps 2 others, see :mod:`mcnnseq.gaps`) and a quarter
  of the well-observed dates (3 of 12 monthly dates, 8 of 31 dates at a 12-day cadence), all of
  them when there are fewer than 3. Every sample has at least one clear value (something to learn).
  Missing targets are masked by the loss and by every metric, never dropped.

Samples are split, with a seed, into train 55 % / validation 15 % / test 30 % (:data:`SPLIT_FRACTIONS`),
either at random (``"random"``) or in spatial blocks (``"blocked"``): the grid is cut into square
blocks of ``block_size`` pixels and each block goes wholly to one set, so that neighbours of
training pixels do not flatter the test score. Blocks are visited in a seeded random order and each
goes to the set furthest below its target share (relative deficit), so the shares land within about
one block of 55/15/30. The default block size (:func:`auto_block_size`) is
``min(32, max(1, floor(sqrt(ny · nx / 100))))`` pixels: about field size (32 px = 320 m at 10 m),
and never fewer than about 100 blocks, so a 20×20 grid gets 2-pixel blocks, 100×100 gets 10,
200×200 gets 20 and anything from 320×320 up to 10,000×10,000 gets 32.

The "70 % cloud" scenario inherits from the "50 % cloud" one (Table 2): the extra clouds are laid on
the 50 % cube, so train and validation keep only the pixels that stay complete, and every pixel that
lost a date to the extra clouds joins the test set, scored against the NDVI under the clouds.

:class:`SampleReport` says how many pixels each rule removed, which dates are sparse, and warns when
fewer than :data:`MIN_TRAIN_PIXELS` training pixels remain.

Pixel indices are flat indices into the raveled ``(y, x)`` grid (``iy * nx + ix``), sorted, int64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import xarray as xr

from mcnnseq.datacube import observed_dates_mask, reference_ndvi
from mcnnseq.errors import DatacubeError

SPLIT_FRACTIONS: tuple[float, float, float] = (0.55, 0.15, 0.30)
#: Sample rules: the real-cloud protocol and the paper's complete-pixel protocol.
PROTOCOLS: tuple[str, ...] = ("real", "paper")
#: Split kinds: pixels at random, or square blocks of pixels.
SPLIT_KINDS: tuple[str, ...] = ("random", "blocked")
#: A date observed on fewer than this share of the radar-complete pixels is sparse (never decides samples).
SPARSE_DATE_SHARE: float = 0.05
#: The real protocol's minimum of clear well-observed dates per sample, and its fraction of them.
MIN_CLEAR_DATES: int = 3
MIN_CLEAR_FRACTION: float = 0.25
#: Below this many training pixels the sample report warns.
MIN_TRAIN_PIXELS: int = 500
#: Automatic block size: at most this many pixels per side, and about at least this many blocks.
MAX_BLOCK_SIZE: int = 32
MIN_BLOCKS: int = 100
#: Pixels read at once (times the number of dates) when the sample rule scans a cube.
_SCAN_PIXELS: int = 1 << 20


@dataclass(frozen=True)
class Split:
    """Train / validation / test pixel indices (flat, into the ``(y, x)`` grid of ``shape``)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    shape: tuple[int, int]
    seed: int
    kind: str = "random"
    block_size: int | None = None

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
    """Split the complete pixels of ``ds`` at random into train / validation / test (the paper protocol).

    Same ``ds`` and ``seed`` give the same split. Raises :class:`DatacubeError` when fewer than
    3 pixels are complete (nothing to train, validate and test on).
    """
    _check_fractions(fractions)
    return split_samples(complete_pixels(ds), seed=seed, fractions=fractions, source=ds.attrs.get("source"),
                         what="have a complete NDVI series")


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


# ------------------------------------------------------------------------------------ the sample rules

def _dates(ds: xr.Dataset) -> tuple[str, ...]:
    return tuple(str(pd.Timestamp(t).date()) for t in ds["time"].values)


def _row_blocks(ds: xr.Dataset):
    """Slices of rows holding about ``_SCAN_PIXELS`` values per variable (bounded memory on big cubes)."""
    ny, nx, nt = ds.sizes["y"], ds.sizes["x"], ds.sizes["time"]
    step = max(1, _SCAN_PIXELS // max(1, nx * nt))
    for y0 in range(0, ny, step):
        yield slice(y0, min(ny, y0 + step))


def _read(ds: xr.Dataset, name: str, rows: slice) -> np.ndarray:
    return np.asarray(ds[name].isel(y=rows).transpose("time", "y", "x").values)


def _pct(share: float) -> str:
    """A share as a percentage that never rounds a non-zero share to 0."""
    pct = 100 * float(share)
    return f"{pct:.1f} %" if pct >= 0.1 or pct == 0 else f"{pct:.2g} %"


def min_clear_dates(n_deciding: int) -> int:
    """The real protocol's clear-date minimum for ``n_deciding`` well-observed dates (module docstring)."""
    return int(min(n_deciding, max(MIN_CLEAR_DATES, math.ceil(MIN_CLEAR_FRACTION * n_deciding))))


@dataclass(frozen=True)
class SampleReport:
    """Who became a sample and why the others did not (one cube, one protocol).

    Counts are pixels of the grid: ``n_radar_incomplete`` have a missing VV/VH value on some date;
    ``n_too_few_clear`` have complete radar but fail the NDVI rule (``"real"``: fewer than
    ``min_clear`` clear values on the deciding dates; ``"paper"``: a missing value on a deciding
    date). Per date (``dates``): ``clear_share`` = share of the radar-complete pixels with a clear
    NDVI value, ``deciding`` = the date takes part in the rule. ``split`` holds the split sizes
    once the samples are split (``kind``, ``block_size`` with it).
    """

    protocol: str
    n_pixels: int
    n_radar_incomplete: int
    n_too_few_clear: int
    n_samples: int
    dates: tuple[str, ...]
    clear_share: tuple[float, ...]
    deciding: tuple[bool, ...]
    min_clear: int
    sparse_share: float = SPARSE_DATE_SHARE
    split: dict = field(default_factory=dict)
    split_kind: str = "random"
    block_size: int | None = None

    @property
    def no_observation_dates(self) -> list[str]:
        """Dates with no clear value on any radar-complete pixel (predicted, never scored)."""
        return [d for d, s in zip(self.dates, self.clear_share) if s == 0]

    @property
    def sparse_dates(self) -> list[tuple[str, float]]:
        """``(date, clear share)`` of the observed dates that do not decide who is a sample."""
        return [(d, s) for d, s, dec in zip(self.dates, self.clear_share, self.deciding) if s > 0 and not dec]

    @property
    def n_deciding(self) -> int:
        return int(sum(self.deciding))

    @property
    def rule(self) -> str:
        """The sample rule in words."""
        if self.protocol == "paper":
            return (f"paper protocol: complete radar and a clear NDVI value on every one of the {self.n_deciding} "
                    "dates with any optical observation")
        return (f"real-cloud protocol: complete radar and at least {self.min_clear} clear NDVI values on the "
                f"{self.n_deciding} dates observed on at least {100 * self.sparse_share:g} % of the pixels")

    def dates_table(self) -> pd.DataFrame:
        """One row per date: ``time``, ``clear_share`` (0..1), ``role`` ("deciding", "sparse", "no observation")."""
        role = ["deciding" if dec else ("no observation" if s == 0 else "sparse")
                for s, dec in zip(self.clear_share, self.deciding)]
        return pd.DataFrame({"time": pd.to_datetime(list(self.dates)), "clear_share": list(self.clear_share),
                             "role": role})

    def summary(self) -> str:
        """One line: samples, the rule, what was excluded."""
        parts = [f"{self.n_samples:,} of {self.n_pixels:,} pixels are samples ({self.rule})"]
        if self.n_radar_incomplete:
            parts.append(f"{self.n_radar_incomplete:,} radar-incomplete")
        if self.n_too_few_clear:
            parts.append(f"{self.n_too_few_clear:,} {self._ndvi_failure}")
        if self.sparse_dates:
            parts.append("sparse dates not deciding: " + ", ".join(f"{d} ({_pct(s)})" for d, s in self.sparse_dates))
        if self.split:
            parts.append(f"split {self.split_kind}"
                         + (f" (blocks of {self.block_size} px)" if self.block_size else "")
                         + f": train {self.split.get('train', 0):,}, validation {self.split.get('val', 0):,}, "
                           f"test {self.split.get('test', 0):,}")
        return "; ".join(parts)

    @property
    def _ndvi_failure(self) -> str:
        if self.protocol == "paper":
            return "with a missing NDVI value on a deciding date"
        return f"with fewer than {self.min_clear} clear deciding dates"

    def warning(self, min_train: int = MIN_TRAIN_PIXELS) -> str | None:
        """Text saying why, when fewer than ``min_train`` training pixels remain; None otherwise."""
        n_train = int(self.split.get("train", round(SPLIT_FRACTIONS[0] * self.n_samples)))
        if n_train >= min_train:
            return None
        lines = [f"only {n_train:,} training pixels (fewer than {min_train}): {self.n_samples:,} of the "
                 f"{self.n_pixels:,} pixels of the grid are samples under the {self.rule}."]
        if self.n_radar_incomplete:
            lines.append(f"{self.n_radar_incomplete:,} pixels have a missing radar value on some date.")
        if self.n_too_few_clear:
            line = f"{self.n_too_few_clear:,} radar-complete pixels were excluded {self._ndvi_failure}"
            if self.protocol == "paper":
                worst = sorted(((1 - s, d) for d, s, dec in zip(self.dates, self.clear_share, self.deciding)
                                if dec and s < 1), reverse=True)[:5]
                if worst:
                    line += "; most missing: " + ", ".join(f"{d} (missing on {_pct(m)})" for m, d in worst)
                line += ". The real-cloud protocol (protocol 'real') keeps pixels with some clouds"
            lines.append(line + ".")
        if self.sparse_dates:
            lines.append("Sparse dates (do not decide who is a sample): "
                         + ", ".join(f"{d} ({_pct(s)} clear)" for d, s in self.sparse_dates) + ".")
        if self.no_observation_dates:
            lines.append("Dates with no optical value: " + ", ".join(self.no_observation_dates) + ".")
        if self.n_samples and n_train < round(SPLIT_FRACTIONS[0] * self.n_samples) - 1:
            lines.append(f"The split gave training {n_train:,} of the {self.n_samples:,} samples.")
        if self.n_pixels * SPLIT_FRACTIONS[0] < min_train:
            lines.append(f"The grid itself is small: {SPLIT_FRACTIONS[0]:.0%} of {self.n_pixels:,} pixels is "
                         f"under {min_train}.")
        lines.append("Scores from so few pixels are uncertain.")
        return " ".join(lines)

    def to_dict(self) -> dict:
        """JSON-able summary."""
        return {"protocol": self.protocol, "rule": self.rule, "n_pixels": self.n_pixels,
                "n_radar_incomplete": self.n_radar_incomplete, "n_too_few_clear": self.n_too_few_clear,
                "n_samples": self.n_samples, "min_clear": self.min_clear, "sparse_share": self.sparse_share,
                "sparse_dates": {d: round(s, 6) for d, s in self.sparse_dates},
                "no_observation_dates": self.no_observation_dates}


def sample_pixels(ds: xr.Dataset, *, protocol: str = "real") -> tuple[np.ndarray, SampleReport]:
    """``(samples, report)``: the (y, x) bool mask of sample pixels under ``protocol`` and why.

    Reads the cube a block of rows at a time (bounded memory on large or lazy cubes).
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    ny, nx, nt = ds.sizes["y"], ds.sizes["x"], ds.sizes["time"]
    rc = np.zeros((ny, nx), dtype=bool)
    clear_count = np.zeros(nt, dtype=np.int64)
    for rows in _row_blocks(ds):
        r = np.isfinite(_read(ds, "vv", rows)).all(axis=0) & np.isfinite(_read(ds, "vh", rows)).all(axis=0)
        rc[rows] = r
        clear_count += (np.isfinite(_read(ds, "ndvi", rows)) & r[None]).sum(axis=(1, 2))
    n_rc = int(rc.sum())
    share = clear_count / n_rc if n_rc else np.zeros(nt)
    if protocol == "paper":
        samples = complete_pixels(ds)
        deciding = observed_dates_mask(ds)
        min_clear = int(deciding.sum())
    else:
        deciding = share >= SPARSE_DATE_SHARE
        min_clear = min_clear_dates(int(deciding.sum()))
        samples = np.zeros((ny, nx), dtype=bool)
        for rows in _row_blocks(ds):
            clear = np.isfinite(_read(ds, "ndvi", rows))
            samples[rows] = rc[rows] & (clear[deciding].sum(axis=0) >= min_clear) & clear.any(axis=0)
    report = SampleReport(protocol=protocol, n_pixels=ny * nx, n_radar_incomplete=ny * nx - n_rc,
                          n_too_few_clear=n_rc - int((samples & rc).sum()), n_samples=int(samples.sum()),
                          dates=_dates(ds), clear_share=tuple(float(v) for v in share),
                          deciding=tuple(bool(v) for v in deciding), min_clear=min_clear)
    return samples, report


# ------------------------------------------------------------------------------------------ the splits

def auto_block_size(shape: tuple[int, int]) -> int:
    """Default side of the split blocks in pixels: ``min(32, max(1, floor(sqrt(ny·nx / 100))))``."""
    ny, nx = shape
    return int(min(MAX_BLOCK_SIZE, max(1, math.isqrt(max(0, ny * nx) // MIN_BLOCKS))))


def _check_fractions(fractions) -> None:
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")


def _random_split(idx: np.ndarray, shape, seed: int, fractions) -> Split:
    rng = np.random.default_rng(seed)
    perm = rng.permutation(idx)
    n_train = int(round(fractions[0] * idx.size))
    n_val = int(round(fractions[1] * idx.size))
    n_train = max(1, min(n_train, idx.size - 2))
    n_val = max(1, min(n_val, idx.size - n_train - 1))
    return Split(train=np.sort(perm[:n_train]), val=np.sort(perm[n_train:n_train + n_val]),
                 test=np.sort(perm[n_train + n_val:]), shape=tuple(shape), seed=seed)


def block_ids(shape: tuple[int, int], block_size: int, index: np.ndarray | None = None) -> np.ndarray:
    """The id of the square block of ``block_size`` pixels each pixel falls in.

    ``(y, x)`` int64 for the whole grid, or ``(n,)`` for the flat pixel ``index`` only (no grid-sized array).
    """
    ny, nx = shape
    nbx = -(-nx // block_size)
    if index is not None:
        iy, ix = np.divmod(np.asarray(index, dtype=np.int64), nx)
        return (iy // block_size) * nbx + ix // block_size
    return (np.arange(ny)[:, None] // block_size) * nbx + (np.arange(nx)[None, :] // block_size)


def _blocked_split(idx: np.ndarray, shape, seed: int, fractions, block_size: int, source) -> Split:
    blocks = block_ids(shape, block_size, idx)
    ids, inverse, counts = np.unique(blocks, return_inverse=True, return_counts=True)
    if ids.size < 3:
        raise DatacubeError(f"blocks of {block_size} pixels leave only {ids.size} block(s) with samples; at least 3 "
                            "are needed to train, validate and test: use a smaller block size or the random split",
                            source=source)
    order = np.random.default_rng(seed).permutation(ids.size)
    target = np.asarray(fractions, dtype=np.float64) * idx.size
    got = np.zeros(3)
    assign = np.empty(ids.size, dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        for b in order:
            deficit = np.where(target > 0, (target - got) / target, -np.inf)
            s = int(np.argmax(deficit))
            assign[b] = s
            got[s] += counts[b]
    where = assign[inverse]
    parts = [np.sort(idx[where == s]) for s in range(3)]
    return Split(train=parts[0], val=parts[1], test=parts[2], shape=tuple(shape), seed=seed, kind="blocked",
                 block_size=int(block_size))


def split_samples(samples: np.ndarray, *, seed: int = 0, kind: str = "random", block_size: int | None = None,
                  fractions: tuple[float, float, float] = SPLIT_FRACTIONS, source: str | None = None,
                  what: str = "are samples") -> Split:
    """Split the sample pixels (``samples`` (y, x) bool) into train / validation / test.

    ``kind="random"``: pixels at random (the paper); ``"blocked"``: square blocks of ``block_size``
    pixels (default :func:`auto_block_size`) wholly to one set. Same inputs and ``seed``, same split.
    Raises :class:`DatacubeError` with fewer than 3 samples (``what`` completes the message).
    """
    _check_fractions(fractions)
    if kind not in SPLIT_KINDS:
        raise ValueError(f"split kind must be one of {SPLIT_KINDS}, got {kind!r}")
    samples = np.asarray(samples, dtype=bool)
    idx = np.flatnonzero(samples.ravel())
    if idx.size < 3:
        raise DatacubeError(f"only {idx.size} pixel(s) {what}; at least 3 are needed to train, validate and test",
                            source=source, variable="ndvi")
    if kind == "random":
        return _random_split(idx, samples.shape, seed, fractions)
    if block_size is None:
        block_size = auto_block_size(samples.shape)
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) or block_size < 1:
        raise ValueError(f"block size must be a positive number of pixels, got {block_size!r}")
    return _blocked_split(idx, samples.shape, seed, fractions, int(block_size), source)


def with_split(report: SampleReport, split: Split) -> SampleReport:
    """``report`` completed with the sizes and kind of ``split``."""
    return replace(report, split=split.sizes(), split_kind=split.kind, block_size=split.block_size)


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

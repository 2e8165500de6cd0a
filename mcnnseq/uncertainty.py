"""Per-pixel, per-date uncertainty of every network: a standard deviation σ (NDVI units) per prediction.

Two kinds of σ model (:class:`SigmaModel`), both calibrated on the **validation pixels** after
training, so that about :data:`COVERAGE_TARGET` of held-out truths fall within ±2σ:

* ``"head"`` — for networks with a variance column (MCNN-Seq fusion): σ = s · exp(½ · log-variance),
  the log-variance predicted per pixel and date by the network itself (trained with a Gaussian
  negative log-likelihood on detached features); the scalar s is fitted on artificial gaps of the
  validation pixels (:mod:`mcnnseq.gaps`, the same kind of gap the evaluation scores).
* ``"residual"`` — for networks without one (RNN, CNN, radar-only MCNN-Seq, and checkpoints saved
  before σ existed): a post-hoc model of the squared validation residual,
  ``log σ² = a_date + b₁·ŷ + b₂·ŷ² + c·given``, fitted by least squares on ``log(r²)`` (the per-date
  term shrunk towards 0 with :data:`SHRINK` pseudo-observations, so a date with few or no
  validation values falls back to the pooled fit), then the same scalar calibration s. It depends
  on the date and on the predicted NDVI level, so it is per pixel and per date too. ``given``
  (1 where the date's NDVI was in the input) matters only for networks that read the NDVI.

The scalar s is ``quantile(|error| / σ_raw, COVERAGE_TARGET) / 2`` over the calibration entries:
exact on the validation set, and honest on the test set as long as validation and test pixels come
from the same scene (the split is random or blocked; evaluation measures it on the test pixels:
:func:`coverage_2sigma`). The σ model is a few numbers stored in the checkpoint header (JSON);
the variance column's weights are in the state dict.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace

import numpy as np

from mcnnseq.gaps import GAP_LENGTHS, make_gaps
from mcnnseq.heldout import gap_predictions, held_out_predictions
from mcnnseq.prediction import has_std

#: Fraction of held-out truths that should fall within ±2σ.
COVERAGE_TARGET: float = 0.95
#: Pseudo-observations that shrink a date's own term of the residual model towards the pooled fit.
SHRINK: float = 20.0
#: Calibration needs at least this many held-out entries (else no σ model is fitted).
MIN_CALIBRATION: int = 20
#: Smallest σ (NDVI): a floor against a degenerate fit predicting zero spread.
SIGMA_FLOOR: float = 1e-3
_LOG_EPS: float = 1e-8
_LOG_VAR_RANGE: tuple[float, float] = (-16.0, 4.0)
KINDS: tuple[str, ...] = ("head", "residual")


@dataclass(frozen=True)
class SigmaModel:
    """A calibrated σ model (see the module docstring). JSON-able via :meth:`to_dict`.

    ``kind`` in :data:`KINDS`; ``scale`` the calibration factor s; ``date_coef`` (T,), ``level_coef``
    (b₀, b₁, b₂) and ``given_coef`` c are the residual model's terms (unused by ``"head"``);
    ``n_calibration`` the number of held-out entries s was fitted on; ``target`` the coverage aimed at.
    """

    kind: str
    scale: float
    date_coef: tuple[float, ...] = ()
    level_coef: tuple[float, ...] = (0.0, 0.0, 0.0)
    given_coef: float = 0.0
    n_calibration: int = 0
    target: float = COVERAGE_TARGET

    @property
    def needs_log_var(self) -> bool:
        """True when σ needs the network's log-variance column."""
        return self.kind == "head"

    def raw_log_var(self, mean: np.ndarray, *, log_var: np.ndarray | None = None,
                    given: np.ndarray | None = None) -> np.ndarray:
        """(n, T) uncalibrated log σ² for predictions ``mean`` (n, T) NDVI."""
        mean = np.asarray(mean, dtype=np.float64)
        if self.kind == "head":
            if log_var is None:
                raise ValueError("a 'head' σ model needs the network's log-variance column")
            return np.clip(np.asarray(log_var, dtype=np.float64), *_LOG_VAR_RANGE)
        b0, b1, b2 = self.level_coef
        y = np.nan_to_num(mean, nan=0.0)
        out = b0 + b1 * y + b2 * y * y
        if len(self.date_coef) == mean.shape[-1]:
            out = out + np.asarray(self.date_coef)[None, :]
        if given is not None:
            out = out + self.given_coef * np.asarray(given, dtype=np.float64)
        return out

    def std(self, mean: np.ndarray, *, log_var: np.ndarray | None = None,
            given: np.ndarray | None = None) -> np.ndarray:
        """(n, T) float32 calibrated σ (NDVI); NaN where ``mean`` is NaN."""
        raw = self.raw_log_var(mean, log_var=log_var, given=given)
        sigma = np.maximum(self.scale * np.exp(0.5 * raw), SIGMA_FLOOR)
        return np.where(np.isfinite(mean), sigma, np.nan).astype(np.float32)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["date_coef"] = [float(v) for v in self.date_coef]
        d["level_coef"] = [float(v) for v in self.level_coef]
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> "SigmaModel":
        d = dict(d)
        if d.get("kind") not in KINDS:
            raise ValueError(f"unknown σ model kind {d.get('kind')!r}; known: {', '.join(KINDS)}")
        scale = float(d["scale"])
        if not math.isfinite(scale) or scale <= 0:
            raise ValueError(f"σ model scale must be a positive number, got {scale!r}")
        return cls(kind=str(d["kind"]), scale=scale, date_coef=tuple(float(v) for v in d.get("date_coef", ())),
                   level_coef=tuple(float(v) for v in d.get("level_coef", (0.0, 0.0, 0.0))),
                   given_coef=float(d.get("given_coef", 0.0)), n_calibration=int(d.get("n_calibration", 0)),
                   target=float(d.get("target", COVERAGE_TARGET)))


def has_variance_head(trained) -> bool:
    """True when ``trained`` (a :class:`~mcnnseq.training.TrainedModel`) predicts its own log-variance."""
    head = getattr(getattr(trained, "model", None), "head", None)
    return bool(getattr(trained, "uses_ndvi", False)) and getattr(head, "out_features", 1) == 2


def calibration_scale(error: np.ndarray, raw_log_var: np.ndarray, target: float = COVERAGE_TARGET) -> float:
    """s such that a share ``target`` of ``|error| <= 2 · s · exp(½ raw_log_var)`` (flat arrays)."""
    z = np.abs(error) / np.exp(0.5 * raw_log_var)
    z = z[np.isfinite(z)]
    return float(np.quantile(z, target) / 2.0) if z.size else math.nan


def fit_residual_model(mean: np.ndarray, truth: np.ndarray, *, given: np.ndarray | None = None,
                       scored: np.ndarray | None = None) -> SigmaModel:
    """The uncalibrated (scale 1) residual model fitted on (n, T) predictions ``mean`` vs ``truth``.

    ``scored`` (n, T) bool: the entries used (default: every finite pair). ``given`` (n, T) bool:
    where the date's NDVI was in the network's input.
    """
    mean = np.asarray(mean, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    ok = np.isfinite(mean) & np.isfinite(truth)
    if scored is not None:
        ok &= scored
    n, T = mean.shape
    t_idx = np.broadcast_to(np.arange(T), (n, T))[ok]
    y = mean[ok]
    g = np.zeros_like(y) if given is None else np.asarray(given, dtype=np.float64)[ok]
    target = np.log((truth[ok] - y) ** 2 + _LOG_EPS)
    use_given = given is not None and 0 < g.mean() < 1
    cols = [np.ones_like(y), y, y * y] + ([g] if use_given else [])
    A = np.stack(cols, axis=1)
    coef, *_ = np.linalg.lstsq(A, target, rcond=None)
    resid = target - A @ coef
    sums = np.bincount(t_idx, weights=resid, minlength=T)
    counts = np.bincount(t_idx, minlength=T)
    date_coef = sums / (counts + SHRINK)
    return SigmaModel(kind="residual", scale=1.0, date_coef=tuple(date_coef.tolist()),
                      level_coef=tuple(float(c) for c in coef[:3]),
                      given_coef=float(coef[3]) if use_given else 0.0)


def _gap_copies(Y: np.ndarray, seed: int):
    """Artificial gaps of every length on ``Y`` (n, T) NDVI: (gaps, gapped inputs (m, T), truth (m, T))."""
    gaps = make_gaps(Y, k_values=GAP_LENGTHS, seed=seed)
    return gaps, gaps.apply(Y), np.asarray(Y, dtype=np.float32)[gaps.pixel]


def fit_uncertainty(trained, X_val: np.ndarray, Y_val: np.ndarray, *, seed: int = 0,
                    kind: str | None = None) -> dict | None:
    """The calibrated σ model of ``trained`` on validation pixels (``X_val`` (n, T, 2) dB, ``Y_val`` (n, T)
    observed NDVI); a dict for :attr:`TrainedModel.uncertainty`, or None when there are fewer than
    :data:`MIN_CALIBRATION` held-out values.

    ``kind``: None = ``"head"`` for a network with a variance column, else ``"residual"``. Networks that
    read the NDVI are calibrated on seeded artificial gaps of the validation pixels (the hidden values
    are the truth); radar-only networks on every observed validation value.
    """
    kind = kind or ("head" if has_variance_head(trained) else "residual")
    if kind not in KINDS:
        raise ValueError(f"unknown σ model kind {kind!r}; known: {', '.join(KINDS)}")
    X_val = np.asarray(X_val, dtype=np.float32)
    Y_val = np.asarray(Y_val, dtype=np.float32)
    if trained.uses_ndvi:
        gaps, ndvi_in, truth = _gap_copies(Y_val, seed)
        if len(gaps) == 0:
            return None
        X = X_val[gaps.pixel]
        scored = gaps.mask()
        given = np.isfinite(ndvi_in)
    else:
        X, ndvi_in, truth = X_val, None, Y_val
        scored = np.isfinite(Y_val)
        given = None
    if int((scored & np.isfinite(truth)).sum()) < MIN_CALIBRATION:
        return None
    mean, log_var = trained._forward_numpy(X, ndvi_in, None, "reference", with_log_var=(kind == "head"))
    if kind == "head":
        model = SigmaModel(kind="head", scale=1.0)
    else:
        # a network that reads the NDVI: fit on hidden and visible entries (learns `given`), calibrate on hidden
        fit_on = np.isfinite(truth) if trained.uses_ndvi else scored
        model = fit_residual_model(mean, truth, given=given, scored=fit_on)
    raw = model.raw_log_var(mean, log_var=log_var, given=given)
    ok = scored & np.isfinite(truth) & np.isfinite(mean)
    scale = calibration_scale((truth - mean)[ok], raw[ok], model.target)
    if not math.isfinite(scale) or scale <= 0:
        return None
    return replace(model, scale=scale, n_calibration=int(ok.sum())).to_dict()


def ensure_uncertainty(trained, X_val: np.ndarray, Y_val: np.ndarray, *, seed: int = 0):
    """``trained`` itself when it has a σ model, else a copy with one fitted on (X_val, Y_val).

    For checkpoints saved before σ existed (the caller's validation pixels must not be test pixels).
    Objects that are not trained networks are returned unchanged.
    """
    if not hasattr(trained, "_forward_numpy") or getattr(trained, "uncertainty", None) is not None:
        return trained
    return replace(trained, uncertainty=fit_uncertainty(trained, X_val, Y_val, seed=seed))


def _covered(truth: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    ok = np.isfinite(truth) & np.isfinite(mean) & np.isfinite(std)
    return (np.abs(truth - mean) <= 2.0 * std)[ok]


def coverage_2sigma(model, X: np.ndarray, Y: np.ndarray, observed: np.ndarray, *,
                    seed: int = 0, k_values=GAP_LENGTHS, chunk: int = 16_384) -> dict | None:
    """Share of held-out truths inside ±2σ on test pixels (what :func:`mcnnseq.experiment.evaluate`
    reports, which computes it from the predictions it scores: :func:`coverage_from_predictions`).

    Returns ``{"test", "gaps", "gap": {k: share}, "n_test", "n_gaps", "mean_std_gaps"}``.

    ``X`` (n, T, 2) dB, ``Y`` (n, T) reference NDVI (NaN = no truth), ``observed`` (n, T) observed NDVI.
    ``"test"``: every test truth, predicted as :func:`mcnnseq.experiment.evaluate` scores it (leave-one-
    date-out for networks that read the NDVI); ``"gaps"``: the artificial gaps of
    :func:`mcnnseq.gaps.make_gaps` with ``seed`` (the evaluation's gaps), and per gap length. None when
    the model has no σ.
    """
    if not has_std(model):
        return None
    obs = np.asarray(observed, dtype=np.float32)
    held_out = held_out_predictions(model, X, obs, chunk=chunk)
    gaps = make_gaps(obs, k_values=k_values, seed=seed)
    return coverage_from_predictions(Y, held_out, gaps, gap_predictions(model, X, obs, gaps, held_out, chunk=chunk),
                                     k_values=k_values)


def coverage_from_predictions(Y: np.ndarray, held_out: tuple[np.ndarray, np.ndarray], gaps,
                              gapped: tuple[np.ndarray, np.ndarray], *, k_values=GAP_LENGTHS) -> dict:
    """:func:`coverage_2sigma`'s figures from predictions already made: ``held_out`` (mean, σ) (n, T) of the
    test pixels as evaluated, ``gapped`` (mean, σ) (len(gaps), T) of the copies of ``gaps``
    (:class:`mcnnseq.gaps.Gaps`), ``Y`` (n, T) the truths."""
    mean, std = held_out
    gm, gs = gapped
    test = _covered(Y, mean, std)
    hidden = gaps.mask()
    truth = gaps.hidden(Y)
    by_k, all_gaps = {}, []
    for k in k_values:
        rows = gaps.k == int(k)
        cov = _covered(truth[rows], gm[rows], gs[rows])
        all_gaps.append(cov)
        by_k[str(int(k))] = float(cov.mean()) if cov.size else math.nan
    pooled = np.concatenate(all_gaps) if all_gaps else np.zeros(0, bool)
    return {"test": float(test.mean()) if test.size else math.nan,
            "gaps": float(pooled.mean()) if pooled.size else math.nan,
            "gap": by_k, "n_test": int(test.size), "n_gaps": int(pooled.size),
            "mean_std_gaps": float(np.nanmean(np.where(hidden, gs, np.nan))) if pooled.size else math.nan}

"""One cube, one protocol: split the pixels, train models, score them (SPEC §2, Tables 2–4).

An :class:`Experiment` is a cube, the protocol that decided its samples (:mod:`mcnnseq.sampling`:
``"real"`` or ``"paper"``) and its train/validation/test split. Everything that trains or scores a
model on a cube — the CLI, the report, the app — goes through here, so they all follow the same
protocol: train and validate on the observed NDVI of the samples (the loss masks what is missing),
test against the NDVI under the clouds where it is known (``ndvi_true``), else the observed NDVI,
and never score a date with no truth.

:func:`evaluate` scores every model on the test pixels in two ways:

* **per date** (Table 4 form) on the test truths of that date; a date is scored only when it has at
  least :data:`MIN_SCORED` truths (fewer: NaN, shown as —). A model that uses the observed NDVI
  (``uses_ndvi``: the gap-fillers, the fusion network) is scored **leave-one-date-out**: the value
  at date t of a test pixel is predicted with date t hidden on that pixel (every other observed
  value given), in batches of copies; entries with no observation are predicted from all the
  pixel's observations (they were never given to the model).
* **by artificial gap** (:mod:`mcnnseq.gaps`): on each test pixel and each k = 1 … 4 its series
  allows, a seeded window of k consecutive observed dates is hidden; models that use the NDVI
  predict from the gapped series, radar-only models just predict. R² and RMSE pooled over the
  hidden entries by k (``by_gap``) and by days since the last clear observation before the hidden
  window (``by_days``, buckets of :func:`mcnnseq.gaps.days_labels`). Cells with fewer than
  :data:`MIN_SCORED` hidden entries are NaN.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from mcnnseq.datacube import reference_ndvi, validate_cube
from mcnnseq.defaults import PAPER_SCENARIOS
from mcnnseq.errors import DatacubeError
from mcnnseq.gaps import GAP_LENGTHS, days_bucket_index, days_labels, make_gaps
# leave_one_date_out and COPY_CHUNK are re-exported: the scoring's parts live in mcnnseq.heldout
from mcnnseq.heldout import COPY_CHUNK, gap_predictions, held_out_predictions, leave_one_date_out  # noqa: F401
from mcnnseq.sampling import (PROTOCOLS, SampleReport, Split, inherit_split, pixel_series, sample_pixels,
                              split_samples, with_split)

#: The paper's cloud scenarios (§2.2.4, Table 2), from :mod:`mcnnseq.defaults`.
SCENARIOS: tuple[str, ...] = PAPER_SCENARIOS
#: Networks in the order the paper's Table 4 lists them.
MODEL_ORDER: tuple[str, ...] = ("rnn", "cnn", "mcnn_seq")
#: The classic gap-fillers, shown after the networks.
GAP_FILLER_ORDER: tuple[str, ...] = ("linear", "whittaker")
#: Protocol of the simulated demo scene (it exists for the paper comparison); loaded cubes get "real".
DEMO_PROTOCOL: str = "paper"
#: The fewest truths an R² / RMSE is reported on (a date's test truths, a gap cell's hidden entries).
MIN_SCORED: int = 20


@dataclass(frozen=True)
class Experiment:
    """A cube (``(time, y, x)``, see :mod:`mcnnseq.datacube`), its protocol and the pixel split.

    ``samples`` reports who became a sample and why (it warns below 500 training pixels).
    """

    ds: xr.Dataset
    split: Split
    protocol: str = "real"
    samples: SampleReport | None = None

    @property
    def dates(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.ds["time"].values, name="time")

    @property
    def source(self) -> str:
        return str(self.ds.attrs.get("source", "datacube"))

    def train_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``X`` (n_train, T, 2) dB and ``Y`` (n_train, T) observed NDVI (NaN = no truth)."""
        return pixel_series(self.ds, self.split.train, target="ndvi")

    def val_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return pixel_series(self.ds, self.split.val, target="ndvi")

    def test_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``X`` (n_test, T, 2) dB and ``Y`` (n_test, T) reference NDVI (``ndvi_true`` where the cube has it)."""
        return pixel_series(self.ds, self.split.test, target="reference")

    def test_observed(self) -> np.ndarray:
        """``(n_test, T)`` float32: the observed NDVI of the test pixels (NaN where cloudy or missing)."""
        return pixel_series(self.ds, self.split.test, target="ndvi")[1]

    def warning(self) -> str | None:
        """The sample report's warning (fewer than 500 training pixels, and why), or None."""
        return self.samples.warning() if self.samples is not None else None

    def signature(self) -> dict:
        """The facts a model trained here must match to be used on another cube (stored in checkpoints).

        Besides the dates and the source it records the protocol and split (kind, block size, seed),
        so that a later evaluation can tell whether its test pixels were the model's training pixels.
        """
        attrs = self.ds.attrs
        sig = {
            "dates": [str(pd.Timestamp(t).date()) for t in self.ds["time"].values],
            "source": self.source,
            "protocol": self.protocol,
            "split": self.split.kind,
            "split_seed": int(self.split.seed),
        }
        if self.split.block_size is not None:
            sig["block_size"] = int(self.split.block_size)
        for key in ("simulator_version", "scenario", "seed"):
            if key in attrs:
                sig[key] = attrs[key] if not isinstance(attrs[key], np.generic) else attrs[key].item()
        return sig


def default_protocol(ds: xr.Dataset) -> str:
    """:data:`DEMO_PROTOCOL` for the simulated demo scene (it carries ``simulator_version``), ``"real"`` otherwise."""
    attrs = ds.attrs
    return DEMO_PROTOCOL if attrs.get("simulated") and attrs.get("simulator_version") is not None else "real"


def make_experiment(ds: xr.Dataset, *, seed: int = 0, protocol: str | None = None, split: str = "random",
                    block_size: int | None = None, base: Split | None = None) -> Experiment:
    """Validate ``ds``, select its samples under ``protocol`` and split them (seeded).

    ``protocol``: ``"real"`` or ``"paper"`` (see :mod:`mcnnseq.sampling`); by default
    :func:`default_protocol` (the paper's on the simulated demo scene, whose shipped models were
    trained on that split; the real-cloud protocol on every other cube). ``split``: ``"random"`` or
    ``"blocked"`` (``block_size`` pixels, default automatic). With ``base``, the split is inherited
    from that paper split (the 70 % scenario; the protocol is then ``"paper"``).
    """
    validate_cube(ds)
    if protocol is None:
        protocol = "paper" if base is not None else default_protocol(ds)
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    samples, report = sample_pixels(ds, protocol=protocol)
    if base is not None:
        if protocol != "paper" or split != "random":
            raise ValueError("an inherited split (base=) follows the paper protocol with a random split")
        sp = inherit_split(base, ds)
    else:
        what = ("have a complete NDVI series" if protocol == "paper" else
                f"have complete radar and at least {report.min_clear} clear NDVI dates")
        sp = split_samples(samples, seed=seed, kind=split, block_size=block_size, source=ds.attrs.get("source"),
                           what=what)
    return Experiment(ds=ds, split=sp, protocol=protocol, samples=with_split(report, sp))


def demo_experiment(*, size: int | tuple[int, int] = 200, seed: int = 0, scenario: str = "50%",
                    split_seed: int = 0, protocol: str = DEMO_PROTOCOL, split: str = "random",
                    block_size: int | None = None) -> Experiment:
    """The simulated demo scene in a paper scenario, split as the paper does (``protocol="paper"``).

    ``"70%"`` inherits its split from the ``"50%"`` scene of the same seed (Table 2): the same
    pixels, 20 % more of them clouded, train and validation shrunk, test grown — under the paper
    protocol with a random split; other protocols / splits select and split the 70 % scene itself.
    """
    from mcnnseq.sim import simulate_scene

    if scenario not in SCENARIOS + ("none",):
        raise ValueError(f"scenario must be one of {SCENARIOS + ('none',)}, got {scenario!r}")
    ds = simulate_scene(size=size, seed=seed, scenario=scenario)
    if scenario == "70%" and protocol == "paper" and split == "random":
        base = make_experiment(simulate_scene(size=size, seed=seed, scenario="50%"), seed=split_seed,
                               protocol="paper").split
        return make_experiment(ds, base=base)
    return make_experiment(ds, seed=split_seed, protocol=protocol, split=split, block_size=block_size)


def train(exp: Experiment, config, *, callbacks: Iterable = (), should_stop: Callable[[], bool] | None = None):
    """Train ``config.model`` (a :class:`mcnnseq.training.TrainConfig`) on the experiment's train/val pixels."""
    from mcnnseq.training import fit

    X_tr, Y_tr = exp.train_arrays()
    X_va, Y_va = exp.val_arrays()
    return fit(X_tr, Y_tr, X_va, Y_va, config, callbacks=callbacks, should_stop=should_stop,
               data_signature=exp.signature())


def model_id(key: str, model) -> str:
    """The registry name of ``model`` (``mcnn_seq``, ``cnn``, ``rnn``, ``linear``, ``whittaker`` …), else ``key``."""
    from mcnnseq.models.registry import get_spec
    from mcnnseq.errors import ModelConfigError

    for candidate in (getattr(model, "model_name", None), key):
        if isinstance(candidate, str) and candidate:
            try:
                return get_spec(candidate).name
            except ModelConfigError:
                continue
    return str(key)


def _jsonable(value):
    """NaN/inf -> None, numpy scalars -> Python, recursively."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class Evaluation:
    """Test-set scores of several models on one experiment (the keys are the names the models were given).

    ``per_date``: Table 4 form (index date + a "mean" row, columns (model, r2|rmse|n)).
    ``predictions``: model -> (n_test, T) NDVI (leave-one-date-out for models that use the NDVI);
    ``truth``: (n_test, T) reference NDVI (NaN = no truth).
    ``by_gap``: tidy rows (model, k, r2, rmse, n) over the artificially hidden entries by gap length;
    ``by_days``: tidy rows (model, bucket, r2, rmse, n) by days since the last clear observation
    (``bucket`` an ordered categorical, :func:`mcnnseq.gaps.days_labels`).
    ``split``: split sizes; ``ids``: model -> registry name (the keys of :meth:`to_json`).
    """

    per_date: pd.DataFrame
    predictions: dict[str, np.ndarray]
    truth: np.ndarray
    by_gap: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["model", "k", "r2", "rmse", "n"]))
    by_days: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["model", "bucket", "r2", "rmse", "n"]))
    split: dict = field(default_factory=dict)
    protocol: str = ""
    ids: dict = field(default_factory=dict)
    samples: SampleReport | None = None
    split_kind: str = "random"
    block_size: int | None = None
    seed: int = 0
    #: model -> :func:`mcnnseq.uncertainty.coverage_2sigma` (share of truths within ±2σ; models with a σ only)
    coverage: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The results for scripts (see :meth:`to_json`), NaN as None."""
        mean = self.per_date.loc["mean"] if "mean" in self.per_date.index else None
        models = {}
        for key in self.predictions:
            entry = {"display_name": key}
            if mean is not None:
                entry["mean_r2"] = float(mean[(key, "r2")])
                entry["mean_rmse"] = float(mean[(key, "rmse")])
            g = self.by_gap[self.by_gap["model"] == key]
            entry["gap_r2"] = {str(int(k)): float(v) for k, v in zip(g["k"], g["r2"])}
            entry["gap_rmse"] = {str(int(k)): float(v) for k, v in zip(g["k"], g["rmse"])}
            entry["gap_n"] = {str(int(k)): int(v) for k, v in zip(g["k"], g["n"])}
            d = self.by_days[self.by_days["model"] == key]
            entry["days_r2"] = {str(b): float(v) for b, v in zip(d["bucket"], d["r2"])}
            entry["days_rmse"] = {str(b): float(v) for b, v in zip(d["bucket"], d["rmse"])}
            entry["days_n"] = {str(b): int(v) for b, v in zip(d["bucket"], d["n"])}
            cov = self.coverage.get(key)
            if cov is not None:
                n = cov["n_test"] + cov["n_gaps"]
                pooled = (cov["test"] * cov["n_test"] + cov["gaps"] * cov["n_gaps"]) / n if n else math.nan
                entry["coverage_2sigma"] = float(pooled)
                entry["coverage_2sigma_parts"] = {"test": cov["test"], "gaps": cov["gaps"]}
                entry["gap_coverage_2sigma"] = dict(cov["gap"])
            models[self.ids.get(key, key)] = entry
        out = {"split": {k: int(self.split.get(k, 0)) for k in ("train", "val", "test")},
               "protocol": self.protocol, "split_kind": self.split_kind, "block_size": self.block_size,
               "seed": self.seed, "min_scored": MIN_SCORED, "models": models}
        if self.samples is not None:
            out["samples"] = self.samples.to_dict()
        return _jsonable(out)

    def to_json(self, **kwargs) -> str:
        """``{"split": {"train", "val", "test"}, "protocol", "models": {registry name: {"mean_r2", "mean_rmse",
        "gap_r2": {"1" … "4"}, "gap_rmse", "gap_n", "days_r2", "days_rmse", "days_n", "display_name",
        "coverage_2sigma": share over every held-out truth (test pixels and artificial gaps pooled),
        "coverage_2sigma_parts": {"test", "gaps"}, "gap_coverage_2sigma": {"1" … "4"}}}, …}`` (the coverage keys
        for models with a σ: the networks).

        NaN (not scored) is written as null.
        """
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)


def evaluate(models: Mapping[str, object], exp: Experiment, *, k_values: Iterable[int] = GAP_LENGTHS,
             gap_seed: int | None = None,
             precomputed: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None) -> Evaluation:
    """Score each model (anything with ``predict``; see :mod:`mcnnseq.prediction`) on the test pixels.

    Per date (Table 4 form) and by artificial gap (module docstring). The gaps are seeded with
    ``gap_seed`` (default: the split's seed), so the same experiment gives the same numbers.
    Networks also get their ±2σ coverage (:func:`mcnnseq.uncertainty.coverage_2sigma`); a checkpoint
    saved without a σ model gets one fitted on the experiment's validation pixels first.

    ``precomputed``: ``{name: (held_out (n_test, T), gapped (len(gaps), T))}`` — a model's predictions
    made earlier exactly as :func:`held_out_predictions` and :func:`gap_predictions` make them on these
    test pixels and gaps (e.g. the shipped demo's, :mod:`mcnnseq.demo_scores`): that model is not run
    (and gets no coverage: the stored predictions have no σ).
    """
    from mcnnseq.metrics import compare_models, scores_by_group
    from mcnnseq.uncertainty import coverage_from_predictions, ensure_uncertainty

    if not models:
        raise ValueError("no model to evaluate")
    if any(hasattr(m, "_forward_numpy") and getattr(m, "uncertainty", None) is None for m in models.values()):
        X_va, Y_va = exp.val_arrays()
        models = {name: ensure_uncertainty(m, X_va, Y_va, seed=exp.split.seed) for name, m in models.items()}
    X, Y = exp.test_arrays()
    if X.shape[0] == 0:
        raise DatacubeError("the test set is empty", source=exp.source)
    obs = exp.test_observed()
    k_values = [int(k) for k in k_values]
    seed = exp.split.seed if gap_seed is None else gap_seed
    gaps = make_gaps(obs, k_values=k_values, seed=seed)
    precomputed = dict(precomputed or {})
    for name, (held, gapped) in precomputed.items():
        if np.shape(held) != Y.shape or np.shape(gapped) != (len(gaps), Y.shape[1]):
            raise ValueError(f"precomputed predictions of {name!r} do not fit these test pixels and gaps")
    # one pass per model gives the mean and σ the tables and the coverage both use
    held_out = {name: (precomputed[name][0], None) if name in precomputed else held_out_predictions(m, X, obs)
                for name, m in models.items()}
    preds = {name: mean for name, (mean, _) in held_out.items()}
    table = compare_models(preds, Y, exp.dates, min_n=MIN_SCORED)

    hidden = gaps.mask()
    truth = gaps.hidden(Y)
    ks = np.where(hidden, gaps.k[:, None], 0)
    buckets = np.where(hidden, days_bucket_index(gaps.days_since_clear(obs, exp.dates)), -1)
    labels = days_labels()
    gap_rows, day_rows, coverage = [], [], {}
    for name, m in models.items():
        pred, pred_std = ((precomputed[name][1], None) if name in precomputed
                          else gap_predictions(m, X, obs, gaps, held_out[name]))
        gap_rows.append(scores_by_group(truth, pred, ks, order=k_values, min_n=MIN_SCORED, column="k")
                        .assign(model=name))
        by_bucket = scores_by_group(truth, pred, buckets, order=range(len(labels)), min_n=MIN_SCORED,
                                    column="bucket")
        day_rows.append(by_bucket.assign(model=name, bucket=[labels[i] for i in by_bucket["bucket"]]))
        if held_out[name][1] is not None:
            coverage[name] = coverage_from_predictions(Y, held_out[name], gaps, (pred, pred_std), k_values=k_values)
    by_gap = pd.concat(gap_rows, ignore_index=True)[["model", "k", "r2", "rmse", "n"]]
    by_days = pd.concat(day_rows, ignore_index=True)[["model", "bucket", "r2", "rmse", "n"]]
    by_days["bucket"] = pd.Categorical(by_days["bucket"], categories=labels, ordered=True)
    ids: dict[str, str] = {}
    for name, m in models.items():
        base_id, i = model_id(name, m), 1
        mid = base_id
        while mid in ids.values():
            i += 1
            mid = f"{base_id}_{i}"
        ids[name] = mid
    return Evaluation(per_date=table, predictions=preds, truth=Y, by_gap=by_gap, by_days=by_days,
                      split=exp.split.sizes(), protocol=exp.protocol, ids=ids, samples=exp.samples,
                      split_kind=exp.split.kind, block_size=exp.split.block_size, seed=int(exp.split.seed),
                      coverage=coverage)


def gap_fillers(exp: Experiment, names: Iterable[str] = GAP_FILLER_ORDER) -> dict[str, object]:
    """``{display name: gap-filler}`` of the classic gap-fillers set up for the experiment's dates."""
    from mcnnseq.models.registry import build_gap_filler, display_name

    return {display_name(n): build_gap_filler(n, dates=exp.ds["time"].values) for n in names}


def scene_predictions(models: Mapping[str, object], exp: Experiment, *, progress=None) -> dict[str, xr.Dataset]:
    """Whole-scene ``ndvi_pred``/``ndvi_filled`` cubes, one per model (bounded memory, see :mod:`mcnnseq.prediction`)."""
    from mcnnseq.prediction import predict_multi

    return predict_multi(dict(models), exp.ds, progress=progress)


def crop_metrics(models: Mapping[str, object], exp: Experiment, *, by: str = "crop",
                 evaluation: Evaluation | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-crop (or per-field) mean profiles on the test pixels, observed vs predicted (Table 3 / Figs. 9–11).

    Only the test pixels are predicted (or taken from ``evaluation``, which already holds them).
    Returns ``(profiles, agreement)``: ``profiles`` tidy rows (model, class, time, obs_mean, obs_std,
    pred_mean, pred_std, …, ±2σ bands); ``agreement`` (model, class) -> r2, rmse between the mean curves.
    """
    from mcnnseq.datacube import crop_class_names
    from mcnnseq.metrics import class_profiles, profile_agreement

    if by not in exp.ds.variables:
        raise DatacubeError(f"has no '{by}' map, so there are no per-{by} profiles", source=exp.source, variable=by)
    ev = evaluation if evaluation is not None else evaluate(models, exp)
    nt, ny, nx = exp.ds.sizes["time"], exp.ds.sizes["y"], exp.ds.sizes["x"]
    iy, ix = np.divmod(exp.split.test, nx)
    ref = np.asarray(reference_ndvi(exp.ds).values)
    classes = np.asarray(exp.ds[by].values)
    mask = exp.split.masks()["test"]
    names = crop_class_names(exp.ds) if by == "crop" else None
    profiles, agreement = [], []
    for name in models:
        pred = np.full((nt, ny, nx), np.nan, dtype=np.float32)
        pred[:, iy, ix] = ev.predictions[name].T  # (n_test, T) -> the test pixels of (T, y, x)
        prof = class_profiles(ref, pred, classes, dates=exp.dates, mask=mask, paired=True, class_names=names,
                              class_column=by)
        agr = profile_agreement(prof, class_column=by)
        profiles.append(prof.assign(model=name))
        agreement.append(agr.assign(model=name).reset_index())
    return pd.concat(profiles, ignore_index=True), pd.concat(agreement, ignore_index=True)

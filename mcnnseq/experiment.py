"""The paper's protocol on one cube: split the pixels, train models, score them (SPEC §2, Tables 2–4).

An :class:`Experiment` is a cube plus its train/validation/test split. Everything that trains or
scores a model on a cube — the CLI, the report, the app — goes through here, so they all follow the
same protocol: train and validate on the observed NDVI of complete pixels, test against the NDVI
under the clouds where it is known (``ndvi_true``), and never score a date with no truth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from mcnnseq.datacube import reference_ndvi, validate_cube
from mcnnseq.defaults import PAPER_SCENARIOS
from mcnnseq.errors import DatacubeError
from mcnnseq.sampling import Split, inherit_split, pixel_series, split_pixels

#: The paper's cloud scenarios (§2.2.4, Table 2), from :mod:`mcnnseq.defaults`.
SCENARIOS: tuple[str, ...] = PAPER_SCENARIOS
#: Models in the order the paper's Table 4 lists them.
MODEL_ORDER: tuple[str, ...] = ("rnn", "cnn", "mcnn_seq")


@dataclass(frozen=True)
class Experiment:
    """A cube (``(time, y, x)``, see :mod:`mcnnseq.datacube`) and the pixel split it is trained and tested on."""

    ds: xr.Dataset
    split: Split

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

    def signature(self) -> dict:
        """The facts a model trained here must match to be used on another cube (stored in checkpoints)."""
        attrs = self.ds.attrs
        sig = {
            "dates": [str(pd.Timestamp(t).date()) for t in self.ds["time"].values],
            "source": self.source,
        }
        for key in ("simulator_version", "scenario", "seed"):
            if key in attrs:
                sig[key] = attrs[key] if not isinstance(attrs[key], np.generic) else attrs[key].item()
        return sig


def make_experiment(ds: xr.Dataset, *, seed: int = 0, base: Split | None = None) -> Experiment:
    """Validate ``ds`` and split its complete pixels (seeded); with ``base``, inherit that split (70 % case)."""
    validate_cube(ds)
    split = inherit_split(base, ds) if base is not None else split_pixels(ds, seed=seed)
    return Experiment(ds=ds, split=split)


def demo_experiment(*, size: int | tuple[int, int] = 200, seed: int = 0, scenario: str = "50%",
                    split_seed: int = 0) -> Experiment:
    """The simulated demo scene in a paper scenario, split as the paper does.

    ``"70%"`` inherits its split from the ``"50%"`` scene of the same seed (Table 2): the same
    pixels, 20 % more of them clouded, train and validation shrunk, test grown.
    """
    from mcnnseq.sim import simulate_scene

    if scenario not in SCENARIOS + ("none",):
        raise ValueError(f"scenario must be one of {SCENARIOS + ('none',)}, got {scenario!r}")
    ds = simulate_scene(size=size, seed=seed, scenario=scenario)
    if scenario == "70%":
        base = split_pixels(simulate_scene(size=size, seed=seed, scenario="50%"), seed=split_seed)
        return make_experiment(ds, base=base)
    return make_experiment(ds, seed=split_seed)


def train(exp: Experiment, config, *, callbacks: Iterable = (), should_stop: Callable[[], bool] | None = None):
    """Train ``config.model`` (a :class:`mcnnseq.training.TrainConfig`) on the experiment's train/val pixels."""
    from mcnnseq.training import fit

    X_tr, Y_tr = exp.train_arrays()
    X_va, Y_va = exp.val_arrays()
    return fit(X_tr, Y_tr, X_va, Y_va, config, callbacks=callbacks, should_stop=should_stop,
               data_signature=exp.signature())


@dataclass(frozen=True)
class Evaluation:
    """Test-set scores of several models on one experiment.

    ``per_date``: Table 4 form (index date + a "mean" row, columns (model, r2|rmse|n)).
    ``predictions``: model -> (n_test, T) NDVI; ``truth``: (n_test, T) reference NDVI (NaN = no truth).
    """

    per_date: pd.DataFrame
    predictions: dict[str, np.ndarray]
    truth: np.ndarray


def evaluate(models: Mapping[str, object], exp: Experiment) -> Evaluation:
    """Score each model (anything with ``predict(X)``) on the test pixels, per date (Table 4 form)."""
    from mcnnseq.metrics import compare_models

    if not models:
        raise ValueError("no model to evaluate")
    X, Y = exp.test_arrays()
    if X.shape[0] == 0:
        raise DatacubeError("the test set is empty", source=exp.source)
    preds = {name: np.asarray(m.predict(X), dtype=np.float32) for name, m in models.items()}
    table = compare_models(preds, Y, exp.dates)
    return Evaluation(per_date=table, predictions=preds, truth=Y)


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
    from mcnnseq.metrics import class_profiles, profile_agreement
    from mcnnseq.paper import CROP_CLASSES

    if by not in exp.ds.variables:
        raise DatacubeError(f"has no '{by}' map, so there are no per-{by} profiles", source=exp.source, variable=by)
    ev = evaluation if evaluation is not None else evaluate(models, exp)
    nt, ny, nx = exp.ds.sizes["time"], exp.ds.sizes["y"], exp.ds.sizes["x"]
    iy, ix = np.divmod(exp.split.test, nx)
    ref = np.asarray(reference_ndvi(exp.ds).values)
    classes = np.asarray(exp.ds[by].values)
    mask = exp.split.masks()["test"]
    names = CROP_CLASSES if by == "crop" else None
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

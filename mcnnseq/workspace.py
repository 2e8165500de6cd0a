"""What one user works on: a cube, its experiment, the runs (trained models) and their memoised results.

No Streamlit here: the dashboard keeps one :class:`Workspace` per browser session
(``mcnnseq.ui.state.workspace()``) and its pages only draw what the workspace computes, so everything
a page shows can be tested without a running app (``tests/test_workspace.py``).

**Cubes.** The workspace holds the demo cube (a :class:`DemoSpec`: size, seed, cloud scenario) and the
last good file the user loaded, and shows one of them (:attr:`Workspace.cube`). Each :class:`Cube` has a
stable ``key``.

**Runs.** A :class:`Run` is a model (anything :func:`mcnnseq.prediction.call_predict` can call) on one
cube, with a stable id (``run-1``, ``run-2``…) and a unique, renamable name made of the model, the
preset and the origin: "MCNN-Seq · shipped", "MCNN-Seq · quick", a second "MCNN-Seq · quick (2)".
A new run never replaces another. The user ticks the runs the pages compare (:meth:`Workspace.ticked`).
The classic gap-fillers (Linear, Whittaker: no training) are runs of every cube, offered unticked
(:meth:`Workspace.offer_classic`); they predict from the pixel's own observed NDVI and are scored
leave-one-date-out by :func:`mcnnseq.experiment.evaluate`.

**Protocol.** The demo scene follows the paper's protocol (its comparison and shipped models need it);
on a loaded file the user chooses the protocol and split (:meth:`Workspace.set_protocol`: real-cloud or
paper, random or spatially blocked), which drops what depends on the split and keeps the scenes.
A parcel/point table is a points cube (:attr:`Cube.is_points`): each id is a pixel of a (1, n) grid.

**Results** are memoised in :class:`~mcnnseq.memo.ResultStore`\\ s under keys made of the cube key and
run ids (never ``id(model)``): test-pixel predictions and whole-scene predictions once per (run, cube),
the :class:`~mcnnseq.experiment.Evaluation` and crop profiles once per set of runs. Results of the
shipped demo models live in a store shared by every session (``shared``). Invalidation is explicit:
showing another cube drops the previous cube's results; removing a run drops its results; renaming
one drops the results that carry its name (evaluations, profiles) and relabels the rest.

**Seam for precomputed predictions.** ``precomputed(cube, run)`` (constructor argument) may return
a finished whole-scene prediction (the :func:`mcnnseq.prediction.predict_cube` dataset) for a run,
e.g. read from a file shipped with the demo models (:func:`shipped_precomputed`: the signed files of
:mod:`mcnnseq.demo_predictions`, stale ones refused); the workspace then never predicts that run's scene.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from mcnnseq import defaults
from mcnnseq.errors import McnnSeqError
from mcnnseq.memo import Progress, ResultStore, is_missing, sub_progress
from mcnnseq.sampling import PROTOCOLS, SPLIT_KINDS

#: A mean NDVI curve whose standard deviation over the dates is below this (NDVI) is *flat*: it varies less
#: than the noise of a single Sentinel-2 NDVI value (a few hundredths), so an R² against it measures noise
#: and the crop table shows none. Crop curves vary by 0.1 to 0.3; bare land by about 0.01.
FLAT_CURVE_STD: float = 0.03
#: Pixels predicted per model call when the workspace predicts test pixels (bounded memory).
CHUNK_PIXELS: int = 8192

#: ``precomputed(cube, run)`` -> whole-scene prediction dataset, or None (see the module docstring).
PrecomputedPredictions = Callable[["Cube", "Run"], "xr.Dataset | None"]
#: ``(cube, run, experiment) -> (held_out, gapped) | None``: a run's test-pixel predictions made earlier, as
#: :func:`mcnnseq.experiment.evaluate` takes them (``precomputed=``), e.g. :func:`shipped_scores`.
PrecomputedScores = Callable[["Cube", "Run", Any], "tuple[np.ndarray, np.ndarray] | None"]


# ---------------------------------------------------------------------------------------------- cubes

@dataclass(frozen=True)
class DemoSpec:
    """The simulated demo scene: ``size`` x ``size`` pixels of 10 m, simulator ``seed``, cloud ``scenario``."""

    size: int = defaults.DEMO_SIZE
    seed: int = defaults.DEMO_SEED
    scenario: str = defaults.DEFAULT_SCENARIO

    def __post_init__(self) -> None:
        if self.scenario not in defaults.SCENARIOS:
            raise ValueError(f"unknown scenario {self.scenario!r}; choose one of {', '.join(defaults.SCENARIOS)}")
        if int(self.size) < 1 or int(self.seed) < 0:
            raise ValueError(f"a demo scene needs a positive size and a non-negative seed, got {self}")

    @property
    def key(self) -> str:
        return f"demo:{self.size}x{self.size}:seed{self.seed}:{self.scenario}"

    @property
    def label(self) -> str:
        return (f"Demo scene {self.size} x {self.size} px, seed {self.seed}, "
                f"{defaults.SCENARIOS[self.scenario]}")

    @property
    def has_shipped_models(self) -> bool:
        """True for the scene the shipped demo models were trained on (default size and seed, a paper scenario)."""
        return ((self.size, self.seed) == (defaults.DEMO_SIZE, defaults.DEMO_SEED)
                and self.scenario in defaults.PAPER_SCENARIOS)


@dataclass(frozen=True)
class Protocol:
    """How a cube's samples are chosen (``protocol``: :data:`mcnnseq.sampling.PROTOCOLS`, "real" or
    "paper") and split (``split``: :data:`mcnnseq.sampling.SPLIT_KINDS`, "random" or "blocked")."""

    protocol: str = "real"
    split: str = "random"

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {self.protocol!r}")
        if self.split not in SPLIT_KINDS:
            raise ValueError(f"split must be one of {', '.join(SPLIT_KINDS)}, got {self.split!r}")


#: The demo scene's protocol: the paper's, split at random (its paper comparison and shipped models need it).
DEMO_PROTOCOL = Protocol("paper", "random")
#: Results of a run that do not depend on the split (kept when the protocol changes).
SPLIT_FREE: tuple[str, ...] = ("scene", "r2map")


@dataclass(eq=False)
class Cube:
    """A datacube in the workspace: ``ds`` (see :mod:`mcnnseq.datacube`), its ``key`` and where it came from."""

    ds: xr.Dataset
    key: str
    label: str  #: "Demo scene 200 x 200 px, seed 0, 50 % cloud" or the file name
    origin: str  #: "demo" or "file"
    demo: DemoSpec | None = None
    _summary: Any = field(default=None, repr=False)

    @property
    def simulated(self) -> bool:
        return bool(self.ds.attrs.get("simulated", False)) or self.origin == "demo"

    @property
    def is_points(self) -> bool:
        """A points cube (a parcel/point table: dims (time, 1, n ids), no raster grid; :mod:`mcnnseq.io.table`)."""
        from mcnnseq.datacube import is_points

        return is_points(self.ds)

    @property
    def ids(self) -> list[str]:
        """The ids of a points cube's points (column index = position), as text; [] for a grid."""
        return [str(v) for v in self.ds["id"].values] if self.is_points and "id" in self.ds.coords else []

    @property
    def title(self) -> str:
        """The label with the SIMULATED badge where it applies."""
        return f"{self.label} — {defaults.SIMULATED_BADGE}" if self.simulated else self.label

    @property
    def summary(self):
        """:class:`mcnnseq.datacube.CubeSummary` (computed once)."""
        if self._summary is None:
            from mcnnseq.datacube import summarize_cube

            self._summary = summarize_cube(self.ds, source=self.label)
        return self._summary

    @property
    def dates(self) -> list[str]:
        return [str(pd.Timestamp(t).date()) for t in self.ds["time"].values]

    @property
    def file_stem(self) -> str:
        """A base for download file names: the file name without its suffixes, or the demo's key."""
        return file_stem(self.label if self.origin == "file" else self.key)

    @property
    def pixels_with_a_gap(self) -> float:
        """Share of pixels whose NDVI series misses at least one date (all of them when a date has no
        optical value at all; :attr:`summary`'s ``pixels_with_a_cloud`` counts the observed dates only)."""
        s = self.summary
        return 1.0 if s.dates_without_observation else float(s.pixels_with_a_cloud)

    @property
    def has_truth(self) -> bool:
        """Whether the NDVI under the clouds is known (``ndvi_true``: simulated or artificially clouded)."""
        return "ndvi_true" in self.ds.variables


#: Suffixes a file stem drops (so a download is "cube_ndvi_filled.tif", never "cube.nc_ndvi_filled.tif").
DATA_SUFFIXES: tuple[str, ...] = (".nc", ".nc4", ".netcdf", ".h5", ".hdf5", ".zarr", ".tif", ".tiff", ".zip", ".csv",
                                  ".parquet", ".pq", ".pt", ".gz")


def file_stem(name: str) -> str:
    """A file-name-safe stem for downloads made from ``name``.

    ``"worldcereal_preprocessed_inputs.nc"`` -> ``"worldcereal_preprocessed_inputs"``;
    ``"vv.tif + vh.tif + ndvi.tif"`` -> ``"vv-vh-ndvi"``; ``"demo:200x200:seed0:50%"`` -> ``"demo_200x200_seed0_50"``.
    """
    parts = []
    for part in str(name).split(" + "):
        part = part.strip().replace("\\", "/").rsplit("/", 1)[-1]
        while part.lower().endswith(DATA_SUFFIXES):
            part = part[: part.rfind(".")]
        parts.append(part)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(p for p in parts if p)).strip("._-")
    return stem[:100] or "cube"


def file_key(name: str, *blobs: bytes) -> str:
    """The key of a cube read from the file(s) ``blobs`` shown as ``name`` (same bytes, same key)."""
    h = hashlib.sha1()
    for b in blobs:
        h.update(b)
    return f"file:{name}:{h.hexdigest()[:12]}"


# ---------------------------------------------------------------------------------------------- runs

@dataclass(eq=False)
class Run:
    """A model on one cube. ``model`` follows :class:`mcnnseq.prediction.Predictor`."""

    id: str  #: stable for the life of the workspace ("run-3"); results are keyed by it
    name: str  #: unique within the cube's runs; renamable
    model: Any
    kind: str  #: the model's display name from the registry ("MCNN-Seq", "CNN", "Linear"…)
    preset: str  #: "shipped", "quick", "paper", "from cnn.pt"…
    origin: str  #: "shipped", "trained", "file" or "classic"
    cube_key: str
    description: str = ""
    shared_key: str | None = None  #: results shared by every session under this key (shipped models)
    created: float = field(default_factory=time.time)

    @property
    def store_id(self) -> str:
        """The id results are stored under: ``shared_key`` for shared runs, else :attr:`id`."""
        return self.shared_key or self.id

    @property
    def checkpointable(self) -> bool:
        """Whether the model can be saved as a checkpoint file (a trained network)."""
        return hasattr(self.model, "normalizer") and hasattr(self.model, "config") and hasattr(self.model, "model")

    @property
    def uses_ndvi(self) -> bool:
        from mcnnseq.prediction import uses_ndvi

        return uses_ndvi(self.model)

    def facts(self) -> dict:
        """One row of the runs table: how the model was made and how well it validated."""
        m = self.model
        history = list(getattr(m, "history", None) or [])
        record = getattr(m, "best_record", None) if history else None  # the evaluation point whose weights were kept
        last = history[-1] if history else None
        val_loss = getattr(record, "val_loss", None)
        return {"run": self.name, "model": self.kind, "preset": self.preset, "origin": self.origin,
                "steps run": getattr(last, "step", None) or None,
                "epochs run": round(float(last.epoch), 2) if last is not None else None,
                "best step": getattr(record, "step", None) or None,
                "best epoch": round(float(record.epoch), 2) if record is not None else None,
                "stop": getattr(m, "stop_reason", None) if history else None,
                "val R²": getattr(record, "val_r2", None),
                "val RMSE": float(np.sqrt(val_loss)) if val_loss is not None and np.isfinite(val_loss) else None,
                "training pixels": getattr(m, "n_train", None) or None, "how": self.description}

    def history(self) -> pd.DataFrame:
        """Per-epoch curves (``epoch``, ``train_loss``, ``val_loss``, ``train_r2``, ``val_r2``…); empty if none."""
        rows = [r.to_dict() if hasattr(r, "to_dict") else dict(r) for r in getattr(self.model, "history", None) or []]
        return pd.DataFrame(rows)


def training_budget_text(model: Any) -> str:
    """How far a trained network got: ``"default preset, 12,400 steps"``; ``"50 epochs"`` for a model saved
    before step counts existed (its history has one record per epoch)."""
    history = list(getattr(model, "history", None) or [])
    steps = getattr(history[-1], "step", 0) if history else 0
    config = getattr(model, "config", None)
    preset = getattr(config, "preset", None)
    if steps:
        return f"{preset or 'custom'} preset, {steps:,} steps"
    return f"{len(history)} epochs"


def model_kind(model: Any) -> str:
    """The display name of ``model``'s kind ("MCNN-Seq"…): its ``name``, else the registry's name of its config."""
    from mcnnseq.prediction import model_name

    return model_name(model)


# ---------------------------------------------------------------------------------------------- views

@dataclass(frozen=True)
class PixelSeries:
    """One pixel's series for a chart: dates, radar (dB), observed / true NDVI, each run's prediction."""

    row: int
    col: int
    dates: list[str]
    s1_dates: list[str] | None
    vv: np.ndarray  #: (T,) dB
    vh: np.ndarray  #: (T,) dB
    ndvi: np.ndarray  #: (T,) observed NDVI, NaN where cloudy or missing
    ndvi_true: np.ndarray | None  #: (T,) NDVI under the clouds (simulated cubes)
    predictions: dict[str, np.ndarray]  #: run name -> (T,) NDVI
    crop: str | None  #: the pixel's crop class name, if the cube has a crop map
    stds: dict[str, np.ndarray] = field(default_factory=dict)  #: run name -> (T,) σ (NDVI), runs with a σ only
    optical: np.ndarray | None = None  #: (T,) bool, dates with a clear value anywhere (:func:`mcnnseq.flags.optical_dates`)


@dataclass(frozen=True)
class CropView:
    """Per-class (crop or field) profiles of the test pixels, observed vs each run, with what labels them.

    ``classes``: index = class code; columns ``label`` ("Alfalfa", "field 12 — Alfalfa, 35 px"),
    ``crop_name`` (crop name or None), ``pixels`` (pixels of the class in the scene), ``test_pixels``,
    ``flat`` (observed mean curve flatter than :data:`FLAT_CURVE_STD`). ``agreement``: index class,
    columns ``(run, "r2"|"rmse")`` (R² NaN on flat curves). ``profiles``: tidy rows of
    :func:`mcnnseq.metrics.class_profiles` with a ``model`` column (run name). ``radar``: tidy VV/VH
    profiles (dB). ``cloudy_dates``: class -> dates on which more than half its pixels were cloudy.
    """

    by: str
    classes: pd.DataFrame
    agreement: pd.DataFrame
    profiles: pd.DataFrame
    radar: pd.DataFrame
    cloudy_dates: dict[int, list[str]]

    def codes(self, *, min_pixels: int = 1) -> list[int]:
        """Class codes with at least ``min_pixels`` test pixels, in code order."""
        keep = self.classes["test_pixels"] >= int(min_pixels)
        return [int(c) for c in self.classes.index[keep]]

    def label(self, code: int) -> str:
        return str(self.classes.at[int(code), "label"])

    def observed(self, code: int) -> pd.DataFrame:
        """The observed profile of ``code`` (rows of one run: the observed columns are the same for all)."""
        first = self.profiles["model"].iloc[0]
        return self.profiles[(self.profiles["model"] == first) & (self.profiles[self.by] == int(code))]

    def predicted(self, code: int) -> dict[str, pd.DataFrame]:
        p = self.profiles[self.profiles[self.by] == int(code)]
        return {name: g for name, g in p.groupby("model", sort=False)}

    def radar_of(self, code: int) -> pd.DataFrame:
        return self.radar[self.radar[self.by] == int(code)]


@dataclass(frozen=True)
class SplitFacts:
    """What the Train page tells about the experiment of the cube."""

    sizes: dict[str, int]  #: train / val / test pixel counts
    n_dates: int
    dates_without_observation: list[str]
    has_truth: bool
    inherited: bool  #: the split comes from the 50 % scene (the demo's 70 % scenario)
    protocol: str = "paper"  #: "real" or "paper" (:data:`mcnnseq.sampling.PROTOCOLS`)
    split: str = "random"  #: "random" or "blocked"
    rule: str = ""  #: the sample rule in words (:attr:`mcnnseq.sampling.SampleReport.rule`)
    block_size: int | None = None
    warning: str | None = None  #: fewer than 500 training pixels, and why

    def text(self) -> str:
        """How the samples were chosen, in the user's words, for this cube."""
        n_obs = self.n_dates - len(self.dates_without_observation)
        if self.protocol == "paper":
            complete = ("whose radar is complete and whose NDVI is observed on every date"
                        if not self.dates_without_observation else
                        f"whose radar is complete and whose NDVI is observed on each of the {n_obs} dates that have "
                        "any optical observation")
        else:
            complete = "with " + (self.rule.split(": ", 1)[-1] if self.rule else "complete radar and enough clear "
                                  "NDVI dates") + " (real-cloud protocol; the loss and the scores skip what is missing)"
        how = ("at random" if self.split == "random" else
               "in square blocks" + (f" of {self.block_size} x {self.block_size} pixels" if self.block_size else "")
               + " that go wholly to one set (spatially blocked)")
        parts = [f"Samples are the pixels {complete}, split {how} (seed {defaults.SPLIT_SEED}) "
                 "55 / 15 / 30 % into training, validation and test (paper §2.2.4, Table 2)."]
        if self.dates_without_observation:
            parts.append(f"The {len(self.dates_without_observation)} date(s) with no optical value at all "
                         f"({', '.join(self.dates_without_observation)}) are predicted but never scored.")
        if self.inherited:
            parts.append("This 70 % cloud scenario keeps the 50 % split: pixels newly clouded move to the test "
                         "set, scored against the NDVI under the clouds.")
        elif self.has_truth:
            parts.append("Test pixels are scored against the NDVI under the clouds (known: simulated data).")
        else:
            parts.append("Test pixels are scored against their observed NDVI, on the dates it is observed.")
        return " ".join(parts)


# ---------------------------------------------------------------------------------------------- helpers

def _digest(*arrays: np.ndarray | None) -> str:
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        a = np.ascontiguousarray(a)
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(a.view(np.uint8).reshape(-1) if a.size else b"")
    return h.hexdigest()


def scene_chunk(n_pixels: int) -> int:
    """Pixels per block of a whole-scene prediction: about 20 blocks, so the progress bar moves, but at least
    4096 pixels (batches stay efficient) and at most :data:`mcnnseq.prediction.CHUNK_PIXELS` (memory)."""
    from mcnnseq.prediction import CHUNK_PIXELS as MAX_CHUNK

    return int(min(MAX_CHUNK, max(4096, n_pixels // 20)))


def predict_in_chunks(model: Any, X: np.ndarray, ndvi: np.ndarray | None = None, *,
                      progress: Progress | None = None, chunk: int = CHUNK_PIXELS, text: str = "") -> np.ndarray:
    """``call_predict(model, X, ndvi)`` a chunk of pixels at a time, reporting progress; (n, T_out) float32."""
    from mcnnseq.prediction import call_predict, uses_ndvi

    n = X.shape[0]
    parts = []
    give_ndvi = ndvi is not None and uses_ndvi(model)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        parts.append(np.asarray(call_predict(model, X[start:stop], ndvi[start:stop] if give_ndvi else None),
                                dtype=np.float32))
        if progress is not None:
            progress(stop / max(n, 1), f"{text}: {stop:,} / {n:,} pixels" if text else f"{stop:,} / {n:,} pixels")
    if not parts:
        return np.zeros((0, X.shape[1]), dtype=np.float32)
    return np.concatenate(parts, axis=0)


def ndvi_scoring_rows(observed: np.ndarray, k_max: int = 4) -> int:
    """About how many series :func:`mcnnseq.experiment.evaluate` predicts for a model that uses the NDVI
    on test pixels with ``observed`` (n, T) NDVI: all of them, one copy per observed entry
    (leave-one-date-out) and up to ``k_max`` artificial-gap copies per pixel (a progress bar's total)."""
    obs = np.asarray(observed)
    return int(obs.shape[0] * (1 + k_max) + np.isfinite(obs).sum()) or 1


class _MemoModel:
    """A model whose predictions are memoised by input content (so an evaluation never predicts twice)."""

    def __init__(self, model: Any, store: ResultStore, prefix: tuple, name: str):
        from mcnnseq.prediction import uses_ndvi

        self._model, self._store, self._prefix, self.name = model, store, prefix, name
        self.uses_ndvi = uses_ndvi(model)
        #: ``on_rows(n)`` after each prediction of n series (the evaluation's progress for NDVI-using models)
        self.on_rows: Callable[[int], None] | None = None

    def _key(self, X: np.ndarray, ndvi: np.ndarray | None) -> tuple:
        return self._prefix + ("predict", _digest(np.asarray(X)),
                               _digest(np.asarray(ndvi)) if self.uses_ndvi and ndvi is not None else None)

    def warm(self, X: np.ndarray, progress: Progress | None, text: str) -> None:
        """Predict the test pixels of a radar-only model now, with progress (the evaluation then reuses them).

        A model that uses the observed NDVI is scored on inputs with dates hidden (leave-one-date-out,
        artificial gaps), which only the evaluation makes: nothing to warm.
        """
        if not self.uses_ndvi:
            self._store.compute(self._key(X, None),
                                lambda p: predict_in_chunks(self._model, X, None, progress=p, text=text), progress)

    def predict(self, X: np.ndarray, ndvi: np.ndarray | None = None, **_: Any) -> np.ndarray:
        if not self.uses_ndvi:
            ndvi = None
        out = self._store.compute(self._key(X, ndvi), lambda p: predict_in_chunks(self._model, X, ndvi))
        if self.on_rows is not None:
            self.on_rows(int(X.shape[0]))
        return out


def _clear_ndvi(px: xr.Dataset) -> np.ndarray:
    """(T,) float32 observed NDVI of one pixel, NaN where cloudy or missing (what the models are given)."""
    ndvi = np.asarray(px["ndvi"].values, dtype=np.float32)
    if "cloud" in px.data_vars:
        ndvi = np.where(np.asarray(px["cloud"].values, dtype=bool), np.float32(np.nan), ndvi)
    return ndvi


def complete_scene(scene: xr.Dataset, model: Any, ds: xr.Dataset) -> xr.Dataset:
    """A precomputed whole-scene prediction with what :func:`mcnnseq.prediction.predict_cube` would add that
    needs no network pass: ``fill_source`` (from the cube's observations) and, for a model whose σ model is
    ``"residual"`` (a function of the predicted NDVI and the date: radar-only networks), ``ndvi_std``.
    A ``"head"`` σ needs the network's variance column, so it is left out (the scene is predicted then)."""
    from mcnnseq.flags import fill_source, fill_source_attrs, optical_dates

    out = scene
    if "fill_source" not in scene and "ndvi" in ds.data_vars and "ndvi_pred" in scene:
        observed = np.asarray(ds["ndvi"].values, dtype=np.float32)
        if "cloud" in ds.data_vars:
            observed = np.where(np.asarray(ds["cloud"].values), np.float32(np.nan), observed)
        out = out.copy(deep=False)
        out["fill_source"] = (("time", "y", "x"), fill_source(observed, np.asarray(scene["ndvi_pred"].values),
                                                              optical_dates(ds)), fill_source_attrs())
    sigma = getattr(model, "uncertainty", None)
    if "ndvi_std" not in scene and "ndvi_pred" in scene and sigma and sigma.get("kind") == "residual" \
            and not getattr(model, "uses_ndvi", False):
        from mcnnseq.uncertainty import SigmaModel

        pred = np.asarray(scene["ndvi_pred"].transpose("time", "y", "x").values, dtype=np.float32)
        nt = pred.shape[0]
        std = SigmaModel.from_dict(sigma).std(pred.reshape(nt, -1).T).T.reshape(pred.shape)
        out = out.copy(deep=False)
        out["ndvi_std"] = (("time", "y", "x"), std, {
            "units": "1", "long_name": f"standard deviation of the NDVI predicted by {scene.attrs.get('model', '')}",
            "comment": "calibrated on validation pixels so that about 95 % of held-out truths lie within "
                       "ndvi_pred ± 2 ndvi_std"})
    return out


def _relabel(ds: xr.Dataset, stored_name: str, name: str) -> xr.Dataset:
    """A shallow copy of a prediction dataset made under ``stored_name``, labelled with the run's ``name``."""
    if stored_name == name:
        return ds
    out = ds.copy(deep=False)
    out.attrs = {**ds.attrs, "model": name}
    for var in out.data_vars.values():
        text = var.attrs.get("long_name")
        if isinstance(text, str):
            var.attrs = {**var.attrs, "long_name": text.replace(stored_name, name)}
    return out


def _served_by_kind(key_of: Callable[..., Any], read: Callable[..., Mapping[str, Any] | None]) -> Callable:
    """``serve(cube, run, *args)``: the entry ``run.kind`` of ``read(cube, *args)`` for a shipped run on the scene
    the shipped models were trained on (None for any other run, or when ``read`` gave None). ``read`` runs once
    per ``key_of(cube, *args)``; concurrent callers of one key wait for its result."""
    import threading

    lock = threading.Lock()
    loaded: dict[Any, Mapping[str, Any] | None] = {}

    def serve(cube: Cube, run: Run, *args):
        if run.origin != "shipped" or cube.demo is None or not cube.demo.has_shipped_models:
            return None
        key = key_of(cube, *args)
        with lock:
            if key not in loaded:
                loaded[key] = read(cube, *args)
            stored = loaded[key]
        return None if stored is None else stored.get(run.kind)

    return serve


def _load_demo_predictions(scenario: str, ds: xr.Dataset):
    from mcnnseq.demo_predictions import load_demo_predictions   # (imported when first needed, not at start-up)

    return load_demo_predictions(scenario, ds)


def _load_demo_scores(scenario: str, exp):
    from mcnnseq.demo_scores import load_demo_scores

    return load_demo_scores(scenario, exp)


def shipped_precomputed(load: Callable[[str, xr.Dataset], Mapping[str, xr.Dataset] | None] | None = None
                        ) -> PrecomputedPredictions:
    """A ``precomputed(cube, run)`` (see the module docstring) serving the shipped demo models' whole-scene
    predictions from the signed files beside them (:func:`mcnnseq.demo_predictions.load_demo_predictions`).

    The file of a demo cube is read (and its signature checked against the cube and the checkpoints)
    once per cube; a stale or missing file gives None, so the workspace predicts as before. Only runs
    of origin "shipped" on the scene the shipped models were trained on are served, by model kind.
    ``load(scenario, ds)`` replaces the loader (tests).
    """
    load = load or _load_demo_predictions
    return _served_by_kind(lambda cube: cube.key, lambda cube: load(cube.demo.scenario, cube.ds))


def shipped_scores(load: Callable[[str, Any], Mapping[str, tuple[np.ndarray, np.ndarray]] | None] | None = None
                   ) -> PrecomputedScores:
    """A ``precomputed_scores(cube, run, experiment)`` serving the shipped demo models' held-out test predictions
    (models that read the NDVI: their leave-one-date-out scoring is the slow part of a first Dates visit) from
    the signed files beside them (:func:`mcnnseq.demo_scores.load_demo_scores`), read once per cube and split
    (protocol, split kind, seed: another split of the demo cube has other test pixels, which the file's
    signature refuses); a stale or missing file gives None (the workspace predicts). ``load(scenario,
    experiment)`` replaces the loader (tests).
    """
    import json

    load = load or _load_demo_scores
    return _served_by_kind(lambda cube, exp: (cube.key, json.dumps(exp.signature(), sort_keys=True, default=str)),
                           lambda cube, exp: load(cube.demo.scenario, exp))


def _default_simulate(spec: DemoSpec) -> xr.Dataset:
    from mcnnseq.sim import simulate_scene

    return simulate_scene(size=(spec.size, spec.size), seed=spec.seed, scenario=spec.scenario)


def _default_shipped(scenario: str) -> dict:
    return load_shipped_models(scenario)


def load_shipped_models(scenario: str, *, directory=None) -> dict:
    """``{display name: model}`` shipped for the demo scene of ``scenario``: RNN, CNN, MCNN-Seq
    (:func:`mcnnseq.pretrained.load_demo_models`) and, when its file is there and was made on this simulator,
    the default gap-filler MCNN-Seq fusion (:func:`mcnnseq.pretrained.load_demo_gap_filler`)."""
    from mcnnseq.errors import CheckpointError
    from mcnnseq.models.registry import DEFAULT_GAP_FILLER
    from mcnnseq.pretrained import demo_model_path, load_demo_gap_filler, load_demo_models

    models = dict(load_demo_models(scenario, directory=directory))
    if demo_model_path(scenario, DEFAULT_GAP_FILLER, directory=directory).exists():
        try:
            fusion = load_demo_gap_filler(scenario, has_optical=True, directory=directory)
        except CheckpointError:  # stale (another simulator version): the radar-only models are still offered
            fusion = None
        if fusion is not None:
            models[fusion.name] = fusion
    return models


# ---------------------------------------------------------------------------------------------- workspace

class Workspace:
    """One user's cube, runs and results (see the module docstring).

    ``simulate(spec)`` makes a demo cube (default :func:`mcnnseq.sim.simulate_scene`; the dashboard
    passes a server-wide cached one); ``shipped_models(scenario)`` returns ``{name: model}`` of the
    shipped demo models (default :func:`mcnnseq.pretrained.load_demo_models`); ``shared`` is the store
    for results of the shipped models, shared by every workspace given the same store;
    ``precomputed`` is the seam for precomputed whole-scene predictions, ``precomputed_scores`` for
    precomputed held-out test predictions (:func:`shipped_scores`).
    """

    def __init__(self, *, simulate: Callable[[DemoSpec], xr.Dataset] | None = None,
                 shipped_models: Callable[[str], Mapping[str, Any]] | None = None,
                 shared: ResultStore | None = None, precomputed: PrecomputedPredictions | None = None,
                 precomputed_scores: PrecomputedScores | None = None):
        self._simulate = simulate or _default_simulate
        self._shipped_models = shipped_models or _default_shipped
        self.shared = shared if shared is not None else ResultStore()
        self.results = ResultStore()  #: this workspace's own results
        self._precomputed = precomputed
        self._precomputed_scores = precomputed_scores
        self._demo_spec = DemoSpec()
        self._demo: Cube | None = None
        self._file: Cube | None = None
        self._source = "demo"
        self._runs: dict[str, Run] = {}
        self._unticked: set[str] = set()
        self._ids = itertools.count(1)
        self._shipped: dict[str, str | None] = {}  # cube key -> message (None = offered fine)
        self._classic: set[str] = set()  # cube keys whose classic gap-fillers were offered
        self._protocols: dict[str, Protocol] = {}  # file cube key -> the protocol chosen for it
        self._active_key: str | None = None

    # ------------------------------------------------------------------ cubes

    @property
    def source(self) -> str:
        """``"demo"`` or ``"file"``: which cube the pages show."""
        return self._source if self._file is not None else "demo"

    @property
    def demo_spec(self) -> DemoSpec:
        return self._demo_spec

    @property
    def file_cube(self) -> Cube | None:
        return self._file

    @property
    def cube(self) -> Cube:
        """The cube every page works on: the loaded file if chosen, else the demo scene."""
        cube = self._file if self.source == "file" else self.demo_cube()
        if cube.key != self._active_key:
            self._active_key = cube.key
            self._forget_other_cubes(cube.key)
        return cube

    def demo_cube(self) -> Cube:
        """The demo cube of :attr:`demo_spec` (simulated on first use)."""
        spec = self._demo_spec
        if self._demo is None or self._demo.demo != spec:
            ds = self._simulate(spec)
            self._demo = Cube(ds=ds, key=spec.key, label=spec.label, origin="demo", demo=spec)
        return self._demo

    def use_demo(self, spec: DemoSpec | None = None, *, scenario: str | None = None) -> None:
        """Show the demo scene of ``spec`` (default: the current one), or the current one in ``scenario``."""
        spec = spec or self._demo_spec
        if scenario is not None:
            spec = DemoSpec(spec.size, spec.seed, scenario)
        self._demo_spec = spec
        self._source = "demo"

    def use_file(self, ds: xr.Dataset, *, name: str, key: str | None = None) -> Cube:
        """Show the cube ``ds`` read from the file ``name`` (``key`` from :func:`file_key`); it replaces the
        previous file cube, whose runs stay in the workspace (under their cube key) for when it comes back."""
        self._file = Cube(ds=ds, key=key or file_key(name), label=name, origin="file")
        self._source = "file"
        return self._file

    def choose(self, source: str) -> None:
        """Show the ``"demo"`` or the ``"file"`` cube."""
        if source not in ("demo", "file"):
            raise ValueError(f"source must be 'demo' or 'file', got {source!r}")
        self._source = source

    def _forget_other_cubes(self, key: str) -> None:
        self.results.discard(lambda k: isinstance(k, tuple) and k[0] != key)

    def protocol(self, cube: Cube | None = None) -> Protocol:
        """How the samples of ``cube`` are chosen and split: the paper's on the demo scene (its paper
        comparison and shipped models need it), the user's choice on a file (default real-cloud, random)."""
        cube = cube or self.cube
        if cube.demo is not None:
            return DEMO_PROTOCOL
        return self._protocols.get(cube.key, Protocol())

    def set_protocol(self, protocol: str = "real", split: str = "random") -> bool:
        """Choose the protocol and split of the shown file cube; True when it changed.

        The experiment and every result that depends on the split (test scores, evaluations, crop
        profiles) are dropped; whole-scene predictions and the runs stay. The demo keeps the paper's.
        """
        cube = self.cube
        chosen = Protocol(protocol, split)
        if cube.demo is not None:
            if chosen != DEMO_PROTOCOL:
                raise ValueError("the demo scene follows the paper protocol (its paper comparison and shipped "
                                 "models need it); load a file to choose another")
            return False
        if chosen == self.protocol(cube):
            return False
        self._protocols[cube.key] = chosen
        self.results.discard(lambda k: isinstance(k, tuple) and k[0] == cube.key
                             and not (len(k) > 3 and k[1] == "run" and k[3] in SPLIT_FREE))
        return True

    def experiment(self, cube: Cube | None = None):
        """The cube's :class:`mcnnseq.experiment.Experiment` (split seeded; the 70 % demo inherits the 50 % split)."""
        cube = cube or self.cube
        chosen = self.protocol(cube)

        def make(_: Progress):
            from mcnnseq.experiment import make_experiment
            from mcnnseq.sampling import split_pixels

            base = None
            if cube.demo is not None and cube.demo.scenario == "70%":
                spec50 = DemoSpec(cube.demo.size, cube.demo.seed, "50%")
                base = split_pixels(self._simulate(spec50), seed=defaults.SPLIT_SEED)
                return make_experiment(cube.ds, seed=defaults.SPLIT_SEED, base=base, protocol="paper")
            return make_experiment(cube.ds, seed=defaults.SPLIT_SEED, protocol=chosen.protocol, split=chosen.split)

        return self.results.compute((cube.key, "experiment", chosen.protocol, chosen.split), make)

    def split_facts(self) -> SplitFacts:
        cube = self.cube
        exp = self.experiment(cube)
        report = exp.samples
        return SplitFacts(sizes=exp.split.sizes(), n_dates=cube.ds.sizes["time"],
                          dates_without_observation=list(cube.summary.dates_without_observation),
                          has_truth=cube.has_truth, inherited=cube.demo is not None and cube.demo.scenario == "70%",
                          protocol=exp.protocol, split=exp.split.kind, rule=report.rule if report else "",
                          block_size=exp.split.block_size, warning=exp.warning())

    def other_split(self, runs: Sequence[Run] | None = None) -> list[str]:
        """Names of ``runs`` (default: the ticked ones) trained on another protocol or split of this cube than
        the current one (their checkpoint's ``data_signature``): some of today's test pixels may have been
        their training pixels, so their scores flatter them."""
        exp = self.experiment()
        now = exp.signature()
        out = []
        for run in (self.ticked() if runs is None else list(runs)):
            sig = getattr(run.model, "data_signature", None) or {}
            if not sig or "protocol" not in sig:
                continue
            if any(sig.get(k) != now.get(k) for k in ("protocol", "split", "split_seed", "block_size")):
                out.append(run.name)
        return out

    # ------------------------------------------------------------------ runs

    def runs(self, cube: Cube | None = None) -> list[Run]:
        """The runs of ``cube`` (default: the shown cube), oldest first."""
        key = (cube or self.cube).key
        return [r for r in self._runs.values() if r.cube_key == key]

    def run(self, run_id: str) -> Run:
        try:
            return self._runs[run_id]
        except KeyError:
            raise KeyError(f"no run {run_id!r} in this workspace") from None

    def run_named(self, name: str, cube: Cube | None = None) -> Run:
        for r in self.runs(cube):
            if r.name == name:
                return r
        raise KeyError(f"no run named {name!r} on this cube")

    def ticked(self, cube: Cube | None = None) -> list[Run]:
        """The runs the pages compare (every new run starts ticked)."""
        return [r for r in self.runs(cube) if r.id not in self._unticked]

    def tick(self, run_ids: Sequence[str], cube: Cube | None = None) -> None:
        """Tick exactly ``run_ids`` among the runs of ``cube``."""
        wanted = set(run_ids)
        for r in self.runs(cube):
            (self._unticked.discard if r.id in wanted else self._unticked.add)(r.id)

    def _unique_name(self, base: str, cube_key: str, *, ignore: str | None = None) -> str:
        taken = {r.name.casefold() for r in self._runs.values() if r.cube_key == cube_key and r.id != ignore}
        if base.casefold() not in taken:
            return base
        for i in itertools.count(2):
            name = f"{base} ({i})"
            if name.casefold() not in taken:
                return name
        raise AssertionError("unreachable")

    def add_run(self, model: Any, *, preset: str, origin: str, description: str = "", cube_key: str | None = None,
                name: str | None = None, shared_key: str | None = None, tick: bool = True) -> Run:
        """Add ``model`` as a new run (named "<model> · <preset>", made unique); it never replaces a run."""
        if origin not in ("shipped", "trained", "file", "classic"):
            raise ValueError(f"origin must be shipped, trained, file or classic, got {origin!r}")
        key = cube_key or self.cube.key
        kind = model_kind(model)
        run = Run(id=f"run-{next(self._ids)}", name=self._unique_name(name or f"{kind} · {preset}", key), model=model,
                  kind=kind, preset=preset, origin=origin, cube_key=key, description=description,
                  shared_key=shared_key)
        self._runs[run.id] = run
        if not tick:
            self._unticked.add(run.id)
        return run

    def rename_run(self, run_id: str, name: str) -> Run:
        """Rename a run; raise ``ValueError`` for an empty name or one another run of the cube has."""
        run = self.run(run_id)
        name = " ".join(str(name).split())
        if not name:
            raise ValueError("a run needs a name")
        if self._unique_name(name, run.cube_key, ignore=run_id) != name:
            raise ValueError(f"another run on this dataset is already called {name!r}")
        if name != run.name:
            run.name = name
            self._forget_sets_with(run_id)
        return run

    def remove_run(self, run_id: str) -> None:
        """Remove a run and every result computed for it (shared results of shipped models stay shared)."""
        run = self._runs.pop(run_id, None)
        if run is None:
            raise KeyError(f"no run {run_id!r} in this workspace")
        self._unticked.discard(run_id)
        self._forget_sets_with(run_id)
        self.results.discard(lambda k: isinstance(k, tuple) and len(k) > 2 and k[1] == "run" and k[2] == run.id)

    def _forget_sets_with(self, run_id: str) -> None:
        self.results.discard(lambda k: isinstance(k, tuple) and len(k) > 2 and k[1] == "set" and run_id in k[2])

    def offer_shipped(self) -> str | None:
        """Add the shipped demo models as runs, once per demo cube they were trained on.

        Returns a message when they exist for this scene but cannot be used (missing files, another
        simulator version); None otherwise. The message is kept, so every page can show it.
        """
        cube = self.cube
        if cube.demo is None or not cube.demo.has_shipped_models:
            return None
        if cube.key not in self._shipped:
            try:
                models = dict(self._shipped_models(cube.demo.scenario))
            except McnnSeqError as err:
                self._shipped[cube.key] = f"The shipped demo models cannot be used: {err}"
            else:
                for model in _registry_order(models.values()):
                    self.add_run(model, preset="shipped", origin="shipped", cube_key=cube.key,
                                 description=f"shipped with the app, trained on this demo scene "
                                             f"({training_budget_text(model)})",
                                 shared_key=f"shipped:{cube.demo.scenario}:{model_kind(model)}")
                self._shipped[cube.key] = None
        return self._shipped[cube.key]

    def offer_classic(self) -> list[Run]:
        """Add the classic gap-fillers (:data:`mcnnseq.models.registry.GAP_FILLERS`: "Linear · classic",
        "Whittaker · classic") as runs of the shown cube, once per cube, unticked: they need no training
        and the user ticks them beside the networks. Returns the runs added now."""
        cube = self.cube
        if cube.key in self._classic:
            return []
        from mcnnseq.models.registry import GAP_FILLERS, build_gap_filler

        self._classic.add(cube.key)
        return [self.add_run(build_gap_filler(name, dates=cube.ds["time"].values), preset="classic",
                             origin="classic", cube_key=cube.key, tick=False,
                             description=f"{spec.description} (no training; scored leave-one-date-out)")
                for name, spec in GAP_FILLERS.items()]

    # ------------------------------------------------------------------ result keys

    def _run_slot(self, cube: Cube, run: Run, what: str, *extra: Any) -> tuple[ResultStore, tuple]:
        store = self.shared if run.shared_key else self.results
        return store, (cube.key, "run", run.store_id, what, *extra)

    @staticmethod
    def _set_key(cube: Cube, runs: Sequence[Run], what: str, *extra: Any) -> tuple:
        return (cube.key, "set", tuple(r.id for r in runs), tuple(r.name for r in runs), what, *extra)

    def _resolve(self, runs: Sequence[Run] | None) -> list[Run]:
        runs = self.ticked() if runs is None else list(runs)
        if not runs:
            raise ValueError("no run chosen")
        return runs

    def _memo_model(self, cube: Cube, run: Run) -> _MemoModel:
        store, prefix = self._run_slot(cube, run, "model")
        return _MemoModel(run.model, store, prefix, run.name)

    # ------------------------------------------------------------------ results

    def test_inputs(self, cube: Cube | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``X`` (n_test, T, 2) dB and the observed NDVI (n_test, T) of the test pixels (NaN = cloudy)."""
        cube = cube or self.cube

        def make(_: Progress):
            from mcnnseq.sampling import pixel_series

            exp = self.experiment(cube)
            X, _y = exp.test_arrays()
            _x, obs = pixel_series(exp.ds, exp.split.test, target="ndvi")
            return X, obs

        chosen = self.protocol(cube)
        return self.results.compute((cube.key, "test_inputs", chosen.protocol, chosen.split), make)

    def evaluation(self, runs: Sequence[Run] | None = None, *, progress: Progress | None = None):
        """The :class:`mcnnseq.experiment.Evaluation` of ``runs`` (default: the ticked ones), by run name.

        Each run's test-pixel predictions are computed once (shared between every set of runs it is
        part of); the evaluation of a set once until a run of it is renamed or removed.
        """
        cube, runs = self.cube, self._resolve(runs)

        def make(report: Progress):
            from mcnnseq.experiment import evaluate

            X, obs = self.test_inputs(cube)
            models = {}
            radar = [r for r in runs if not r.uses_ndvi]
            # runs that use the NDVI are scored inside evaluate() (leave-one-date-out, artificial gaps)
            split = len(radar) / len(runs)
            for i, run in enumerate(radar):
                memo = self._memo_model(cube, run)
                memo.warm(X, sub_progress(report, split * i / len(radar), split * (i + 1) / len(radar)),
                          f"Scoring {run.name} on the test pixels")
                models[run.name] = memo
            exp = self.experiment(cube)
            stored = {}
            if self._precomputed_scores is not None:
                stored = {r.name: got for r in runs if r.uses_ndvi
                          and (got := self._precomputed_scores(cube, r, exp)) is not None}
            for run in runs:
                if run.name in stored:        # predicted earlier: evaluate() does not call it
                    models[run.name] = self._memo_model(cube, run)
            fillers = [r for r in runs if r.uses_ndvi and r.name not in stored]
            if fillers:
                total = ndvi_scoring_rows(obs) * len(fillers)
                done = [0]
                report(split, f"Scoring {fillers[0].name} with each observed date hidden in turn")
                for run in fillers:
                    memo = self._memo_model(cube, run)

                    def on_rows(n: int, _name: str = run.name) -> None:
                        done[0] += n
                        report(split + (1 - split) * min(done[0] / total, 0.99),
                               f"Scoring {_name} with each observed date hidden in turn and artificial gaps")

                    memo.on_rows = on_rows
                    models[run.name] = memo
            ordered = {r.name: models[r.name] for r in runs}
            try:
                return evaluate(ordered, exp, precomputed=stored)
            finally:
                for memo in ordered.values():
                    memo.on_rows = None

        return self.results.compute(self._set_key(cube, runs, "evaluation"), make, progress)

    def scene_predictions(self, runs: Sequence[Run] | None = None, *,
                          progress: Progress | None = None) -> dict[str, xr.Dataset]:
        """Whole-scene ``ndvi_pred``/``ndvi_filled`` datasets by run name, each predicted once per (run, cube).

        Runs still missing are predicted together (the radar is read once for all); a run another
        thread is predicting (the shipped models' warm-up) is waited for, its progress shown.
        """
        cube, runs = self.cube, self._resolve(runs)
        return self._scene(cube, runs, progress)

    def _scene(self, cube: Cube, runs: Sequence[Run], progress: Progress | None) -> dict[str, xr.Dataset]:
        found: dict[str, xr.Dataset] = {}
        claimed: list[tuple[Run, ResultStore, tuple]] = []
        waiting: list[tuple[Run, ResultStore, tuple]] = []
        for run in runs:
            store, key = self._run_slot(cube, run, "scene")
            value = store.get(key)
            if value is None and self._precomputed is not None and key not in store:
                value = self._precomputed(cube, run)
                if value is not None:
                    value = complete_scene(value, run.model, cube.ds)
                    store.put(key, value)
            if value is not None:
                found[run.id] = value
            elif store.claim(key):
                claimed.append((run, store, key))
            else:
                waiting.append((run, store, key))
        if claimed:
            from mcnnseq.prediction import predict_multi

            names = ", ".join(r.name for r, _, _ in claimed)

            def report(done: int, total: int) -> None:
                frac = done / max(total, 1)
                text = f"Predicting every pixel with {names}: {done:,} / {total:,}"
                for _, store, key in claimed:
                    store.report(key, frac, text)
                if progress is not None:
                    progress(frac, text)

            ny, nx = cube.ds.sizes["y"], cube.ds.sizes["x"]
            try:
                out = predict_multi({r.store_id: r.model for r, _, _ in claimed}, self.experiment(cube).ds,
                                    chunk_pixels=scene_chunk(ny * nx), progress=report)
            except BaseException:
                for _, store, key in claimed:
                    store.abandon(key)
                raise
            for run, store, key in claimed:
                store.fulfil(key, out[run.store_id])
                found[run.id] = out[run.store_id]
        for run, store, key in waiting:
            value = store.wait(key, progress)
            if is_missing(value):  # the other thread failed or was cancelled: predict it here
                value = self._scene(cube, [run], progress)[run.name]
                found[run.id] = value
                continue
            found[run.id] = value
        return {run.name: _relabel(found[run.id], run.store_id, run.name) for run in runs}

    def has_scene_predictions(self, runs: Sequence[Run] | None = None) -> bool:
        """Whether the whole-scene predictions of ``runs`` are ready (nothing left to predict)."""
        cube = self.cube
        for run in self._resolve(runs):
            store, key = self._run_slot(cube, run, "scene")
            if key not in store:
                return False
        return True

    def pixel_r2(self, run: Run, *, progress: Progress | None = None, cube: Cube | None = None) -> np.ndarray:
        """Per-pixel R² over the series (Fig. 15) of ``run`` against the reference NDVI, (y, x)."""
        cube = cube or self.cube
        store, key = self._run_slot(cube, run, "r2map")

        def make(_: Progress) -> np.ndarray:
            from mcnnseq.datacube import reference_ndvi
            from mcnnseq.metrics import pixel_r2_map

            pred = self._scene(cube, [run], progress)[run.name]
            return pixel_r2_map(np.asarray(reference_ndvi(cube.ds).values), np.asarray(pred["ndvi_pred"].values))

        return store.compute(key, make)

    def pixel_series(self, row: int, col: int, runs: Sequence[Run] = ()) -> PixelSeries:
        """Pixel (``row``, ``col``)'s series and each run's prediction for it (from the scene predictions
        when they are ready, else predicted for this one pixel)."""
        from mcnnseq.datacube import crop_class_names

        cube = self.cube
        ds = cube.ds
        ny, nx = ds.sizes["y"], ds.sizes["x"]
        if not (0 <= row < ny and 0 <= col < nx):
            raise IndexError(f"pixel ({row}, {col}) is outside the {ny} x {nx} grid")
        px = ds.isel(y=int(row), x=int(col))
        vv = np.asarray(px["vv"].values, dtype=np.float32)
        vh = np.asarray(px["vh"].values, dtype=np.float32)
        ndvi = _clear_ndvi(px)
        preds, stds = {}, {}
        for run in runs:
            store, key = self._run_slot(cube, run, "scene")
            scene = store.get(key)
            if scene is not None:
                preds[run.name] = np.asarray(scene["ndvi_pred"].values[:, row, col])
                if "ndvi_std" in scene:
                    stds[run.name] = np.asarray(scene["ndvi_std"].values[:, row, col])
            else:
                from mcnnseq.prediction import call_predict, call_predict_std, has_std

                X = np.stack([vv, vh], axis=-1)[None]
                pred, std = call_predict_std(run.model, X, ndvi[None]) if has_std(run.model) else \
                    (call_predict(run.model, X, ndvi[None]), None)
                preds[run.name] = np.asarray(pred, dtype=np.float32)[0]
                if std is not None:
                    stds[run.name] = np.asarray(std, dtype=np.float32)[0]
        crop = None
        if "crop" in ds.variables:
            code = int(px["crop"])
            crop = crop_class_names(ds).get(code, f"class {code}")
        s1 = ([str(pd.Timestamp(t).date()) for t in ds["s1_time"].values] if "s1_time" in ds.coords else None)
        return PixelSeries(row=int(row), col=int(col), dates=cube.dates, s1_dates=s1, vv=vv, vh=vh, ndvi=ndvi,
                           ndvi_true=np.asarray(px["ndvi_true"].values) if cube.has_truth else None,
                           predictions=preds, crop=crop, stds=stds, optical=self.optical_dates(cube))

    def optical_dates(self, cube: Cube | None = None) -> np.ndarray:
        """(T,) bool: the dates of ``cube`` with a clear optical value anywhere (:func:`mcnnseq.flags.optical_dates`)."""
        cube = cube or self.cube

        def make(_: Progress) -> np.ndarray:
            from mcnnseq.flags import optical_dates

            return optical_dates(cube.ds)

        return self.results.compute((cube.key, "optical_dates"), make)

    def attention(self, run: Run, row: int, col: int) -> np.ndarray | None:
        """(predicted date x radar date) attention weights of ``run`` at pixel (``row``, ``col``)
        (:func:`mcnnseq.attention.attention_weights`; rows sum to 1); None for a model without attention or a
        pixel whose radar series is incomplete."""
        from mcnnseq.attention import attention_weights, has_attention

        if not has_attention(run.model):
            return None
        px = self.cube.ds.isel(y=int(row), x=int(col))
        radar = np.stack([np.asarray(px["vv"].values, np.float32), np.asarray(px["vh"].values, np.float32)], -1)
        if not np.isfinite(radar).all():
            return None
        return attention_weights(run.model, radar, _clear_ndvi(px))

    def profile_sigma(self, runs: Sequence[Run] | None = None, *, by: str = "crop",
                      progress: Progress | None = None) -> dict[str, pd.DataFrame]:
        """Per run with a σ: rows (``by``, ``time``, ``sigma``), the root-mean-square σ (NDVI) of the whole-scene
        ``ndvi_std`` over the test pixels of each class and date — the ±2σ band of a crop profile (read from the
        memoised scene predictions, nothing predicted again)."""
        cube, runs = self.cube, self._resolve(runs)
        scene = self._scene(cube, runs, progress)
        mask = self.experiment(cube).split.masks()["test"]
        out = {}
        for run in runs:
            if "ndvi_std" not in scene[run.name]:
                continue
            var = np.asarray(scene[run.name]["ndvi_std"].values, dtype=np.float64) ** 2

            def make(_: Progress, var=var) -> pd.DataFrame:
                from mcnnseq.metrics import class_profiles

                prof = class_profiles(var, var, cube.ds[by].values, dates=cube.ds["time"].values, mask=mask,
                                      class_column=by)
                return pd.DataFrame({by: prof[by], "time": prof["time"], "sigma": np.sqrt(prof["pred_mean"])})

            store, key = self._run_slot(cube, run, "profile_sigma", by, self.protocol(cube))
            out[run.name] = store.compute(key, make)
        return out

    def crop_view(self, runs: Sequence[Run] | None = None, *, by: str = "crop",
                  progress: Progress | None = None) -> CropView:
        """Per-crop (``by="crop"``) or per-field profiles of the test pixels for ``runs`` (Table 3, Figs. 9–11)."""
        cube, runs = self.cube, self._resolve(runs)

        def make(report: Progress) -> CropView:
            from mcnnseq.experiment import crop_metrics

            ev = self.evaluation(runs, progress=report)
            exp = self.experiment(cube)
            profiles, agreement = crop_metrics({r.name: r.model for r in runs}, exp, by=by, evaluation=ev)
            return _crop_view(cube, exp, by, runs, profiles, agreement, self._radar(cube, by))

        return self.results.compute(self._set_key(cube, runs, "crops", by), make, progress)

    def _radar(self, cube: Cube, by: str) -> pd.DataFrame:
        def make(_: Progress) -> pd.DataFrame:
            from mcnnseq.metrics import radar_profiles

            mask = self.experiment(cube).split.masks()["test"]
            return radar_profiles(cube.ds["vv"].values, cube.ds["vh"].values, cube.ds[by].values,
                                  dates=cube.ds["time"].values, mask=mask, class_column=by)

        return self.results.compute((cube.key, "radar", by), make)

    def warm_up(self, runs: Sequence[Run], *, cube: Cube | None = None) -> None:
        """Compute ``runs``' whole-scene predictions, per-pixel R² maps and test scores now (for a background
        thread), in that order: what the Map page needs first (often read from shipped files: quick), then
        the test-pixel predictions of Dates and Crops."""
        cube = cube or self.cube
        self._scene(cube, list(runs), None)
        for run in runs:
            self.pixel_r2(run, cube=cube)
        X, _obs = self.test_inputs(cube)
        for run in runs:
            self._memo_model(cube, run).warm(X, None, "")


#: The two groupings of :func:`gap_table` (the first level of its index).
GAP_GROUPS: tuple[str, str] = ("consecutive missing dates", "days since the last clear observation")


def gap_table(evaluation) -> pd.DataFrame:
    """Error by gap length of an :class:`mcnnseq.experiment.Evaluation`, one row per gap length (1, 2 …) and
    per bucket of days since the last clear observation ("1–20" …), index ``(grouping, value)`` with the
    groupings :data:`GAP_GROUPS`; columns ``(run, "r2"|"rmse"|"n")`` in the evaluation's run order
    (``n``: hidden values scored; R²/RMSE NaN below :data:`mcnnseq.experiment.MIN_SCORED`)."""
    parts = []
    for frame, column, group in ((evaluation.by_gap, "k", GAP_GROUPS[0]), (evaluation.by_days, "bucket", GAP_GROUPS[1])):
        f = frame.copy()
        f[column] = [str(int(v)) if column == "k" else str(v) for v in f[column]]
        order = list(dict.fromkeys(f[column]))
        wide = f.pivot(index=column, columns="model", values=["r2", "rmse", "n"]).reindex(order)
        wide.index = pd.MultiIndex.from_tuples([(group, v) for v in wide.index], names=["grouping", "gap"])
        parts.append(wide)
    table = pd.concat(parts)
    table.columns = pd.MultiIndex.from_tuples([(m, k) for k, m in table.columns])
    runs = list(evaluation.predictions)
    return table[[(m, k) for m in runs for k in ("r2", "rmse", "n") if (m, k) in table.columns]]


def _registry_order(models) -> list:
    """``models`` in the registry's order (MCNN-Seq, CNN, RNN…), unknown kinds last."""
    from mcnnseq.models.registry import MODELS

    order = {spec.display_name: i for i, spec in enumerate(MODELS.values())}
    return sorted(models, key=lambda m: order.get(model_kind(m), len(order)))


def _crop_view(cube: Cube, exp, by: str, runs: Sequence[Run], profiles: pd.DataFrame, agreement: pd.DataFrame,
               radar: pd.DataFrame) -> CropView:
    from mcnnseq.datacube import crop_class_names

    ds = cube.ds
    crop_names = crop_class_names(ds)  # the cube's own names (a table's), else the paper's classes
    labels_map = np.asarray(ds[by].values)
    test = exp.split.masks()["test"]
    codes, pixels = np.unique(labels_map[labels_map != 0], return_counts=True)
    test_codes, test_counts = np.unique(labels_map[test & (labels_map != 0)], return_counts=True)
    n_test = dict(zip(test_codes.tolist(), test_counts.tolist()))
    crop_of: dict[int, str | None] = {}
    if by == "crop":
        crop_of = {int(c): crop_names.get(int(c), f"class {int(c)}") for c in codes}
    elif "crop" in ds.variables:  # a field's crop: the most common crop code of its pixels
        crops = np.asarray(ds["crop"].values)
        for c in codes:
            vals, counts = np.unique(crops[labels_map == c], return_counts=True)
            code = int(vals[np.argmax(counts)])
            crop_of[int(c)] = crop_names.get(code, f"class {code}") if code != 0 else None
    observed = profiles[profiles["model"] == runs[0].name]
    flat = {int(c): bool(np.nanstd(g["obs_mean"]) < FLAT_CURVE_STD) if np.isfinite(g["obs_mean"]).any() else True
            for c, g in observed.groupby(by)}
    rows = []
    for c, n in zip(codes.tolist(), pixels.tolist()):
        crop = crop_of.get(int(c))
        if by == "crop":
            label = crop or f"class {c}"
        else:
            label = f"field {c}" + (f" — {crop}" if crop else "") + f", {n:,} px"
        rows.append({"code": int(c), "label": label, "crop_name": crop, "pixels": int(n),
                     "test_pixels": int(n_test.get(c, 0)), "flat": flat.get(int(c), True)})
    classes = (pd.DataFrame(rows) if rows else pd.DataFrame(
        columns=["code", "label", "crop_name", "pixels", "test_pixels", "flat"])).set_index("code").rename_axis(by)
    classes = classes[classes.index.isin(list(flat))] if len(classes) else classes
    agr = agreement.pivot(index=by, columns="model", values=["r2", "rmse"])
    agr.columns = pd.MultiIndex.from_tuples([(m, k) for k, m in agr.columns])
    agr = agr[[(r.name, k) for r in runs for k in ("r2", "rmse") if (r.name, k) in agr.columns]]
    for r in runs:
        if (r.name, "r2") in agr.columns:
            agr.loc[[c for c in agr.index if flat.get(int(c), True)], (r.name, "r2")] = np.nan
    cloud = np.asarray(ds["cloud"].values)
    cloudy: dict[int, list[str]] = {}
    dates = cube.dates
    for c in classes.index:
        inside = labels_map == c
        frac = cloud[:, inside].mean(axis=1) if inside.any() else np.zeros(len(dates))
        cloudy[int(c)] = [d for d, f in zip(dates, frac) if f > 0.5]
    return CropView(by=by, classes=classes, agreement=agr, profiles=profiles, radar=radar, cloudy_dates=cloudy)

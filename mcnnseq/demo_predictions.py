"""Whole-scene predictions of the shipped demo models, stored beside them so the Map page draws at once.

Predicting the 200 x 200 x 31 demo scene with the three shipped models takes tens of seconds on a laptop
CPU (MCNN-Seq's attention decoder dominates); the predictions never change until the models or the
scene do. ``scripts/build_demo_predictions.py`` writes them to ``assets/predictions/demo_<50|70>.nc`` — at
set-up (``scripts/setup-dev.sh`` and the README's start command run it), not committed —
(``ndvi_pred`` of each model — the shipped MCNN-Seq fusion too, with its ``ndvi_std``, which needs
the network's variance column —, quantised to :data:`STEP` = 0.001 NDVI — half a step at most from the
float32 prediction, far below the models' errors of ~0.1 — as compressed int16), together with a
*signature*:

* a SHA-256 of every shipped checkpoint file the predictions came from,
* a SHA-256 of the demo cube itself (its radar, NDVI, dates and grid), plus the demo settings
  (:data:`mcnnseq.pretrained.DEMO_SETTINGS`, the scenario) and the simulator version,
* :data:`FORMAT_VERSION`.

:func:`load_demo_predictions` recomputes the signature from the files and the cube in hand and
returns the predictions only when everything matches — after the models are retrained or the simulator
changes it returns None (stale), and the caller predicts as before. Its result has the form of
:func:`mcnnseq.prediction.predict_multi`'s: ``{display name: Dataset(ndvi_pred, ndvi_filled)}``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from mcnnseq.datacube import DIMS

FORMAT_VERSION: int = 2
#: Quantisation step of the stored predictions (NDVI units).
STEP: float = 1e-3
_FILL = np.int16(-32768)
PREDICTIONS_DIR: Path = Path(__file__).resolve().parent.parent / "assets" / "predictions"


def demo_predictions_path(scenario: str, *, directory: Path | None = None) -> Path:
    """``assets/predictions/demo_<50|70>.nc``."""
    from mcnnseq.pretrained import demo_model_path

    demo_model_path(scenario, "cnn")  # validates the scenario
    return (directory or PREDICTIONS_DIR) / f"demo_{scenario.rstrip('%')}.nc"


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cube_digest(ds: xr.Dataset) -> str:
    """SHA-256 of what a prediction depends on: radar, observed NDVI, cloud mask, dates and grid."""
    h = hashlib.sha256()
    for name in ("vv", "vh", "ndvi", "cloud"):
        values = np.ascontiguousarray(np.asarray(ds[name].transpose(*DIMS).values))
        h.update(f"{name}{values.dtype}{values.shape}".encode())
        h.update(values.tobytes())
    for name in ("time", "y", "x"):
        h.update(np.ascontiguousarray(np.asarray(ds[name].values).astype("datetime64[ns]" if name == "time"
                                                                          else np.float64)).tobytes())
    return h.hexdigest()


def _shipped_names() -> tuple[str, ...]:
    """Registry names of the shipped demo models: the paper's three, then the default gap-filler (fusion)."""
    from mcnnseq.experiment import MODEL_ORDER
    from mcnnseq.models.registry import DEFAULT_GAP_FILLER

    return MODEL_ORDER + (DEFAULT_GAP_FILLER,)


def _shipped_models(scenario: str, models_dir: Path | None) -> dict:
    """``{display name: TrainedModel}``: the shipped radar-only models, and fusion when its file exists."""
    from mcnnseq.checkpoints import load_checkpoint
    from mcnnseq.models.registry import DEFAULT_GAP_FILLER
    from mcnnseq.pretrained import check_simulator_version, demo_model_path, load_demo_models

    models = load_demo_models(scenario, directory=models_dir)
    path = demo_model_path(scenario, DEFAULT_GAP_FILLER, directory=models_dir)
    if path.is_file():
        fusion = load_checkpoint(path)
        check_simulator_version(fusion, source=path.name)
        models[fusion.name] = fusion
    return models


def signature(scenario: str, ds: xr.Dataset, *, models_dir: Path | None = None) -> dict:
    """What the stored predictions of ``scenario`` must have been made from (see the module docstring)."""
    from mcnnseq.pretrained import DEMO_SETTINGS, demo_model_path
    from mcnnseq.sim import SIMULATOR_VERSION

    files = {}
    for name in _shipped_names():
        path = demo_model_path(scenario, name, directory=models_dir)
        files[path.name] = _sha256_file(path) if path.is_file() else None
    return {"format_version": FORMAT_VERSION, "scenario": scenario, "demo_settings": dict(DEMO_SETTINGS),
            "simulator_version": str(SIMULATOR_VERSION), "cube_sha256": cube_digest(ds), "checkpoints": files,
            "step": STEP}


def build_demo_predictions(scenario: str, *, models_dir: Path | None = None, directory: Path | None = None,
                           progress=None) -> Path:
    """Predict the demo scene of ``scenario`` with the shipped models and write the signed file; return its path."""
    from mcnnseq.pretrained import demo_experiment_for_models
    from mcnnseq.prediction import predict_multi

    exp = demo_experiment_for_models(scenario)
    models = _shipped_models(scenario, models_dir)
    scene = predict_multi(models, exp.ds, progress=progress)
    ny, nx = exp.ds.sizes["y"], exp.ds.sizes["x"]
    data_vars, encoding = {}, {}
    for display, trained in models.items():
        pred = np.asarray(scene[display]["ndvi_pred"].transpose(*DIMS).values)
        codes = np.round(np.clip(pred, -30.0, 30.0) / STEP)  # NDVI is within -1 … 1; clip only guards int16
        name = f"pred_{trained.model_name}"
        data_vars[name] = (DIMS, (codes * STEP).astype(np.float32), {"model": display, "units": "1"})
        encoding[name] = {"dtype": "int16", "scale_factor": STEP, "_FillValue": _FILL, "zlib": True,
                          "complevel": 9, "shuffle": True, "chunksizes": (1, ny, nx)}
        sigma = getattr(trained, "uncertainty", None) or {}
        if sigma.get("kind") == "head" and "ndvi_std" in scene[display]:  # a residual σ is recomputed on load
            std = np.asarray(scene[display]["ndvi_std"].transpose(*DIMS).values)
            sname = f"std_{trained.model_name}"
            data_vars[sname] = (DIMS, (np.round(np.clip(std, 0.0, 30.0) / STEP) * STEP).astype(np.float32),
                                {"model": display, "units": "1", "role": "ndvi_std"})
            encoding[sname] = dict(encoding[name])
    out = xr.Dataset(data_vars, coords={"time": exp.ds["time"].values, "y": exp.ds["y"].values,
                                        "x": exp.ds["x"].values},
                     attrs={"signature": json.dumps(signature(scenario, exp.ds, models_dir=models_dir),
                                                    sort_keys=True),
                            "comment": "Whole-scene NDVI predictions of the shipped demo models on the SIMULATED "
                                       "demo scene, built by scripts/build_demo_predictions.py"})
    path = demo_predictions_path(scenario, directory=directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        out.to_netcdf(tmp, engine="netcdf4", encoding=encoding)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def read_signed(path_of: Callable[[], Path], expected: Callable[[], dict]) -> xr.Dataset | None:
    """The NetCDF file ``path_of()``, loaded, when it exists, reads and its ``signature`` attribute (JSON)
    equals ``expected()``; else None (an unknown scenario, a missing, unreadable or stale cache)."""
    try:
        path = path_of()
    except ValueError:
        return None
    if not path.is_file():
        return None
    try:
        with xr.open_dataset(path, engine="netcdf4") as stored:
            stored = stored.load()
    except Exception:  # noqa: BLE001  (an unreadable cache is a missing cache)
        return None
    try:
        if json.loads(stored.attrs.get("signature", "")) != json.loads(json.dumps(expected(), sort_keys=True)):
            return None
    except (TypeError, ValueError, KeyError):
        return None
    return stored


def by_model(stored: xr.Dataset, prefix: str) -> dict[str, str]:
    """``{model display name: variable}`` of the variables of ``stored`` named ``prefix…`` (attribute ``model``)."""
    return {str(stored[v].attrs.get("model")): v for v in stored.data_vars if v.startswith(prefix)}


def wanted_models(names: Sequence[str] | None, *stored: Mapping[str, str]) -> list[str] | None:
    """``names`` (default: every model of the first of ``stored``, the :func:`by_model` maps a caller needs), or
    None when one of those maps lacks one of them (the file is incomplete for this request)."""
    wanted = list(stored[0]) if names is None else list(names)
    return None if any(n not in m for m in stored for n in wanted) else wanted


def load_demo_predictions(scenario: str, ds: xr.Dataset, *, names: Sequence[str] | None = None,
                          models_dir: Path | None = None, directory: Path | None = None) -> dict[str, xr.Dataset] | None:
    """The stored whole-scene predictions of the shipped models on the demo cube ``ds``, or None when stale.

    ``names``: the display names wanted ("RNN", "CNN", "MCNN-Seq"; default all stored). Returns
    ``{display name: Dataset}`` with ``ndvi_pred`` and ``ndvi_filled`` (time, y, x) float32 exactly as
    :func:`mcnnseq.prediction.predict_multi` lays them out, or None when the file is missing, unreadable,
    made from other checkpoints, another cube or simulator version, or lacks one of ``names``.
    """
    from mcnnseq.prediction import _output_dataset, fill_gaps

    stored = read_signed(lambda: demo_predictions_path(scenario, directory=directory),
                         lambda: signature(scenario, ds, models_dir=models_dir))
    if stored is None:
        return None
    by_name, std_of = by_model(stored, "pred_"), by_model(stored, "std_")
    wanted = wanted_models(names, by_name)
    if wanted is None:
        return None
    observed = np.where(np.asarray(ds["cloud"].values), np.float32(np.nan), np.asarray(ds["ndvi"].values,
                                                                                        dtype=np.float32))
    out = {}
    for name in wanted:
        pred = np.asarray(stored[by_name[name]].transpose(*DIMS).values, dtype=np.float32)
        std = (np.asarray(stored[std_of[name]].transpose(*DIMS).values, dtype=np.float32) if name in std_of
               else None)
        out[name] = _output_dataset(ds, name, pred, fill_gaps(observed, pred), std=std)
    return out


__all__ = ["FORMAT_VERSION", "PREDICTIONS_DIR", "STEP", "build_demo_predictions", "by_model", "cube_digest",
           "demo_predictions_path", "load_demo_predictions", "read_signed", "signature", "wanted_models"]

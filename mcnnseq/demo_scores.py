"""Held-out test predictions of the shipped demo models that read the NDVI, shipped so Dates scores them at once.

A model that reads the observed NDVI (the shipped MCNN-Seq fusion) is scored leave-one-date-out and on
artificial gaps (:func:`mcnnseq.experiment.evaluate`): every test pixel is predicted once per observed
date plus once per gap — about 210,000 series on the 50 % demo's 6,000 test pixels and 420,000 on the
70 % demo's 11,600, one to three minutes on a 2-core laptop, the first time the Dates page opens.
Those predictions never change until the model, the scene or the split do, so
``scripts/build_demo_predictions.py`` stores them in ``assets/predictions/demo_<50|70>_scores.nc``
(float32, exactly what :func:`mcnnseq.experiment.held_out_predictions` and
:func:`mcnnseq.experiment.gap_predictions` return: the same scores to the last digit), with a
*signature*: the shipped checkpoints' SHA-256, the demo cube's SHA-256 and settings
(:func:`mcnnseq.demo_predictions.signature`), the experiment's split and a SHA-256 of its test pixels and
their observed NDVI, the gap lengths and seed, and :data:`FORMAT_VERSION`.

:func:`load_demo_scores` recomputes the signature for the experiment in hand and returns the stored
predictions only when everything matches (else None: the caller predicts). Only the artificial gaps'
hidden entries are stored (the only ones scored); the rest of each gapped copy comes back NaN.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from mcnnseq.gaps import GAP_LENGTHS, make_gaps

FORMAT_VERSION: int = 1
#: ``{model display name: (held_out (n_test, T), gapped (len(gaps), T))}``, NaN outside the hidden entries.
Scores = Mapping[str, tuple[np.ndarray, np.ndarray]]


def demo_scores_path(scenario: str, *, directory: Path | None = None) -> Path:
    """``assets/predictions/demo_<50|70>_scores.nc``."""
    from mcnnseq.demo_predictions import demo_predictions_path

    base = demo_predictions_path(scenario, directory=directory)
    return base.with_name(f"{base.stem}_scores.nc")


def _test_digest(exp) -> str:
    """SHA-256 of the experiment's test pixels (indices) and their observed NDVI."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(np.asarray(exp.split.test, dtype=np.int64)).tobytes())
    h.update(np.ascontiguousarray(np.asarray(exp.test_observed(), dtype=np.float32)).tobytes())
    return h.hexdigest()


def scores_signature(scenario: str, exp, *, k_values: Sequence[int] = GAP_LENGTHS,
                     models_dir: Path | None = None) -> dict:
    """What the stored predictions of ``scenario`` must have been made from (see the module docstring)."""
    from mcnnseq.demo_predictions import signature

    base = signature(scenario, exp.ds, models_dir=models_dir)
    base.pop("step", None)
    return {**base, "format_version": FORMAT_VERSION, "experiment": exp.signature(), "test_sha256": _test_digest(exp),
            "k_values": [int(k) for k in k_values], "gap_seed": int(exp.split.seed)}


def build_demo_scores(scenario: str, *, models_dir: Path | None = None, directory: Path | None = None) -> Path | None:
    """Predict the demo test pixels of ``scenario`` as the evaluation does, with every shipped model that reads the
    NDVI, and write the signed file; return its path (None when no shipped model reads the NDVI)."""
    from mcnnseq.demo_predictions import _shipped_models
    from mcnnseq.heldout import gap_predictions, held_out_predictions
    from mcnnseq.io.netcdf import replace_path
    from mcnnseq.prediction import uses_ndvi
    from mcnnseq.pretrained import demo_experiment_for_models

    exp = demo_experiment_for_models(scenario)
    models = {name: m for name, m in _shipped_models(scenario, models_dir).items() if uses_ndvi(m)}
    if not models:
        return None
    X, _ = exp.test_arrays()
    obs = exp.test_observed()
    gaps = make_gaps(obs, k_values=GAP_LENGTHS, seed=exp.split.seed)
    hidden = gaps.mask()
    data_vars = {}
    for i, (name, model) in enumerate(models.items()):
        held = held_out_predictions(model, X, obs)
        gapped = gap_predictions(model, X, obs, gaps, held)[0]
        data_vars[f"held_out_{i}"] = (("pixel", "time"), held[0].astype(np.float32), {"model": name})
        data_vars[f"gap_{i}"] = (("hidden",), gapped[hidden].astype(np.float32), {"model": name})
    out = xr.Dataset(data_vars, attrs={
        "title": f"held-out test predictions of the shipped demo models that read the NDVI ({scenario} cloud)",
        "comment": "made by scripts/build_demo_predictions.py; SIMULATED scene",
        "signature": json.dumps(scores_signature(scenario, exp, models_dir=models_dir), sort_keys=True)})
    path = demo_scores_path(scenario, directory=directory)
    tmp = path.with_name(f".{path.name}.partial")
    encoding = {v: {"zlib": True, "complevel": 9, "shuffle": True} for v in data_vars}
    out.to_netcdf(tmp, engine="netcdf4", encoding=encoding)
    replace_path(tmp, path)
    return path


def load_demo_scores(scenario: str, exp, *, names: Sequence[str] | None = None, models_dir: Path | None = None,
                     directory: Path | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    """The stored held-out predictions on ``exp`` (the demo experiment of ``scenario``), or None when stale.

    Returns ``{display name: (held_out (n_test, T), gapped (len(gaps), T))}`` float32 for ``names`` (default:
    all stored); None when the file is missing, unreadable, made from other checkpoints, another cube, split
    or test set, or lacks one of ``names``.
    """
    from mcnnseq.demo_predictions import by_model, read_signed, wanted_models

    stored = read_signed(lambda: demo_scores_path(scenario, directory=directory),
                         lambda: scores_signature(scenario, exp, models_dir=models_dir))
    if stored is None:
        return None
    held, gap = by_model(stored, "held_out_"), by_model(stored, "gap_")
    wanted = wanted_models(names, held, gap)
    if wanted is None:
        return None
    obs = exp.test_observed()
    gaps = make_gaps(obs, k_values=GAP_LENGTHS, seed=exp.split.seed)
    hidden = gaps.mask()
    out = {}
    for name in wanted:
        values = np.asarray(stored[gap[name]].values, dtype=np.float32)
        held_out = np.asarray(stored[held[name]].values, dtype=np.float32)
        if values.size != int(hidden.sum()) or held_out.shape != obs.shape:
            return None
        gapped = np.full(hidden.shape, np.nan, dtype=np.float32)
        gapped[hidden] = values
        out[name] = (held_out, gapped)
    return out


__all__ = ["FORMAT_VERSION", "Scores", "build_demo_scores", "demo_scores_path", "load_demo_scores",
           "scores_signature"]

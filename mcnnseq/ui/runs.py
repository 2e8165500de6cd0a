"""Trained runs of the session and what the pages derive from them (scores, scene predictions, profiles).

Each cube has at most one *active* run per model (MCNN-Seq, CNN, RNN): training a model again makes
the new run active and moves the old one to the cube's archive (nothing is thrown away). Derived
results are computed on first use, with a progress bar where they take a while, and kept for the
current set of active runs only (scene predictions of a large cube are big).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import streamlit as st

from mcnnseq.errors import McnnSeqError
from mcnnseq.ui import state
from mcnnseq.ui.jobs import TrainingJob

K_JOB = "mcnn_job"
K_ARCHIVE = "mcnn_archive"  # cube key -> [Run]
K_RESULTS = "mcnn_results"  # {"key": ..., "evaluation": ..., "scene": ..., "crops": ...}
K_PRETRAINED = "mcnn_pretrained_done"  # cube keys whose pretrained models were offered already


@dataclass
class Run:
    """A trained model in the session: ``model`` is a ``mcnnseq.training.TrainedModel``."""

    model: object
    origin: str  #: "pretrained", "trained" or "uploaded"
    label: str  #: how it was made, e.g. "quick preset, 10 epochs"
    created: float = field(default_factory=time.time)

    @property
    def name(self) -> str:
        return self.model.name


# ----------------------------------------------------------------------------------------- experiment

def experiment_for(cube: state.LoadedCube):
    """The cube's :class:`mcnnseq.experiment.Experiment` (split seeded 0; the 70 % demo inherits the 50 % split)."""
    if "experiment" not in cube.extras:
        from mcnnseq.experiment import make_experiment
        from mcnnseq.sampling import split_pixels

        base = None
        if cube.origin == "demo" and state.scenario() == "70%":
            from mcnnseq.ui.cache import demo_scene

            size, seed = state.demo_params()
            base = split_pixels(demo_scene(size, size, seed, "50%"), seed=0)
        cube.extras["experiment"] = make_experiment(cube.ds, seed=0, base=base)
    return cube.extras["experiment"]


# ----------------------------------------------------------------------------------------- runs

def archive(cube: state.LoadedCube) -> list[Run]:
    return st.session_state.setdefault(K_ARCHIVE, {}).setdefault(cube.key, [])


def add_run(cube_key: str, run: Run) -> None:
    """Make ``run`` the active run of its model on the cube ``cube_key``; the previous one is archived."""
    active = st.session_state.setdefault(state.K_RUNS, {}).setdefault(cube_key, {})
    old = active.get(run.name)
    if old is not None:
        st.session_state.setdefault(K_ARCHIVE, {}).setdefault(cube_key, []).append(old)
    active[run.name] = run


def active_runs(cube: state.LoadedCube, *, selected_only: bool = True) -> dict[str, Run]:
    """Active runs of ``cube`` by model name, in the paper's order, filtered by the sidebar's model choice."""
    runs = state.runs(cube)
    chosen = state.selected_models() if selected_only else list(state.MODEL_NAMES)
    return {name: runs[name] for name in state.MODEL_NAMES if name in runs and name in chosen}


def _budget_text(model) -> str:
    """"12,400 steps, default preset" or, for models saved before step counts existed, "50 epochs"."""
    if model.steps:
        return f"{model.steps:,} steps, {model.config.preset or 'custom'} preset"
    return f"{len(model.history)} epochs"


def offer_pretrained(cube: state.LoadedCube) -> str | None:
    """Load the shipped demo models once for the default demo scene; return a message if they cannot be used.

    The message is kept per cube and returned on every call, so each page that needs models can show it.
    """
    done: dict = st.session_state.setdefault(K_PRETRAINED, {})
    if cube.origin != "demo":
        return None
    if cube.key not in done:
        done[cube.key] = _load_pretrained(cube)
    return done[cube.key]


def _load_pretrained(cube: state.LoadedCube) -> str | None:
    from mcnnseq.pretrained import DEMO_SETTINGS

    size, seed = state.demo_params()
    scen = state.scenario()
    if (size, seed) != (DEMO_SETTINGS["size"], DEMO_SETTINGS["seed"]) or scen not in ("50%", "70%"):
        return None
    from mcnnseq.ui.cache import pretrained_demo_models

    try:
        models = pretrained_demo_models(scen)
    except McnnSeqError as err:
        return f"The pretrained demo models could not be used: {err}"
    for model in models.values():
        if model.name not in state.runs(cube):
            add_run(cube.key, Run(model=model, origin="pretrained",
                                  label=f"pretrained on this demo scene ({_budget_text(model)})"))
    return None


def runs_or_stop(cube: state.LoadedCube, *, purpose: str = "") -> dict[str, Run]:
    """The active runs of ``cube`` (the shipped demo models offered first); with none, say so and stop the page."""
    message = offer_pretrained(cube)
    if message:
        st.warning(message)
    active = active_runs(cube)
    if not active:
        st.info("No trained model on this dataset yet (or none chosen in the sidebar): train one on the **Train** "
                f"page{purpose}.", icon=":material/info:")
        st.stop()
    return active


def job() -> TrainingJob | None:
    return st.session_state.get(K_JOB)


def start_job(new: TrainingJob) -> None:
    st.session_state[K_JOB] = new.start()


def harvest_job() -> TrainingJob | None:
    """When the session's training job has ended, move its models into the runs (once); return the job."""
    j = job()
    if j is not None and not j.running and not getattr(j, "_harvested", False):
        for name, trained in j.results.items():
            add_run(j.cube_key, Run(model=trained, origin="trained", label=j.label))
        j._harvested = True
    return j


# ----------------------------------------------------------------------------------------- results

@st.cache_resource
def _shared_results() -> dict:
    """Results of the shipped demo models, shared by every session (those models are shared too)."""
    return {}


#: results key -> the server-wide thread computing the shipped models' results (see :func:`warm_up`)
_WARMING: dict[tuple, threading.Thread] = {}
_WARMING_LOCK = threading.Lock()


def _results_key(cube: state.LoadedCube, runs: dict[str, Run]) -> tuple:
    return (cube.key, tuple((n, id(r.model)) for n, r in runs.items()))


def warm_up(cube: state.LoadedCube) -> None:
    """When the shipped demo models are the active runs, score them and predict the scene in a background
    thread, once per server, so the first visit to Dates, Crops or Map does not wait for it.

    ``MCNNSEQ_WARM_UP=0`` in the environment turns this off (the in-process AppTests do).
    """
    if os.environ.get("MCNNSEQ_WARM_UP", "1") == "0":
        return
    offer_pretrained(cube)
    runs = active_runs(cube)
    if not runs or not all(r.origin == "pretrained" for r in runs.values()):
        return
    key = _results_key(cube, runs)
    held = _shared_results().setdefault(key, {"key": key})
    with _WARMING_LOCK:
        if key in _WARMING or "scene" in held:
            return
        exp = experiment_for(cube)
        models = {n: r.model for n, r in runs.items()}

        def work() -> None:
            from mcnnseq.experiment import evaluate, scene_predictions

            held.setdefault("evaluation", evaluate(models, exp))
            held.setdefault("scene", scene_predictions(models, exp))

        # not a daemon: a thread killed inside torch at interpreter exit aborts the process
        _WARMING[key] = threading.Thread(target=work, name="mcnnseq-warm-up", daemon=False)
        _WARMING[key].start()


def _wait_for_warm_up(held: dict, item: str) -> None:
    """Wait for ``item`` (not the whole warm-up: the test scores come long before the scene predictions)."""
    thread = _WARMING.get(held["key"])
    if item not in held and thread is not None and thread.is_alive():
        with st.spinner("Finishing the predictions started when the demo scene loaded…"):
            while item not in held and thread.is_alive():
                time.sleep(0.05)


def _results(cube: state.LoadedCube, runs: dict[str, Run]) -> dict:
    key = _results_key(cube, runs)
    if runs and all(r.origin == "pretrained" for r in runs.values()):
        # at most 2 scenarios x 7 model subsets: the first visitor pays, later sessions open at once
        return _shared_results().setdefault(key, {"key": key})
    held = st.session_state.get(K_RESULTS)
    if held is None or held["key"] != key:
        held = {"key": key}
        st.session_state[K_RESULTS] = held  # replaces the previous set: bounded memory
    return held


def evaluation(cube: state.LoadedCube, runs: dict[str, Run]):
    """Test-set scores per date (``mcnnseq.experiment.Evaluation``) of the active runs."""
    held = _results(cube, runs)
    _wait_for_warm_up(held, "evaluation")
    if "evaluation" not in held:
        from mcnnseq.experiment import evaluate

        with st.spinner("Scoring the models on the test pixels…"):
            held["evaluation"] = evaluate({n: r.model for n, r in runs.items()}, experiment_for(cube))
    return held["evaluation"]


def scene_predictions(cube: state.LoadedCube, runs: dict[str, Run]) -> dict:
    """Whole-scene ``ndvi_pred``/``ndvi_filled`` cubes of the active runs, computed once with a progress bar."""
    held = _results(cube, runs)
    _wait_for_warm_up(held, "scene")
    if "scene" not in held:
        from mcnnseq.experiment import scene_predictions as predict

        bar = st.progress(0.0, text=f"Predicting every pixel with {', '.join(runs)}…")

        def progress(done: int, total: int) -> None:
            bar.progress(min(1.0, done / max(total, 1)), text=f"Predicting every pixel: {done:,} / {total:,}")

        held["scene"] = predict({n: r.model for n, r in runs.items()}, experiment_for(cube), progress=progress)
        bar.empty()
    return held["scene"]


def crop_results(cube: state.LoadedCube, runs: dict[str, Run], *, by: str = "crop"):
    """``(profiles, agreement)`` per crop of the active runs on the test pixels (Table 3)."""
    held = _results(cube, runs)
    key = f"crops:{by}"
    if key not in held:
        from mcnnseq.experiment import crop_metrics

        held[key] = crop_metrics({n: r.model for n, r in runs.items()}, experiment_for(cube), by=by,
                                 evaluation=evaluation(cube, runs))
    return held[key]


def pixel_r2(cube: state.LoadedCube, runs: dict[str, Run], name: str) -> np.ndarray:
    """Per-pixel R² map (Fig. 15) of run ``name`` against the reference NDVI, (y, x)."""
    held = _results(cube, runs)
    key = f"r2map:{name}"
    if key not in held:
        from mcnnseq.datacube import reference_ndvi
        from mcnnseq.metrics import pixel_r2_map

        ref = np.asarray(reference_ndvi(cube.ds).values)
        pred = np.asarray(scene_predictions(cube, runs)[name]["ndvi_pred"].values)
        held[key] = pixel_r2_map(ref, pred)
    return held[key]

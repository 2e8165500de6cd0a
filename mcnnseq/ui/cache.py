"""What every session of the server shares: demo scenes, the shipped models and their results.

A cached value is computed once per argument tuple for the whole server; each session's
:class:`~mcnnseq.workspace.Workspace` receives these functions (``mcnnseq.ui.state.workspace``).
"""

from __future__ import annotations

import streamlit as st
import xarray as xr

from mcnnseq.memo import ResultStore
from mcnnseq.workspace import Cube, DemoSpec, Run, shipped_precomputed, shipped_scores


@st.cache_data(max_entries=6, show_spinner=False)
def demo_scene(size: int, seed: int, scenario: str) -> xr.Dataset:
    """The simulated Imperial Valley scene (``mcnnseq.sim.simulate_scene``) of ``size x size`` 10 m pixels."""
    from mcnnseq.sim import simulate_scene

    return simulate_scene(size=(int(size), int(size)), seed=int(seed), scenario=scenario)


def in_script() -> bool:
    """Whether the caller runs in a Streamlit script run (not in a background thread), so it may draw."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    return get_script_run_ctx(suppress_warning=True) is not None


def simulate(spec: DemoSpec) -> xr.Dataset:
    """:func:`demo_scene` for a :class:`DemoSpec`, with a status line while it is simulated the first time."""
    if not in_script():  # a background thread: no element to draw into
        return demo_scene(spec.size, spec.seed, spec.scenario)
    box = st.empty()
    box.caption(f"Simulating the demo scene ({spec.size} x {spec.size} px, SIMULATED data)…")
    try:
        return demo_scene(spec.size, spec.seed, spec.scenario)
    finally:
        box.empty()


@st.cache_resource(show_spinner=False)
def _load_shipped(scenario: str) -> dict:
    from mcnnseq.workspace import load_shipped_models

    return load_shipped_models(scenario)


def shipped_models(scenario: str) -> dict:
    """``{display name: TrainedModel}`` shipped in ``assets/models`` for the default demo scene of ``scenario``.

    Shared by every session (read-only: the models only predict). Raises ``CheckpointError`` when the
    files are missing or were made by another simulator version. The first call loads PyTorch and
    three checkpoints (several seconds on a busy CPU): a progress bar shows both steps.
    """
    import sys

    if "torch" in sys.modules or not in_script():
        return _load_shipped(scenario)
    bar = st.progress(0.0, text="Loading PyTorch for the shipped demo models…")
    try:
        import torch  # noqa: F401

        bar.progress(0.6, text="Loading the shipped demo models…")
        return _load_shipped(scenario)
    finally:
        bar.empty()


@st.cache_resource
def shared_results() -> ResultStore:
    """Results of the shipped demo models (test scores, whole-scene predictions), for every session."""
    return ResultStore()


#: The shipped demo models' signed whole-scene predictions (assets/predictions), read once per demo cube
#: for the whole server (a plain module global: the warm-up thread calls it outside any script run).
_PRECOMPUTED = shipped_precomputed()


#: The shipped demo models' signed held-out test predictions (assets/predictions/*_scores.nc), read once per
#: demo cube for the whole server.
_SCORES = shipped_scores()


def precomputed_scores(cube: Cube, run: Run, exp) -> tuple | None:
    """The stored held-out test predictions of a shipped demo run that reads the NDVI
    (:func:`mcnnseq.workspace.shipped_scores`), so Dates scores it at once; None (the workspace predicts)
    for other runs or stale files."""
    return _SCORES(cube, run, exp)


def precomputed_predictions(cube: Cube, run: Run) -> xr.Dataset | None:
    """The shipped whole-scene prediction of a shipped demo run (:func:`mcnnseq.workspace.shipped_precomputed`),
    so the first Map visit draws at once; None (the workspace predicts) for other runs or stale files."""
    return _PRECOMPUTED(cube, run)

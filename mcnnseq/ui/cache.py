"""Streamlit caches shared by every session: the demo scene (``st.cache_data``) and models (``st.cache_resource``).

A cached value is computed once per argument tuple for the whole server; sessions keep their own
reference in :mod:`mcnnseq.ui.state`, so a page rerun never re-reads the cache.
"""

from __future__ import annotations

import streamlit as st
import xarray as xr


@st.cache_data(max_entries=6, show_spinner="Simulating the demo scene (SIMULATED data)…")
def demo_scene(ny: int, nx: int, seed: int, scenario: str) -> xr.Dataset:
    """The simulated Imperial Valley scene (``mcnnseq.sim.simulate_scene``) of ``ny x nx`` 10 m pixels."""
    from mcnnseq.sim import simulate_scene

    return simulate_scene(size=(int(ny), int(nx)), seed=int(seed), scenario=scenario)


@st.cache_resource(show_spinner="Loading the pretrained demo models…")
def pretrained_demo_models(scenario: str) -> dict:
    """``{display name: TrainedModel}`` shipped in ``assets/models`` for the default demo scene of ``scenario``.

    Shared by every session (read-only: the models only predict). Raises ``CheckpointError`` when the
    files are missing or were made by another simulator version.
    """
    from mcnnseq.pretrained import load_demo_models

    return load_demo_models(scenario)

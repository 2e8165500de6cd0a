"""What the dashboard remembers for one browser session (``st.session_state``), and the shared sidebar.

The session holds the demo cube, the last good upload, and the trained runs *per cube* (keyed by
:attr:`LoadedCube.key`), so switching pages, scenarios or datasets loses nothing. Values change only
in widget callbacks or before the widgets that show them, which is what Streamlit allows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st
import xarray as xr

from mcnnseq.datacube import CubeSummary, summarize_cube

#: Scenarios of the demo scene: value passed to ``simulate_scene`` -> label.
SCENARIOS: dict[str, str] = {"50%": "50 % cloud", "70%": "70 % cloud", "none": "no added clouds"}
#: Model names, as the paper calls them, in the order they are shown.
MODEL_NAMES: tuple[str, ...] = ("MCNN-Seq", "CNN", "RNN")
DEFAULT_DEMO_SIZE = 200
DEFAULT_DEMO_SEED = 0
SIMULATED_BADGE = "SIMULATED"

K_DEMO_PARAMS = "mcnn_demo_params"  # (size, seed)
K_DEMO = "mcnn_demo_cube"  # LoadedCube of the demo
K_UPLOAD = "mcnn_upload_cube"  # LoadedCube of the last good upload, or absent
K_SOURCE = "mcnn_source"  # "demo" | "upload" (sidebar)
K_SCENARIO = "mcnn_scenario"  # demo cloud scenario (sidebar)
K_MODELS = "mcnn_models"  # models shown (sidebar)
K_RUNS = "mcnn_runs"  # cube key -> {run name -> run}
K_MESSAGE = "mcnn_data_message"  # (level, text) shown on the Data page after a load attempt


@dataclass
class LoadedCube:
    """A datacube in the session, with what the UI needs to show and key it."""

    ds: xr.Dataset
    key: str  #: identifies this cube; runs are stored per key
    label: str  #: a short human name ("demo 200 x 200, seed 0, 50 % cloud", a file name)
    simulated: bool
    origin: str  #: "demo" or "upload"
    _summary: CubeSummary | None = field(default=None, repr=False)
    extras: dict = field(default_factory=dict, repr=False)  #: derived objects (the experiment…), computed once

    @property
    def summary(self) -> CubeSummary:
        if self._summary is None:
            self._summary = summarize_cube(self.ds, source=self.label)
        return self._summary

    @property
    def title(self) -> str:
        """The label with the SIMULATED badge where it applies."""
        return f"{self.label} — {SIMULATED_BADGE}" if self.simulated else self.label


def demo_params() -> tuple[int, int]:
    """``(size, seed)`` of the demo scene (square, size x size pixels)."""
    return st.session_state.get(K_DEMO_PARAMS, (DEFAULT_DEMO_SIZE, DEFAULT_DEMO_SEED))


def set_demo_params(size: int, seed: int) -> None:
    """Ask for another demo scene and show it (call from a widget callback)."""
    st.session_state[K_DEMO_PARAMS] = (int(size), int(seed))
    st.session_state[K_SOURCE] = "demo"


def scenario() -> str:
    return st.session_state.get(K_SCENARIO, "50%")


def demo_cube() -> LoadedCube:
    """The demo cube for the current parameters and scenario (simulated once per server, then cached)."""
    from mcnnseq.ui.cache import demo_scene

    size, seed = demo_params()
    scen = scenario()
    key = f"demo:{size}x{size}:seed{seed}:{scen}"
    held: LoadedCube | None = st.session_state.get(K_DEMO)
    if held is None or held.key != key:
        ds = demo_scene(size, size, seed, scen)
        label = f"Demo scene {size} x {size} px, seed {seed}, {SCENARIOS.get(scen, scen)}"
        held = LoadedCube(ds=ds, key=key, label=label, simulated=True, origin="demo")
        st.session_state[K_DEMO] = held
    return held


def uploaded_cube() -> LoadedCube | None:
    return st.session_state.get(K_UPLOAD)


def set_uploaded_cube(cube: LoadedCube) -> None:
    """Keep ``cube`` as the session's upload and show it (call from a widget callback)."""
    st.session_state[K_UPLOAD] = cube
    st.session_state[K_SOURCE] = "upload"


def current_cube() -> LoadedCube:
    """The cube every page works on: the upload if chosen in the sidebar, else the demo."""
    up = uploaded_cube()
    if st.session_state.get(K_SOURCE) == "upload" and up is not None:
        return up
    return demo_cube()


def selected_models() -> list[str]:
    return list(st.session_state.get(K_MODELS, MODEL_NAMES))


def runs(cube: LoadedCube | None = None) -> dict[str, Any]:
    """The runs (trained models and their results) of ``cube`` (default: the current cube), by name."""
    cube = cube or current_cube()
    return st.session_state.setdefault(K_RUNS, {}).setdefault(cube.key, {})


def set_message(level: str, text: str) -> None:
    """Remember a message (``"error"``, ``"success"``, ``"warning"``) for the Data page to show."""
    st.session_state[K_MESSAGE] = (level, text)


def show_message() -> None:
    msg = st.session_state.get(K_MESSAGE)
    if msg:
        getattr(st, msg[0])(msg[1])


def _widget(key: str, default: Any) -> str:
    """The widget key mirroring the persistent ``key``, set to its value before the widget is drawn.

    Streamlit forgets a widget's value when a run does not draw it; the persistent key keeps it across
    pages whatever happens, and the widget's ``on_change`` (:func:`_keep`) copies the user's choice back.
    """
    wkey = f"_w_{key}"
    st.session_state[wkey] = st.session_state.setdefault(key, default)
    return wkey


def _keep(key: str) -> None:
    st.session_state[key] = st.session_state[f"_w_{key}"]


def sidebar() -> LoadedCube:
    """The shared sidebar (dataset, scenario, models); returns the cube the pages work on."""
    up = uploaded_cube()
    with st.sidebar:
        st.markdown("### Dataset")
        options = ["demo"] + (["upload"] if up is not None else [])
        if st.session_state.get(K_SOURCE) not in options:
            st.session_state[K_SOURCE] = "demo"
        names = {"demo": f"Demo scene ({SIMULATED_BADGE})",
                 "upload": f"Uploaded: {up.label}" if up is not None else "Uploaded"}
        st.radio("Dataset", options, format_func=names.get, key=_widget(K_SOURCE, "demo"), on_change=_keep,
                 args=(K_SOURCE,), label_visibility="collapsed")
        st.selectbox("Cloud scenario", list(SCENARIOS), format_func=SCENARIOS.get, key=_widget(K_SCENARIO, "50%"),
                     on_change=_keep, args=(K_SCENARIO,), disabled=st.session_state[K_SOURCE] != "demo",
                     help="Clouds laid on the demo scene (paper §2.2.4). An uploaded cube keeps its own clouds.")
        st.multiselect("Models", list(MODEL_NAMES), key=_widget(K_MODELS, list(MODEL_NAMES)), on_change=_keep,
                       args=(K_MODELS,), help="Which models the Train, Dates, Crops and Map pages show.")
        cube = current_cube()
        t, ny, nx = cube.ds.sizes["time"], cube.ds.sizes["y"], cube.ds.sizes["x"]
        if cube.simulated:
            st.warning(f"**{SIMULATED_BADGE}** — demo data made by the simulator, not observations.", icon=":material/science:")
        st.caption(f"{cube.label}  \n{t} dates, {ny} x {nx} pixels")
        from mcnnseq.ui.runs import harvest_job  # runs builds on this module

        job = harvest_job()
        if job is not None and job.running:
            st.caption(f"Training {job.current or '…'}: {100 * job.progress:.0f} % (see the Train page)")
        n_runs = len(runs(cube))
        if n_runs:
            st.caption(f"{n_runs} trained model(s) on this dataset: {', '.join(runs(cube))}")
    return cube

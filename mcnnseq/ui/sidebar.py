"""The sidebar every page shares: which cube, which cloud scenario, which runs to compare, training progress."""

from __future__ import annotations

import streamlit as st

from mcnnseq import defaults
from mcnnseq.ui import runs, state
from mcnnseq.ui.labels import soft_wrap
from mcnnseq.workspace import Workspace


def draw(ws: Workspace) -> None:
    """Draw the sidebar for ``ws`` (call once per script run, before the page)."""
    with st.sidebar:
        st.markdown("### Dataset")
        file_cube = ws.file_cube
        options = ["demo"] + (["file"] if file_cube is not None else [])
        names = {"demo": f"Demo scene ({defaults.SIMULATED_BADGE})",
                 "file": f"File: {soft_wrap(file_cube.label)}" if file_cube is not None else "File"}
        state.set_choice("mcnn_source", ws.source)
        st.radio("Dataset", options, format_func=names.get, label_visibility="collapsed",
                 **state.remember("mcnn_source", "demo", options=options, on_change=ws.choose))
        state.set_choice("mcnn_scenario", ws.demo_spec.scenario)
        st.selectbox("Cloud scenario", list(defaults.SCENARIOS), format_func=defaults.SCENARIOS.get,
                     disabled=ws.source != "demo",
                     help="Clouds laid on the demo scene (paper §2.2.4). A loaded file keeps its own clouds.",
                     **state.remember("mcnn_scenario", defaults.DEFAULT_SCENARIO, options=list(defaults.SCENARIOS),
                                      on_change=lambda s: ws.use_demo(scenario=s)))
        cube = ws.cube
        if cube.simulated:
            st.warning(f"**{defaults.SIMULATED_BADGE}** — demo data made by the simulator, not observations.",
                       icon=":material/science:")
        t, ny, nx = cube.ds.sizes["time"], cube.ds.sizes["y"], cube.ds.sizes["x"]
        st.caption(f"{soft_wrap(cube.label)}  \n{t} dates, "
                   + (f"{nx:,} points (parcel/point table)" if cube.is_points else f"{ny} x {nx} pixels"))

        all_runs = ws.runs()
        if all_runs:
            st.markdown("### Runs compared")
            ids = [r.id for r in all_runs]
            name_of = {r.id: r.name for r in all_runs}
            key = f"mcnn_ticked:{cube.key}"
            state.set_choice(key, [r.id for r in ws.ticked()])
            st.multiselect("Runs compared", ids, format_func=name_of.get, label_visibility="collapsed",
                           help="The runs every chart, table and map compares. Rename or remove runs on the "
                                "Train page.", **state.remember(key, ids, options=ids, multi=True, on_change=ws.tick))
        j = runs.job()
        if j is not None and j.running:
            _training_status()


@st.fragment(run_every=1.0)
def _training_status() -> None:
    """The training progress, refreshed every second (the same text as the Train page's bar)."""
    if runs.running_job_progress() is not None:
        st.caption("See the Train page for the curves and the stop button.")
